//! `reopen_market`: the admin re-opens LT mints on a wiped market. The recorded LT supply is first
//! synced with the mint (wiped LT burned with the token program counts as gone); the market must be
//! wiped, with no LT left and an empty leveraged pool.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::Mint;

use crate::constants::{CONFIG_SEED, STATUS_WIPED};
use crate::error::LeverError;
use crate::events::MarketReopened;
use crate::instructions::{emit_event, sync_lt_supply};
use crate::state::{Config, Market};

#[event_cpi]
#[derive(Accounts)]
pub struct ReopenMarket<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        mut,
        has_one = config @ LeverError::ConfigMismatch,
        has_one = lt_mint @ LeverError::LtMintMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    /// Read to sync the recorded LT supply: wiped LT burned with the token program directly (not
    /// redeemed for zero) must not keep the market closed.
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
}

/// Re-open LT mints after a wipe-out. The wiped LT must all have been redeemed (burned for zero)
/// first: new LT minted beside old, worthless LT would hand the old holders part of the new
/// deposits.
/// What `reopen_market` does to the books (the SDK runs this same function).
pub fn reopen_books(market: &mut Market) -> Result<()> {
    require!(market.is_wiped(), LeverError::MarketNotWiped);
    require!(market.lt_supply == 0, LeverError::LtSupplyOutstanding);
    require!(
        market.exposure == 0 && market.debt.get() == 0,
        LeverError::InvalidPoolState
    );
    market.status &= !STATUS_WIPED;
    Ok(())
}

pub fn reopen_market_handler(ctx: Context<ReopenMarket>) -> Result<()> {
    let pool = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        reopen_books(&mut market)?;
        market.pool()
    };
    emit_event(
        &ctx.accounts.event_authority,
        &MarketReopened {
            market: ctx.accounts.market.key(),
            pool: pool.into(),
        },
    )
}
