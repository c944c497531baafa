//! Token CPIs: units in from a user, units out of the vault (signed by the market), LT/FT minted
//! (signed by the market) and burned (signed by the holder). Units move with `transfer_checked`, so
//! SPL Token and Token-2022 underlyings go through the same calls.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, spl_token_2022, Mint};
use spl_token_2022::extension::StateWithExtensions;

use super::MarketSigner;

/// Move `amount` units from a user's account to the vault.
pub fn transfer_in<'info>(
    token_program: &AccountInfo<'info>,
    from: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token_interface::transfer_checked(
        CpiContext::new(
            token_program.key(),
            token_interface::TransferChecked {
                from: from.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: authority.clone(),
            },
        ),
        amount,
        mint.decimals,
    )
}

/// Move `amount` out of an account the market owns (the vault, or a request's escrow), signed by the market.
pub fn transfer_out<'info>(
    token_program: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    signer: &MarketSigner,
    amount: u64,
) -> Result<()> {
    let seeds = signer.seeds();
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            token_interface::TransferChecked {
                from: vault.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: market.clone(),
            },
            &[&seeds],
        ),
        amount,
        mint.decimals,
    )
}

/// Mint LT or FT, signed by the market.
pub fn mint_shares<'info>(
    token_program: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    signer: &MarketSigner,
    amount: u64,
) -> Result<()> {
    let seeds = signer.seeds();
    token_interface::mint_to(
        CpiContext::new_with_signer(
            token_program.key(),
            token_interface::MintTo {
                mint: mint.clone(),
                to: to.clone(),
                authority: market.clone(),
            },
            &[&seeds],
        ),
        amount,
    )
}

/// Burn a user's LT or FT (the user signs).
pub fn burn_shares<'info>(
    token_program: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    from: &AccountInfo<'info>,
    owner: &AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token_interface::burn(
        CpiContext::new(
            token_program.key(),
            token_interface::Burn {
                mint: mint.clone(),
                from: from.clone(),
                authority: owner.clone(),
            },
        ),
        amount,
    )
}

/// Burn LT or FT held by an account the market owns (a request's escrow), signed by the market.
pub fn burn_owned_shares<'info>(
    token_program: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    from: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    signer: &MarketSigner,
    amount: u64,
) -> Result<()> {
    let seeds = signer.seeds();
    token_interface::burn(
        CpiContext::new_with_signer(
            token_program.key(),
            token_interface::Burn {
                mint: mint.clone(),
                from: from.clone(),
                authority: market.clone(),
            },
            &[&seeds],
        ),
        amount,
    )
}

/// Close an empty token account the market owns (a request's escrow); its rent goes to `to`.
pub fn close_owned_account<'info>(
    token_program: &AccountInfo<'info>,
    account: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    signer: &MarketSigner,
) -> Result<()> {
    let seeds = signer.seeds();
    token_interface::close_account(CpiContext::new_with_signer(
        token_program.key(),
        token_interface::CloseAccount {
            account: account.clone(),
            destination: to.clone(),
            authority: market.clone(),
        },
        &[&seeds],
    ))
}

/// The token balance of an SPL Token or Token-2022 account (the base layout is shared), read
/// from the account's data after a CPI has changed it.
pub fn token_amount(account: &AccountInfo) -> Result<u64> {
    let data = account.try_borrow_data()?;
    Ok(
        StateWithExtensions::<spl_token_2022::state::Account>::unpack(&data)?
            .base
            .amount,
    )
}
