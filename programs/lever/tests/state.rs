//! The account state's own rules, unit by unit, in the program crate (so mutation testing of
//! `state/` sees them without the integration suite): how a u128 is stored, the market's books and
//! parameters, its price and slot pin, funding accrual and the refresh it records, the instant
//! path's capacity, the retired-LT claim, parameter updates (bounds, loosening steps and their
//! interval), the config's bounds and a request's pricing. The integration suite runs the same rules
//! through the real program; these pin each one to its exact number.

use anchor_lang::prelude::*;
use lever::constants::*;
use lever::error::LeverError;
use lever::math::{value_of, PoolState, PriceBand, Rounding};
use lever::oracle::{Now, Pricing, ValidPrice};
use lever::state::*;

/// The program error's code, or a panic naming what came instead.
fn code<T: std::fmt::Debug>(r: Result<T>) -> u32 {
    match r {
        Err(Error::AnchorError(e)) => e.error_code_number,
        other => panic!("expected a program error, got {other:?}"),
    }
}

fn err(e: LeverError) -> u32 {
    u32::from(e)
}

/// 3x, 5% band, 0.1% fees each way, 60 s, 2% confidence, 1x multiplier, no cap, a 2%/8%/100% curve
/// kinked at 80%, 10 s delay, 120 s window, 5000 lamports, the instant path off.
fn params() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 3 * PPM,
        band_ppm: 50_000,
        mint_fee_ppm: 1_000,
        redeem_fee_ppm: 2_000,
        deposit_fee_ppm: 3_000,
        withdraw_fee_ppm: 4_000,
        max_price_age_secs: 60,
        max_conf_ppm: 20_000,
        conf_multiplier_ppm: PPM,
        exposure_cap: u64::MAX,
        max_utilization_ppm: PPM,
        base_rate_ppm: 20_000,
        kink_ppm: 800_000,
        slope1_ppm: 80_000,
        slope2_ppm: PPM,
        settle_delay_secs: 10,
        settle_window_secs: 120,
        min_settle_tip_lamports: 5_000,
        instant_max_age_secs: 0,
        instant_fee_ppm: 0,
        instant_max_conf_ppm: 0,
        instant_slot_cap: 0,
    }
}

/// The instant path on: 5 s at 0.5% (the floor at 3x and 5 s is 1,500 PPM), 1% confidence, 500 units
/// a slot.
fn instant_params() -> MarketParams {
    MarketParams {
        instant_max_age_secs: 5,
        instant_fee_ppm: 5_000,
        instant_max_conf_ppm: 10_000,
        instant_slot_cap: 500,
        ..params()
    }
}

fn config() -> Config {
    let mut c: Config = bytemuck::Zeroable::zeroed();
    c.set_bounds(&ConfigBounds::default());
    c
}

/// $100 per whole token at 9 decimals, in price units (1e-18 USD per raw unit, scaled 1e18).
const P100: u128 = 100 * PRICE_SCALE / 1_000_000_000 * PRICE_SCALE;
/// What one raw unit is worth at $100 (value units).
const V100: u128 = P100 / PRICE_SCALE;

fn market() -> Market {
    let mut m: Market = bytemuck::Zeroable::zeroed();
    m.store_params(&params());
    m.decimals = 9;
    m.version = MARKET_VERSION;
    m
}

/// A 3x pool at $100: 30 units of exposure, 20 units' worth of debt, 70 idle, 10 LT and 100 FT.
fn levered() -> Market {
    let mut m = market();
    m.set_pool(&PoolState {
        exposure: 30_000,
        debt: 20_000 * V100,
        idle: 70_000,
        fee_units: 5,
        lt_supply: 10_000,
        ft_supply: 100_000,
    });
    m.last_price.set(P100);
    m
}

fn now(t: i64, slot: u64) -> Now {
    Now {
        unix_timestamp: t,
        slot,
    }
}

fn valid(mid: u128, publish_time: i64, stale: bool, chosen: bool) -> ValidPrice {
    ValidPrice {
        band: PriceBand {
            lower: mid,
            upper: mid,
            mid,
        },
        publish_time,
        stale,
        chosen,
    }
}

#[test]
fn the_accounts_have_their_documented_sizes() {
    // README, "Accounts": a layout change is a deliberate version bump, never a side effect.
    assert_eq!((Market::SIZE, Market::SPACE), (792, 800));
    assert_eq!(Market::SPACE, 8 + std::mem::size_of::<Market>());
    assert_eq!((Config::SIZE, Config::SPACE), (320, 328));
    assert_eq!(Config::SPACE, 8 + std::mem::size_of::<Config>());
    assert_eq!(
        std::mem::size_of::<StoredMarketParams>(),
        8 * MarketParams::FIELDS.len()
    );
}

