//! Happy paths: every instruction once, with the numbers it must produce.

use lever_tests::*;

#[tokio::test]
async fn smoke_mint_redeem_deposit_withdraw() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    let d = h.deposit(&lp, sol(100.0)).await.unwrap();
    assert_eq!(d.shares_out, sol(100.0));
    let alice = h.user(sol(10.0)).await;
    let m = h.mint_lt(&alice, sol(10.0)).await.unwrap();
    assert_eq!(m.shares_out, sol(10.0));
    let pool = h.pool().await;
    assert_eq!(pool.exposure, sol(30.0));
    let r = h.redeem_lt(&alice, m.shares_out).await.unwrap();
    assert_eq!(r.units_out, sol(10.0));
    let w = h.withdraw(&lp, d.shares_out).await.unwrap();
    assert_eq!(w.units_out, sol(100.0));
}
