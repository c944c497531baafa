//! Pyth price updates from Hermes: parse a `/v2/updates/price/latest` response, decode the
//! accumulator update inside it, check every price message against the Wormhole-signed Merkle root,
//! convert a message into the SDK's [`PriceInput`], and build the Pyth Solana Receiver instructions
//! that post it on chain.
//!
//! # Wire format (PNAU v1, every integer big-endian)
//!
//! ```text
//! accumulator update   "PNAU" | major u8 (= 1) | minor u8 | trailing header: len u8, bytes
//!                      | proof type u8 (0 = WormholeMerkle) | VAA: len u16, bytes
//!                      | update count u8 | updates
//! update               message: len u16, bytes | proof: node count u8, count x 20-byte hashes
//! VAA                  version u8 (= 1) | guardian set index u32 | signature count u8
//!                      | signatures: count x (guardian index u8, 65-byte secp256k1 r|s|v)
//!                      | body: timestamp u32 | nonce u32 | emitter chain u16 | emitter [32]
//!                            | sequence u64 | consistency level u8 | payload (rest)
//! VAA payload          "AUWV" | root type u8 (0 = Merkle) | slot u64 | ring size u32 | root [20]
//! price feed message   type u8 (0) | feed id [32] | price i64 | conf u64 | exponent i32
//!                      | publish time i64 | prev publish time i64 | ema price i64 | ema conf u64
//! ```
//!
//! The layout is pythnet-sdk's (`wire::v1`, `messages`); the decoder here is written out so that
//! every malformed input gets its own [`HermesError`], and the tests check it against pythnet-sdk's
//! own decoder on the real update of the shared data set (`crate::data::files::HERMES_UPDATE`). Messages may carry bytes after the
//! fields above (pythnet-sdk: "code for parsing messages must ignore any extraneous bytes"), and so
//! may the VAA payload (the receiver ignores them too); bytes after the last update are an error.
//!
//! # Merkle proofs
//!
//! Pythnet-sdk's `MerkleTree<Keccak160>`: a hash is the first 20 bytes of keccak256; a leaf is
//! `H(0x00 | message)`, a node is `H(0x01 | min(a, b) | max(a, b))` (children sorted, so a proof is
//! just the list of siblings, leaf to root). [`merkle_root_of`] uses pythnet-sdk's own
//! `hash_leaf`/`hash_node`, the functions the receiver program runs.
//!
//! # Posting
//!
//! See [`post_price_update_instructions`] for the two receiver paths and what the Lever program
//! accepts (only `Full` verification, hence the encoded-VAA path of [`full_post_plan`]).
//!
//! # Fetching
//!
//! [`HermesClient::updates_at`] asks Hermes for the first update at or after a time, the one a
//! two-step settlement needs.

use std::fmt;

use anchor_lang::prelude::{pubkey, Pubkey};
use base64::Engine as _;

/// Magic of an accumulator update ("PNAU").
pub const ACCUMULATOR_MAGIC: [u8; 4] = *b"PNAU";
/// The only major version of the accumulator wire format.
pub const ACCUMULATOR_MAJOR_VERSION: u8 = 1;
/// Proof type WormholeMerkle (variant 0 of pythnet-sdk's `wire::v1::Proof`).
pub const PROOF_TYPE_WORMHOLE_MERKLE: u8 = 0;
/// Magic of the VAA payload carrying the Merkle root ("AUWV").
pub const MERKLE_ROOT_MAGIC: [u8; 4] = *b"AUWV";
/// Root type Merkle (variant 0 of pythnet-sdk's `wire::v1::WormholePayload`).
pub const ROOT_TYPE_MERKLE: u8 = 0;
/// Message type of a price feed message (variant 0 of pythnet-sdk's `messages::Message`).
pub const PRICE_FEED_MESSAGE_TYPE: u8 = 0;
/// Bytes of a price feed message, its type byte included.
pub const PRICE_FEED_MESSAGE_LEN: usize = 85;
/// The only VAA version.
pub const VAA_VERSION: u8 = 1;
/// Bytes of one guardian signature in a VAA: guardian index u8 plus 65 signature bytes.
pub const VAA_SIGNATURE_SIZE: usize = 66;
/// Bytes of a VAA before its signatures: version, guardian set index, signature count.
pub const VAA_HEADER_LEN: usize = 6;