#[test]
fn a_wide_u128_keeps_both_halves() {
    for v in [
        0u128,
        1,
        u64::MAX as u128,
        u64::MAX as u128 + 1,
        3 << 64 | 7,
        u128::MAX,
        u128::MAX - 1,
    ] {
        let w = WideU128::new(v);
        assert_eq!(w.get(), v, "{v:#x}");
        let halves = (
            u64::try_from(v & u128::from(u64::MAX)).unwrap(),
            u64::try_from(v >> 64).unwrap(),
        );
        assert_eq!((w.lo, w.hi), halves, "{v:#x}");
        let mut x = WideU128::new(u128::MAX);
        x.set(v);
        assert_eq!(x.get(), v, "set over a full value: {v:#x}");
    }
    assert_eq!(WideU128 { lo: 5, hi: 2 }.get(), (2u128 << 64) + 5);
}

#[test]
fn the_books_and_parameters_round_trip_through_the_market() {
    let m = levered();
    let pool = m.pool();
    assert_eq!(
        (
            pool.exposure,
            pool.debt,
            pool.idle,
            pool.fee_units,
            pool.lt_supply,
            pool.ft_supply
        ),
        (30_000, 20_000 * V100, 70_000, 5, 10_000, 100_000)
    );
    assert_eq!(m.params(), params());
    assert_eq!(MarketParams::from(m.params), params());
    let r = m.risk_params();
    let p = params();
    assert_eq!(
        (
            r.target_leverage_ppm,
            r.band_ppm,
            r.mint_fee_ppm,
            r.redeem_fee_ppm,
            r.deposit_fee_ppm,
            r.withdraw_fee_ppm
        ),
        (
            p.target_leverage_ppm,
            p.band_ppm,
            p.mint_fee_ppm,
            p.redeem_fee_ppm,
            p.deposit_fee_ppm,
            p.withdraw_fee_ppm
        )
    );
    assert_eq!(
        (r.exposure_cap, r.max_utilization_ppm),
        (p.exposure_cap, p.max_utilization_ppm)
    );
    assert_eq!(
        (
            r.curve.base_rate_ppm,
            r.curve.kink_ppm,
            r.curve.slope1_ppm,
            r.curve.slope2_ppm
        ),
        (p.base_rate_ppm, p.kink_ppm, p.slope1_ppm, p.slope2_ppm)
    );
    // The instant path's parameters: every fee at least the instant fee.
    let mut i = market();
    i.store_params(&instant_params());
    let ip = i.instant_risk_params();
    assert_eq!(
        (
            ip.mint_fee_ppm,
            ip.redeem_fee_ppm,
            ip.deposit_fee_ppm,
            ip.withdraw_fee_ppm
        ),
        (5_000, 5_000, 5_000, 5_000)
    );
    let mut high = instant_params();
    high.redeem_fee_ppm = 7_000;
    i.store_params(&high);
    assert_eq!(
        i.instant_risk_params().redeem_fee_ppm,
        7_000,
        "a higher own fee stays"
    );
    assert_eq!(i.instant_risk_params().mint_fee_ppm, 5_000);
    assert_eq!(i.instant_risk_params().target_leverage_ppm, 3 * PPM);
}

#[test]
fn status_flags_and_pause_bits() {
    let mut m = levered();
    assert!(m.is_current_version());
    m.version = MARKET_VERSION - 1;
    assert!(!m.is_current_version());
    m.version = MARKET_VERSION;
    assert!(!m.is_wiped());
    m.status = STATUS_WIPED;
    assert!(m.is_wiped());
    assert!(!m.underlying_freezable());
    m.flags = market_flags::UNDERLYING_FREEZABLE;
    assert!(m.underlying_freezable());
    m.paused = pause::MINT_LT | pause::REBALANCE;
    assert_eq!(
        code(m.require_not_paused(pause::MINT_LT)),
        err(LeverError::OperationPaused)
    );
    assert_eq!(
        code(m.require_not_paused(pause::REBALANCE)),
        err(LeverError::OperationPaused)
    );
    assert!(m.require_not_paused(pause::REDEEM_LT).is_ok());
    assert!(m.require_not_paused(pause::DEPOSIT_FUNDING).is_ok());
}

#[test]
fn the_instant_capacity_counts_per_slot() {
    let mut m = market();
    m.store_params(&instant_params());
    m.use_instant_capacity(7, 300).unwrap();
    m.use_instant_capacity(7, 200).unwrap();
    assert_eq!((m.instant_slot, m.instant_slot_units), (7, 500));
    assert_eq!(
        code(m.use_instant_capacity(7, 1)),
        err(LeverError::InstantSlotCapExceeded)
    );
    assert_eq!(m.instant_slot_units, 500, "a refusal counts nothing");
    // A new slot starts from zero.
    m.use_instant_capacity(8, 500).unwrap();
    assert_eq!((m.instant_slot, m.instant_slot_units), (8, 500));
    m.instant_slot_units = u64::MAX;
    assert_eq!(code(m.use_instant_capacity(8, 1)), err(LeverError::MathOverflow));
}

