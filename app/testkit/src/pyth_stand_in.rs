//! Native stand-ins for the two programs a full Pyth post goes through, the Wormhole core bridge's
//! encoded-VAA instructions and the Pyth receiver's `post_update`, registered at their real
//! addresses on the embedded chain.
//!
//! Why: the real programs are SBF builds that cannot be fetched or built here, and without them the
//! keeper's Hermes path (fetch the update at `tau`, post it with `Full` verification, settle) could
//! only be tested up to the instruction bytes. The stand-ins decode exactly those bytes (the
//! layouts the SDK's builders write, `lever_sdk::hermes`), check what the real programs check
//! that matters to Lever (the writer, every guardian signature against the guardian set account
//! with quorum, the Pythnet emitter, the Merkle proof against the signed root), and write the
//! real `PriceUpdateV2` layout with `Full` verification. Not modelled: the receiver's fee and its
//! config account, governance, the guardian set's expiry, and compute metering of the real code.
//! The SDK's tests check every planned transaction's size against the packet limit.

use anchor_lang::prelude::SolanaSysvar as _;
use anchor_lang::prelude::{AccountInfo, Clock, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::program::invoke;
use anchor_lang::solana_program::program_error::ProgramError;
use anchor_lang::solana_program::rent::Rent;
use anchor_lang::{AccountDeserialize, AccountSerialize, AnchorDeserialize, AnchorSerialize};
use lever_sdk::hermes::{
    decode_price_feed_message, guardian_set_address, merkle_root_of, receiver_verification,
    MerkleRootMessage, Vaa, WriteEncodedVaaArgs, CLOSE_ENCODED_VAA_DISCRIMINATOR, ENCODED_VAA_HEADER_LEN,
    INIT_ENCODED_VAA_DISCRIMINATOR, POST_UPDATE_DISCRIMINATOR, VERIFY_ENCODED_VAA_V1_DISCRIMINATOR,
    WORMHOLE_PROGRAM_ID, WRITE_ENCODED_VAA_DISCRIMINATOR,
};
use lever_sdk::pyth::Verification;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};
use pyth_solana_receiver_sdk::PostUpdateParams;
use solana_program_test::ProgramTest;

/// Anchor discriminator of the core bridge's `EncodedVaa` account.
pub const ENCODED_VAA_ACCOUNT_DISCRIMINATOR: [u8; 8] = [73, 170, 26, 37, 21, 245, 172, 192];
/// Wormhole chain id of Pythnet, the only emitter chain the receiver accepts.
pub const PYTHNET_CHAIN_ID: u16 = 26;
/// Pythnet's accumulator emitter, the only emitter address the receiver accepts.
pub const PYTHNET_ACCUMULATOR_EMITTER: [u8; 32] = [
    0xe1, 0x01, 0xfa, 0xed, 0xac, 0x58, 0x51, 0xe3, 0x2b, 0x9b, 0x23, 0xb5, 0xf9, 0x41, 0x1a, 0x8c, 0x2b,
    0xac, 0x4a, 0xae, 0x3e, 0xd4, 0xdd, 0x7b, 0x81, 0x1d, 0xd1, 0xa7, 0x2e, 0xa4, 0xaa, 0x71,
];

/// Processing status of an encoded VAA (the core bridge's `ProcessingStatus`).
const STATUS_WRITING: u8 = 1;
const STATUS_VERIFIED: u8 = 2;
/// Offsets in an encoded VAA account: status, write authority, version, VAA length.
const STATUS_AT: usize = 8;
const AUTHORITY_AT: usize = 9;
const VERSION_AT: usize = 41;
const LEN_AT: usize = 42;

/// Errors of the stand-ins (custom codes; the real programs' own codes differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StandInError {
    UnknownInstruction = 1,
    NotWritable,
    WrongAuthority,
    WrongStatus,
    OutOfBounds,
    BadVaa,
    WrongGuardianSet,
    NoQuorum,
    WrongEmitter,
    ProofMismatch,
    WrongOwner,
}

impl From<StandInError> for ProgramError {
    fn from(e: StandInError) -> Self {
        ProgramError::Custom(e as u32)
    }
}

/// Register both stand-ins on `pt`.
pub fn add_pyth_stand_ins(pt: &mut ProgramTest) {
    pt.add_program(
        "wormhole_stand_in",
        WORMHOLE_PROGRAM_ID,
        crate::native_processor!(wormhole),
    );
    pt.add_program(
        "pyth_receiver_stand_in",
        pyth_solana_receiver_sdk::ID,
        crate::native_processor!(receiver),
    );
}