/// Pyth's Wormhole program on Solana, the one the receiver's config points to ("deployed at this
/// address on all SVM networks": pyth-crosschain target_chains/solana/sdk/js/pyth_solana_receiver/
/// src/address.ts, `DEFAULT_WORMHOLE_PROGRAM_ID`).
pub const WORMHOLE_PROGRAM_ID: Pubkey = pubkey!("HDwcJBJXjL9FpJ7UBsYBtaDjsBUhuLCUYoz3zr8SWWaQ");
/// Seed prefix of a Wormhole guardian set account (`GuardianSet::SEED_PREFIX` of
/// wormhole-core-bridge-solana, the constant the receiver checks in `deserialize_guardian_set_checked`).
pub const GUARDIAN_SET_SEED: &[u8] = b"GuardianSet";

/// Anchor discriminator of the receiver's `post_update_atomic` (sha256("global:post_update_atomic"),
/// as hard-coded in `pyth_solana_receiver_sdk::cpi::post_update_atomic`).
pub const POST_UPDATE_ATOMIC_DISCRIMINATOR: [u8; 8] = [49, 172, 84, 192, 175, 180, 52, 234];
/// Anchor discriminator of the receiver's `post_update` (sha256("global:post_update")).
pub const POST_UPDATE_DISCRIMINATOR: [u8; 8] = [133, 95, 207, 175, 11, 79, 118, 44];

/// Largest serialized Solana transaction (the packet data size, 1280 - 40 - 8 bytes).
pub const PACKET_DATA_SIZE: usize = 1232;
/// Guardian signatures the atomic path keeps by default (pyth-crosschain's JS SDK
/// `DEFAULT_REDUCED_GUARDIAN_SET_SIZE`, "the maximum number of signatures so that the VAA's contents
/// can be posted in a single Solana transaction").
pub const DEFAULT_ATOMIC_SIGNATURES: u8 = 5;

