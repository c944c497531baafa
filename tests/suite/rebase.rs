//! Review 13, L4: a decayed NAV per share caps the market. Shares are minted at NAV per share and
//! no raw supply passes `u64::MAX`, so once NAV per share has fallen far enough no large mint fits
//! (`MathOverflow`) while any old share is outstanding. `rebase_lt` moves the LT to a fresh mint
//! where one raw share is `ratio` old ones; each holder converts with `convert_retired_lt` when it
//! likes, and until then the books count its claim, so no NAV per share moves.

use anchor_lang::prelude::Pubkey;
use lever::constants::PPM;
use lever::error::LeverError;
use lever::instructions::{ConvertOutcome, RebaseLtArgs};
use lever::state::Market;
use lever_sdk::{ix, pda};
use lever_tests::*;
use solana_signer::Signer;

fn args(epoch: u32, ratio: u64) -> RebaseLtArgs {
    RebaseLtArgs {
        epoch,
        ratio,
        name: "SOL 10x Long".into(),
        symbol: "SOL10X".into(),
        uri: String::new(),
    }
}

/// LT equity in raw units at the books' last price, and NAV per share (units per raw share).
fn nav(m: &Market) -> (f64, f64) {
    let price = m.last_price.get();
    let equity = m.pool().equity(price).expect("equity").max(0) as f64;
    let units = equity * 1e18 / price as f64;
    (units, units / m.lt_supply as f64)
}

/// A 10x market whose LT lost 99.4% four times (a -9.95% print, then the keeper's rebalance back to
/// 10x): NAV per share about 1e-9 of a unit, Alice still holding her 10 SOL of shares.
async fn decayed() -> (Harness, User, User) {
    let opts = MarketOpts {
        params: lever::state::MarketParams {
            target_leverage_ppm: 10 * PPM,
            ..default_params()
        },
        ..MarketOpts::default()
    };
    let (mut h, lp, alice) = levered_with(opts).await;
    let mut price = 100.0;
    for _ in 0..4 {
        h.advance(10);
        price *= 1.0 - 0.0995;
        h.set_price(price);
        let out = h.rebalance().await.expect("rebalance back to 10x");
        assert!(!out.wiped);
    }
    let (units, per_share) = nav(&h.market().await);
    assert!(
        units > 1.0 && per_share < 3e-9,
        "decayed: {units} units, {per_share} per share"
    );
    (h, lp, alice)
}

