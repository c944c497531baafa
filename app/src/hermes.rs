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
//! own decoder on the bundled real update (`app/data/pyth/`). Messages may carry bytes after the
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
//! accepts (only `Full` verification, hence the encoded-VAA path).

use std::fmt;

use anchor_lang::prelude::{borsh, pubkey, Pubkey};
use base64::Engine as _;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use pyth_solana_receiver_sdk::{PostUpdateAtomicParams, PostUpdateParams};
use pythnet_sdk::accumulators::merkle::{MerklePath, MerkleTree};
use pythnet_sdk::hashers::keccak256::Keccak256;
use pythnet_sdk::hashers::keccak256_160::Keccak160;
use pythnet_sdk::hashers::Hasher;
use pythnet_sdk::wire::v1::MerklePriceUpdate;
use serde::Deserialize;
use solana_instruction::{AccountMeta, Instruction};

use crate::pyth::{feed_id_from_hex, PriceInput, Verification};

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
}

use crate::pyth::to_hex as hex;

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
        }
    }
}

impl std::error::Error for HermesError {}

/// A bounds-checked big-endian reader: every read past the end is a [`HermesError::Truncated`].
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], HermesError> {
        let truncated = HermesError::Truncated {
            field,
            offset: self.pos,
            needed: n,
            available: self.remaining(),
        };
        let end = self.pos.checked_add(n).ok_or_else(|| truncated.clone())?;
        let slice = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], HermesError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, HermesError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, HermesError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, HermesError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, HermesError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, HermesError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, HermesError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
        self.pos = self.bytes.len();
        rest
    }
}

/// One guardian's signature in a VAA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardianSignature {
    pub guardian_index: u8,
    /// secp256k1 r (32) | s (32) | recovery id (1), over keccak256(keccak256(body)).
    pub signature: [u8; 65],
}

/// A Wormhole VAA (version 1), decoded; `bytes` is the VAA exactly as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vaa {
    pub bytes: Vec<u8>,
    pub version: u8,
    pub guardian_set_index: u32,
    pub signatures: Vec<GuardianSignature>,
    pub timestamp: u32,
    pub nonce: u32,
    pub emitter_chain: u16,
    pub emitter_address: [u8; 32],
    pub sequence: u64,
    pub consistency_level: u8,
    pub payload: Vec<u8>,
}

impl Vaa {
    pub fn parse(bytes: &[u8]) -> Result<Self, HermesError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("vaa.version")?;
        if version != VAA_VERSION {
            return Err(HermesError::UnsupportedVaaVersion(version));
        }
        let guardian_set_index = r.u32("vaa.guardian_set_index")?;
        let count = r.u8("vaa.signature_count")?;
        let mut signatures = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            signatures.push(GuardianSignature {
                guardian_index: r.u8("vaa.signature.guardian_index")?,
                signature: r.array("vaa.signature")?,
            });
        }
        Ok(Self {
            version,
            guardian_set_index,
            signatures,
            timestamp: r.u32("vaa.timestamp")?,
            nonce: r.u32("vaa.nonce")?,
            emitter_chain: r.u16("vaa.emitter_chain")?,
            emitter_address: r.array("vaa.emitter_address")?,
            sequence: r.u64("vaa.sequence")?,
            consistency_level: r.u8("vaa.consistency_level")?,
            payload: r.rest().to_vec(),
            bytes: bytes.to_vec(),
        })
    }

    /// The signed part: everything after the signatures.
    pub fn body(&self) -> &[u8] {
        let start = VAA_HEADER_LEN + VAA_SIGNATURE_SIZE * self.signatures.len();
        self.bytes.get(start..).unwrap_or(&[])
    }

    /// The digest the guardians sign: keccak256(keccak256(body)).
    pub fn digest(&self) -> [u8; 32] {
        Keccak256::hashv(&[Keccak256::hashv(&[self.body()])])
    }

    /// The Ethereum-style address (last 20 bytes of keccak256 of the public key) behind each
    /// signature, with the guardian index it claims.
    pub fn recover_signers(&self) -> Result<Vec<(u8, [u8; 20])>, HermesError> {
        let digest = self.digest();
        self.signatures
            .iter()
            .map(|sig| {
                let failed = HermesError::SignatureRecovery {
                    guardian_index: sig.guardian_index,
                };
                let key = solana_secp256k1_recover::secp256k1_recover(
                    &digest,
                    sig.signature[64],
                    &sig.signature[..64],
                )
                .map_err(|_| failed)?;
                let hash = Keccak256::hashv(&[key.to_bytes()]);
                let mut address = [0u8; 20];
                address.copy_from_slice(&hash[12..]);
                Ok((sig.guardian_index, address))
            })
            .collect()
    }

    /// Check every signature the way the receiver's `post_update_atomic` does: guardian indices
    /// strictly increasing, each inside the set, each signature recovering that guardian's key.
    /// Returns the number of signatures checked. (Whether they reach quorum is
    /// [`receiver_verification`]'s question.)
    pub fn verify_signatures(&self, guardian_keys: &[[u8; 20]]) -> Result<usize, HermesError> {
        let mut last: Option<u8> = None;
        for (guardian_index, recovered) in self.recover_signers()? {
            if last.is_some_and(|l| guardian_index <= l) {
                return Err(HermesError::SignatureOrder { guardian_index });
            }
            let expected =
                *guardian_keys
                    .get(usize::from(guardian_index))
                    .ok_or(HermesError::UnknownGuardian {
                        guardian_index,
                        guardians: guardian_keys.len(),
                    })?;
            if recovered != expected {
                return Err(HermesError::GuardianKeyMismatch {
                    guardian_index,
                    recovered,
                    expected,
                });
            }
            last = Some(guardian_index);
        }
        Ok(self.signatures.len())
    }

    /// The VAA bytes with only its first `keep` signatures (the body, and so every signature
    /// kept, stays valid), as pyth-crosschain's JS SDK `trimSignatures` does for the atomic path.
    pub fn with_signatures(&self, keep: usize) -> Result<Vec<u8>, HermesError> {
        let available = self.signatures.len();
        if keep == 0 || keep > available {
            return Err(HermesError::SignatureCount {
                requested: keep,
                available,
            });
        }
        let mut out = Vec::with_capacity(VAA_HEADER_LEN + VAA_SIGNATURE_SIZE * keep + self.body().len());
        out.push(self.version);
        out.extend_from_slice(&self.guardian_set_index.to_be_bytes());
        // keep <= available <= 255: it came from a u8.
        out.push(u8::try_from(keep).unwrap_or(u8::MAX));
        for sig in &self.signatures[..keep] {
            out.push(sig.guardian_index);
            out.extend_from_slice(&sig.signature);
        }
        out.extend_from_slice(self.body());
        Ok(out)
    }
}

/// The VAA payload of an accumulator update: the Merkle root of all messages of one Pythnet slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MerkleRootMessage {
    pub slot: u64,
    pub ring_size: u32,
    pub root: [u8; 20],
}

impl MerkleRootMessage {
    pub fn parse(payload: &[u8]) -> Result<Self, HermesError> {
        let mut r = Reader::new(payload);
        let found: [u8; 4] = r.array("payload.magic")?;
        if found != MERKLE_ROOT_MAGIC {
            return Err(HermesError::BadRootMagic { found });
        }
        let root_type = r.u8("payload.root_type")?;
        if root_type != ROOT_TYPE_MERKLE {
            return Err(HermesError::UnsupportedRootType(root_type));
        }
        Ok(Self {
            slot: r.u64("payload.slot")?,
            ring_size: r.u32("payload.ring_size")?,
            root: r.array("payload.root")?,
        })
    }
}