#[test]
fn observing_records_the_price_and_only_a_chosen_one_pins_the_slot() {
    let mut m = levered();
    m.last_accrual_ts = 1_000;
    m.observe(P100 * 2, 1_500, now(1_500, 9), false).unwrap();
    assert_eq!((m.last_price.get(), m.last_publish_time), (P100 * 2, 1_500));
    assert_eq!(
        (m.last_price_slot, m.pinned_publish_time, m.pinned_price.get()),
        (0, 0, 0)
    );
    m.observe(P100 * 3, 1_600, now(1_600, 10), true).unwrap();
    assert_eq!(
        (m.last_price_slot, m.pinned_publish_time, m.pinned_price.get()),
        (10, 1_600, P100 * 3)
    );
    assert_eq!(m.last_accrual_ts, 1_600);
}

#[test]
fn accrual_moves_interest_to_the_debt_and_the_clock_only_forward() {
    let mut m = levered();
    m.last_accrual_ts = 1_000;
    let debt = m.pool().debt;
    let a = m.accrue(P100, 1_000 + 31_536_000).unwrap();
    // A year at utilization 20/90 (below the kink): 2% + 8% x (20/90)/80%.
    assert_eq!(a.elapsed, 31_536_000);
    assert!(a.interest > 0);
    assert_eq!(m.pool().debt, debt + a.interest);
    assert_eq!(m.total_funding.get(), a.interest);
    assert_eq!(m.last_accrual_ts, 1_000 + 31_536_000);
    // A time before the last accrual accrues nothing and does not move the clock back.
    let again = m.accrue(P100, 10).unwrap();
    assert_eq!((again.elapsed, again.interest), (0, 0));
    assert_eq!(m.last_accrual_ts, 1_000 + 31_536_000);
    assert_eq!(m.total_funding.get(), a.interest);
    // Totals add up.
    let more = m.accrue(P100, 1_000 + 2 * 31_536_000).unwrap();
    assert_eq!(m.total_funding.get(), a.interest + more.interest);
}

#[test]
fn a_rebalance_records_its_count_and_a_wipe_its_bad_debt() {
    let mut m = levered();
    m.last_accrual_ts = 1_000;
    // -20%: 3x becomes 5x, out of band; back to 3x.
    let r = m.rebalance(P100 * 8 / 10).unwrap();
    assert!(!r.wiped);
    assert_eq!(m.rebalance_count, 1);
    assert!(!m.is_wiped());
    assert_eq!(m.total_bad_debt.get(), 0);
    // -50% from there at 3x: equity below zero, wiped, the shortfall recorded.
    let mut w = levered();
    let before = w.pool().debt;
    let r = w.rebalance(P100 / 2).unwrap();
    assert!(r.wiped);
    assert!(w.is_wiped());
    assert_eq!(w.rebalance_count, 1);
    let shortfall = before - value_of(30_000, P100 / 2, Rounding::Down).unwrap();
    assert_eq!(w.total_bad_debt.get(), shortfall);
    assert_eq!(r.bad_debt, shortfall);
    assert_eq!((w.pool().exposure, w.pool().debt), (0, 0));
    assert_eq!(w.pool().idle, 100_000);
    // Statistics add to what was there; the count saturates.
    let mut again = levered();
    again.total_bad_debt.set(7);
    again.rebalance_count = u64::MAX;
    again.rebalance(P100 / 2).unwrap();
    assert_eq!(again.total_bad_debt.get(), 7 + shortfall);
    assert_eq!(again.rebalance_count, u64::MAX);
}

