//! The accumulator wire format: the PNAU envelope, the Wormhole VAA, the Merkle root and proofs.

use super::*;
use crate::pyth::{PriceInput, Verification};
use anchor_lang::prelude::Pubkey;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use pythnet_sdk::accumulators::merkle::{MerklePath, MerkleTree};
use pythnet_sdk::hashers::keccak256::Keccak256;
use pythnet_sdk::hashers::keccak256_160::Keccak160;
use pythnet_sdk::hashers::Hasher;
use pythnet_sdk::wire::v1::MerklePriceUpdate;

/// A bounds-checked big-endian reader: every read past the end is a [`HermesError::Truncated`].
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(super) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], HermesError> {
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

    pub(super) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], HermesError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, field: &'static str) -> Result<u8, HermesError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(super) fn u16(&mut self, field: &'static str) -> Result<u16, HermesError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(super) fn u32(&mut self, field: &'static str) -> Result<u32, HermesError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(super) fn i32(&mut self, field: &'static str) -> Result<i32, HermesError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub(super) fn u64(&mut self, field: &'static str) -> Result<u64, HermesError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    pub(super) fn i64(&mut self, field: &'static str) -> Result<i64, HermesError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    pub(super) fn rest(&mut self) -> &'a [u8] {
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
            prev_publish_time: self.price.prev_publish_time,
            verification,
        }
    }

    /// The `PriceUpdateV2` account the receiver writes when it posts this message (all eight message
    /// fields, unlike [`crate::pyth::price_update`], which derives the EMA from the price).
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

    pub(super) fn require(&self, feed_id: &[u8; 32]) -> Result<&MerkleUpdate, HermesError> {
        self.get(feed_id)
            .ok_or(HermesError::FeedNotInUpdate { feed_id: *feed_id })
    }
}
