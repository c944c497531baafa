//! Posting an update with `Full` verification, the only level Lever accepts: the VAA is written
//! into an `EncodedVaa` account of the Wormhole core bridge, verified there with every signature,
//! and then the receiver's `post_update` reads it. A whole VAA (13 signatures: 952 bytes with the
//! bundled update) does not fit in one transaction beside its instructions, so [`full_post_plan`]
//! splits the work into transactions that each fit in [`PACKET_DATA_SIZE`].
//!
//! Instruction names, accounts and argument layouts are the core bridge's
//! (`wormhole_core_bridge_solana` 0.0.1-alpha.5 IDL); each discriminator is the first 8 bytes of
//! `sha256("global:<name>")`, checked in the tests.

use super::*;
use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize, Pubkey};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::{AccountMeta, Instruction};

pub const INIT_ENCODED_VAA_DISCRIMINATOR: [u8; 8] = [209, 193, 173, 25, 91, 202, 181, 218];
pub const WRITE_ENCODED_VAA_DISCRIMINATOR: [u8; 8] = [199, 208, 110, 177, 150, 76, 118, 42];
pub const VERIFY_ENCODED_VAA_V1_DISCRIMINATOR: [u8; 8] = [103, 56, 177, 229, 240, 103, 68, 73];
pub const CLOSE_ENCODED_VAA_DISCRIMINATOR: [u8; 8] = [48, 221, 174, 198, 231, 7, 152, 38];

/// Bytes of an `EncodedVaa` account before the VAA itself: discriminator 8, header (status 1,
/// write authority 32, version 1) and the VAA's borsh length prefix 4. `init_encoded_vaa` takes the
/// VAA's length from the account's size, so the account is created exactly this plus the VAA.
pub const ENCODED_VAA_HEADER_LEN: usize = 46;

/// Compute budgets of pyth-crosschain's JS receiver SDK (`compute_budget.ts`): what the programs
/// are known to need, with margin.
pub const VERIFY_ENCODED_VAA_COMPUTE_UNITS: u32 = 350_000;
pub const POST_UPDATE_COMPUTE_UNITS: u32 = 35_000;
pub const WRITE_ENCODED_VAA_COMPUTE_UNITS: u32 = 3_000;
pub const CLOSE_ENCODED_VAA_COMPUTE_UNITS: u32 = 30_000;

/// Argument of `write_encoded_vaa`: `data` goes at byte `index` of the VAA.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct WriteEncodedVaaArgs {
    pub index: u32,
    pub data: Vec<u8>,
}

/// `init_encoded_vaa`: write authority (s), encoded VAA (w). The account must already exist, owned
/// by the core bridge and zeroed (see [`create_encoded_vaa_ix`]).
pub fn init_encoded_vaa_ix(wormhole: &Pubkey, write_authority: &Pubkey, encoded_vaa: &Pubkey) -> Instruction {
    Instruction {
        program_id: *wormhole,
        accounts: vec![
            AccountMeta::new_readonly(*write_authority, true),
            AccountMeta::new(*encoded_vaa, false),
        ],
        data: INIT_ENCODED_VAA_DISCRIMINATOR.to_vec(),
    }
}

/// `write_encoded_vaa { index, data }`: write authority (s), encoded VAA (w).
pub fn write_encoded_vaa_ix(
    wormhole: &Pubkey,
    write_authority: &Pubkey,
    encoded_vaa: &Pubkey,
    index: u32,
    data: &[u8],
) -> Result<Instruction, HermesError> {
    let args = WriteEncodedVaaArgs {
        index,
        data: data.to_vec(),
    };
    Ok(Instruction {
        program_id: *wormhole,
        accounts: vec![
            AccountMeta::new_readonly(*write_authority, true),
            AccountMeta::new(*encoded_vaa, false),
        ],
        data: instruction_data(WRITE_ENCODED_VAA_DISCRIMINATOR, &args)?,
    })
}

