//! What every instruction does before its own work: refuse remaining accounts, and for the priced
//! user instructions check the pause bit, absorb donations, read the price, then accrue funding and
//! bring the market back into band ([`Market::refresh`]).

use anchor_lang::prelude::*;

use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use super::absorb_donations;
use crate::constants::pause;
use crate::error::LeverError;
use crate::math::RiskParams;
use crate::oracle::{read_user_price, Now, Pricing, ValidPrice};
use crate::state::{Market, Refresh};

/// The common start of every user operation, instant or settled: the pause bit, donations, the
/// price under `pricing`, then funding accrual and the automatic return into band. A settlement
/// price older than the one the books last used is converted at but not recorded (the books keep
/// their newest price; funding accrues at it), and a stale one does not rebalance: a rebalance
/// moves value between the pools at its price, which must be fresh for that.
pub fn begin_priced(
    market: &mut Market,
    update: &PriceUpdateV2,
    pricing: Pricing,
    op: u8,
    vault_amount: u64,
    now: Now,
) -> Result<(ValidPrice, Refresh)> {
    market.require_not_paused(op)?;
    absorb_donations(market, vault_amount)?;
    let price = read_user_price(update, market, now, pricing)?;
    let refresh = if price.publish_time >= market.last_publish_time {
        market.refresh(&price, now)?
    } else {
        market.refresh_at_last_price(now)?
    };
    // The REBALANCE pause bit stops every shift of value between the pools, the automatic one
    // inside a user operation (and a wipe-out) included: an operator who pauses at a bad print
    // gets no wipe from the next deposit. Operations that need none still run; the others wait.
    if refresh.rebalance.is_some() {
        market.require_not_paused(pause::REBALANCE)?;
    }
    Ok((price, refresh))
}

/// The parameters an operation's math reads under `pricing`: on the instant path every fee is at
/// least the instant fee.
pub fn params_for(market: &Market, pricing: Pricing) -> RiskParams {
    match pricing {
        Pricing::Instant => market.instant_risk_params(),
        Pricing::Settlement { .. } => market.risk_params(),
    }
}

/// After an operation's quote: an instant one counts its units against the per-slot cap.
pub fn count_instant(market: &mut Market, pricing: Pricing, slot: u64, units: u64) -> Result<()> {
    if pricing == Pricing::Instant {
        market.use_instant_capacity(slot, units)?;
    }
    Ok(())
}

/// Every instruction names all the accounts it reads; anything more is a caller's mistake (or a
/// probe, e.g. a forged sysvar), refused before any work.
pub fn no_remaining_accounts(remaining: &[AccountInfo]) -> Result<()> {
    require!(remaining.is_empty(), LeverError::UnexpectedAccounts);
    Ok(())
}
