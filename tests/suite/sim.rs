//! The simulator on short slices of the bundled real SOL/USDT hourly series. Expected numbers are
//! derived here from the closed forms, not read back from the simulator; every run also checks,
//! inside the engine, that each transaction equals the SDK's prediction and that the vault
//! always equals N + I + fees.

use lever_sim::prices::{self, Series};
use lever_sim::{run, ConfMode, SimConfig, Summary};

/// The shared SOL/USDT hourly series (`lever_sdk::data`).
fn sol_1h() -> std::path::PathBuf {
    lever_sdk::data::data_file(None, lever_sdk::data::files::SOL_USDT_1H).unwrap_or_else(|e| panic!("{e}"))
}

/// `bars` rows of the bundled series starting at the row whose time is `from`.
fn slice(from: &str, bars: usize) -> Series {
    let text = std::fs::read_to_string(sol_1h()).expect("bundled series");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let rows: Vec<&str> = lines.skip_while(|l| !l.starts_with(from)).take(bars).collect();
    assert_eq!(rows.len(), bars, "slice from {from}");
    let body = std::iter::once(header).chain(rows).collect::<Vec<_>>().join("\n");
    prices::parse(&format!("SOLUSDT_1h from {from}"), &body).expect("slice parses")
}

fn like_for_like(leverage: f64, band: f64) -> SimConfig {
    SimConfig {
        leverage,
        band,
        no_costs: true,
        conf: ConfMode::Ratio(0.0),
        ..SimConfig::default()
    }
}

async fn simulate(series: &Series, cfg: &SimConfig) -> Summary {
    let out = run(series, cfg, None, true).await.expect("simulation");
    assert_eq!(out.records.len(), series.bars.len());
    assert_eq!(out.summary.conservation_violations, 0);
    out.summary
}

fn closes(series: &Series) -> Vec<f64> {
    series.bars.iter().map(|b| b.close).collect()
}

/// 72 real hours across the 5-hour gap of 2020-12-21, 3x, band 5%, no costs, keeper every bar.
/// The leveraged pool holds N units against a fixed debt between rebalances, so its equity moves
/// by N * dP; when leverage leaves 3 +- 0.15 it is reset to N = 3E/P. Replayed here in f64, that
/// gives the LT NAV and the rebalance count the chain must reach.
#[tokio::test]
async fn short_real_slice_matches_the_closed_forms() {
    let series = slice("2020-12-21 00:00:00", 72);
    assert_eq!(
        (series.gaps, series.missing_bars),
        (1, 4),
        "the slice spans the 5 h gap"
    );
    let cfg = like_for_like(3.0, 0.05);
    let s = simulate(&series, &cfg).await;
    let p = closes(&series);

    // The band rule by hand.
    let (l, band) = (3.0, 0.05);
    let mut equity = 1.0;
    let mut units = l * equity / p[0];
    let mut rebalances = 0;
    for w in p.windows(2) {
        equity += units * (w[1] - w[0]);
        let lev = units * w[1] / equity;
        if (lev - l).abs() > band * l {
            units = l * equity / w[1];
            rebalances += 1;
        }
    }
    assert!(
        rebalances > 3,
        "the slice should move enough to rebalance ({rebalances})"
    );
    assert_eq!(s.rebalances, rebalances);
    // The keeper books most; a funding provider's deposit that finds the market out of band
    // rebalances it first, as every price-reading instruction does.
    assert!(s.keeper_rebalances <= rebalances && s.keeper_rebalances + s.provider_actions >= rebalances);
    assert!(
        (s.final_lt_nav / equity).ln().abs() < 1e-6,
        "LT NAV {} vs band replay {equity}",
        s.final_lt_nav
    );

    // The ideal, prod(1 + L r), and docs/MECHANISM.md's closed form with realized variance.
    let ideal: f64 = p.windows(2).map(|w| 1.0 + l * (w[1] / w[0] - 1.0)).product();
    assert!((s.ideal_lt_nav / ideal - 1.0).abs() < 1e-12);
    let var: f64 = p.windows(2).map(|w| (w[1] / w[0]).ln().powi(2)).sum();
    let closed = (p[p.len() - 1] / p[0]).powf(l) * (-(l * l - l) / 2.0 * var).exp();
    assert!((s.closed_form_lt_nav / closed - 1.0).abs() < 1e-12);
    // Over three days of hourly bars the three agree closely.
    assert!(
        (s.final_lt_nav / closed).ln().abs() < 0.02,
        "{} vs {closed}",
        s.final_lt_nav
    );
    assert!((s.underlying_return - (p[p.len() - 1] / p[0] - 1.0)).abs() < 1e-12);
    assert_eq!(s.landed.rebalance, s.keeper_rebalances);
    assert!(s.min_leverage.is_some_and(|m| m > 2.0) && s.max_leverage.is_some_and(|m| m < 4.0));
}