/// Decode a price feed message (extra bytes after its fields are ignored, as pythnet-sdk requires).
pub fn decode_price_feed_message(message: &[u8]) -> Result<PriceFeedMessage, HermesError> {
    let mut r = Reader::new(message);
    let message_type = r.u8("message.type")?;
    if message_type != PRICE_FEED_MESSAGE_TYPE {
        return Err(HermesError::UnsupportedMessageType(message_type));
    }
    Ok(PriceFeedMessage {
        feed_id: r.array("message.feed_id")?,
        price: r.i64("message.price")?,
        conf: r.u64("message.conf")?,
        exponent: r.i32("message.exponent")?,
        publish_time: r.i64("message.publish_time")?,
        prev_publish_time: r.i64("message.prev_publish_time")?,
        ema_price: r.i64("message.ema_price")?,
        ema_conf: r.u64("message.ema_conf")?,
    })
}

/// The root a message and its proof lead to (pythnet-sdk's `MerkleTree<Keccak160>` hashing).
pub fn merkle_root_of(message: &[u8], proof: &[[u8; 20]]) -> [u8; 20] {
    proof
        .iter()
        .fold(MerkleTree::<Keccak160>::hash_leaf(message), |node, sibling| {
            MerkleTree::<Keccak160>::hash_node(&node, sibling)
        })
}

/// One price message of an accumulator update, its proof verified against the signed root.
#[derive(Clone, Debug, PartialEq)]
pub struct MerkleUpdate {
    /// The message bytes exactly as signed (the Merkle leaf).
    pub message: Vec<u8>,
    /// Sibling hashes, leaf to root.
    pub proof: Vec<[u8; 20]>,
    pub price: PriceFeedMessage,
}

impl MerkleUpdate {
    pub fn feed_id(&self) -> [u8; 32] {
        self.price.feed_id
    }

    /// The SDK's price input for this message, at the verification level the receiver would record
    /// (see [`receiver_verification`]).
    pub fn price_input(&self, verification: Verification) -> PriceInput {
        PriceInput {
            feed_id: self.price.feed_id,
            price: self.price.price,
            conf: self.price.conf,
            exponent: self.price.exponent,
            publish_time: self.price.publish_time,
            verification,
        }
    }

    /// The `PriceUpdateV2` account the receiver writes when it posts this message (all eight message
    /// fields, unlike [`crate::pyth::price_update`], which derives the EMA and previous time).
    pub fn price_update_account(
        &self,
        verification: Verification,
        write_authority: Pubkey,
        posted_slot: u64,
    ) -> PriceUpdateV2 {
        PriceUpdateV2 {
            write_authority,
            verification_level: match verification {
                Verification::Full => VerificationLevel::Full,
                Verification::Partial(n) => VerificationLevel::Partial { num_signatures: n },
            },
            price_message: self.price,
            posted_slot,
        }
    }

    /// The receiver's `MerklePriceUpdate` for this message.
    pub fn merkle_price_update(&self) -> MerklePriceUpdate {
        MerklePriceUpdate {
            message: self.message.clone().into(),
            proof: MerklePath::new(self.proof.clone()),
        }
    }
}

/// The verification level the receiver records for a VAA with `signatures` valid signatures from a
/// guardian set of `guardian_set_size` keys: `Full` from the Wormhole quorum `2n/3 + 1` on (13 of
/// today's 19 guardians), `Partial` below. `post_update` (encoded VAA verified by Wormhole) always
/// records `Full`.
pub fn receiver_verification(signatures: u8, guardian_set_size: usize) -> Verification {
    let quorum = guardian_set_size.saturating_mul(2) / 3 + 1;
    if usize::from(signatures) >= quorum {
        Verification::Full
    } else {
        Verification::Partial(signatures)
    }
}

/// A decoded accumulator update (PNAU v1, WormholeMerkle), every proof verified.
#[derive(Clone, Debug, PartialEq)]
pub struct AccumulatorUpdate {
    pub major_version: u8,
    pub minor_version: u8,
    pub trailing_header: Vec<u8>,
    pub vaa: Vaa,
    pub root: MerkleRootMessage,
    pub updates: Vec<MerkleUpdate>,
}

impl AccumulatorUpdate {
    /// Decode `bytes` and verify every message's proof against the root the VAA carries. The
    /// guardian signatures are not checked here (that needs the guardian set's keys, see
    /// [`Vaa::verify_signatures`]; on chain the receiver or Wormhole checks them).
    pub fn parse(bytes: &[u8]) -> Result<Self, HermesError> {
        let mut r = Reader::new(bytes);
        let found: [u8; 4] = r.array("magic")?;
        if found != ACCUMULATOR_MAGIC {
            return Err(HermesError::BadMagic { found });
        }
        let major_version = r.u8("major_version")?;
        let minor_version = r.u8("minor_version")?;
        if major_version != ACCUMULATOR_MAJOR_VERSION {
            return Err(HermesError::UnsupportedVersion {
                major: major_version,
                minor: minor_version,
            });
        }
        let trailing_len = r.u8("trailing_header.len")?;
        let trailing_header = r.take(usize::from(trailing_len), "trailing_header")?.to_vec();
        let proof_type = r.u8("proof_type")?;
        if proof_type != PROOF_TYPE_WORMHOLE_MERKLE {
            return Err(HermesError::UnsupportedProofType(proof_type));
        }
        let vaa_len = r.u16("vaa.len")?;
        let vaa = Vaa::parse(r.take(usize::from(vaa_len), "vaa")?)?;
        let root = MerkleRootMessage::parse(&vaa.payload)?;

        let count = r.u8("update_count")?;
        let mut raw = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let message_len = r.u16("update.message.len")?;
            let message = r.take(usize::from(message_len), "update.message")?.to_vec();
            let nodes = r.u8("update.proof.len")?;
            let mut proof = Vec::with_capacity(usize::from(nodes));
            for _ in 0..nodes {
                proof.push(r.array::<20>("update.proof.node")?);
            }
            raw.push((message, proof));
        }
        if r.remaining() > 0 {
            return Err(HermesError::TrailingBytes {
                after: "the last update",
                count: r.remaining(),
            });
        }

        let mut updates = Vec::with_capacity(raw.len());
        for (update, (message, proof)) in raw.into_iter().enumerate() {
            // The proof first, as the receiver does: a message is only read once it is proven.
            let computed = merkle_root_of(&message, &proof);
            if computed != root.root {
                return Err(HermesError::ProofMismatch {
                    update,
                    computed,
                    root: root.root,
                });
            }
            let price = decode_price_feed_message(&message).map_err(|error| HermesError::BadMessage {
                update,
                error: Box::new(error),
            })?;
            updates.push(MerkleUpdate {
                message,
                proof,
                price,
            });
        }
        Ok(Self {
            major_version,
            minor_version,
            trailing_header,
            vaa,
            root,
            updates,
        })
    }

    pub fn feed_ids(&self) -> Vec<[u8; 32]> {
        self.updates.iter().map(MerkleUpdate::feed_id).collect()
    }

    pub fn get(&self, feed_id: &[u8; 32]) -> Option<&MerkleUpdate> {
        self.updates.iter().find(|u| &u.price.feed_id == feed_id)
    }

    fn require(&self, feed_id: &[u8; 32]) -> Result<&MerkleUpdate, HermesError> {
        self.get(feed_id)
            .ok_or(HermesError::FeedNotInUpdate { feed_id: *feed_id })
    }
}

