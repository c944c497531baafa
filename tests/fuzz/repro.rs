//! Minimal reproductions of what the fuzzer found in the program, kept as regression tests of the
//! fix (`cargo test -p lever-tests --test fuzz repro`).
//!
//! Finding `first-mint-confidence`, fixed (the first mint now books its debt at the mid): the first LT mint into an empty leveraged pool (a new market, or
//! after every LT was redeemed, or after a re-open) opens at `N = L*k` and books the debt for the
//! `(L-1)*k` lent units at the **upper** end of the confidence interval, `D = (L-1)*k*P_upper`,
//! while shares are 1:1 with units. At the mid price the pool then sits at leverage
//! `L / (L - (L-1)*P_upper/P)` instead of `L`: above the band as soon as the interval is wider
//! than about `band/(L-1)`, and insolvent (`E <= 0`) once `(L-1)*(P_upper-P)/P >= 1`, e.g. 10x with
//! conf 6% widened 2x. The mint lands (its `min_shares_out` is met, shares being 1:1), and the
//! next touch rebalances at the mid or wipes the pool: the first minter's deposit goes to the
//! funding pool. A later mint into an existing pool scales `N` and `D` together and keeps the
//! leverage (its cost of the interval is at most `(L-1)*d/(1+L*d)` of the deposit, never all of it).

use lever::constants::PPM;
use lever_tests::*;

#[tokio::test]
async fn repro_first_mint_with_confidence_leaves_the_pool_above_its_band() {
    let mut params = default_params();
    params.band_ppm = 10_000; // 3x +- 1%: 2.97x..3.03x
    let mut h = Harness::new(MarketOpts {
        params,
        ..MarketOpts::default()
    })
    .await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.expect("deposit");
    h.set_price_conf(100.0, 0.02); // conf 2%, the market's limit
    let alice = h.user(sol(10.0)).await;
    // Shares 1:1 less the instant path's 0.5% fee.
    let ix = h.mint_ix(&alice, sol(10.0), sol(9.95));
    h.send(&[ix], &[&alice.kp])
        .await
        .expect("the first mint lands, min_shares_out met");
    let mid = h.price_q(100.0);
    let pool = h.pool().await;
    let lev = pool.leverage_ppm(mid).expect("leverage").expect("solvent");
    // Before the fix: N = 30 SOL, D = 20 SOL at $102 = $2,040, at the mid 3,000 / 960 = 3.125x.
    // Now D = 20 SOL at the $100 mid: exactly 3x.
    println!(
        "first mint: N {} D {} leverage at the mid {lev} ppm",
        pool.exposure, pool.debt
    );
    assert!(
        lev <= 3_030_000,
        "the first mint left the pool at {lev} ppm, above the band's 3,030,000"
    );
}

#[tokio::test]
async fn repro_first_mint_with_a_wide_interval_is_insolvent_at_the_mid() {
    let mut params = default_params();
    params.target_leverage_ppm = 10 * PPM;
    params.max_conf_ppm = 100_000;
    params.instant_max_conf_ppm = 100_000;
    params.conf_multiplier_ppm = 2 * PPM;
    let mut h = Harness::new(MarketOpts {
        params,
        ..MarketOpts::default()
    })
    .await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.expect("deposit");
    h.set_price_conf(100.0, 0.06); // +-12% once widened 2x
    let alice = h.user(sol(5.0)).await;
    let ix = h.mint_ix(&alice, sol(5.0), sol(4.975));
    h.send(&[ix], &[&alice.kp])
        .await
        .expect("the first mint lands, min_shares_out met");
    let mid = h.price_q(100.0);
    let pool = h.pool().await;
    let equity = pool.equity(mid).expect("equity");
    // Before the fix: N = 50 SOL = $5,000 at the mid, D = 45 SOL at $112 = $5,040, E = -$40 right
    // after the mint. Now D = 45 SOL at the mid: E = $500, 10x.
    println!(
        "first mint: N {} D {} equity at the mid {equity}",
        pool.exposure, pool.debt
    );
    assert!(
        equity > 0,
        "the first mint left the pool insolvent at the mid: E = {equity}"
    );
}