/// The core bridge's legacy `GuardianSet` account (no discriminator, borsh): index, the keys,
/// creation and expiration time.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct GuardianSetAccount {
    pub index: u32,
    pub keys: Vec<[u8; 20]>,
    pub creation_time: u32,
    pub expiration_time: u32,
}

fn account<'a, 'b>(accounts: &'a [AccountInfo<'b>], i: usize) -> Result<&'a AccountInfo<'b>, ProgramError> {
    accounts.get(i).ok_or(ProgramError::NotEnoughAccountKeys)
}

fn signer(info: &AccountInfo) -> ProgramResult {
    if info.is_signer {
        Ok(())
    } else {
        Err(ProgramError::MissingRequiredSignature)
    }
}

/// The encoded VAA at `info`, checked to be this program's, written by `authority`, in `status`.
fn check_encoded_vaa(info: &AccountInfo, authority: &AccountInfo, status: u8) -> ProgramResult {
    if info.owner != &WORMHOLE_PROGRAM_ID {
        return Err(StandInError::WrongOwner.into());
    }
    let data = info.try_borrow_data()?;
    if data.len() < ENCODED_VAA_HEADER_LEN || data[..8] != ENCODED_VAA_ACCOUNT_DISCRIMINATOR {
        return Err(ProgramError::InvalidAccountData);
    }
    if data[AUTHORITY_AT..VERSION_AT] != authority.key.to_bytes() {
        return Err(StandInError::WrongAuthority.into());
    }
    if data[STATUS_AT] != status {
        return Err(StandInError::WrongStatus.into());
    }
    Ok(())
}

fn vaa_of(info: &AccountInfo) -> Result<Vaa, ProgramError> {
    let data = info.try_borrow_data()?;
    Vaa::parse(&data[ENCODED_VAA_HEADER_LEN..]).map_err(|_| StandInError::BadVaa.into())
}

fn wormhole(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (tag, args) = data.split_at_checked(8).ok_or(StandInError::UnknownInstruction)?;
    let authority = account(accounts, 0)?;
    let encoded = account(accounts, 1)?;
    signer(authority)?;
    if !encoded.is_writable {
        return Err(StandInError::NotWritable.into());
    }
    if tag == INIT_ENCODED_VAA_DISCRIMINATOR {
        if encoded.owner != program_id {
            return Err(StandInError::WrongOwner.into());
        }
        let mut d = encoded.try_borrow_mut_data()?;
        if d.len() < ENCODED_VAA_HEADER_LEN || d.iter().any(|b| *b != 0) {
            return Err(ProgramError::AccountAlreadyInitialized);
        }
        let vaa_len =
            u32::try_from(d.len() - ENCODED_VAA_HEADER_LEN).map_err(|_| StandInError::OutOfBounds)?;
        d[..8].copy_from_slice(&ENCODED_VAA_ACCOUNT_DISCRIMINATOR);
        d[STATUS_AT] = STATUS_WRITING;
        d[AUTHORITY_AT..VERSION_AT].copy_from_slice(&authority.key.to_bytes());
        d[LEN_AT..ENCODED_VAA_HEADER_LEN].copy_from_slice(&vaa_len.to_le_bytes());
        Ok(())
    } else if tag == WRITE_ENCODED_VAA_DISCRIMINATOR {
        check_encoded_vaa(encoded, authority, STATUS_WRITING)?;
        let args =
            WriteEncodedVaaArgs::try_from_slice(args).map_err(|_| ProgramError::InvalidInstructionData)?;
        let mut d = encoded.try_borrow_mut_data()?;
        let start = ENCODED_VAA_HEADER_LEN
            .checked_add(args.index as usize)
            .ok_or(StandInError::OutOfBounds)?;
        let end = start
            .checked_add(args.data.len())
            .ok_or(StandInError::OutOfBounds)?;
        d.get_mut(start..end)
            .ok_or(StandInError::OutOfBounds)?
            .copy_from_slice(&args.data);
        Ok(())
    } else if tag == VERIFY_ENCODED_VAA_V1_DISCRIMINATOR {
        check_encoded_vaa(encoded, authority, STATUS_WRITING)?;
        let vaa = vaa_of(encoded)?;
        let set_info = account(accounts, 2)?;
        if set_info.owner != program_id
            || *set_info.key != guardian_set_address(program_id, vaa.guardian_set_index)
        {
            return Err(StandInError::WrongGuardianSet.into());
        }
        let set = GuardianSetAccount::deserialize(&mut &set_info.try_borrow_data()?[..])
            .map_err(|_| StandInError::WrongGuardianSet)?;
        let signatures = vaa
            .verify_signatures(&set.keys)
            .map_err(|_| StandInError::BadVaa)?;
        let signatures = u8::try_from(signatures).map_err(|_| StandInError::BadVaa)?;
        if receiver_verification(signatures, set.keys.len()) != Verification::Full {
            return Err(StandInError::NoQuorum.into());
        }
        let mut d = encoded.try_borrow_mut_data()?;
        d[STATUS_AT] = STATUS_VERIFIED;
        d[VERSION_AT] = 1;
        Ok(())
    } else if tag == CLOSE_ENCODED_VAA_DISCRIMINATOR {
        if encoded.owner != program_id {
            return Err(StandInError::WrongOwner.into());
        }
        if encoded.try_borrow_data()?[AUTHORITY_AT..VERSION_AT] != authority.key.to_bytes() {
            return Err(StandInError::WrongAuthority.into());
        }
        let lamports = encoded.lamports();
        **encoded.try_borrow_mut_lamports()? = 0;
        let back = authority
            .lamports()
            .checked_add(lamports)
            .ok_or(ProgramError::ArithmeticOverflow)?;
        **authority.try_borrow_mut_lamports()? = back;
        encoded.try_borrow_mut_data()?.fill(0);
        Ok(())
    } else {
        Err(StandInError::UnknownInstruction.into())
    }
}