/// `verify_encoded_vaa_v1`: write authority (s), encoded VAA (w), the guardian set that signed (r).
pub fn verify_encoded_vaa_v1_ix(
    wormhole: &Pubkey,
    write_authority: &Pubkey,
    encoded_vaa: &Pubkey,
    guardian_set_index: u32,
) -> Instruction {
    Instruction {
        program_id: *wormhole,
        accounts: vec![
            AccountMeta::new_readonly(*write_authority, true),
            AccountMeta::new(*encoded_vaa, false),
            AccountMeta::new_readonly(guardian_set_address(wormhole, guardian_set_index), false),
        ],
        data: VERIFY_ENCODED_VAA_V1_DISCRIMINATOR.to_vec(),
    }
}

/// `close_encoded_vaa`: write authority (w, s; receives the rent), encoded VAA (w).
pub fn close_encoded_vaa_ix(
    wormhole: &Pubkey,
    write_authority: &Pubkey,
    encoded_vaa: &Pubkey,
) -> Instruction {
    Instruction {
        program_id: *wormhole,
        accounts: vec![
            AccountMeta::new(*write_authority, true),
            AccountMeta::new(*encoded_vaa, false),
        ],
        data: CLOSE_ENCODED_VAA_DISCRIMINATOR.to_vec(),
    }
}

/// The system `create_account` of an encoded VAA account for `vaa_len` bytes, owned by `wormhole`,
/// funded with `lamports` (its rent exemption) by `payer`; the account's key signs.
pub fn create_encoded_vaa_ix(
    wormhole: &Pubkey,
    payer: &Pubkey,
    encoded_vaa: &Pubkey,
    vaa_len: usize,
    lamports: u64,
) -> Instruction {
    let space = encoded_vaa_space(vaa_len);
    // The system program's CreateAccount (instruction 0): lamports u64, space u64, owner.
    let mut data = Vec::with_capacity(52);
    data.extend_from_slice(&0u32.to_le_bytes());
    data.extend_from_slice(&lamports.to_le_bytes());
    data.extend_from_slice(&(space as u64).to_le_bytes());
    data.extend_from_slice(wormhole.as_ref());
    Instruction {
        program_id: anchor_lang::system_program::ID,
        accounts: vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(*encoded_vaa, true),
        ],
        data,
    }
}

/// Bytes of the encoded VAA account holding a VAA of `vaa_len` bytes.
pub fn encoded_vaa_space(vaa_len: usize) -> usize {
    ENCODED_VAA_HEADER_LEN + vaa_len
}

/// Who signs and which accounts a full post uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FullPostAccounts {
    /// Pays every fee and rent, is the write authority of the encoded VAA and of the price update
    /// account, and gets the encoded VAA's rent back when it is closed.
    pub payer: Pubkey,
    /// A fresh keypair's address for the encoded VAA (it signs its creation).
    pub encoded_vaa: Pubkey,
    /// The `PriceUpdateV2` account (a keypair the payer holds; reusable, it signs every post).
    pub price_update_account: Pubkey,
    pub wormhole: Pubkey,
    pub treasury_id: u8,
}