#[test]
fn refresh_rebalances_a_fresh_price_only_and_records_it() {
    let mut m = levered();
    m.last_accrual_ts = 1_000;
    // Stale: converted at, not rebalanced.
    let r = m
        .refresh(&valid(P100 * 8 / 10, 1_010, true, false), now(1_010, 3))
        .unwrap();
    assert!(r.rebalance.is_none());
    assert_eq!(m.rebalance_count, 0);
    assert_eq!((m.last_price.get(), m.last_publish_time), (P100 * 8 / 10, 1_010));
    assert_eq!(m.last_price_slot, 0, "a settlement does not pin");
    // Fresh and chosen: rebalanced, the slot pinned.
    let r = m
        .refresh(&valid(P100 * 8 / 10, 1_020, false, true), now(1_020, 4))
        .unwrap();
    assert!(r.rebalance.is_some());
    assert_eq!(m.rebalance_count, 1);
    assert_eq!(m.pool(), r.pool_after);
    assert_eq!(m.last_price_slot, 4);
    // Within band: nothing to do.
    let r = m
        .refresh(&valid(P100 * 8 / 10, 1_030, false, true), now(1_030, 5))
        .unwrap();
    assert!(r.rebalance.is_none() && r.settled.is_none());
    assert_eq!(m.rebalance_count, 1);
    // A gap that wipes: recorded with the status and the bad debt.
    let r = m
        .refresh(&valid(P100 / 4, 1_040, false, true), now(1_040, 6))
        .unwrap();
    assert!(r.rebalance.is_some_and(|x| x.wiped));
    assert!(m.is_wiped());
    assert!(m.total_bad_debt.get() > 0);
    assert_eq!(m.rebalance_count, 2);
}

#[test]
fn refresh_at_the_last_price_accrues_and_settles_only() {
    let mut m = levered();
    m.last_accrual_ts = 1_000;
    m.last_publish_time = 2_000;
    m.last_price.set(P100 * 8 / 10); // out of band at this price
    let r = m.refresh_at_last_price(now(1_100, 8)).unwrap();
    assert!(r.rebalance.is_none(), "a late settlement never rebalances");
    assert_eq!(r.accrual.elapsed, 100);
    assert_eq!((m.last_price.get(), m.last_publish_time), (P100 * 8 / 10, 2_000));
    assert_eq!(m.last_accrual_ts, 1_100);
    // No LT left: the position is settled into idle.
    let mut e = levered();
    e.lt_supply = 0;
    e.last_accrual_ts = 1_000;
    let r = e.refresh_at_last_price(now(1_000, 1)).unwrap();
    assert!(r.settled.is_some());
    assert_eq!((e.pool().exposure, e.pool().debt), (0, 0));
}

#[test]
fn the_retired_lt_claim_rounds_up() {
    let mut m = levered();
    assert_eq!(m.retired_lt_claim().unwrap(), 0);
    m.retired_lt_ratio = 1_000;
    for (outstanding, claim) in [(0, 0), (1, 1), (999, 1), (1_000, 1), (1_001, 2), (10_500, 11)] {
        m.retired_lt_outstanding = outstanding;
        assert_eq!(m.retired_lt_claim().unwrap(), claim, "{outstanding}");
    }
}