/// One price of Hermes' `parsed` section (strings hold the integers, as Hermes writes them).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ParsedPrice {
    pub price: String,
    pub conf: String,
    pub expo: i32,
    pub publish_time: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ParsedMetadata {
    #[serde(default)]
    pub slot: Option<u64>,
    #[serde(default)]
    pub proof_available_time: Option<i64>,
    #[serde(default)]
    pub prev_publish_time: Option<i64>,
}

/// One entry of Hermes' `parsed` section.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ParsedPriceFeed {
    pub id: String,
    pub price: ParsedPrice,
    pub ema_price: ParsedPrice,
    #[serde(default)]
    pub metadata: Option<ParsedMetadata>,
}

#[derive(Deserialize)]
struct Binary {
    encoding: String,
    data: Vec<String>,
}

#[derive(Deserialize)]
struct Response {
    binary: Binary,
    #[serde(default)]
    parsed: Option<Vec<ParsedPriceFeed>>,
}

/// A Hermes `/v2/updates/price/latest` response: every binary update decoded and verified, and the
/// `parsed` section (if any), checked against them.
#[derive(Clone, Debug, PartialEq)]
pub struct HermesUpdate {
    pub updates: Vec<AccumulatorUpdate>,
    pub parsed: Vec<ParsedPriceFeed>,
}

impl HermesUpdate {
    /// The update and message carrying `feed_id`.
    pub fn find(&self, feed_id: &[u8; 32]) -> Option<(&AccumulatorUpdate, &MerkleUpdate)> {
        self.updates
            .iter()
            .find_map(|update| update.get(feed_id).map(|message| (update, message)))
    }
}

/// Decode one `binary.data` string (`index` only names it in errors).
pub fn decode_binary(encoding: &str, data: &str, index: usize) -> Result<Vec<u8>, HermesError> {
    match encoding {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| HermesError::BadBase64 {
                index,
                reason: e.to_string(),
            }),
        "hex" => decode_hex(data.trim()).map_err(|reason| HermesError::BadHex { index, reason }),
        other => Err(HermesError::UnsupportedEncoding(other.to_string())),
    }
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let text = text.strip_prefix("0x").unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd number of digits ({})", text.len()));
    }
    (0..text.len() / 2)
        .map(|i| {
            let pair = text
                .get(2 * i..2 * i + 2)
                .ok_or_else(|| format!("non-ASCII character near offset {}", 2 * i))?;
            u8::from_str_radix(pair, 16).map_err(|_| format!("invalid digits {pair:?} at offset {}", 2 * i))
        })
        .collect()
}

/// Parse a Hermes `/v2/updates/price/latest` response: decode and verify every binary update, then
/// check each `parsed` entry (when present) against the verified message of its feed.
pub fn parse_hermes_response(json: &str) -> Result<HermesUpdate, HermesError> {
    let response: Response = serde_json::from_str(json).map_err(|e| HermesError::Json(e.to_string()))?;
    if response.binary.data.is_empty() {
        return Err(HermesError::NoUpdates);
    }
    let updates = response
        .binary
        .data
        .iter()
        .enumerate()
        .map(|(index, data)| {
            let bytes = decode_binary(&response.binary.encoding, data, index)?;
            AccumulatorUpdate::parse(&bytes)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let update = HermesUpdate {
        updates,
        parsed: response.parsed.unwrap_or_default(),
    };
    for (index, entry) in update.parsed.iter().enumerate() {
        check_parsed(&update, index, entry)?;
    }
    Ok(update)
}

fn check_parsed(update: &HermesUpdate, index: usize, entry: &ParsedPriceFeed) -> Result<(), HermesError> {
    let bad = |reason: String| HermesError::BadParsedEntry { index, reason };
    let feed_id =
        feed_id_from_hex(&entry.id).ok_or_else(|| bad(format!("invalid feed id {:?}", entry.id)))?;
    let (_, message) = update
        .find(&feed_id)
        .ok_or(HermesError::ParsedFeedMissing { feed_id })?;
    let m = &message.price;
    let int = |field: &str, text: &str| -> Result<i128, HermesError> {
        text.parse::<i128>()
            .map_err(|_| bad(format!("{field} {text:?} is not an integer")))
    };
    let checks = [
        (
            "price.price",
            int("price.price", &entry.price.price)? == i128::from(m.price),
        ),
        (
            "price.conf",
            int("price.conf", &entry.price.conf)? == i128::from(m.conf),
        ),
        ("price.expo", entry.price.expo == m.exponent),
        ("price.publish_time", entry.price.publish_time == m.publish_time),
        (
            "ema_price.price",
            int("ema_price.price", &entry.ema_price.price)? == i128::from(m.ema_price),
        ),
        (
            "ema_price.conf",
            int("ema_price.conf", &entry.ema_price.conf)? == i128::from(m.ema_conf),
        ),
        ("ema_price.expo", entry.ema_price.expo == m.exponent),
        (
            "ema_price.publish_time",
            entry.ema_price.publish_time == m.publish_time,
        ),
        (
            "metadata.prev_publish_time",
            entry
                .metadata
                .as_ref()
                .and_then(|md| md.prev_publish_time)
                .is_none_or(|t| t == m.prev_publish_time),
        ),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((field, _)) => Err(HermesError::ParsedMismatch { feed_id, field }),
        None => Ok(()),
    }
}

/// The Wormhole guardian set account: PDA of `wormhole` with seeds
/// `["GuardianSet", guardian_set_index as u32 big-endian]` (wormhole-core-bridge-solana
/// `GuardianSet::SEED_PREFIX`; the receiver re-derives it in `deserialize_guardian_set_checked`, and
/// pyth-crosschain's JS SDK `getGuardianSetPda` writes the index with `writeUInt32BE`).
pub fn guardian_set_address(wormhole: &Pubkey, guardian_set_index: u32) -> Pubkey {
    Pubkey::find_program_address(&[GUARDIAN_SET_SEED, &guardian_set_index.to_be_bytes()], wormhole).0
}

/// The receiver's config: PDA of the receiver with seeds `["config"]`
/// (`pyth_solana_receiver_sdk::pda::CONFIG_SEED`).
pub fn receiver_config_address() -> Pubkey {
    pyth_solana_receiver_sdk::pda::get_config_address()
}

/// The receiver's fee treasury `treasury_id` (one per u8, to spread write locks): PDA of the
/// receiver with seeds `["treasury", [treasury_id]]` (`pyth_solana_receiver_sdk::pda::TREASURY_SEED`).
pub fn receiver_treasury_address(treasury_id: u8) -> Pubkey {
    pyth_solana_receiver_sdk::pda::get_treasury_address(treasury_id)
}

/// Who pays for and who owns a posted price update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostAccounts {
    /// Pays the rent of a new price update account and the receiver's fee; signs.
    pub payer: Pubkey,
    /// Recorded in the account; the only key that may overwrite it later; signs (may be the payer).
    pub write_authority: Pubkey,
    /// The `PriceUpdateV2` account: a keypair's address. The receiver creates it on the first post
    /// (`init_if_needed`) and its account list marks it a signer on every post, so it is a fresh or
    /// reused keypair that signs; a program-derived address cannot sign a client transaction (feeds
    /// at PDAs are the push oracle's, written through its own program by CPI).
    pub price_update_account: Pubkey,
}

/// How to post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostPath {
    /// `post_update_atomic`: the VAA, cut to its first `signatures` signatures, travels in the
    /// instruction and the receiver checks those signatures against the guardian set account of
    /// `wormhole`. One transaction, but below quorum the account records `Partial`.
    Atomic { signatures: u8, wormhole: Pubkey },
    /// `post_update`: the VAA was already written to `encoded_vaa` and verified there by the Wormhole
    /// program (all signatures; the receiver records `Full`).
    EncodedVaa { encoded_vaa: Pubkey },
}

