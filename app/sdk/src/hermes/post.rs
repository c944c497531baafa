//! The Pyth receiver's instructions that post an update (Wormhole-verified or atomic), with their accounts.

use super::*;
use anchor_lang::prelude::{borsh, Pubkey};
use pyth_solana_receiver_sdk::{PostUpdateAtomicParams, PostUpdateParams};
use solana_instruction::{AccountMeta, Instruction};

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

pub(super) fn instruction_data(
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

pub(super) fn short_vec_len(n: usize) -> usize {
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

/// Wormhole mainnet guardian set 4's keys, in order (public consensus data, the set that signed the
/// bundled Hermes update): the payload of the guardian-set upgrade VAA `gs4` in
/// wormhole-foundation/wormhole guardianset/mainnetv2/canonical_sets/guardianSetVAAs.csv
/// @ 02cd52c5c11d ("Core", action 2, chain 0, new index 4, 19 keys).
pub const MAINNET_GUARDIAN_SET_4: [[u8; 20]; 19] = guardian_keys([
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
]);

/// 40 hex digits per key, decoded at compile time (a bad digit fails the build).
const fn guardian_keys<const N: usize>(hex: [&str; N]) -> [[u8; 20]; N] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let mut out = [[0u8; 20]; N];
    let mut k = 0;
    while k < N {
        let s = hex[k].as_bytes();
        assert!(s.len() == 40, "a guardian key is 40 hex digits");
        let mut i = 0;
        while i < 20 {
            out[k][i] = digit(s[2 * i]) * 16 + digit(s[2 * i + 1]);
            i += 1;
        }
        k += 1;
    }
    out
}
