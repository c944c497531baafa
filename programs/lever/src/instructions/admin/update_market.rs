//! `update_market`: the admin changes a market's parameters. Funding is accrued first at the last
//! price, so the old curve covers the time before the change; the new set is checked against the
//! config's bounds, and a risk parameter may be loosened by one step a day at most
//! ([`crate::state::MarketParams::loosening`]): an admin key (or whoever holds it) cannot open a
//! market to a day-old price at once. No price is read, so no rebalance runs here: a new target takes effect at the
//! next price-reading instruction.

use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::MarketParamsUpdated;
use crate::instructions::{emit_accrual, emit_event};
use crate::state::{Config, Market, UpdateMarketParams};

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateMarket<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(
        mut, has_one = config @ LeverError::ConfigMismatch,
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
    )]
    pub market: AccountLoader<'info, Market>,
}

/// Change the fields set in `update`, each checked against the bounds and the loosening limits
/// (at most one step, at most once a day; tightening at once). Funding is accrued first
/// (at the last price) so the old curve applies to the time before the change. A new target
/// leverage takes effect at the next price-reading instruction, which rebalances to it.
pub fn update_market_handler(ctx: Context<UpdateMarket>, update: UpdateMarketParams) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market_key = ctx.accounts.market.key();
    let (price, accrual, pool_after_accrual, event) = {
        let config = ctx.accounts.config.load()?;
        let mut market = ctx.accounts.market.load_mut()?;
        let price = market.last_price.get();
        let accrual = market.accrue(price, now)?;
        let pool_after_accrual = market.pool();
        let (before, after) = market.apply_update(&update, &config, now)?;
        let event = MarketParamsUpdated {
            market: market_key,
            before,
            after,
            pool: market.pool().into(),
        };
        (price, accrual, pool_after_accrual, event)
    };
    emit_accrual(
        &ctx.accounts.event_authority,
        market_key,
        price,
        &accrual,
        pool_after_accrual,
    )?;
    emit_event(&ctx.accounts.event_authority, &event)
}
