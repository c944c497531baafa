//! `withdraw_fees`: the admin pays protocol fee units (including absorbed donations) from the vault
//! to a token account owned by the config's fee receiver; the vault is reconciled after the
//! transfer.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::FeesWithdrawn;
use crate::instructions::*;
use crate::math::SafeMath;
use crate::state::{Config, Market};

#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawFees<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        mut,
        has_one = config @ LeverError::ConfigMismatch,
        has_one = vault @ LeverError::VaultMismatch,
        has_one = underlying_mint @ LeverError::UnderlyingMintMismatch,
        has_one = underlying_token_program @ LeverError::TokenProgramMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Owned by the config's fee receiver.
    #[account(
        mut,
        token::mint = underlying_mint,
        constraint = fee_destination.owner == config.load()?.fee_receiver @ LeverError::FeeDestinationMismatch,
    )]
    pub fee_destination: Box<InterfaceAccount<'info, TokenAccount>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
}

/// Pay `amount` protocol fee units (including absorbed donations) to the fee receiver.
pub fn withdraw_fees_handler(ctx: Context<WithdrawFees>, amount: u64) -> Result<()> {
    require!(amount > 0, LeverError::ZeroAmount);
    let (pool, signer) = {
        let mut market = ctx.accounts.market.load_mut()?;
        absorb_donations(&mut market, ctx.accounts.vault.amount)?;
        require!(amount <= market.fee_units, LeverError::InsufficientFees);
        market.fee_units = market.fee_units.safe_sub(amount)?;
        (market.pool(), MarketSigner::of(&market))
    };
    let a = &ctx.accounts;
    transfer_out(
        &a.underlying_token_program,
        &a.vault.to_account_info(),
        &a.underlying_mint,
        &a.fee_destination.to_account_info(),
        &a.market.to_account_info(),
        &signer,
        amount,
    )?;
    reconcile_vault(&mut ctx.accounts.vault, pool.units_owed()?)?;
    emit_event(
        &ctx.accounts.event_authority,
        &FeesWithdrawn {
            market: ctx.accounts.market.key(),
            destination: ctx.accounts.fee_destination.key(),
            units: amount,
            pool: pool.into(),
        },
    )
}