#[tokio::test]
async fn a_decayed_nav_per_share_is_re_based_and_the_market_takes_large_mints_again() {
    let (mut h, _lp, alice) = decayed().await;
    // Funding for a 200 SOL mint at 10x (1,800 SOL lent), so only the share count can fail it.
    let whale = h.user(sol(2_000.0)).await;
    h.deposit(&whale, sol(2_000.0)).await.expect("deposit");
    let bob = h.user(sol(300.0)).await;
    // The finding: 200 SOL of new LT does not fit in a u64 of shares at this NAV per share.
    h.advance(1);
    let last = h.price_update().await.price_message.price as f64 / 1e8;
    h.set_price(last);
    let fail = h
        .instant_mint_lt(&bob, sol(200.0))
        .await
        .expect_err("200 SOL at a decayed NAV per share");
    assert_eq!(
        fail.custom_code(),
        Some(u32::from(LeverError::MathOverflow)),
        "{fail}"
    );

    // The re-base: 1e8 old raw shares per new one.
    let before = h.market().await;
    let (units_before, per_share_before) = nav(&before);
    let old_mint = h.keys.lt_mint;
    let alice_old = h.balance(&alice.lt).await;
    let ratio = 100_000_000;
    h.rebase_lt(args(1, ratio)).await.expect("rebase_lt");
    let m = h.market().await;
    let new_mint = pda::lt_mint_at(&h.keys.market, 1);
    assert_eq!((m.lt_mint, m.lt_epoch), (new_mint, 1));
    assert_eq!((m.retired_lt_mint, m.retired_lt_ratio), (old_mint, ratio));
    assert_eq!(m.retired_lt_outstanding, before.lt_supply);
    assert_eq!(m.lt_supply, before.lt_supply.div_ceil(ratio));
    assert_eq!(m.pool().exposure, before.pool().exposure, "no value moved");
    assert_eq!(m.pool().debt, before.pool().debt);
    let (units_after, per_share_after) = nav(&m);
    assert_eq!(units_after, units_before);
    let scaled = per_share_before * ratio as f64;
    assert!(
        (per_share_after - scaled).abs() <= scaled * 1e-6,
        "NAV per share x ratio: {per_share_after} vs {scaled}"
    );

    // Now 200 SOL mints, at the same NAV per new share.
    let bob_new = User {
        kp: bob.kp.insecure_clone(),
        lt: h.token_account(&new_mint, &bob.pubkey()).await,
        ..bob
    };
    let minted = h
        .mint_lt(&bob_new, sol(200.0))
        .await
        .expect("200 SOL mints after the re-base");
    assert!(minted.shares_out > 0);

    // Alice converts 3 new shares' worth plus 5 old raw units: she gets 3; the 5 units' claim (less
    // than one new raw share) stays with the holders who remain.
    let alice_new_lt = h.token_account(&new_mint, &alice.pubkey()).await;
    let supply_before = h.market().await.lt_supply;
    let convert = ix::convert_retired_lt(
        alice.pubkey(),
        &h.keys,
        old_mint,
        alice.lt,
        alice_new_lt,
        3 * ratio + 5,
    );
    let landed = h.send(&[convert], &[&alice.kp]).await.expect("convert");
    let out: ConvertOutcome = decode(&landed);
    assert_eq!((out.retired_in, out.lt_out), (3 * ratio + 5, 3));
    assert_eq!(h.balance(&alice_new_lt).await, 3);
    assert_eq!(h.balance(&alice.lt).await, alice_old - 3 * ratio - 5);
    assert!(
        h.market().await.lt_supply <= supply_before,
        "conversion never adds supply"
    );
    // Then the rest.
    let rest = alice_old - 3 * ratio - 5;
    let convert = ix::convert_retired_lt(alice.pubkey(), &h.keys, old_mint, alice.lt, alice_new_lt, rest);
    h.send(&[convert], &[&alice.kp]).await.expect("convert the rest");
    let alice_shares = h.balance(&alice_new_lt).await;
    assert_eq!(alice_shares, 3 + rest / ratio);
    // What her converted shares redeem for is what her old shares were worth, to within one new
    // share's rounding (at most one raw unit of the underlying).
    let alice_now = User {
        kp: alice.kp.insecure_clone(),
        lt: alice_new_lt,
        ..alice
    };
    let worth = per_share_before * alice_old as f64;
    let redeemed = h.redeem_lt(&alice_now, alice_shares).await.expect("redeem");
    assert!(
        (redeemed.units_out as f64 - worth).abs() <= 2.0,
        "redeemed {} for old shares worth {worth}",
        redeemed.units_out
    );
    h.check().await;
}