#[test]
fn each_parameter_is_checked_against_its_bound() {
    let c = config();
    assert!(params().validate(&c).is_ok());
    assert!(instant_params().validate(&c).is_ok());
    let refused = |p: MarketParams| code(p.validate(&c));
    let e = |f: fn(&mut MarketParams)| {
        let mut p = params();
        f(&mut p);
        refused(p)
    };
    let ei = |f: fn(&mut MarketParams)| {
        let mut p = instant_params();
        f(&mut p);
        refused(p)
    };
    let ok = |f: fn(&mut MarketParams)| {
        let mut p = params();
        f(&mut p);
        p.validate(&c).is_ok()
    };
    use LeverError::*;
    assert_eq!(
        e(|p| p.target_leverage_ppm = MIN_LEVERAGE_PPM - 1),
        err(LeverageOutOfBounds)
    );
    assert_eq!(
        e(|p| p.target_leverage_ppm = MAX_LEVERAGE_PPM + 1),
        err(LeverageOutOfBounds)
    );
    assert!(
        ok(|p| p.target_leverage_ppm = MIN_LEVERAGE_PPM) && ok(|p| p.target_leverage_ppm = MAX_LEVERAGE_PPM)
    );
    assert_eq!(e(|p| p.band_ppm = MIN_BAND_PPM - 1), err(BandOutOfBounds));
    assert_eq!(e(|p| p.band_ppm = MAX_BAND_PPM + 1), err(BandOutOfBounds));
    assert!(ok(|p| p.band_ppm = MIN_BAND_PPM) && ok(|p| p.band_ppm = MAX_BAND_PPM));
    assert_eq!(e(|p| p.mint_fee_ppm = MAX_FEE_PPM + 1), err(FeeOutOfBounds));
    assert_eq!(e(|p| p.redeem_fee_ppm = MAX_FEE_PPM + 1), err(FeeOutOfBounds));
    assert_eq!(e(|p| p.deposit_fee_ppm = MAX_FEE_PPM + 1), err(FeeOutOfBounds));
    assert_eq!(e(|p| p.withdraw_fee_ppm = MAX_FEE_PPM + 1), err(FeeOutOfBounds));
    assert!(ok(|p| p.withdraw_fee_ppm = MAX_FEE_PPM));
    assert_eq!(e(|p| p.max_price_age_secs = 0), err(PriceAgeOutOfBounds));
    assert_eq!(
        e(|p| p.max_price_age_secs = MAX_PRICE_AGE_SECS + 1),
        err(PriceAgeOutOfBounds)
    );
    assert!(ok(|p| p.max_price_age_secs = 1) && ok(|p| p.max_price_age_secs = MAX_PRICE_AGE_SECS));
    assert_eq!(e(|p| p.max_conf_ppm = 0), err(ConfidenceLimitOutOfBounds));
    assert_eq!(
        e(|p| p.max_conf_ppm = MAX_CONF_PPM + 1),
        err(ConfidenceLimitOutOfBounds)
    );
    assert!(ok(|p| p.max_conf_ppm = 1) && ok(|p| p.max_conf_ppm = MAX_CONF_PPM));
    assert_eq!(
        e(|p| p.conf_multiplier_ppm = MIN_CONF_MULTIPLIER_PPM - 1),
        err(ConfMultiplierOutOfBounds)
    );
    assert_eq!(
        e(|p| p.conf_multiplier_ppm = MAX_CONF_MULTIPLIER_PPM + 1),
        err(ConfMultiplierOutOfBounds)
    );
    assert!(ok(|p| p.conf_multiplier_ppm = MAX_CONF_MULTIPLIER_PPM));
    assert_eq!(
        e(|p| p.max_utilization_ppm = MIN_MAX_UTILIZATION_PPM - 1),
        err(UtilizationCapOutOfBounds)
    );
    assert_eq!(
        e(|p| p.max_utilization_ppm = PPM + 1),
        err(UtilizationCapOutOfBounds)
    );
    assert!(ok(|p| p.max_utilization_ppm = MIN_MAX_UTILIZATION_PPM));
    assert_eq!(
        e(|p| p.base_rate_ppm = MAX_BASE_RATE_PPM + 1),
        err(FundingCurveOutOfBounds)
    );
    assert_eq!(e(|p| p.kink_ppm = MIN_KINK_PPM - 1), err(FundingCurveOutOfBounds));
    assert_eq!(e(|p| p.kink_ppm = MAX_KINK_PPM + 1), err(FundingCurveOutOfBounds));
    assert_eq!(
        e(|p| p.slope1_ppm = MAX_SLOPE_PPM + 1),
        err(FundingCurveOutOfBounds)
    );
    assert_eq!(
        e(|p| p.slope2_ppm = MAX_SLOPE_PPM + 1),
        err(FundingCurveOutOfBounds)
    );
    assert!(ok(|p| p.base_rate_ppm = MAX_BASE_RATE_PPM) && ok(|p| p.slope2_ppm = MAX_SLOPE_PPM));
    assert!(ok(|p| p.kink_ppm = MIN_KINK_PPM) && ok(|p| p.kink_ppm = MAX_KINK_PPM));
    assert_eq!(
        e(|p| p.settle_delay_secs = MIN_SETTLE_DELAY_SECS - 1),
        err(SettleDelayOutOfBounds)
    );
    assert_eq!(
        e(|p| p.settle_delay_secs = MAX_SETTLE_DELAY_SECS + 1),
        err(SettleDelayOutOfBounds)
    );
    assert!(ok(|p| p.settle_delay_secs = MIN_SETTLE_DELAY_SECS));
    assert_eq!(
        e(|p| p.settle_window_secs = MIN_SETTLE_WINDOW_SECS - 1),
        err(SettleWindowOutOfBounds)
    );
    assert_eq!(
        e(|p| p.settle_window_secs = MAX_SETTLE_WINDOW_SECS + 1),
        err(SettleWindowOutOfBounds)
    );
    assert!(ok(|p| p.settle_window_secs = MAX_SETTLE_WINDOW_SECS));
    assert_eq!(
        e(|p| p.min_settle_tip_lamports = MAX_MIN_SETTLE_TIP_LAMPORTS + 1),
        err(SettleTipOutOfBounds)
    );
    assert!(ok(|p| p.min_settle_tip_lamports = MAX_MIN_SETTLE_TIP_LAMPORTS));
    // The instant path: only checked while on.
    assert!(
        ok(|p| p.instant_fee_ppm = MAX_FEE_PPM + 1),
        "off: its fields are free"
    );
    assert_eq!(
        ei(|p| p.instant_max_age_secs = MAX_INSTANT_AGE_SECS + 1),
        err(InstantParamsOutOfBounds)
    );
    assert_eq!(ei(|p| p.instant_fee_ppm = 1_499), err(InstantParamsOutOfBounds));
    assert_eq!(
        ei(|p| p.instant_fee_ppm = MAX_FEE_PPM + 1),
        err(InstantParamsOutOfBounds)
    );
    assert_eq!(ei(|p| p.instant_max_conf_ppm = 0), err(InstantParamsOutOfBounds));
    assert_eq!(
        ei(|p| p.instant_max_conf_ppm = 20_001),
        err(InstantParamsOutOfBounds)
    );
    assert_eq!(ei(|p| p.instant_slot_cap = 0), err(InstantParamsOutOfBounds));
    let mut edge = instant_params();
    edge.instant_fee_ppm = 1_500;
    edge.instant_max_conf_ppm = 20_000;
    assert!(
        edge.validate(&c).is_ok(),
        "the floor and the market's limit themselves are allowed"
    );
    // The config narrows the hard bounds.
    let mut narrow = config();
    narrow.set_bounds(&ConfigBounds {
        min_leverage_ppm: 3 * PPM,
        max_leverage_ppm: 5 * PPM,
        max_fee_ppm: 1_000,
        max_price_age_secs: 30,
        max_conf_ppm: 10_000,
        min_seed_units: MIN_SEED_UNITS,
    });
    let n = |f: fn(&mut MarketParams)| {
        let mut p = params();
        p.redeem_fee_ppm = 1_000;
        p.deposit_fee_ppm = 1_000;
        p.withdraw_fee_ppm = 1_000;
        p.max_price_age_secs = 30;
        p.max_conf_ppm = 10_000;
        f(&mut p);
        p.validate(&narrow).map_err(|e| code::<()>(Err(e)))
    };
    assert_eq!(n(|_| {}), Ok(()));
    assert_eq!(
        n(|p| p.target_leverage_ppm = 2 * PPM),
        Err(err(LeverageOutOfBounds))
    );
    assert_eq!(
        n(|p| p.target_leverage_ppm = 6 * PPM),
        Err(err(LeverageOutOfBounds))
    );
    assert_eq!(n(|p| p.mint_fee_ppm = 1_001), Err(err(FeeOutOfBounds)));
    assert_eq!(n(|p| p.max_price_age_secs = 31), Err(err(PriceAgeOutOfBounds)));
    assert_eq!(
        n(|p| p.max_conf_ppm = 10_001),
        Err(err(ConfidenceLimitOutOfBounds))
    );
}

