//! The pure math at its edges, where the property tests' random draws rarely land: each boundary
//! of a cap or a guard on both sides, the display NAVs, an empty or half-empty pool, a target past
//! `u64::MAX`, and what an accrual reports when nothing accrues. Written against the survivors of
//! `cargo mutants` (SECURITY.md, "Mutation testing"): each test pins one number a mutant changes.

use lever::constants::{PPM, PRICE_SCALE};
use lever::error::LeverError;
use lever::math::*;

/// One value unit per raw unit: values equal units, so every number below is plain.
const P1: u128 = PRICE_SCALE;

fn risk() -> RiskParams {
    RiskParams {
        target_leverage_ppm: 3 * PPM,
        band_ppm: 50_000,
        mint_fee_ppm: 0,
        redeem_fee_ppm: 0,
        deposit_fee_ppm: 0,
        withdraw_fee_ppm: 0,
        exposure_cap: u64::MAX,
        max_utilization_ppm: PPM,
        curve: FundingCurve {
            base_rate_ppm: 20_000,
            kink_ppm: 800_000,
            slope1_ppm: 80_000,
            slope2_ppm: PPM,
        },
    }
}

fn pool(exposure: u64, debt: u128, idle: u64, lt: u64, ft: u64) -> PoolState {
    PoolState {
        exposure,
        debt,
        idle,
        fee_units: 0,
        lt_supply: lt,
        ft_supply: ft,
    }
}

#[test]
fn display_navs_are_zero_without_supply_or_equity_and_exact_otherwise() {
    // 30 units, 20 owed: equity 10 over 10 LT = 1e9 value units per 1e9 LT.
    let p = pool(30, 20, 70, 10, 90);
    assert_eq!(p.lt_nav(P1).unwrap(), 1_000_000_000);
    // F = min(20, 30) + 70 = 90 over 90 FT.
    assert_eq!(p.ft_nav(P1).unwrap(), 1_000_000_000);
    assert_eq!(pool(30, 20, 70, 0, 90).lt_nav(P1).unwrap(), 0, "no LT");
    assert_eq!(pool(30, 30, 70, 10, 90).lt_nav(P1).unwrap(), 0, "no equity");
    assert_eq!(pool(30, 40, 70, 10, 90).lt_nav(P1).unwrap(), 0, "negative equity");
    assert_eq!(pool(30, 20, 70, 10, 0).ft_nav(P1).unwrap(), 0, "no FT");
    assert_eq!(pool(30, 20, 70, 20, 45).lt_nav(P1).unwrap(), 500_000_000);
    assert_eq!(pool(30, 20, 70, 20, 45).ft_nav(P1).unwrap(), 2_000_000_000);
}

#[test]
fn band_status_of_an_empty_or_half_empty_pool() {
    let r = risk();
    assert_eq!(
        band_status(&pool(0, 0, 5, 0, 5), &r, P1).unwrap(),
        BandStatus::Empty
    );
    // Debt with no exposure is insolvent, not empty.
    assert_eq!(
        band_status(&pool(0, 7, 5, 1, 5), &r, P1).unwrap(),
        BandStatus::Insolvent
    );
    // Exposure with no debt is 1x: out of a 3x band.
    assert_eq!(
        band_status(&pool(10, 0, 5, 1, 5), &r, P1).unwrap(),
        BandStatus::Out {
            leverage_ppm: 1_000_000
        }
    );
    assert_eq!(
        band_status(&pool(30, 20, 5, 1, 5), &r, P1).unwrap(),
        BandStatus::Within {
            leverage_ppm: 3_000_000
        }
    );
}