#[tokio::test]
async fn rebase_and_conversion_refusals_change_nothing() {
    let (mut h, _lp, alice) = decayed().await;
    let admin = h.admin.insecure_clone();
    let keys = h.keys;
    let m = h.market().await;
    let (units, _) = nav(&m);
    // A new share worth more than one raw unit: refused.
    let too_far = (m.lt_supply as f64 / units.ceil()) as u64 * 2;
    for (a, error) in [
        (args(1, 1), LeverError::RebaseNotAllowed),
        (args(1, too_far), LeverError::RebaseNotAllowed),
        (args(2, 1_000), LeverError::WrongLtEpoch),
    ] {
        h.expect_error(&[ix::rebase_lt(admin.pubkey(), &keys, a)], &[&admin], error)
            .await;
    }
    // Not the admin.
    let alice_kp = alice.kp.insecure_clone();
    h.expect_error(
        &[ix::rebase_lt(alice.pubkey(), &keys, args(1, 1_000))],
        &[&alice_kp],
        LeverError::Unauthorized,
    )
    .await;
    // No retired LT yet: nothing to convert (the current mint is not a retired one).
    let convert = ix::convert_retired_lt(alice.pubkey(), &keys, Pubkey::default(), alice.lt, alice.lt, 1);
    let fail = h.expect_failure(&[convert], &[&alice_kp]).await;
    assert!(fail.custom_code().is_some(), "{fail}");

    let ratio = 1_000;
    h.rebase_lt(args(1, ratio)).await.expect("rebase");
    let new_mint = h.keys.lt_mint;
    let dest = h.token_account(&new_mint, &alice.pubkey()).await;
    // Less than one new share: nothing to pay.
    let small = ix::convert_retired_lt(alice.pubkey(), &h.keys, keys.lt_mint, alice.lt, dest, ratio - 1);
    h.expect_error(&[small], &[&alice_kp], LeverError::ZeroSharesOut)
        .await;
    // A second re-base while the first one's LT is outstanding would strand its holders.
    h.expect_error(
        &[ix::rebase_lt(admin.pubkey(), &h.keys, args(2, 2))],
        &[&admin],
        LeverError::RetiredLtOutstanding,
    )
    .await;
    // The retired LT is refused where the current LT is expected.
    let old_redeem = ix::redeem_lt(&keys, &h.lt_accounts(&alice), 1, 0);
    h.expect_error(&[old_redeem], &[&alice_kp], LeverError::LtMintMismatch)
        .await;
    h.check().await;
}

#[tokio::test]
async fn requests_open_across_a_rebase_are_cancelled_with_their_own_mint() {
    // Found while documenting the re-base: a redemption opened before it holds the retired LT in
    // escrow, and a mint opened before it pays into an account of the retired mint. Neither can
    // settle against the new mint; before the fix `cancel_request` named the market's current LT
    // mint, so the redemption's escrow, tip and rents were stranded for good.
    let (mut h, _lp, alice) = decayed().await;
    let bob = h.user(sol(5.0)).await;
    let old_mint = h.keys.lt_mint;
    let alice_lt = h.balance(&alice.lt).await;
    let (redeem, receipt) = h
        .request(&alice, lever::state::RequestKind::RedeemLt, alice_lt / 2, 0)
        .await
        .expect("redeem request");
    let (mint, _) = h
        .request(&bob, lever::state::RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("mint request");
    h.rebase_lt(args(1, 1_000)).await.expect("rebase");
    h.advance(10);
    let last = h.price_update().await.price_message.price as f64 / 1e8;
    h.write_price(&crate::two_step::covering(&h, last, receipt.tau - 1, receipt.tau));
    let payer = h.chain.payer_pubkey();
    let price = h.price_account;
    for request in [redeem, mint] {
        let ix = h.settle_ix(&payer, &request, &price).await;
        h.expect_error(&[ix], &[], LeverError::RequestLtMintRetired).await;
    }
    h.advance(lever::constants::MAX_SETTLE_WINDOW_SECS as i64 + 20);
    // The redemption's escrow holds the retired LT: named with the current mint it is refused,
    // with its own it comes back.
    let r = h.request_state(&redeem).await;
    let wrong = ix::cancel_request(payer, &h.keys, redeem, &r);
    h.expect_error(&[wrong], &[], LeverError::RequestMintMismatch)
        .await;
    let right =
        ix::cancel_request_with_input(payer, &h.keys, redeem, &r, old_mint, anchor_spl::token_2022::ID);
    h.send(&[right], &[]).await.expect("cancel the redemption");
    assert_eq!(h.balance(&alice.lt).await, alice_lt, "the retired LT came back");
    let r = h.request_state(&mint).await;
    let cancel = ix::cancel_request(payer, &h.keys, mint, &r);
    h.send(&[cancel], &[]).await.expect("cancel the mint");
    assert_eq!(h.balance(&bob.underlying).await, sol(5.0), "the units came back");
    // Alice converts what came back.
    let dest = h.token_account(&h.keys.lt_mint.clone(), &alice.pubkey()).await;
    let convert = ix::convert_retired_lt(alice.pubkey(), &h.keys, old_mint, alice.lt, dest, alice_lt);
    h.send(&[convert], &[&alice.kp]).await.expect("convert");
    assert_eq!(h.balance(&dest).await, alice_lt / 1_000);
    h.check().await;
}