#[test]
fn the_instant_fee_floor_is_leverage_times_age_rounded_up() {
    assert_eq!(instant_fee_floor_ppm(3 * PPM, 5).unwrap(), 1_500);
    assert_eq!(instant_fee_floor_ppm(3 * PPM, 0).unwrap(), 0);
    assert_eq!(instant_fee_floor_ppm(2_500_001, 1).unwrap(), 251, "rounded up");
    assert_eq!(instant_fee_floor_ppm(10 * PPM, 30).unwrap(), 30_000);
    assert_eq!(instant_params().instant_fee_floor_ppm().unwrap(), 1_500);
    assert_eq!(
        instant_fee_floor_ppm(u64::MAX, u64::MAX).unwrap(),
        u64::MAX,
        "saturates"
    );
}

#[test]
fn loosening_is_one_step_per_update_and_tightening_free() {
    let b = instant_params();
    let l = |f: fn(&mut MarketParams)| {
        let mut a = b;
        f(&mut a);
        b.loosening(&a)
    };
    use LeverError::LooseningTooLarge;
    // Loosening each risk parameter by one step is allowed and counts as loosening.
    for f in [
        (|p: &mut MarketParams| p.target_leverage_ppm = 6 * PPM) as fn(&mut MarketParams),
        |p| p.band_ppm = 100_000,
        |p| p.max_price_age_secs = 120,
        |p| p.max_conf_ppm = 40_000,
        |p| p.conf_multiplier_ppm = PPM / 2,
        |p| p.max_utilization_ppm = 2 * PPM,
        |p| p.settle_delay_secs = 5,
        |p| p.settle_window_secs = 240,
        |p| p.instant_max_age_secs = 10,
        |p| p.instant_fee_ppm = 2_500,
        |p| p.instant_max_conf_ppm = 20_000,
        |p| p.instant_slot_cap = 1_000,
    ] {
        assert!(l(f).unwrap());
    }
    // More than a step: refused.
    for f in [
        (|p: &mut MarketParams| p.target_leverage_ppm = 6 * PPM + 1) as fn(&mut MarketParams),
        |p| p.band_ppm = 100_001,
        |p| p.max_price_age_secs = 121,
        |p| p.max_conf_ppm = 40_001,
        |p| p.conf_multiplier_ppm = PPM / 2 - 1,
        |p| p.max_utilization_ppm = 2 * PPM + 1,
        |p| p.settle_delay_secs = 4,
        |p| p.settle_window_secs = 241,
        |p| p.instant_max_age_secs = 11,
        |p| p.instant_fee_ppm = 2_499,
        |p| p.instant_max_conf_ppm = 20_001,
        |p| p.instant_slot_cap = 1_001,
    ] {
        assert_eq!(code(l(f)), err(LooseningTooLarge));
    }
    // Floors: from a small value a step may reach the floor.
    let mut small = b;
    small.max_price_age_secs = 1;
    small.max_conf_ppm = 1;
    small.exposure_cap = 1;
    small.instant_max_age_secs = 1;
    small.instant_max_conf_ppm = 1;
    small.instant_slot_cap = 1;
    let mut up = small;
    up.max_price_age_secs = LOOSEN_FLOOR_PRICE_AGE_SECS;
    up.max_conf_ppm = LOOSEN_FLOOR_CONF_PPM;
    up.exposure_cap = LOOSEN_FLOOR_CAP_UNITS;
    up.instant_max_age_secs = LOOSEN_FLOOR_INSTANT_AGE_SECS;
    up.instant_max_conf_ppm = LOOSEN_FLOOR_CONF_PPM;
    up.instant_slot_cap = LOOSEN_FLOOR_CAP_UNITS;
    assert!(small.loosening(&up).unwrap());
    let mut past = up;
    past.max_price_age_secs = LOOSEN_FLOOR_PRICE_AGE_SECS + 1;
    assert_eq!(code(small.loosening(&past)), err(LooseningTooLarge));
    // Tightening, and the neutral fields, are free in any step.
    for f in [
        (|p: &mut MarketParams| p.target_leverage_ppm = 2 * PPM) as fn(&mut MarketParams),
        |p| p.band_ppm = 5_000,
        |p| p.max_price_age_secs = 1,
        |p| p.conf_multiplier_ppm = 10 * PPM,
        |p| p.settle_delay_secs = 300,
        |p| p.settle_window_secs = 30,
        |p| p.instant_fee_ppm = 50_000,
        |p| p.mint_fee_ppm = 50_000,
        |p| p.base_rate_ppm = 0,
        |p| p.slope2_ppm = 10 * PPM,
        |p| p.min_settle_tip_lamports = 0,
        |p| p.instant_max_age_secs = 0,
    ] {
        assert!(!l(f).unwrap());
    }
    // With the instant path off before or after, its fee, confidence and cap do not count.
    let off = params();
    let mut off_after = off;
    off_after.instant_slot_cap = u64::MAX;
    off_after.instant_max_conf_ppm = u64::MAX;
    assert!(!off.loosening(&off_after).unwrap());
    let mut turning_off = b;
    turning_off.instant_max_age_secs = 0;
    turning_off.instant_slot_cap = u64::MAX;
    assert!(!b.loosening(&turning_off).unwrap());
    // Switching it on is the instant age's step from 0 (to at most the floor).
    let mut on = off;
    on.instant_max_age_secs = LOOSEN_FLOOR_INSTANT_AGE_SECS;
    assert!(off.loosening(&on).unwrap());
    on.instant_max_age_secs = LOOSEN_FLOOR_INSTANT_AGE_SECS + 1;
    assert_eq!(code(off.loosening(&on)), err(LooseningTooLarge));
}