/// The FTX crash (2022-11-07 to 2022-11-10) at 10x with a keeper that looks once a day: the pool
/// goes insolvent between checks and is wiped out; the run re-opens the market and goes on. The
/// holder's NAV is 0 from the first wipe-out, the vault always balances.
#[tokio::test]
async fn gap_past_the_band_wipes_out_and_the_market_reopens() {
    let series = slice("2022-11-07 00:00:00", 96);
    let cfg = SimConfig {
        keeper_interval: 86_400,
        band: 0.2,
        ..like_for_like(10.0, 0.2)
    };
    let s = simulate(&series, &cfg).await;
    assert!(s.lt_wipeouts >= 1, "wipe-outs {}", s.lt_wipeouts);
    assert_eq!(s.landed.reopen_market, s.lt_wipeouts);
    assert_eq!(s.final_lt_nav, 0.0);
    assert_eq!(s.tracking_error_log, None);
    assert!(s.funding_bad_debt_usd >= 0.0);
    // Between two daily checks the pool passed 10x by far.
    assert!(s.max_leverage.is_none_or(|m| m > 12.0));
}

/// Seeded users exercise every user instruction on a real month; every transaction (landed or
/// refused) must match the SDK's prediction, or the run fails.
#[tokio::test]
async fn seeded_users_exercise_every_instruction() {
    let series = slice("2021-05-01 00:00:00", 24 * 30);
    let cfg = SimConfig {
        users: 6,
        seed: 42,
        keeper_interval: 4 * 3600,
        ..SimConfig::default()
    };
    let s = simulate(&series, &cfg).await;
    let l = s.landed;
    assert!(l.mint_lt > 1 && l.redeem_lt > 0 && l.deposit_funding > 1 && l.withdraw_funding > 0);
    assert!(l.rebalance > 0, "{l:?}");
    assert!(s.user_actions > 50, "{}", s.user_actions);
    assert!(s.funding_interest_usd > 0.0);
    // Same seed, same run.
    let again = simulate(&series, &cfg).await;
    assert_eq!(again.final_lt_nav, s.final_lt_nav);
    assert_eq!(again.user_refusals, s.user_refusals);
}

/// Settings the program refuses stop the run with the program's reason.
#[tokio::test]
async fn out_of_bounds_settings_are_refused_by_the_program() {
    let series = slice("2021-05-01 00:00:00", 10);
    let err = run(&series, &like_for_like(11.0, 0.05), None, false)
        .await
        .err()
        .expect("11x must be refused");
    let text = format!("{err:#}");
    assert!(text.contains("create the market"), "{text}");
    assert!(text.contains("Custom(6"), "{text}");
    let err = run(
        &series,
        &SimConfig {
            band: f64::NAN,
            ..SimConfig::default()
        },
        None,
        false,
    )
    .await
    .err()
    .expect("NaN band");
    assert!(format!("{err:#}").contains("--band"));
}
