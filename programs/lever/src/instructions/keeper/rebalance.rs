//! `rebalance`: anyone brings an out-of-band market back to its target leverage (or wipes an
//! insolvent one) at a fresh price. Funding is accrued first; a market within its band, or with an
//! empty leveraged pool, is refused, so the call never moves value for nothing. No tokens move:
//! units only change pools inside the vault.

use anchor_lang::prelude::*;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use crate::constants::pause;
use crate::instructions::{emit_accrual, emit_rebalance, publish_return_data};
use crate::math::{Accrual, PoolState, RebalanceResult};
use crate::oracle::{read_price, Now, ValidPrice};
use crate::state::Market;

#[event_cpi]
#[derive(Accounts)]
pub struct Rebalance<'info> {
    /// Anyone: keepers, users, other programs.
    pub caller: Signer<'info>,
    #[account(
        mut,
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
    )]
    pub market: AccountLoader<'info, Market>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
}

/// Return data of `rebalance`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RebalanceOutcome {
    pub leverage_before_ppm: u128,
    pub leverage_after_ppm: u128,
    pub units_to_pool: u64,
    pub units_to_idle: u64,
    pub bounded: bool,
    pub wiped: bool,
    /// Mid price used.
    pub price: u128,
}

impl RebalanceOutcome {
    /// The return data for `result` at mid price `price` (the SDK builds its expectation with this).
    pub fn of(result: &RebalanceResult, price: u128) -> Self {
        Self {
            leverage_before_ppm: result.leverage_before_ppm,
            leverage_after_ppm: result.leverage_after_ppm,
            units_to_pool: result.units_to_pool,
            units_to_idle: result.units_to_idle,
            bounded: result.bounded,
            wiped: result.wiped,
            price,
        }
    }
}

/// Everything `rebalance` does to the market's books (the SDK's keeper runs this same function to
/// predict the outcome): the price, the accrual, the books after accrual, and the rebalance.
pub fn rebalance_books(
    market: &mut Market,
    update: &PriceUpdateV2,
    now: Now,
) -> Result<(ValidPrice, Accrual, PoolState, RebalanceResult)> {
    market.require_not_paused(pause::REBALANCE)?;
    let price = read_price(update, market, now)?;
    let accrual = market.observe(price.band.mid, price.publish_time, now, price.chosen)?;
    let pool_after_accrual = market.pool();
    // Refuses with WithinBand (or NothingToRebalance) and the whole instruction reverts.
    let result = market.rebalance(price.band.mid)?;
    Ok((price, accrual, pool_after_accrual, result))
}

pub fn rebalance_handler(ctx: Context<Rebalance>) -> Result<RebalanceOutcome> {
    let now = Now::get()?;
    let market_key = ctx.accounts.market.key();
    let (price, accrual, pool_after_accrual, result, pool) = {
        let mut market = ctx.accounts.market.load_mut()?;
        let (price, accrual, pool_after_accrual, result) =
            rebalance_books(&mut market, &ctx.accounts.price_update, now)?;
        (price.band.mid, accrual, pool_after_accrual, result, market.pool())
    };
    let a = &ctx.accounts;
    emit_accrual(
        &a.event_authority,
        market_key,
        price,
        &accrual,
        pool_after_accrual,
    )?;
    emit_rebalance(
        &a.event_authority,
        market_key,
        a.caller.key(),
        false,
        price,
        &result,
        pool,
    )?;
    let outcome = RebalanceOutcome::of(&result, price);
    publish_return_data(&outcome)?;
    Ok(outcome)
}