#[test]
fn updates_apply_the_fields_set_and_loosen_at_most_once_a_day() {
    let c = config();
    let mut m = levered();
    let wider = UpdateMarketParams {
        band_ppm: Some(100_000),
        ..Default::default()
    };
    let (before, after) = m.apply_update(&wider, &c, 10_000).unwrap();
    assert_eq!(before, params());
    assert_eq!(after.band_ppm, 100_000);
    assert_eq!(m.params().band_ppm, 100_000);
    assert_eq!(m.last_loosened_at, 10_000);
    // A second loosening within the day: refused, nothing stored.
    let older = UpdateMarketParams {
        max_price_age_secs: Some(120),
        ..Default::default()
    };
    let at = 10_000 + LOOSEN_INTERVAL_SECS - 1;
    assert_eq!(
        code(m.apply_update(&older, &c, at)),
        err(LeverError::LooseningTooFast)
    );
    assert_eq!(m.params().max_price_age_secs, 60);
    // Tightening in the meantime is free and does not move the clock.
    let tighter = UpdateMarketParams {
        band_ppm: Some(50_000),
        ..Default::default()
    };
    m.apply_update(&tighter, &c, at).unwrap();
    assert_eq!(m.last_loosened_at, 10_000);
    // A day later it lands.
    m.apply_update(&older, &c, 10_000 + LOOSEN_INTERVAL_SECS).unwrap();
    assert_eq!(m.params().max_price_age_secs, 120);
    assert_eq!(m.last_loosened_at, 10_000 + LOOSEN_INTERVAL_SECS);
    // Out of bounds: refused before the loosening rule, nothing stored.
    let bad = UpdateMarketParams {
        band_ppm: Some(1),
        ..Default::default()
    };
    assert_eq!(
        code(m.apply_update(&bad, &c, i64::MAX)),
        err(LeverError::BandOutOfBounds)
    );
    assert_eq!(m.params().band_ppm, 50_000);
    // The first loosening of a market never loosened lands at once.
    let mut fresh = levered();
    fresh.apply_update(&wider, &c, 5).unwrap();
    assert_eq!(fresh.last_loosened_at, 5);
}