#[test]
fn a_rebalance_reports_where_it_started_and_whether_it_was_bounded() {
    let r = risk();
    // 1x to 3x with idle to spare: not bounded.
    let (next, out) = rebalance(&pool(10, 0, 100, 1, 100), &r, P1).unwrap();
    assert_eq!(out.leverage_before_ppm, 1_000_000);
    assert_eq!(out.leverage_after_ppm, 3_000_000);
    assert_eq!((out.units_to_pool, out.bounded), (20, false));
    assert_eq!((next.exposure, next.debt, next.idle), (30, 20, 80));
    // Idle exactly what the move needs: still not bounded.
    let (next, out) = rebalance(&pool(10, 0, 20, 1, 20), &r, P1).unwrap();
    assert_eq!((out.units_to_pool, out.bounded, next.idle), (20, false, 0));
    // One unit short: bounded, and leverage stays below target.
    let (next, out) = rebalance(&pool(10, 0, 19, 1, 19), &r, P1).unwrap();
    assert_eq!((out.units_to_pool, out.bounded, next.exposure), (19, true, 29));
    // A target of exactly u64::MAX units fits: equity u64::MAX / 3 at 1x, idle for all of it.
    let e = u64::MAX / 3;
    let (next, out) = rebalance(&pool(e, 0, 2 * e, 1, 2 * e), &r, P1).unwrap();
    assert_eq!((next.exposure, out.bounded), (u64::MAX, false));
    // One more unit of equity puts the target past u64::MAX: clamped, so bounded.
    let (next, out) = rebalance(&pool(e + 1, 0, 2 * e - 1, 1, 2 * e), &r, P1).unwrap();
    assert_eq!((next.exposure, out.bounded), (u64::MAX, true));
    // Delevering reports its start too.
    let (_, out) = rebalance(&pool(60, 50, 0, 1, 50), &r, P1).unwrap();
    assert_eq!(out.leverage_before_ppm, 6_000_000);
    assert_eq!(out.units_to_idle, 30);
}

#[test]
fn a_first_mint_needs_an_empty_position_and_meets_its_caps_at_the_boundary() {
    let r = risk();
    // Net 1,000 at 3x: exposure 3,000, 2,000 lent, utilization 100% when idle is exactly 2,000.
    let (next, q) = mint_lt(&pool(0, 0, 2_000, 0, 2_000), &r, P1, P1, 1_000).unwrap();
    assert_eq!((q.shares_out, q.from_idle, q.debt_added), (1_000, 2_000, 2_000));
    assert_eq!((next.exposure, next.idle), (3_000, 0));
    // One unit of idle short: refused by name (not an underflow).
    assert_eq!(
        mint_lt(&pool(0, 0, 1_999, 0, 1_999), &r, P1, P1, 1_000).unwrap_err(),
        LeverError::IdleInsufficientForMint
    );
    // The exposure cap at exactly the new exposure is met; one below is exceeded.
    let capped = RiskParams {
        exposure_cap: 3_000,
        ..r
    };
    assert!(mint_lt(&pool(0, 0, 2_000, 0, 2_000), &capped, P1, P1, 1_000).is_ok());
    let under = RiskParams {
        exposure_cap: 2_999,
        ..r
    };
    assert_eq!(
        mint_lt(&pool(0, 0, 2_000, 0, 2_000), &under, P1, P1, 1_000).unwrap_err(),
        LeverError::ExposureCapExceeded
    );
    // Utilization: 100% meets a 100% cap, not a 99.9999% one.
    let tight = RiskParams {
        max_utilization_ppm: PPM - 1,
        ..r
    };
    assert_eq!(
        mint_lt(&pool(0, 0, 2_000, 0, 2_000), &tight, P1, P1, 1_000).unwrap_err(),
        LeverError::UtilizationCapExceeded
    );
    // A position with no LT holders must be empty first: exposure alone, or debt alone.
    for p in [pool(5, 0, 2_000, 0, 2_000), pool(0, 5, 2_000, 0, 2_000)] {
        assert_eq!(
            mint_lt(&p, &r, P1, P1, 1_000).unwrap_err(),
            LeverError::InvalidPoolState,
            "{p:?}"
        );
    }
}

#[test]
fn the_curve_clamps_its_kink_inside_the_range() {
    // A kink at or past 100% (out of the bounds `validate` allows, but the curve stays defined):
    // treated as 100% - 1 PPM, so full utilization is past it and pays the second slope too.
    for kink_ppm in [PPM, PPM + 5, u64::MAX] {
        let c = FundingCurve {
            base_rate_ppm: 10,
            kink_ppm,
            slope1_ppm: 100,
            slope2_ppm: 1_000,
        };
        assert_eq!(c.rate_ppm(PPM).unwrap(), 10 + 100 + 1_000, "kink {kink_ppm}");
        assert_eq!(c.rate_ppm(PPM - 1).unwrap(), 10 + 100, "kink {kink_ppm}");
    }
    // A kink of 0 is treated as 1 PPM.
    let c = FundingCurve {
        base_rate_ppm: 10,
        kink_ppm: 0,
        slope1_ppm: 100,
        slope2_ppm: 1_000,
    };
    assert_eq!(c.rate_ppm(1).unwrap(), 110);
    assert_eq!(c.rate_ppm(0).unwrap(), 10);
}