fn receiver(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (tag, args) = data.split_at_checked(8).ok_or(StandInError::UnknownInstruction)?;
    if tag != POST_UPDATE_DISCRIMINATOR {
        return Err(StandInError::UnknownInstruction.into());
    }
    let params = PostUpdateParams::try_from_slice(args).map_err(|_| ProgramError::InvalidInstructionData)?;
    let payer = account(accounts, 0)?;
    let encoded = account(accounts, 1)?;
    let price_account = account(accounts, 4)?;
    let system = account(accounts, 5)?;
    let write_authority = account(accounts, 6)?;
    signer(payer)?;
    signer(price_account)?;
    signer(write_authority)?;
    if encoded.owner != &WORMHOLE_PROGRAM_ID {
        return Err(StandInError::WrongOwner.into());
    }
    if encoded.try_borrow_data()?.get(STATUS_AT) != Some(&STATUS_VERIFIED) {
        return Err(StandInError::WrongStatus.into());
    }
    let vaa = vaa_of(encoded)?;
    if vaa.emitter_chain != PYTHNET_CHAIN_ID || vaa.emitter_address != PYTHNET_ACCUMULATOR_EMITTER {
        return Err(StandInError::WrongEmitter.into());
    }
    let root = MerkleRootMessage::parse(&vaa.payload).map_err(|_| StandInError::BadVaa)?;
    let message: &[u8] = params.merkle_price_update.message.as_ref();
    let proof: Vec<[u8; 20]> = params.merkle_price_update.proof.to_vec();
    if merkle_root_of(message, &proof) != root.root {
        return Err(StandInError::ProofMismatch.into());
    }
    let price_message = decode_price_feed_message(message).map_err(|_| StandInError::BadVaa)?;

    // `init_if_needed`, then only the recorded write authority may overwrite.
    if price_account.owner != program_id {
        let space = PriceUpdateV2::LEN;
        let lamports = Rent::get()?.minimum_balance(space);
        invoke(
            &solana_system_interface::instruction::create_account(
                payer.key,
                price_account.key,
                lamports,
                space as u64,
                program_id,
            ),
            &[payer.clone(), price_account.clone(), system.clone()],
        )?;
    } else {
        let existing = PriceUpdateV2::try_deserialize(&mut &price_account.try_borrow_data()?[..])
            .map_err(|_| ProgramError::InvalidAccountData)?;
        if existing.write_authority != *write_authority.key {
            return Err(StandInError::WrongAuthority.into());
        }
    }
    let update = PriceUpdateV2 {
        write_authority: *write_authority.key,
        verification_level: VerificationLevel::Full,
        price_message,
        posted_slot: Clock::get()?.slot,
    };
    let mut bytes = Vec::with_capacity(PriceUpdateV2::LEN);
    update
        .try_serialize(&mut bytes)
        .map_err(|_| ProgramError::InvalidAccountData)?;
    let mut d = price_account.try_borrow_mut_data()?;
    d.get_mut(..bytes.len())
        .ok_or(ProgramError::AccountDataTooSmall)?
        .copy_from_slice(&bytes);
    Ok(())
}