#[test]
fn the_config_bounds_sit_inside_the_hard_ones() {
    let d = ConfigBounds::default();
    assert!(Config::validate_bounds(&d).is_ok());
    let bad = |f: fn(&mut ConfigBounds)| {
        let mut b = d;
        f(&mut b);
        code(Config::validate_bounds(&b))
    };
    let refused = err(LeverError::ConfigBoundsInvalid);
    assert_eq!(bad(|b| b.min_leverage_ppm = MIN_LEVERAGE_PPM - 1), refused);
    assert_eq!(bad(|b| b.max_leverage_ppm = MAX_LEVERAGE_PPM + 1), refused);
    assert_eq!(
        bad(|b| {
            b.max_leverage_ppm = 5 * PPM;
            b.min_leverage_ppm = 5 * PPM + 1;
        }),
        refused
    );
    assert_eq!(bad(|b| b.max_fee_ppm = MAX_FEE_PPM + 1), refused);
    assert_eq!(bad(|b| b.max_price_age_secs = 0), refused);
    assert_eq!(bad(|b| b.max_price_age_secs = MAX_PRICE_AGE_SECS + 1), refused);
    assert_eq!(bad(|b| b.max_conf_ppm = 0), refused);
    assert_eq!(bad(|b| b.max_conf_ppm = MAX_CONF_PPM + 1), refused);
    assert_eq!(bad(|b| b.min_seed_units = MIN_SEED_UNITS - 1), refused);
    let mut equal = d;
    equal.min_leverage_ppm = 4 * PPM;
    equal.max_leverage_ppm = 4 * PPM;
    equal.max_price_age_secs = 1;
    equal.max_conf_ppm = 1;
    assert!(
        Config::validate_bounds(&equal).is_ok(),
        "equal ends and the lowest values are allowed"
    );
    // Set and read back.
    let mut c: Config = bytemuck::Zeroable::zeroed();
    let b = ConfigBounds {
        min_leverage_ppm: 2 * PPM + 1,
        max_leverage_ppm: 9 * PPM,
        max_fee_ppm: 7,
        max_price_age_secs: 8,
        max_conf_ppm: 9,
        min_seed_units: 10_000,
    };
    c.set_bounds(&b);
    assert_eq!(c.bounds(), b);
    assert_eq!(
        (
            c.min_leverage_ppm,
            c.max_leverage_ppm,
            c.max_fee_ppm,
            c.max_price_age_secs,
            c.max_conf_ppm,
            c.min_seed_units
        ),
        (2 * PPM + 1, 9 * PPM, 7, 8, 9, 10_000)
    );
}

#[test]
fn a_request_is_priced_by_its_kind() {
    let mut r = Request {
        market: Pubkey::default(),
        owner: Pubkey::default(),
        payer: Pubkey::default(),
        kind: RequestKind::MintLt,
        nonce: 0,
        amount: 1,
        min_out: 0,
        escrow: Pubkey::default(),
        source: Pubkey::default(),
        destination: Pubkey::default(),
        requested_at: 0,
        requested_slot: 0,
        tau: 77,
        expires_at: 0,
        tip_lamports: 0,
        bump: 0,
    };
    for (kind, entry, units, bit) in [
        (RequestKind::MintLt, true, true, pause::MINT_LT),
        (RequestKind::RedeemLt, false, false, pause::REDEEM_LT),
        (RequestKind::DepositFunding, true, true, pause::DEPOSIT_FUNDING),
        (
            RequestKind::WithdrawFunding,
            false,
            false,
            pause::WITHDRAW_FUNDING,
        ),
    ] {
        r.kind = kind;
        assert_eq!(kind.is_entry(), entry, "{kind:?}");
        assert_eq!(kind.takes_units(), units, "{kind:?}");
        assert_eq!(kind.pause_bit(), bit, "{kind:?}");
        assert_eq!(r.pricing(), Pricing::Settlement { tau: 77, entry }, "{kind:?}");
    }
}