#[test]
fn an_accrual_with_nothing_to_accrue_reports_its_time_and_no_rate() {
    let curve = risk().curve;
    // No debt: nothing accrues over 100 s, and the report says so (no rate applied).
    let p = pool(10, 0, 100, 1, 100);
    let (next, a) = accrue_funding(&p, &curve, P1, 100).unwrap();
    assert_eq!(next, p);
    assert_eq!(
        a,
        Accrual {
            elapsed: 100,
            ..Accrual::default()
        }
    );
    // Debt but no time: the same.
    let p = pool(30, 20, 70, 1, 90);
    let (next, a) = accrue_funding(&p, &curve, P1, 0).unwrap();
    assert_eq!(next, p);
    assert_eq!(a, Accrual::default());
    // Debt and time: the rate and utilization applied are reported.
    let (next, a) = accrue_funding(&p, &curve, P1, 31_536_000).unwrap();
    assert_eq!(a.elapsed, 31_536_000);
    assert_eq!(a.utilization_ppm, 222_223, "20 / 90, rounded up");
    assert!(a.rate_ppm > 20_000);
    assert_eq!(next.debt, 20 + a.interest);
}

#[test]
fn a_withdrawal_may_take_every_share_and_every_idle_unit_but_no_more() {
    let r = risk();
    // 100 idle, no debt, 100 FT: F = 100, every share is one unit.
    let p = pool(0, 0, 100, 0, 100);
    let (next, q) = withdraw_funding(&p, &r, P1, 100).unwrap();
    assert_eq!((q.units_out, next.idle, next.ft_supply), (100, 0, 0));
    assert_eq!(
        withdraw_funding(&p, &r, P1, 101).unwrap_err(),
        LeverError::InsufficientShares
    );
    // 20 lent, 80 idle, 100 FT: the last 80 FT claim 80 units of idle, exactly what it holds.
    let p = pool(30, 20, 80, 10, 100);
    let (next, q) = withdraw_funding(&p, &r, P1, 80).unwrap();
    assert_eq!((q.units_out, next.idle), (80, 0));
    // 81 FT claim 81 units: one more than idle.
    assert_eq!(
        withdraw_funding(&p, &r, P1, 81).unwrap_err(),
        LeverError::IdleInsufficientForWithdrawal
    );
}

#[test]
fn a_price_scaled_below_every_u128_divisor_rounds_to_one_up_and_refuses_down() {
    // 10^44 overflows u128: the quotient is 0 rounding down (refused), 1 rounding up.
    assert_eq!(scale_mantissa(5, -80, 0, Rounding::Up).unwrap(), 1);
    assert_eq!(
        scale_mantissa(5, -80, 0, Rounding::Down).unwrap_err(),
        LeverError::PriceOutOfRange
    );
    // Within range it divides exactly as asked.
    assert_eq!(scale_mantissa(15, -37, 0, Rounding::Up).unwrap(), 2);
    assert_eq!(scale_mantissa(15, -37, 0, Rounding::Down).unwrap(), 1);
}

#[test]
fn a_position_with_no_lt_holders_is_settled_whatever_half_is_left() {
    let r = risk();
    for p in [
        pool(5, 0, 100, 0, 100),
        pool(0, 5, 100, 0, 100),
        pool(5, 5, 100, 0, 100),
    ] {
        let out = refresh_pool(&p, &r, P1, true, 0).unwrap();
        assert!(out.settled.is_some(), "{p:?}");
        assert_eq!((out.pool_after.exposure, out.pool_after.debt), (0, 0), "{p:?}");
    }
    // With holders, or with nothing left, nothing is settled.
    assert!(refresh_pool(&pool(30, 20, 70, 10, 90), &r, P1, true, 0)
        .unwrap()
        .settled
        .is_none());
    assert!(refresh_pool(&pool(0, 0, 70, 0, 70), &r, P1, true, 0)
        .unwrap()
        .settled
        .is_none());
}
