//! Review 13, L2, rechecked under two-step: which updates pin a slot's price. A chosen update (a
//! rebalance's, the instant path's) pins the slot, so no transaction acts at two prices it picked.
//! A settlement's update is nobody's choice: it neither pins the slot nor is held to the pin, and
//! though it moves the books' price, a later chosen update in the slot must still be the pinned
//! one. Before the fix a late dust settlement pinned the slot to its stale update and the
//! keeper's fresh rebalance in that slot was refused (`PriceChangedInSlot`), repeatable slot after
//! slot; and a settlement between two instant operations let one transaction mint at one price
//! and redeem at another.

use crate::two_step::{covering, keeper};
use lever::error::LeverError;
use lever::instructions::{RebalanceOutcome, SettleOutcome};
use lever::state::RequestKind;
use lever_sdk::ix;
use lever_sdk::pyth::PriceInput;
use lever_tests::*;
use solana_signer::Signer;

#[tokio::test]
async fn a_late_dust_settlement_does_not_block_the_keepers_rebalance() {
    let (mut h, lp, _alice) = levered().await;
    let k = keeper(&mut h).await;
    let max_age = h.market().await.params.max_price_age_secs as i64;
    // A 2-raw-unit FT withdrawal, settled 80 s after its target (within the window, past the
    // maximum age): its update is stale, yet newer than the books' last price.
    let ft_before = h.balance(&lp.ft).await;
    let (request, receipt) = h
        .request(&lp, RequestKind::WithdrawFunding, 2, 0)
        .await
        .expect("request");
    h.advance(10 + max_age + 20);
    let stale = covering(&h, 100.0, receipt.tau - 1, receipt.tau);
    assert!(stale.publish_time > h.market().await.last_publish_time);
    let stale_account = h.price_account_with(&stale);
    // The price fell 10%: 3x is out of its band, and the keeper has the fresh update.
    h.set_price(90.0);
    let before = h.market().await;
    let r = h.request_state(&request).await;
    let settle = ix::settle_request(k.pubkey(), &h.keys, request, &r, stale_account);
    let rebalance = ix::rebalance(k.pubkey(), h.keys.market, h.price_account);
    // Both in one transaction: the same slot, the settlement first.
    let landed = h
        .send(&[settle, rebalance], &[&k])
        .await
        .expect("the keeper's rebalance lands after the late settlement");
    let rebalanced: RebalanceOutcome = decode(&landed);
    // The withdrawal filled (a refund would have returned the 2 FT) and its request closed.
    assert_eq!(h.balance(&lp.ft).await, ft_before - 2);
    assert!(h.chain.account(&request).await.unwrap().is_none());
    let after = h.market().await;
    assert_eq!(
        after.rebalance_count,
        before.rebalance_count + 1,
        "{rebalanced:?}"
    );
    assert_eq!(after.last_publish_time, h.chain.now());
}

#[tokio::test]
async fn a_settlement_between_two_instant_operations_cannot_change_the_slots_price() {
    // The default test market has the instant path on (updates up to 5 s old, 0.5% fee).
    let (mut h, _lp, alice) = levered().await;
    let bob = h.user(sol(20.0)).await;
    let (request, receipt) = h
        .request(&bob, RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("request");
    h.advance(10);
    // The instant update at $100 (1 s old), and the newer one covering bob's target at $103.
    h.write_price(&PriceInput {
        publish_time: receipt.tau - 1,
        ..h.price_input(100.0)
    });
    let later = covering(&h, 103.0, receipt.tau - 1, receipt.tau);
    let later_account = h.price_account_with(&later);
    let r = h.request_state(&request).await;
    let settle = ix::settle_request(alice.pubkey(), &h.keys, request, &r, later_account);
    let mut at_later = h.lt_accounts(&alice);
    at_later.price_update = later_account;
    let kp = alice.kp.insecure_clone();
    // Alice mints at $100, settles bob's request at its $103 update (the books move to it), then
    // redeems what the mint gave her at $103: the redeem is held to the slot's pin.
    let mint = h.mint_ix(&alice, sol(5.0), 0);
    let redeem = ix::redeem_lt(&h.keys, &at_later, sol(4.9), 0);
    h.expect_error(
        &[mint, settle.clone(), redeem],
        &[&kp],
        LeverError::PriceChangedInSlot,
    )
    .await;
    // At the pinned $100 instead, the redeem is older than the books' price now.
    let mint = h.mint_ix(&alice, sol(5.0), 0);
    let redeem = h.redeem_ix(&alice, sol(4.9), 0);
    h.expect_error(
        &[mint, settle.clone(), redeem],
        &[&kp],
        LeverError::PriceOlderThanLast,
    )
    .await;
    // The settlement itself is nobody's choice: in the pinned slot it lands, at its own update.
    let mint = h.mint_ix(&alice, sol(5.0), 0);
    let landed = h
        .send(&[mint, settle], &[&kp])
        .await
        .expect("settles in the pinned slot");
    let out: SettleOutcome = decode(&landed);
    assert!(out.filled);
    assert_eq!(out.publish_time, receipt.tau);
    let m = h.market().await;
    assert_eq!(
        m.last_publish_time, receipt.tau,
        "the books moved to the settlement's price"
    );
    assert_eq!(
        m.pinned_publish_time,
        receipt.tau - 1,
        "the pin stayed at the chosen one"
    );
}