impl PostPath {
    /// The atomic path with [`DEFAULT_ATOMIC_SIGNATURES`] against [`WORMHOLE_PROGRAM_ID`].
    pub fn atomic() -> Self {
        Self::Atomic {
            signatures: DEFAULT_ATOMIC_SIGNATURES,
            wormhole: WORMHOLE_PROGRAM_ID,
        }
    }
}

fn instruction_data(
    discriminator: [u8; 8],
    params: &impl borsh::BorshSerialize,
) -> Result<Vec<u8>, HermesError> {
    let mut data = discriminator.to_vec();
    params
        .serialize(&mut data)
        .map_err(|e| HermesError::Serialize(e.to_string()))?;
    Ok(data)
}

/// The receiver's `post_update_atomic` for `feed_id`. Accounts, in the receiver's order: payer (w, s),
/// guardian set (r), config (r), treasury (w), price update account (w, s), system program (r),
/// write authority (r, s).
///
/// Size: the instruction data holds the trimmed VAA (6 + 66 per signature + body), the 85-byte
/// message and 20 bytes per proof node, and a Solana transaction is at most [`PACKET_DATA_SIZE`]
/// (1232) bytes, signatures and account keys included. With the bundled real update (88-byte body,
/// 10-node proofs) and the payer as write authority (2 signers: payer, price update account), one
/// post with the default [`DEFAULT_ATOMIC_SIGNATURES`] (5) makes a 1,131-byte transaction; 6
/// signatures is the most that fits (1,197), 7 do not (1,263), all 13 would take 1,659. A separate
/// write authority adds 96 bytes (5 signatures: 1,227). So the atomic path keeps 5 signatures, one
/// post per transaction (add nothing big beside it), and with today's 19 guardians (quorum 13) the
/// account records `Partial { num_signatures: 5 }`.
pub fn post_update_atomic_ix(
    update: &AccumulatorUpdate,
    feed_id: &[u8; 32],
    accounts: &PostAccounts,
    signatures: u8,
    wormhole: &Pubkey,
    treasury_id: u8,
) -> Result<Instruction, HermesError> {
    let message = update.require(feed_id)?;
    let params = PostUpdateAtomicParams {
        vaa: update.vaa.with_signatures(usize::from(signatures))?,
        merkle_price_update: message.merkle_price_update(),
        treasury_id,
    };
    Ok(Instruction {
        program_id: pyth_solana_receiver_sdk::ID,
        accounts: vec![
            AccountMeta::new(accounts.payer, true),
            AccountMeta::new_readonly(
                guardian_set_address(wormhole, update.vaa.guardian_set_index),
                false,
            ),
            AccountMeta::new_readonly(receiver_config_address(), false),
            AccountMeta::new(receiver_treasury_address(treasury_id), false),
            AccountMeta::new(accounts.price_update_account, true),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
            AccountMeta::new_readonly(accounts.write_authority, true),
        ],
        data: instruction_data(POST_UPDATE_ATOMIC_DISCRIMINATOR, &params)?,
    })
}

/// The receiver's `post_update` for `feed_id`, once the update's VAA is in `encoded_vaa` and verified
/// by the Wormhole program (that program's `init_encoded_vaa`/`write_encoded_vaa`/
/// `verify_encoded_vaa_v1` instructions are not built here). Accounts, in the receiver's order:
/// payer (w, s), encoded VAA (r), config (r), treasury (w), price update account (w, s), system
/// program (r), write authority (r, s).
pub fn post_update_ix(
    update: &AccumulatorUpdate,
    feed_id: &[u8; 32],
    accounts: &PostAccounts,
    encoded_vaa: &Pubkey,
    treasury_id: u8,
) -> Result<Instruction, HermesError> {
    let message = update.require(feed_id)?;
    let params = PostUpdateParams {
        merkle_price_update: message.merkle_price_update(),
        treasury_id,
    };
    Ok(Instruction {
        program_id: pyth_solana_receiver_sdk::ID,
        accounts: vec![
            AccountMeta::new(accounts.payer, true),
            AccountMeta::new_readonly(*encoded_vaa, false),
            AccountMeta::new_readonly(receiver_config_address(), false),
            AccountMeta::new(receiver_treasury_address(treasury_id), false),
            AccountMeta::new(accounts.price_update_account, true),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
            AccountMeta::new_readonly(accounts.write_authority, true),
        ],
        data: instruction_data(POST_UPDATE_DISCRIMINATOR, &params)?,
    })
}

/// One instruction per wanted feed, `targets` pairing a feed id with its price update account.
///
/// - [`PostPath::Atomic`]: one `post_update_atomic` each; every one must go in its own transaction
///   (see [`post_update_atomic_ix`] for the 1232-byte limit: 5 signatures by default, 6 at most with
///   this data), and each account records `Partial { num_signatures }` unless the kept signatures
///   reach quorum, which cannot fit in a transaction. **The Lever program only accepts `Full`
///   verification**, so an atomic post cannot price a Lever instruction.
/// - [`PostPath::EncodedVaa`]: one `post_update` each against the same verified VAA account; each
///   is small (302 bytes of data with a 10-node proof): with the payer as write authority two fit in
///   one transaction (1,112 bytes), three do not (1,521). Each records `Full`.
///
/// The payer must hold the rent of each new 134-byte account plus the receiver's per-update fee.
pub fn post_price_update_instructions(
    update: &AccumulatorUpdate,
    payer: Pubkey,
    write_authority: Pubkey,
    targets: &[([u8; 32], Pubkey)],
    path: PostPath,
    treasury_id: u8,
) -> Result<Vec<Instruction>, HermesError> {
    targets
        .iter()
        .map(|(feed_id, price_update_account)| {
            let accounts = PostAccounts {
                payer,
                write_authority,
                price_update_account: *price_update_account,
            };
            match path {
                PostPath::Atomic { signatures, wormhole } => {
                    post_update_atomic_ix(update, feed_id, &accounts, signatures, &wormhole, treasury_id)
                }
                PostPath::EncodedVaa { encoded_vaa } => {
                    post_update_ix(update, feed_id, &accounts, &encoded_vaa, treasury_id)
                }
            }
        })
        .collect()
}

fn short_vec_len(n: usize) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

