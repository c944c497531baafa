//! The end-to-end scenario of the issue, with every expected number from closed-form math written
//! here: SOL 3x; funding deposit; LT mint; +10%; rebalance; -10%; rebalance; a week of funding at a
//! known rate; redeem all; withdraw all funding; the vault keeps only the seed's share and dust.

use lever::constants::PPM;
use lever::state::UpdateMarketParams;
use lever_tests::*;

const WEEK: i64 = 7 * 86_400;

fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, closed form {expected} (tolerance {tolerance})"
    );
}

fn lev(ppm: u128) -> f64 {
    ppm as f64 / PPM as f64
}

#[tokio::test]
async fn sol_3x_round_trip_matches_closed_form() {
    let mut params = default_params();
    // Zero funding while prices move, so the price legs are exact; 10%/year flat for the week.
    params.base_rate_ppm = 0;
    params.slope1_ppm = 0;
    params.slope2_ppm = 0;
    let mut h = Harness::new(MarketOpts {
        params,
        ..MarketOpts::default()
    })
    .await;
    let l = 3.0;

    let lp = h.user(sol(1_000.0)).await;
    let dep = h.deposit(&lp, sol(1_000.0)).await.unwrap();
    assert_eq!(
        dep.shares_out,
        sol(1_000.0),
        "FT NAV is 1 unit per share after the seed"
    );

    let alice = h.user(sol(10.0)).await;
    let minted = h.mint_lt(&alice, sol(10.0)).await.unwrap();
    assert_eq!(minted.shares_out, sol(10.0));
    let pool = h.pool().await;
    // N = L*k, D = (L-1)*k*P
    assert_eq!(pool.exposure, sol(30.0));
    assert_eq!(pool.debt, 2_000 * 10u128.pow(18));

    // +10%: leverage = L(1+r)/(1+Lr)
    h.advance(10);
    h.set_price(110.0);
    let expected = l * 1.1 / (1.0 + l * 0.1);
    let got = h.pool().await.leverage_ppm(h.price_q(110.0)).unwrap().unwrap();
    close(lev(got), expected, 1e-6, "leverage after +10%");
    let r = h.rebalance().await.unwrap();
    close(lev(r.leverage_before_ppm), expected, 1e-6, "rebalance saw");
    close(lev(r.leverage_after_ppm), 3.0, 1.5e-6, "reset to target");
    assert!(r.leverage_after_ppm <= 3 * PPM as u128, "never overshoots");
    // E1 = k*P0*(1 + L*r) = 1300 USD; N' = L*E1/P
    let e1 = 1_000.0 * (1.0 + l * 0.1);
    let pool = h.pool().await;
    close(
        pool.exposure as f64 / 1e9,
        l * e1 / 110.0,
        1e-9,
        "N after first rebalance",
    );
    close(
        pool.debt as f64 / 1e18,
        (l - 1.0) * e1,
        1e-6,
        "D after first rebalance",
    );
    assert_eq!(r.units_to_pool, pool.exposure - sol(30.0));

    // -10% (110 -> 99): leverage = L(1+r)/(1+Lr) with r = -0.1
    h.advance(10);
    h.set_price(99.0);
    let expected = l * 0.9 / (1.0 - l * 0.1);
    let r = h.rebalance().await.unwrap();
    close(lev(r.leverage_before_ppm), expected, 1e-6, "leverage after -10%");
    close(lev(r.leverage_after_ppm), 3.0, 1.5e-6, "reset to target again");
    let e2 = e1 * (1.0 - l * 0.1);
    let pool = h.pool().await;
    close(
        pool.exposure as f64 / 1e9,
        l * e2 / 99.0,
        1e-9,
        "N after second rebalance",
    );
    let debt_before_week = pool.debt as f64 / 1e18;
    close(debt_before_week, (l - 1.0) * e2, 1e-6, "D after second rebalance");

    // A week of funding at a flat 10%/year: D grows by D * 0.10 * 7/365 (simple, one accrual).
    let ten_percent = UpdateMarketParams {
        base_rate_ppm: Some(100_000),
        ..UpdateMarketParams::default()
    };
    h.admin_send(&[h.update_ix(ten_percent)]).await.unwrap();
    h.advance(WEEK);
    h.set_price(99.0);
    let interest = debt_before_week * 0.10 * WEEK as f64 / 31_536_000.0;
    let before = h.balance(&alice.underlying).await;
    let red = h.redeem_lt(&alice, minted.shares_out).await.unwrap();
    let pool = h.pool().await;
    assert_eq!(pool.exposure, 0);
    assert_eq!(pool.debt, 0);
    assert_eq!(pool.lt_supply, 0);
    // Alice: (E2 - interest) / P
    let expected_units = (e2 - interest) / 99.0;
    close(
        red.units_out as f64 / 1e9,
        expected_units,
        2e-9,
        "Alice's redemption (SOL)",
    );
    assert_eq!(h.balance(&alice.underlying).await - before, red.units_out);
    // Her result against the ideal 3x path: 1000 USD * 1.3 * 0.7 - interest.
    close(
        red.units_out as f64 / 1e9 * 99.0,
        910.0 - interest,
        1e-6,
        "Alice's USD value",
    );

    // The funding pool got the interest: LP's units = its share of I at the end.
    let pool = h.pool().await;
    let lp_share = dep.shares_out as f64 / pool.ft_supply as f64;
    let expected_lp = (pool.idle as f64 * lp_share).floor();
    let w = h.withdraw(&lp, dep.shares_out).await.unwrap();
    close(w.units_out as f64, expected_lp, 2.0, "LP's withdrawal (units)");
    let lp_gain_usd = (w.units_out as f64 / 1e9 - 1_000.0) * 99.0;
    // LP received the interest plus what Alice's trades moved in units, in USD terms at 99.
    assert!(lp_gain_usd > 0.0);

    // What is left: the locked seed's pro-rata share plus rounding dust, owned by the pools.
    let pool = h.pool().await;
    let vault = h.balance(&h.keys.vault.clone()).await;
    assert_eq!(pool.ft_supply, 1_000, "only the locked seed FT remain");
    assert_eq!(vault, pool.idle + pool.fee_units);
    assert_eq!(pool.fee_units, 0, "no fees in this market");
    // The locked seed FT are the only FT left, so every remaining unit is their claim.
    // The seed's 1,000 units grew by the same factor as the LP's deposit (within dust).
    let lp_factor = w.units_out as f64 / 1e12;
    close(
        pool.idle as f64 / 1_000.0,
        lp_factor,
        0.01,
        "seed grew like the LP",
    );
    // Creation, 7 instructions: each followed by the exact conservation check.
    assert!(h.checks >= 8, "conservation was checked after every step");
}
