//! The refresh every priced user instruction runs after funding accrues, as one pure decision
//! from the books to the next books. `state::Market::refresh` applies it to the account; the
//! property tests (`programs/lever/tests/properties.rs`) drive their model market through this same
//! function, so the rule exists once.
//!
//! The rule, in order:
//! 1. No LT left but a position open (every LT was burned outside the program): nobody owns the
//!    position, so it is settled into idle (the funding pool lent it) with [`wipe`], any shortfall
//!    recorded as bad debt. The market is not flagged wiped: LT mints stay open and the next mint
//!    opens a fresh pool.
//! 2. Out of band, or insolvent: [`rebalance`] back to target, or wipe the leveraged pool (that
//!    wipe-out does flag the market). Only when the caller allows it: a stale settlement does not, since a
//!    rebalance moves value between the pools at the price, which must be fresh for that.
//! 3. Otherwise (within band, empty, or not allowed): the books stay as they are.

use super::SafeMath;
use super::{band_status, rebalance, wipe, BandStatus, MathResult, PoolState, RebalanceResult, RiskParams};

/// What [`refresh_pool`] decided, and the books after each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolRefresh {
    /// A position with no LT holders, closed into idle (step 1).
    pub settled: Option<RebalanceResult>,
    /// The books after the settlement (the books given when there was none).
    pub pool_after_accrual: PoolState,
    /// The rebalance or wipe-out (step 2).
    pub rebalance: Option<RebalanceResult>,
    /// The books the instruction's own operation starts from.
    pub pool_after: PoolState,
    /// The market's written-off debt total (value units) with this refresh's bad debt added.
    pub total_bad_debt: u128,
}

impl PoolRefresh {
    /// The rebalance wiped the leveraged pool out: the market closes LT mints until re-opened. (A
    /// settlement also empties the pool, but leaves the market open.)
    pub fn wiped(&self) -> bool {
        self.rebalance.is_some_and(|r| r.wiped)
    }
}

/// Decide the refresh of `pool` (already accrued) at `price` (mid), with the market's
/// `total_bad_debt` so far; `allow_rebalance` is false on a stale settlement. Errors as the market would:
/// from the settlement, the bad-debt total (checked), the band check or the rebalance, in that
/// order.
pub fn refresh_pool(
    pool: &PoolState,
    params: &RiskParams,
    price: u128,
    allow_rebalance: bool,
    total_bad_debt: u128,
) -> MathResult<PoolRefresh> {
    let mut total_bad_debt = total_bad_debt;
    let (pool_after_accrual, settled) = if pool.lt_supply == 0 && (pool.exposure != 0 || pool.debt != 0) {
        let (next, result) = wipe(pool, price)?;
        total_bad_debt = total_bad_debt.safe_add(result.bad_debt)?;
        (next, Some(result))
    } else {
        (*pool, None)
    };
    let (pool_after, rebalanced) = match band_status(&pool_after_accrual, params, price)? {
        BandStatus::Out { .. } | BandStatus::Insolvent if allow_rebalance => {
            let (next, result) = rebalance(&pool_after_accrual, params, price)?;
            if result.wiped {
                total_bad_debt = total_bad_debt.safe_add(result.bad_debt)?;
            }
            (next, Some(result))
        }
        _ => (pool_after_accrual, None),
    };
    Ok(PoolRefresh {
        settled,
        pool_after_accrual,
        rebalance: rebalanced,
        pool_after,
        total_bad_debt,
    })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::constants::PRICE_SCALE;
    use crate::math::pool::tests::params;

    const SOL: u64 = 1_000_000_000;

    /// 100 USD per SOL (value units per raw unit, scaled).
    fn price(usd: u128) -> u128 {
        usd * 10u128.pow(18) / u128::from(SOL) * PRICE_SCALE
    }

    /// A 3x pool at 100 USD: 30 SOL of exposure, 2,000 USD of debt, 10 LT.
    fn levered() -> PoolState {
        PoolState {
            exposure: 30 * SOL,
            debt: 2_000 * 10u128.pow(18),
            idle: 80 * SOL,
            fee_units: 0,
            lt_supply: 10 * SOL,
            ft_supply: 100 * SOL,
        }
    }

    #[test]
    fn within_band_changes_nothing() {
        let r = refresh_pool(&levered(), &params(), price(100), true, 7).unwrap();
        assert_eq!(r.settled, None);
        assert_eq!(r.rebalance, None);
        assert_eq!(r.pool_after, levered());
        assert_eq!(r.total_bad_debt, 7);
        assert!(!r.wiped());
    }

    #[test]
    fn out_of_band_rebalances_unless_not_allowed() {
        let r = refresh_pool(&levered(), &params(), price(110), true, 0).unwrap();
        let (expected, result) = rebalance(&levered(), &params(), price(110)).unwrap();
        assert_eq!(r.rebalance, Some(result));
        assert_eq!(r.pool_after, expected);
        assert_eq!(r.pool_after_accrual, levered());
        let stale = refresh_pool(&levered(), &params(), price(110), false, 0).unwrap();
        assert_eq!(stale.rebalance, None);
        assert_eq!(stale.pool_after, levered());
    }

    #[test]
    fn insolvent_pool_is_wiped_and_flags_the_market() {
        let r = refresh_pool(&levered(), &params(), price(50), true, 1).unwrap();
        assert!(r.wiped());
        assert_eq!(r.pool_after.exposure, 0);
        assert_eq!(r.pool_after.debt, 0);
        // 2,000 USD owed against 1,500 USD of exposure.
        assert_eq!(r.total_bad_debt, 1 + 500 * 10u128.pow(18));
    }

    #[test]
    fn no_lt_left_settles_into_idle_without_flagging() {
        let orphan = PoolState {
            lt_supply: 0,
            ..levered()
        };
        let r = refresh_pool(&orphan, &params(), price(50), true, 0).unwrap();
        let settled = r.settled.unwrap();
        assert_eq!(settled.units_to_idle, 30 * SOL);
        assert_eq!(r.pool_after_accrual.idle, 110 * SOL);
        assert_eq!(r.pool_after_accrual.exposure, 0);
        assert_eq!(r.rebalance, None);
        assert_eq!(r.pool_after, r.pool_after_accrual);
        assert_eq!(r.total_bad_debt, 500 * 10u128.pow(18));
        assert!(!r.wiped());
    }

    #[test]
    fn bad_debt_total_is_checked() {
        assert_eq!(
            refresh_pool(&levered(), &params(), price(50), true, u128::MAX),
            Err(crate::error::LeverError::MathOverflow)
        );
    }
}
