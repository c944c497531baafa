//! The gap case: at 3x the price falls 50% in one step; the leveraged pool is wiped and nothing
//! panics or leaves the vault short.

use lever::error::LeverError;
use lever::events::Rebalanced;
use lever_tests::*;
use solana_signer::Signer;

#[tokio::test]
async fn gap_minus_50_wipes_lt_and_market_recovers() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    let dep = h.deposit(&lp, sol(100.0)).await.unwrap();
    let alice = h.user(sol(10.0)).await;
    let minted = h.mint_lt(&alice, sol(10.0)).await.unwrap();

    h.advance(5);
    h.set_price(50.0);
    let payer = h.chain.payer_pubkey();
    let ix = h.rebalance_ix(&payer);
    let events = h.events(&[ix], &[]).await;
    let ev: Rebalanced = find_event(&events).expect("Rebalanced event");
    assert!(ev.wiped);
    // D = 2000 USD plus 5 s of funding, N*P = 30 * 50 = 1500 USD: about 500 USD of the loss falls
    // on the funding pool. The funding rate at the new price: the debt counts at most at what backs
    // it, so U = 2000 / (1500 + 80 * 50) = 4/11, rate = 2% + 8% * (4/11) / 0.8 (the default curve).
    let rate = 0.02 + 0.08 * (4.0 / 11.0) / 0.8;
    let expected_bad_debt = 2_000.0 * (1.0 + rate * 5.0 / 31_536_000.0) - 1_500.0;
    let got = ev.bad_debt as f64 / 1e18;
    assert!(
        (got - expected_bad_debt).abs() < 1e-9,
        "bad debt {got} vs {expected_bad_debt}"
    );
    assert_eq!(ev.price, h.price_q(50.0));

    let r = h.rebalance().await.unwrap();
    assert!(r.wiped);
    let market = h.market().await;
    assert!(market.is_wiped());
    let pool = market.pool();
    assert_eq!((pool.exposure, pool.debt), (0, 0));
    assert_eq!(
        pool.idle,
        sol(110.0) + 1_000,
        "every unit belongs to the funding pool"
    );
    assert_eq!(pool.lt_nav(h.price_q(50.0)).unwrap(), 0, "LT NAV is zero");

    // LT mints are refused until the admin re-opens the market.
    let bob = h.user(sol(5.0)).await;
    let ix = h.mint_ix(&bob, sol(5.0), 0);
    h.expect_error(&[ix], &[&bob.kp], LeverError::MarketWiped).await;
    let reopen = lever_sdk::ix::reopen_market(h.admin.pubkey(), &h.keys);
    h.expect_error(
        std::slice::from_ref(&reopen),
        &[&h.admin.insecure_clone()],
        LeverError::LtSupplyOutstanding,
    )
    .await;

    // Redeeming worthless LT works (pays 0, burns them).
    let red = h.redeem_lt(&alice, minted.shares_out).await.unwrap();
    assert_eq!(red.units_out, 0);
    assert_eq!(h.pool().await.lt_supply, 0);

    // A funding withdrawal works: the LP bears its share of the loss, in units it gained.
    let half = dep.shares_out / 2;
    let w = h.withdraw(&lp, half).await.unwrap();
    // F = I*P = (110 SOL + seed) * 50; LP's half claim in units = I * half / S.
    let pool = h.pool().await;
    let expected = ((sol(110.0) + 1_000) as u128 * half as u128 / (pool.ft_supply + half) as u128) as u64;
    assert!(
        w.units_out.abs_diff(expected) <= 1,
        "withdrawal {} vs {expected}",
        w.units_out
    );

    // Admin re-opens; LT mints work again and open at target leverage.
    h.admin_send(&[reopen]).await.unwrap();
    assert!(!h.market().await.is_wiped());
    let m = h.mint_lt(&bob, sol(5.0)).await.unwrap();
    assert_eq!(m.shares_out, sol(5.0));
    let lev = h.pool().await.leverage_ppm(h.price_q(50.0)).unwrap().unwrap();
    assert_eq!(lev, 3_000_000);
    h.redeem_lt(&bob, m.shares_out).await.unwrap();
    let rest = h.balance(&lp.ft).await;
    h.withdraw(&lp, rest).await.unwrap();
    assert_eq!(h.pool().await.ft_supply, 1_000);
}
