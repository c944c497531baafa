//! Review 13, L3, rechecked under two-step: a wide confidence interval. The market's confidence
//! limit guards what adds risk (a mint, a deposit: refunded past it). An exit has no limit: it is
//! priced at the interval's adverse end (a redemption at the lower end, a withdrawal at the upper)
//! and its owner's minimum out protects it; a rebalance uses the mid. Before the fix a 5% interval
//! on a 2%-limit market refunded every request, exits included, and refused the keeper's rebalance
//! (`PriceConfidenceTooWide`), so in a volatility spike nobody could exit and the pool could not be
//! delevered or wiped.

use crate::two_step::{keeper, settle_as_quoted};
use lever::error::LeverError;
use lever::state::RequestKind;
use lever_sdk::pyth::PriceInput;
use lever_tests::*;

#[tokio::test]
async fn in_a_confidence_spike_exits_settle_entries_refund_and_the_keeper_rebalances() {
    let (mut h, lp, alice) = levered().await;
    let k = keeper(&mut h).await;
    assert_eq!(h.market().await.params.max_conf_ppm, 20_000, "a 2% limit");
    let lt = h.balance(&alice.lt).await;
    let ft = h.balance(&lp.ft).await;
    let requests = [
        (RequestKind::RedeemLt, lt / 4, &alice),
        (RequestKind::WithdrawFunding, ft / 10, &lp),
        (RequestKind::MintLt, sol(1.0), &alice),
        (RequestKind::DepositFunding, sol(1.0), &lp),
    ];
    let mut open = Vec::new();
    for (kind, amount, who) in requests {
        let (request, receipt) = h.request(who, kind, amount, 0).await.expect("request");
        open.push((kind, request, receipt.tau));
    }
    h.advance(10);
    // One update covers every target: $100 with a 5% interval.
    let tau = open[0].2;
    let spike = PriceInput::usd(h.feed_id, 100.0, 0.05, tau).after(tau - 1);
    for (kind, request, _) in open {
        let out = settle_as_quoted(&mut h, &k, request, &spike).await;
        match kind {
            RequestKind::RedeemLt => {
                assert!(out.filled, "{kind:?}: {out:?}");
                // At the lower end: $95 (the multiplier is 1x).
                assert_eq!(out.price, h.price_q(95.0), "{kind:?}");
            }
            RequestKind::WithdrawFunding => {
                assert!(out.filled, "{kind:?}: {out:?}");
                assert_eq!(out.price, h.price_q(105.0), "{kind:?}");
            }
            _ => assert_eq!(
                out.refund_code,
                u32::from(LeverError::PriceConfidenceTooWide),
                "{kind:?} adds risk: refunded"
            ),
        }
    }

    // The price falls 12% with the interval still at 5%: the keeper delevers at the mid.
    h.advance(5);
    h.set_price_conf(88.0, 0.05);
    let before = h.market().await;
    let out = h.rebalance().await.expect("the keeper rebalances in the spike");
    let after = h.market().await;
    assert_eq!(after.rebalance_count, before.rebalance_count + 1, "{out:?}");
    assert_eq!(after.last_price.get(), h.price_q(88.0), "at the mid");
    // The instant path keeps its own, tighter limit.
    let kp = alice.kp.insecure_clone();
    h.expect_error(
        &[h.redeem_ix(&alice, sol(0.1), 0)],
        &[&kp],
        LeverError::PriceConfidenceTooWide,
    )
    .await;
}
