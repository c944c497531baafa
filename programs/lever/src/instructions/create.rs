//! Creating the program's accounts at their PDAs. Every address the program creates (config,
//! market, vault, LT/FT mints, locked FT, request, escrow) can be computed in advance, and anyone can
//! send lamports to it: `create_account` (and Anchor 1.2's `init`, whose pre-funded branch uses a
//! system instruction this runtime refuses) would then fail, and the address would be lost for good.
//! So a funded address is topped up to its rent, then allocated and assigned, signed by its seeds
//! (SPL's and Anchor 0.x's pattern). Only the PDA can sign `allocate`/`assign`, so a donor can add
//! lamports but never data or an owner. Donated lamports stay in the account: the books count
//! tokens, never lamports.

use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_lang::Discriminator;
use anchor_spl::token_2022::{self, spl_token_2022};
use anchor_spl::token_2022_extensions::{metadata_pointer_initialize, MetadataPointerInitialize};
use anchor_spl::token_interface;
use spl_token_2022::extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions};

use crate::math::{SafeCast, SafeMath};

/// Create `account` (a PDA of `seeds`) with `space` bytes owned by `owner`, whatever lamports it
/// already holds; `payer` pays what rent is missing.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    space: usize,
    owner: &Pubkey,
    seeds: &[&[u8]],
) -> Result<()> {
    let rent = Rent::get()?.minimum_balance(space);
    let len = space.safe_cast::<u64>()?;
    let current = account.lamports();
    if current == 0 {
        return system_program::create_account(
            CpiContext::new_with_signer(
                system.key(),
                system_program::CreateAccount {
                    from: payer.clone(),
                    to: account.clone(),
                },
                &[seeds],
            ),
            rent,
            len,
            owner,
        );
    }
    let missing = rent.saturating_sub(current);
    if missing > 0 {
        system_program::transfer(
            CpiContext::new(
                system.key(),
                system_program::Transfer {
                    from: payer.clone(),
                    to: account.clone(),
                },
            ),
            missing,
        )?;
    }
    // Both refuse an account that already has data or another owner (an existing account).
    system_program::allocate(
        CpiContext::new_with_signer(
            system.key(),
            system_program::Allocate {
                account_to_allocate: account.clone(),
            },
            &[seeds],
        ),
        len,
    )?;
    system_program::assign(
        CpiContext::new_with_signer(
            system.key(),
            system_program::Assign {
                account_to_assign: account.clone(),
            },
            &[seeds],
        ),
        owner,
    )
}

/// Write `value` (its discriminator, then borsh) into an account just created for it by
/// [`create_pda_account`] (zeroed data of `value`'s size or more): what Anchor's `init` then
/// `exit` do for a borsh account. Also for programs that compose Lever (`programs/lever-vault`).
pub fn write_account<T: AccountSerialize>(account: &AccountInfo, value: &T) -> Result<()> {
    let mut data = account.try_borrow_mut_data()?;
    value.try_serialize(&mut &mut data[..])
}

/// Write `T`'s discriminator into a freshly created account of this program and return its body
/// for the handler to fill (what `AccountLoader::load_init` gives after `init`).
pub fn init_zero_copy<'a, T: bytemuck::Pod + Discriminator>(
    account: &'a AccountInfo,
) -> Result<std::cell::RefMut<'a, T>> {
    let data = account.try_borrow_mut_data()?;
    let disc = T::DISCRIMINATOR;
    let end = disc.len().safe_add(core::mem::size_of::<T>())?;
    require!(data.len() >= end, ErrorCode::AccountDidNotDeserialize);
    require!(
        data[..disc.len()].iter().all(|b| *b == 0),
        ErrorCode::AccountDiscriminatorAlreadySet
    );
    let mut data = data;
    data[..disc.len()].copy_from_slice(disc);
    Ok(std::cell::RefMut::map(data, |d| {
        bytemuck::from_bytes_mut(&mut d[disc.len()..end])
    }))
}

/// Bytes a token account of `mint` needs: SPL Token's fixed length, or Token-2022's base plus the
/// account extensions the mint's extensions require (as Anchor's `init` computes it).
pub fn token_account_space(mint: &AccountInfo) -> Result<usize> {
    if *mint.owner != spl_token_2022::ID {
        return Ok(anchor_spl::token::TokenAccount::LEN);
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)?;
    let required = ExtensionType::get_required_init_account_extensions(&state.get_extension_types()?);
    Ok(ExtensionType::try_calculate_account_len::<
        spl_token_2022::state::Account,
    >(&required)?)
}

/// Create and initialise a token account of `mint` at the PDA `seeds`, owned by `authority`.
pub fn create_token_account<'info>(
    payer: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    seeds: &[&[u8]],
) -> Result<()> {
    let space = token_account_space(mint)?;
    create_pda_account(payer, account, system, space, token_program.key, seeds)?;
    token_interface::initialize_account3(CpiContext::new(
        token_program.key(),
        token_interface::InitializeAccount3 {
            account: account.clone(),
            mint: mint.clone(),
            authority: authority.clone(),
        },
    ))
}

/// Create a share mint (Token-2022, `decimals`, mint authority `authority`, no freeze authority)
/// at the PDA `seeds`, with a metadata pointer to itself (the metadata is written afterwards).
pub fn create_share_mint<'info>(
    payer: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    share_program: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    decimals: u8,
    seeds: &[&[u8]],
) -> Result<()> {
    let space = ExtensionType::try_calculate_account_len::<spl_token_2022::state::Mint>(&[
        ExtensionType::MetadataPointer,
    ])?;
    create_pda_account(payer, mint, system, space, share_program.key, seeds)?;
    metadata_pointer_initialize(
        CpiContext::new(
            share_program.key(),
            MetadataPointerInitialize {
                token_program_id: share_program.clone(),
                mint: mint.clone(),
            },
        ),
        Some(authority.key()),
        Some(mint.key()),
    )?;
    token_2022::initialize_mint2(
        CpiContext::new(
            share_program.key(),
            token_2022::InitializeMint2 { mint: mint.clone() },
        ),
        decimals,
        authority.key,
        None,
    )
}