/// The transactions of a full post of `feed_id`'s message, in order, each within
/// [`PACKET_DATA_SIZE`] with `payer` as fee payer:
///
/// 1. create the encoded VAA account (`encoded_vaa_rent` lamports), `init_encoded_vaa`, and the
///    first chunk of the VAA, as large as fits;
/// 2. more chunks while the rest does not fit beside the verification;
/// 3. the last chunk and `verify_encoded_vaa_v1` (every signature against the guardian set);
/// 4. `post_update` into the price update account (`Full`), then `close_encoded_vaa`, which
///    returns its rent to the payer.
///
/// Each transaction carries its compute limit. Signers: the payer everywhere, the encoded VAA in
/// the first, the price update account in the last.
pub fn full_post_plan(
    update: &AccumulatorUpdate,
    feed_id: &[u8; 32],
    accounts: &FullPostAccounts,
    encoded_vaa_rent: u64,
) -> Result<Vec<Vec<Instruction>>, HermesError> {
    let vaa = &update.vaa.bytes;
    let FullPostAccounts {
        payer,
        encoded_vaa,
        price_update_account,
        wormhole,
        treasury_id,
    } = *accounts;
    let post = post_update_ix(
        update,
        feed_id,
        &PostAccounts {
            payer,
            write_authority: payer,
            price_update_account,
        },
        &encoded_vaa,
        treasury_id,
    )?;
    let write = |index: usize, chunk: &[u8]| {
        let index = u32::try_from(index).map_err(|_| HermesError::Serialize("VAA over 4 GiB".into()))?;
        write_encoded_vaa_ix(&wormhole, &payer, &encoded_vaa, index, chunk)
    };
    let limit = |units: u32| ComputeBudgetInstruction::set_compute_unit_limit(units);
    let verify = verify_encoded_vaa_v1_ix(&wormhole, &payer, &encoded_vaa, update.vaa.guardian_set_index);

    let mut plan = Vec::new();
    // The largest prefix of `rest` that fits after `head` (and before `tail`) in one transaction.
    let fit =
        |head: &[Instruction], rest: &[u8], at: usize, tail: &[Instruction]| -> Result<usize, HermesError> {
            let mut len = rest.len();
            loop {
                let mut ixs = head.to_vec();
                ixs.push(write(at, &rest[..len])?);
                ixs.extend_from_slice(tail);
                if legacy_transaction_size(&ixs, &payer) <= PACKET_DATA_SIZE {
                    return Ok(len);
                }
                if len == 0 {
                    return Err(HermesError::Serialize(
                        "the post's fixed instructions do not fit in one transaction".into(),
                    ));
                }
                len -= 1;
            }
        };
    let head = vec![
        limit(WRITE_ENCODED_VAA_COMPUTE_UNITS.saturating_mul(3)),
        create_encoded_vaa_ix(&wormhole, &payer, &encoded_vaa, vaa.len(), encoded_vaa_rent),
        init_encoded_vaa_ix(&wormhole, &payer, &encoded_vaa),
    ];
    let mut at = fit(&head, vaa, 0, &[])?;
    let mut first = head;
    first.push(write(0, &vaa[..at])?);
    plan.push(first);
    let verify_head = [limit(
        WRITE_ENCODED_VAA_COMPUTE_UNITS.saturating_add(VERIFY_ENCODED_VAA_COMPUTE_UNITS),
    )];
    loop {
        let rest = &vaa[at..];
        let len = fit(&verify_head, rest, at, std::slice::from_ref(&verify))?;
        if len == rest.len() {
            let mut last = verify_head.to_vec();
            if !rest.is_empty() {
                last.push(write(at, rest)?);
            }
            last.push(verify);
            plan.push(last);
            break;
        }
        // The rest does not fit beside the verification: a chunk on its own.
        let chunk_head = [limit(WRITE_ENCODED_VAA_COMPUTE_UNITS)];
        let len = fit(&chunk_head, rest, at, &[])?;
        let mut chunk = chunk_head.to_vec();
        chunk.push(write(at, &rest[..len])?);
        plan.push(chunk);
        at += len;
    }
    plan.push(vec![
        limit(POST_UPDATE_COMPUTE_UNITS.saturating_add(CLOSE_ENCODED_VAA_COMPUTE_UNITS)),
        post,
        close_encoded_vaa_ix(&wormhole, &payer, &encoded_vaa),
    ]);
    Ok(plan)
}

/// The price update account a poster keeps for `feed_id`, derived from its own key
/// (keccak256 of a domain tag, the secret key and the feed id): the same account on every run and
/// machine without storing another key, and nobody without the poster's secret can sign for it.
pub fn derived_price_update_keypair(
    owner: &solana_keypair::Keypair,
    feed_id: &[u8; 32],
) -> solana_keypair::Keypair {
    use pythnet_sdk::hashers::{keccak256::Keccak256, Hasher};
    let seed = Keccak256::hashv(&[
        &b"lever/price-update-account/v1"[..],
        &owner.secret_bytes()[..],
        &feed_id[..],
    ]);
    solana_keypair::Keypair::new_from_array(seed)
}