/// Everything that can be wrong with a Hermes response or an accumulator update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HermesError {
    /// The response is not JSON of the expected shape.
    Json(String),
    /// `binary.encoding` is neither "base64" nor "hex".
    UnsupportedEncoding(String),
    /// `binary.data[index]` is not valid base64.
    BadBase64 { index: usize, reason: String },
    /// `binary.data[index]` is not valid hex.
    BadHex { index: usize, reason: String },
    /// `binary.data` is empty.
    NoUpdates,
    /// The input ends inside `field`: it starts at `offset` (within its enclosing structure) and
    /// needs `needed` bytes, `available` are left.
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The update does not start with "PNAU".
    BadMagic { found: [u8; 4] },
    /// A major version other than 1.
    UnsupportedVersion { major: u8, minor: u8 },
    /// A proof type other than WormholeMerkle.
    UnsupportedProofType(u8),
    /// Bytes left over after the last field of `after`.
    TrailingBytes { after: &'static str, count: usize },
    /// A VAA version other than 1.
    UnsupportedVaaVersion(u8),
    /// The VAA payload does not start with "AUWV".
    BadRootMagic { found: [u8; 4] },
    /// A root type other than Merkle.
    UnsupportedRootType(u8),
    /// The proof of update `update` does not lead to the signed root.
    ProofMismatch {
        update: usize,
        computed: [u8; 20],
        root: [u8; 20],
    },
    /// The message of update `update` (its proof verified) could not be decoded.
    BadMessage { update: usize, error: Box<HermesError> },
    /// A message of a type other than a price feed message (1 = TWAP, 2 = publisher stake caps).
    UnsupportedMessageType(u8),
    /// The requested feed is not in the update.
    FeedNotInUpdate { feed_id: [u8; 32] },
    /// An entry of Hermes' `parsed` section cannot be read.
    BadParsedEntry { index: usize, reason: String },
    /// A feed listed in `parsed` has no message in the binary update.
    ParsedFeedMissing { feed_id: [u8; 32] },
    /// A field of `parsed` differs from the verified binary message.
    ParsedMismatch { feed_id: [u8; 32], field: &'static str },
    /// Asked to keep `requested` signatures of a VAA that has `available` (at least 1 must stay).
    SignatureCount { requested: usize, available: usize },
    /// No public key can be recovered from this guardian's signature.
    SignatureRecovery { guardian_index: u8 },
    /// Guardian indices must increase strictly.
    SignatureOrder { guardian_index: u8 },
    /// The signature names a guardian the set does not have.
    UnknownGuardian { guardian_index: u8, guardians: usize },
    /// The signature was made by another key than this guardian's.
    GuardianKeyMismatch {
        guardian_index: u8,
        recovered: [u8; 20],
        expected: [u8; 20],
    },
    /// Borsh serialization of instruction params failed.
    Serialize(String),
    /// The HTTP request to Hermes failed (connection, timeout, body).
    Http(String),
    /// Hermes answered with a status other than 2xx (404 while no update at or after the time
    /// exists yet, 429 when rate-limited).
    Status { status: u16, body: String },
}

use crate::pyth::to_hex as hex;

mod wire;
pub use wire::*;
mod response;
pub use response::*;
mod post;
pub use post::*;
mod encoded_vaa;
pub use encoded_vaa::*;
mod client;
pub use client::*;

impl fmt::Display for HermesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(reason) => write!(f, "Hermes response is not the expected JSON: {reason}"),
            Self::UnsupportedEncoding(enc) => {
                write!(
                    f,
                    "unsupported binary encoding {enc:?} (expected \"base64\" or \"hex\")"
                )
            }
            Self::BadBase64 { index, reason } => write!(f, "binary.data[{index}] is not base64: {reason}"),
            Self::BadHex { index, reason } => write!(f, "binary.data[{index}] is not hex: {reason}"),
            Self::NoUpdates => write!(f, "the response holds no update (binary.data is empty)"),
            Self::Truncated {
                field,
                offset,
                needed,
                available,
            } => write!(
                f,
                "truncated input: {field} at offset {offset} needs {needed} bytes, {available} left"
            ),
            Self::BadMagic { found } => {
                write!(
                    f,
                    "not an accumulator update: magic {} instead of \"PNAU\"",
                    hex(found)
                )
            }
            Self::UnsupportedVersion { major, minor } => {
                write!(
                    f,
                    "unsupported accumulator update version {major}.{minor} (expected 1.x)"
                )
            }
            Self::UnsupportedProofType(t) => {
                write!(f, "unsupported proof type {t} (expected 0, WormholeMerkle)")
            }
            Self::TrailingBytes { after, count } => write!(f, "{count} unexpected bytes after {after}"),
            Self::UnsupportedVaaVersion(v) => write!(f, "unsupported VAA version {v} (expected 1)"),
            Self::BadRootMagic { found } => {
                write!(
                    f,
                    "VAA payload is not a Merkle root: magic {} instead of \"AUWV\"",
                    hex(found)
                )
            }
            Self::UnsupportedRootType(t) => write!(f, "unsupported root type {t} (expected 0, Merkle)"),
            Self::ProofMismatch {
                update,
                computed,
                root,
            } => write!(
                f,
                "Merkle proof of update {update} does not verify: it leads to {} but the signed root is {}",
                hex(computed),
                hex(root)
            ),
            Self::BadMessage { update, error } => write!(f, "message of update {update}: {error}"),
            Self::UnsupportedMessageType(t) => {
                write!(f, "message type {t} is not a price feed message (type 0)")
            }
            Self::FeedNotInUpdate { feed_id } => write!(f, "feed {} is not in the update", hex(feed_id)),
            Self::BadParsedEntry { index, reason } => write!(f, "parsed[{index}]: {reason}"),
            Self::ParsedFeedMissing { feed_id } => {
                write!(
                    f,
                    "parsed feed {} has no message in the binary update",
                    hex(feed_id)
                )
            }
            Self::ParsedMismatch { feed_id, field } => write!(
                f,
                "parsed {field} of feed {} differs from the verified binary message",
                hex(feed_id)
            ),
            Self::SignatureCount { requested, available } => write!(
                f,
                "cannot keep {requested} guardian signatures of a VAA that has {available} (1..={available})"
            ),
            Self::SignatureRecovery { guardian_index } => {
                write!(
                    f,
                    "no key can be recovered from guardian {guardian_index}'s signature"
                )
            }
            Self::SignatureOrder { guardian_index } => {
                write!(
                    f,
                    "guardian indices must increase: {guardian_index} comes after a larger or equal one"
                )
            }
            Self::UnknownGuardian {
                guardian_index,
                guardians,
            } => {
                write!(
                    f,
                    "guardian index {guardian_index} is outside a set of {guardians}"
                )
            }
            Self::GuardianKeyMismatch {
                guardian_index,
                recovered,
                expected,
            } => write!(
                f,
                "guardian {guardian_index}'s signature is by {} instead of {}",
                hex(recovered),
                hex(expected)
            ),
            Self::Serialize(reason) => write!(f, "cannot serialize instruction params: {reason}"),
            Self::Http(reason) => write!(f, "Hermes request failed: {reason}"),
            Self::Status { status, body } => write!(f, "Hermes answered {status}: {body}"),
        }
    }
}

impl std::error::Error for HermesError {}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_full_post;