/// Serialized size of a legacy transaction holding `instructions` with `payer` as fee payer:
/// signatures (64 bytes per distinct signer), message header, account keys, blockhash and compiled
/// instructions. Compare with [`PACKET_DATA_SIZE`].
pub fn legacy_transaction_size(instructions: &[Instruction], payer: &Pubkey) -> usize {
    let mut keys: Vec<(Pubkey, bool)> = vec![(*payer, true)];
    let mut add = |key: Pubkey, signer: bool| match keys.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 |= signer,
        None => keys.push((key, signer)),
    };
    for ix in instructions {
        for meta in &ix.accounts {
            add(meta.pubkey, meta.is_signer);
        }
        add(ix.program_id, false);
    }
    let signers = keys.iter().filter(|(_, s)| *s).count();
    let compiled: usize = instructions
        .iter()
        .map(|ix| {
            1 + short_vec_len(ix.accounts.len())
                + ix.accounts.len()
                + short_vec_len(ix.data.len())
                + ix.data.len()
        })
        .sum();
    short_vec_len(signers)
        + 64 * signers
        + 3
        + short_vec_len(keys.len())
        + 32 * keys.len()
        + 32
        + short_vec_len(instructions.len())
        + compiled
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::AccountInfo;
    use anchor_lang::{AccountSerialize, AnchorDeserialize, ToAccountMetas};
    use pythnet_sdk::accumulators::merkle::MerkleRoot;
    use pythnet_sdk::wire::v1::{AccumulatorUpdateData, Proof, WormholeMessage, WormholePayload};
    use serde_json::Value;

    const FILE: &str = include_str!("../data/pyth/hermes_accumulator_update_2024-05-13_SOL_ETH_plus1.json");

    /// Guardian set 4's keys, in order: the payload of the guardian-set upgrade VAA `gs4` in
    /// wormhole-foundation/wormhole guardianset/mainnetv2/canonical_sets/guardianSetVAAs.csv
    /// @ 02cd52c5c11d ("Core", action 2, chain 0, new index 4, 19 keys).
    const GUARDIAN_SET_4: [&str; 19] = [
        "5893b5a76c3f739645648885bdccc06cd70a3cd3",
        "ff6cb952589bde862c25ef4392132fb9d4a42157",
        "114de8460193bdf3a2fcf81f86a09765f4762fd1",
        "107a0086b32d7a0977926a205131d8731d39cbeb",
        "8c82b2fd82faed2711d59af0f2499d16e726f6b2",
        "11b39756c042441be6d8650b69b54ebe715e2343",
        "54ce5b4d348fb74b958e8966e2ec3dbd4958a7cd",
        "15e7caf07c4e3dc8e7c469f92c8cd88fb8005a20",
        "74a3bf913953d695260d88bc1aa25a4eee363ef0",
        "000ac0076727b35fbea2dac28fee5ccb0fea768e",
        "af45ced136b9d9e24903464ae889f5c8a723fc14",
        "f93124b7c738843cbb89e864c862c38cddcccf95",
        "d2cc37a4dc036a8d232b48f62cdd4731412f4890",
        "da798f6896a3331f64b48c12d1d57fd9cbe70811",
        "71aa1be1d36cafe3867910f99c09e347899c19c3",
        "8192b6e7387ccd768277c17dab1b7a5027c0b3cf",
        "178e21ad2e77ae06711549cfbb1f9c7a9d8096e8",
        "5e1487f35515d02a92753504a8d75471b9f49edb",
        "6fbebc898f403e4773e95feb15e80c9a99c8348d",
    ];

    fn file() -> Value {
        serde_json::from_str(FILE).unwrap()
    }

    fn raw() -> Vec<u8> {
        let v = file();
        decode_binary("base64", v["binary"]["data"][0].as_str().unwrap(), 0).unwrap()
    }

    fn parsed() -> AccumulatorUpdate {
        AccumulatorUpdate::parse(&raw()).unwrap()
    }

    fn bytes32(hex: &str) -> [u8; 32] {
        feed_id_from_hex(hex).unwrap()
    }

    fn guardian_set_4() -> Vec<[u8; 20]> {
        GUARDIAN_SET_4
            .iter()
            .map(|h| decode_hex(h).unwrap().try_into().unwrap())
            .collect()
    }

    /// Offset of update `i`'s message bytes in the raw update.
    fn message_offset(raw: &[u8], update: &AccumulatorUpdate, i: usize) -> usize {
        let message = &update.updates[i].message;
        raw.windows(message.len())
            .position(|w| w == &message[..])
            .unwrap()
    }

    fn flip(raw: &[u8], offset: usize) -> Vec<u8> {
        let mut out = raw.to_vec();
        out[offset] ^= 0x01;
        out
    }

    fn accounts() -> PostAccounts {
        PostAccounts {
            payer: Pubkey::new_unique(),
            write_authority: Pubkey::new_unique(),
            price_update_account: Pubkey::new_unique(),
        }
    }

    /// SHA-256 (FIPS 180-4), only to recompute Anchor discriminators here; checked below against a
    /// standard vector and against a discriminator Anchor computed for the Lever program.
    fn sha256(input: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ];
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ];
        let mut padded = input.to_vec();
        padded.push(0x80);
        while padded.len() % 64 != 56 {
            padded.push(0);
        }
        padded.extend_from_slice(&((input.len() as u64) * 8).to_be_bytes());
        for block in padded.chunks(64) {
            let mut w = [0u32; 64];
            for (i, word) in block.chunks(4).enumerate() {
                w[i] = u32::from_be_bytes(word.try_into().unwrap());
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                hh = g;
                g = f;
                f = e;
                e = d.wrapping_add(t1);
                d = c;
                c = b;
                b = a;
                a = t1.wrapping_add(t2);
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *x = x.wrapping_add(y);
            }
        }
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_mut(4).zip(h) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    #[test]
    fn hermes_test_sha256_matches_anchor() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        use anchor_lang::Discriminator;
        assert_eq!(
            &sha256(b"global:accept_admin")[..8],
            lever::instruction::AcceptAdmin::DISCRIMINATOR
        );
        assert_eq!(
            &sha256(b"account:PriceUpdateV2")[..8],
            PriceUpdateV2::DISCRIMINATOR
        );
    }

    #[test]
    fn hermes_parses_the_bundled_response() {
        let response = parse_hermes_response(FILE).unwrap();
        assert_eq!(response.updates.len(), 1);
        assert!(response.parsed.is_empty());
        let update = &response.updates[0];
        assert_eq!(update, &parsed());
        let d = &file()["decoded"];
        assert_eq!(u64::from(update.major_version), d["major"].as_u64().unwrap());
        assert_eq!(u64::from(update.minor_version), d["minor"].as_u64().unwrap());
        assert!(update.trailing_header.is_empty());
        let vaa = &update.vaa;
        assert_eq!(vaa.bytes.len(), 952);
        assert_eq!(vaa.version, 1);
        assert_eq!(
            u64::from(vaa.guardian_set_index),
            d["guardian_set_index"].as_u64().unwrap()
        );
        assert_eq!(vaa.signatures.len() as u64, d["num_signatures"].as_u64().unwrap());
        assert_eq!(u64::from(vaa.timestamp), d["vaa_timestamp"].as_u64().unwrap());
        assert_eq!(u64::from(vaa.emitter_chain), d["emitter_chain"].as_u64().unwrap());
        assert_eq!(vaa.emitter_address, bytes32(d["emitter"].as_str().unwrap()));
        assert_eq!(vaa.sequence, d["sequence"].as_u64().unwrap());
        assert_eq!(vaa.body().len(), 51 + 37);
        assert_eq!(update.root.slot, d["merkle_slot"].as_u64().unwrap());
        assert_eq!(update.root.ring_size, 10_000);
    }

    #[test]
    fn hermes_feeds_and_values_match_the_decoded_section() {
        let update = parsed();
        let expected = file()["decoded"]["messages"].as_array().unwrap().clone();
        assert_eq!(update.updates.len(), expected.len());
        assert_eq!(update.updates.len(), 3);
        for (got, want) in update.updates.iter().zip(&expected) {
            let m = &got.price;
            assert_eq!(want["type"], "price_feed");
            assert_eq!(m.feed_id, bytes32(want["feed_id"].as_str().unwrap()));
            assert_eq!(m.price, want["price"].as_i64().unwrap());
            assert_eq!(m.conf, want["conf"].as_u64().unwrap());
            assert_eq!(i64::from(m.exponent), want["exponent"].as_i64().unwrap());
            assert_eq!(m.publish_time, want["publish_time"].as_i64().unwrap());
            assert_eq!(m.prev_publish_time, want["prev_publish_time"].as_i64().unwrap());
            assert_eq!(m.ema_price, want["ema_price"].as_i64().unwrap());
            assert_eq!(m.ema_conf, want["ema_conf"].as_u64().unwrap());
            assert_eq!(got.message.len(), PRICE_FEED_MESSAGE_LEN);
            assert_eq!(got.proof.len(), 10);
        }
        assert_eq!(update.feed_ids()[2], crate::pyth::SOL_USD_FEED_ID);
    }

    #[test]
    fn hermes_every_proof_verifies_against_the_root() {
        let update = parsed();
        for u in &update.updates {
            assert_eq!(merkle_root_of(&u.message, &u.proof), update.root.root);
            // pythnet-sdk's own check, the one the receiver runs.
            let root = MerkleRoot::<Keccak160>::new(update.root.root);
            assert!(root.check(MerklePath::new(u.proof.clone()), &u.message));
        }
    }

    #[test]
    fn hermes_decoder_agrees_with_pythnet_sdk() {
        let raw = raw();
        let update = parsed();
        let theirs = AccumulatorUpdateData::try_from_slice(&raw).unwrap();
        let Proof::WormholeMerkle { vaa, updates } = theirs.proof;
        assert_eq!(vaa.as_ref(), &update.vaa.bytes[..]);
        assert_eq!(updates.len(), update.updates.len());
        for (theirs, ours) in updates.iter().zip(&update.updates) {
            assert_eq!(theirs, &ours.merkle_price_update());
        }
        let WormholePayload::Merkle(root) = WormholeMessage::try_from_bytes(&update.vaa.payload)
            .unwrap()
            .payload;
        assert_eq!(
            (root.slot, root.ring_size, root.root),
            (update.root.slot, update.root.ring_size, update.root.root)
        );
    }

    #[test]
    fn hermes_flipped_proof_or_message_byte_is_rejected() {
        let raw = raw();
        let update = parsed();
        for i in 0..update.updates.len() {
            let at = message_offset(&raw, &update, i);
            // A byte of the price inside the message, then its first proof node, then its last.
            let proof_start = at + PRICE_FEED_MESSAGE_LEN + 1;
            for offset in [at + 1 + 32 + 3, proof_start, proof_start + 10 * 20 - 1] {
                match AccumulatorUpdate::parse(&flip(&raw, offset)) {
                    Err(HermesError::ProofMismatch {
                        update: u,
                        computed,
                        root,
                    }) => {
                        assert_eq!(u, i);
                        assert_eq!(root, update.root.root);
                        assert_ne!(computed, root);
                    }
                    other => panic!("offset {offset}: expected ProofMismatch, got {other:?}"),
                }
            }
        }
        // A flipped byte of the signed root fails the first proof.
        let root_at = raw.windows(20).position(|w| w == update.root.root).unwrap();
        assert!(matches!(
            AccumulatorUpdate::parse(&flip(&raw, root_at)),
            Err(HermesError::ProofMismatch { update: 0, .. })
        ));
        let err = AccumulatorUpdate::parse(&flip(&raw, proof_start_of(&raw, &update))).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
    }

    fn proof_start_of(raw: &[u8], update: &AccumulatorUpdate) -> usize {
        message_offset(raw, update, 0) + PRICE_FEED_MESSAGE_LEN + 1
    }

    #[test]
    fn hermes_truncated_input_is_rejected_at_every_length() {
        let raw = raw();
        for len in 0..raw.len() {
            match AccumulatorUpdate::parse(&raw[..len]) {
                Err(HermesError::Truncated {
                    needed, available, ..
                }) => assert!(needed > available),
                other => panic!("prefix of {len} bytes: expected Truncated, got {other:?}"),
            }
        }
        let err = AccumulatorUpdate::parse(&raw[..100]).unwrap_err();
        assert_eq!(
            err,
            HermesError::Truncated {
                field: "vaa",
                offset: 10,
                needed: 952,
                available: 90
            }
        );
    }

    #[test]
    fn hermes_malformed_headers_get_named_errors() {
        let raw = raw();
        let with = |offset: usize, value: u8| {
            let mut out = raw.clone();
            out[offset] = value;
            AccumulatorUpdate::parse(&out)
        };
        assert_eq!(with(0, b'X'), Err(HermesError::BadMagic { found: *b"XNAU" }));
        assert_eq!(
            with(4, 2),
            Err(HermesError::UnsupportedVersion { major: 2, minor: 0 })
        );
        // A newer minor version is accepted, as pythnet-sdk does.
        assert_eq!(with(5, 1).unwrap().minor_version, 1);
        assert_eq!(with(7, 1), Err(HermesError::UnsupportedProofType(1)));
        assert_eq!(with(10, 2), Err(HermesError::UnsupportedVaaVersion(2)));
        let update = parsed();
        let payload_at = 10 + update.vaa.bytes.len() - update.vaa.payload.len();
        assert_eq!(
            with(payload_at, b'B'),
            Err(HermesError::BadRootMagic { found: *b"BUWV" })
        );
        assert_eq!(with(payload_at + 4, 1), Err(HermesError::UnsupportedRootType(1)));
        // A message of another type, its proof still valid: only a forged tree could do this, so
        // check the decoder directly.
        let mut twap = update.updates[0].message.clone();
        twap[0] = 1;
        assert_eq!(
            decode_price_feed_message(&twap),
            Err(HermesError::UnsupportedMessageType(1))
        );
        assert!(matches!(
            decode_price_feed_message(&update.updates[0].message[..40]),
            Err(HermesError::Truncated {
                field: "message.price",
                ..
            })
        ));
        let mut longer = raw.clone();
        longer.push(0);
        assert_eq!(
            AccumulatorUpdate::parse(&longer),
            Err(HermesError::TrailingBytes {
                after: "the last update",
                count: 1
            })
        );
    }

    #[test]
    fn hermes_json_encodings_and_parsed_section() {
        let update = parsed();
        let hex_data = hex(&raw());
        let decoded = file()["decoded"]["messages"].clone();
        let parsed_section: Vec<Value> = decoded
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let price = |p: &str, c: &str| {
                    serde_json::json!({
                        "price": m[p].as_i64().unwrap().to_string(),
                        "conf": m[c].as_u64().unwrap().to_string(),
                        "expo": m["exponent"],
                        "publish_time": m["publish_time"],
                    })
                };
                serde_json::json!({
                    "id": m["feed_id"],
                    "price": price("price", "conf"),
                    "ema_price": price("ema_price", "ema_conf"),
                    "metadata": {"slot": 140903343, "prev_publish_time": m["prev_publish_time"]},
                })
            })
            .collect();
        let response = |encoding: &str, data: Vec<String>, parsed: &Vec<Value>| {
            serde_json::json!({"binary": {"encoding": encoding, "data": data}, "parsed": parsed}).to_string()
        };

        let ok = parse_hermes_response(&response("hex", vec![hex_data.clone()], &parsed_section)).unwrap();
        assert_eq!(ok.updates, vec![update.clone()]);
        assert_eq!(ok.parsed.len(), 3);
        let sol = crate::pyth::SOL_USD_FEED_ID;
        assert_eq!(ok.find(&sol).unwrap().1.price.price, 14_802_549_538);

        let mut tampered = parsed_section.clone();
        tampered[1]["price"]["price"] = Value::from("294943041423");
        assert_eq!(
            parse_hermes_response(&response("hex", vec![hex_data.clone()], &tampered)),
            Err(HermesError::ParsedMismatch {
                feed_id: update.updates[1].feed_id(),
                field: "price.price"
            })
        );
        let mut missing = parsed_section.clone();
        missing[0]["id"] = Value::from(hex(&[0x11; 32]));
        assert_eq!(
            parse_hermes_response(&response("hex", vec![hex_data.clone()], &missing)),
            Err(HermesError::ParsedFeedMissing { feed_id: [0x11; 32] })
        );
        let mut not_int = parsed_section.clone();
        not_int[0]["price"]["conf"] = Value::from("12.5");
        assert!(matches!(
            parse_hermes_response(&response("hex", vec![hex_data.clone()], &not_int)),
            Err(HermesError::BadParsedEntry { index: 0, .. })
        ));

        assert_eq!(
            parse_hermes_response(&response("base58", vec![hex_data.clone()], &vec![])),
            Err(HermesError::UnsupportedEncoding("base58".into()))
        );
        assert!(matches!(
            parse_hermes_response(&response("hex", vec![hex_data[1..].to_string()], &vec![])),
            Err(HermesError::BadHex { index: 0, .. })
        ));
        assert!(matches!(
            parse_hermes_response(&response("base64", vec!["not base64!".into()], &vec![])),
            Err(HermesError::BadBase64 { index: 0, .. })
        ));
        assert_eq!(
            parse_hermes_response(&response("hex", vec![], &vec![])),
            Err(HermesError::NoUpdates)
        );
        assert!(matches!(
            parse_hermes_response("{\"binary\": 3}"),
            Err(HermesError::Json(_))
        ));
        assert!(matches!(
            parse_hermes_response("not json"),
            Err(HermesError::Json(_))
        ));
    }

    #[test]
    fn hermes_guardian_signatures_are_guardian_set_4() {
        let update = parsed();
        let keys = guardian_set_4();
        assert_eq!(update.vaa.verify_signatures(&keys), Ok(13));
        let signers = update.vaa.recover_signers().unwrap();
        for (index, address) in &signers {
            assert_eq!(address, &keys[usize::from(*index)]);
        }
        // 13 signatures of 19 guardians is exactly the quorum.
        assert_eq!(receiver_verification(13, keys.len()), Verification::Full);
        assert_eq!(receiver_verification(12, keys.len()), Verification::Partial(12));

        // A changed body (the sequence) no longer recovers the guardians' keys.
        let mut forged = update.vaa.bytes.clone();
        let sequence_at = forged.len() - update.vaa.payload.len() - 9;
        forged[sequence_at] ^= 1;
        let forged = Vaa::parse(&forged).unwrap();
        assert!(matches!(
            forged.verify_signatures(&keys),
            Err(HermesError::GuardianKeyMismatch { .. } | HermesError::SignatureRecovery { .. })
        ));
        assert!(matches!(
            update.vaa.verify_signatures(&keys[..3]),
            Err(HermesError::UnknownGuardian { guardians: 3, .. })
        ));
    }

    #[test]
    fn hermes_trimmed_vaa_keeps_the_body_and_valid_signatures() {
        let update = parsed();
        let trimmed = Vaa::parse(&update.vaa.with_signatures(5).unwrap()).unwrap();
        assert_eq!(trimmed.signatures, update.vaa.signatures[..5]);
        assert_eq!(trimmed.body(), update.vaa.body());
        assert_eq!(trimmed.bytes.len(), 6 + 5 * 66 + 88);
        assert_eq!(trimmed.verify_signatures(&guardian_set_4()), Ok(5));
        assert_eq!(
            update.vaa.with_signatures(14),
            Err(HermesError::SignatureCount {
                requested: 14,
                available: 13
            })
        );
        assert!(update.vaa.with_signatures(0).is_err());
    }

    #[test]
    fn hermes_atomic_instruction_matches_the_receiver() {
        let update = parsed();
        let accounts = accounts();
        let sol = crate::pyth::SOL_USD_FEED_ID;
        let ix = post_update_atomic_ix(&update, &sol, &accounts, 5, &WORMHOLE_PROGRAM_ID, 3).unwrap();
        assert_eq!(ix.program_id, pyth_solana_receiver_sdk::ID);
        assert_eq!(
            ix.program_id.to_string(),
            "rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ"
        );

        // The account list the receiver SDK's own CPI struct produces, key for key.
        let guardian_set =
            Pubkey::find_program_address(&[b"GuardianSet", &4u32.to_be_bytes()], &WORMHOLE_PROGRAM_ID).0;
        assert_eq!(guardian_set, guardian_set_address(&WORMHOLE_PROGRAM_ID, 4));
        let treasury = Pubkey::find_program_address(&[b"treasury", &[3]], &pyth_solana_receiver_sdk::ID).0;
        let config = Pubkey::find_program_address(&[b"config"], &pyth_solana_receiver_sdk::ID).0;
        assert_eq!(
            (receiver_treasury_address(3), receiver_config_address()),
            (treasury, config)
        );
        let keys = [
            accounts.payer,
            guardian_set,
            config,
            treasury,
            accounts.price_update_account,
            anchor_lang::system_program::ID,
            accounts.write_authority,
        ];
        let metas = with_infos(&keys, |infos| {
            pyth_solana_receiver_sdk::cpi::accounts::PostUpdateAtomic {
                payer: infos[0].clone(),
                guardian_set: infos[1].clone(),
                config: infos[2].clone(),
                treasury: infos[3].clone(),
                price_update_account: infos[4].clone(),
                system_program: infos[5].clone(),
                write_authority: infos[6].clone(),
            }
            .to_account_metas(None)
        });
        assert_eq!(ix.accounts, metas);

        // Anchor data: the discriminator, then the borsh params, which round-trip.
        let sighash = sha256(b"global:post_update_atomic");
        assert_eq!(ix.data[..8], sighash[..8]);
        let params = PostUpdateAtomicParams::try_from_slice(&ix.data[8..]).unwrap();
        assert_eq!(params.vaa, update.vaa.with_signatures(5).unwrap());
        assert_eq!(params.treasury_id, 3);
        let message = update.get(&sol).unwrap();
        assert_eq!(params.merkle_price_update, message.merkle_price_update());
        assert_eq!(params.merkle_price_update.message.as_ref(), &message.message[..]);
        assert_eq!(params.merkle_price_update.proof.to_vec(), message.proof);
        let mut again = POST_UPDATE_ATOMIC_DISCRIMINATOR.to_vec();
        again.extend(borsh::to_vec(&params).unwrap());
        assert_eq!(again, ix.data);
        // 8 + (4 + 424) + (4 + 85) + (4 + 200) + 1
        assert_eq!(ix.data.len(), 730);

        assert_eq!(
            post_update_atomic_ix(&update, &[9; 32], &accounts, 5, &WORMHOLE_PROGRAM_ID, 0),
            Err(HermesError::FeedNotInUpdate { feed_id: [9; 32] })
        );
    }

    #[test]
    fn hermes_post_update_instruction_matches_the_receiver() {
        let update = parsed();
        let accounts = accounts();
        let encoded_vaa = Pubkey::new_unique();
        let eth = update.updates[1].feed_id();
        let ix = post_update_ix(&update, &eth, &accounts, &encoded_vaa, 0).unwrap();
        assert_eq!(ix.program_id, pyth_solana_receiver_sdk::ID);
        let keys = [
            accounts.payer,
            encoded_vaa,
            receiver_config_address(),
            receiver_treasury_address(0),
            accounts.price_update_account,
            anchor_lang::system_program::ID,
            accounts.write_authority,
        ];
        let metas = with_infos(&keys, |infos| {
            pyth_solana_receiver_sdk::cpi::accounts::PostUpdate {
                payer: infos[0].clone(),
                encoded_vaa: infos[1].clone(),
                config: infos[2].clone(),
                treasury: infos[3].clone(),
                price_update_account: infos[4].clone(),
                system_program: infos[5].clone(),
                write_authority: infos[6].clone(),
            }
            .to_account_metas(None)
        });
        assert_eq!(ix.accounts, metas);
        let sighash = sha256(b"global:post_update");
        assert_eq!(ix.data[..8], sighash[..8]);
        let params = PostUpdateParams::try_from_slice(&ix.data[8..]).unwrap();
        assert_eq!(
            params.merkle_price_update,
            update.updates[1].merkle_price_update()
        );
        assert_eq!(params.treasury_id, 0);
        assert_eq!(ix.data.len(), 8 + 4 + 85 + 4 + 200 + 1);

        // One per wanted feed, in order, against the same VAA account.
        let targets: Vec<_> = update
            .feed_ids()
            .into_iter()
            .map(|f| (f, Pubkey::new_unique()))
            .collect();
        let path = PostPath::EncodedVaa { encoded_vaa };
        let all = post_price_update_instructions(
            &update,
            accounts.payer,
            accounts.write_authority,
            &targets,
            path,
            0,
        )
        .unwrap();
        assert_eq!(all.len(), 3);
        for (ix, (feed, account)) in all.iter().zip(&targets) {
            assert_eq!(ix.accounts[4].pubkey, *account);
            let params = PostUpdateParams::try_from_slice(&ix.data[8..]).unwrap();
            assert_eq!(
                decode_price_feed_message(params.merkle_price_update.message.as_ref())
                    .unwrap()
                    .feed_id,
                *feed
            );
        }
        // Two posts fit in one transaction with the payer as write authority, three do not.
        let payer_is_authority: Vec<Instruction> =
            post_price_update_instructions(&update, accounts.payer, accounts.payer, &targets, path, 0)
                .unwrap();
        let two = legacy_transaction_size(&payer_is_authority[..2], &accounts.payer);
        let three = legacy_transaction_size(&payer_is_authority, &accounts.payer);
        assert_eq!((two, three), (1112, 1521));
        let tx = solana_transaction::Transaction::new_with_payer(&payer_is_authority, Some(&accounts.payer));
        assert_eq!(three, 1 + 64 * 4 + tx.message.serialize().len());
    }

    /// Call `f` with one `AccountInfo` per key (no data, no lamports).
    fn with_infos<T>(keys: &[Pubkey; 7], f: impl FnOnce(&[AccountInfo<'_>]) -> T) -> T {
        let owner = Pubkey::default();
        let mut lamports = [0u64; 7];
        let mut data: [[u8; 0]; 7] = [[]; 7];
        let infos: Vec<AccountInfo<'_>> = keys
            .iter()
            .zip(lamports.iter_mut())
            .zip(data.iter_mut())
            .map(|((key, lamports), data)| AccountInfo::new(key, false, false, lamports, data, &owner, false))
            .collect();
        f(&infos)
    }

    #[test]
    fn hermes_atomic_transaction_size_limits() {
        let update = parsed();
        let payer = Pubkey::new_unique();
        let accounts = PostAccounts {
            payer,
            write_authority: payer,
            price_update_account: Pubkey::new_unique(),
        };
        let sol = crate::pyth::SOL_USD_FEED_ID;
        let size_with = |signatures: u8| {
            let ix =
                post_update_atomic_ix(&update, &sol, &accounts, signatures, &WORMHOLE_PROGRAM_ID, 0).unwrap();
            let size = legacy_transaction_size(std::slice::from_ref(&ix), &payer);
            // The same size as the Solana SDK's own serialization.
            let tx = solana_transaction::Transaction::new_with_payer(&[ix], Some(&payer));
            let signers = usize::from(tx.message.header.num_required_signatures);
            assert_eq!(signers, 2);
            assert_eq!(size, 1 + 64 * signers + tx.message.serialize().len());
            size
        };
        assert_eq!(size_with(DEFAULT_ATOMIC_SIGNATURES), 1131);
        assert_eq!(size_with(6), 1197);
        assert!(size_with(6) <= PACKET_DATA_SIZE);
        assert!(size_with(7) > PACKET_DATA_SIZE);
        assert_eq!(size_with(13), 1659);
        // A separate write authority adds a signature and a key: 5 signatures still fit.
        let three = PostAccounts {
            write_authority: Pubkey::new_unique(),
            ..accounts
        };
        let ix = post_update_atomic_ix(&update, &sol, &three, 5, &WORMHOLE_PROGRAM_ID, 0).unwrap();
        assert_eq!(legacy_transaction_size(&[ix], &payer), 1131 + 64 + 32);

        let all = post_price_update_instructions(
            &update,
            payer,
            payer,
            &[(sol, Pubkey::new_unique())],
            PostPath::atomic(),
            0,
        )
        .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            PostUpdateAtomicParams::try_from_slice(&all[0].data[8..])
                .unwrap()
                .vaa
                .len(),
            6 + 5 * 66 + 88
        );
    }

    #[test]
    fn hermes_price_input_equals_the_decoded_values() {
        let update = parsed();
        let expected = file()["decoded"]["messages"].as_array().unwrap().clone();
        for (u, want) in update.updates.iter().zip(&expected) {
            let input = u.price_input(Verification::Full);
            assert_eq!(
                input,
                PriceInput {
                    feed_id: bytes32(want["feed_id"].as_str().unwrap()),
                    price: want["price"].as_i64().unwrap(),
                    conf: want["conf"].as_u64().unwrap(),
                    exponent: want["exponent"].as_i64().unwrap() as i32,
                    publish_time: want["publish_time"].as_i64().unwrap(),
                    verification: Verification::Full,
                }
            );
            // The SDK's PriceUpdateV2 builder carries the same price, conf, exponent and time.
            let sdk = crate::pyth::price_update(&input);
            assert_eq!(
                (
                    sdk.price_message.feed_id,
                    sdk.price_message.price,
                    sdk.price_message.conf
                ),
                (u.price.feed_id, u.price.price, u.price.conf)
            );
            assert_eq!(
                (sdk.price_message.exponent, sdk.price_message.publish_time),
                (u.price.exponent, u.price.publish_time)
            );
            // The account the receiver would write, through the SDK's decoder.
            let authority = Pubkey::new_unique();
            let account = u.price_update_account(Verification::Partial(5), authority, 77);
            let mut data = Vec::new();
            account.try_serialize(&mut data).unwrap();
            data.resize(PriceUpdateV2::LEN, 0);
            let back = crate::pyth::decode_price_update(&data).unwrap();
            assert_eq!(back.price_message, u.price);
            assert_eq!(back.write_authority, authority);
            assert_eq!(back.posted_slot, 77);
            assert_eq!(
                back.verification_level,
                VerificationLevel::Partial { num_signatures: 5 }
            );
        }
        let sol = update
            .get(&crate::pyth::SOL_USD_FEED_ID)
            .unwrap()
            .price_input(Verification::Full);
        assert_eq!(
            (sol.price, sol.conf, sol.exponent),
            (14_802_549_538, 9_930_888, -8)
        );
    }
}
