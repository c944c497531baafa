//! Review M1: one raw unit of wiped LT held by someone else kept a market closed for good
//! (`reopen_market` needs every wiped LT burned). `start_lt_epoch` re-opens it with a fresh LT mint
//! and retires the old one, whose LT every instruction then refuses.

use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::error::LeverError;
use lever::instructions::StartLtEpochArgs;
use lever_sdk::{ix, pda};
use lever_tests::*;
use solana_signer::Signer;

fn args(epoch: u32) -> StartLtEpochArgs {
    StartLtEpochArgs {
        epoch,
        name: "SOL 3x Long".into(),
        symbol: "SOL3X".into(),
        uri: String::new(),
    }
}

/// A levered market wiped out by a $50 print while Carol, a third party, holds one raw unit of LT.
async fn wiped_with_lt_elsewhere() -> (Harness, User, User) {
    let (mut h, _lp, alice) = levered().await;
    let carol = h.user(sol(1.0)).await;
    let give = spl_token_2022::instruction::transfer_checked(
        &TOKEN_2022,
        &alice.lt,
        &h.keys.lt_mint,
        &carol.lt,
        &alice.pubkey(),
        &[],
        1,
        9,
    )
    .unwrap();
    h.chain
        .send(&[give], &[&alice.kp])
        .await
        .expect("1 raw LT to Carol");
    h.set_price(50.0);
    assert!(h.rebalance().await.unwrap().wiped);
    h.check().await;
    (h, alice, carol)
}

#[tokio::test]
async fn a_wiped_market_whose_lt_someone_else_holds_reopens_with_a_new_epoch() {
    let (mut h, alice, carol) = wiped_with_lt_elsewhere().await;
    // Alice redeems what she holds for nothing; Carol never does.
    let held = h.balance(&alice.lt).await;
    let out = h.redeem_lt(&alice, held).await.expect("redeem wiped LT");
    assert_eq!(out.units_out, 0);
    // Before: reopen_market is refused on every later day, and mints stay closed.
    let admin = h.admin.insecure_clone();
    for _ in 0..3 {
        h.advance(86_400);
        h.set_price(50.0);
        h.expect_error(
            &[ix::reopen_market(admin.pubkey(), &h.keys)],
            &[&admin],
            LeverError::LtSupplyOutstanding,
        )
        .await;
    }
    // The new epoch.
    let old = h.keys;
    h.start_lt_epoch(args(1)).await.expect("start_lt_epoch");
    let market = h.market().await;
    let new_mint = pda::lt_mint_at(&old.market, 1);
    assert_ne!(new_mint, old.lt_mint);
    assert_eq!(
        (market.lt_mint, market.lt_epoch, market.lt_supply),
        (new_mint, 1, 0)
    );
    assert!(!market.is_wiped());
    assert_eq!(lever_sdk::pda::MarketKeys::of(&market).lt_mint, new_mint);
    // The new mint: Token-2022, the market its mint authority, no supply, its own metadata.
    let account = h.chain.account(&new_mint).await.unwrap().expect("new mint");
    assert_eq!(account.owner, TOKEN_2022);
    let state =
        spl_token_2022::extension::StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data)
            .unwrap();
    assert_eq!(
        state.base.mint_authority,
        Some(old.market).into(),
        "the market mints the new LT"
    );
    assert_eq!(state.base.supply, 0);
    assert!(state.base.freeze_authority.is_none());
    assert_eq!(h.keys.lt_mint, new_mint);

    // New holders mint and redeem against the new mint.
    let bob = h.user(sol(5.0)).await;
    let minted = h.mint_lt(&bob, sol(1.0)).await.expect("mint in the new epoch");
    assert!(minted.shares_out > 0);
    h.check().await;
    // Carol's retired LT is refused everywhere: it can claim nothing of the new pool.
    let carol_kp = carol.kp.insecure_clone();
    let retired_redeem = ix::redeem_lt(&old, &h.lt_accounts(&carol), 1, 0);
    h.expect_error(&[retired_redeem], &[&carol_kp], LeverError::LtMintMismatch)
        .await;
    let mut accounts = h.request_accounts(&carol, lever::state::RequestKind::RedeemLt);
    accounts.source = carol.lt;
    let request = ix::open_request(
        &old,
        lever::state::RequestKind::RedeemLt,
        &accounts,
        lever::state::RequestArgs {
            nonce: 77,
            amount: 1,
            min_out: 0,
            tip_lamports: 5_000,
        },
    );
    let fail = h
        .send(&[request], &[&carol_kp])
        .await
        .expect_err("a retired-LT request");
    assert!(fail.custom_code().is_some(), "{fail}");
    assert_eq!(h.balance(&carol.lt).await, 1, "Carol keeps her worthless unit");
    h.check().await;
}

#[tokio::test]
async fn start_lt_epoch_refusals_change_nothing() {
    // Not wiped.
    let (mut h, _lp, _alice) = levered().await;
    let admin = h.admin.insecure_clone();
    let keys = h.keys;
    h.expect_error(
        &[ix::start_lt_epoch(admin.pubkey(), &keys, args(1))],
        &[&admin],
        LeverError::MarketNotWiped,
    )
    .await;
    let (mut h, _alice, carol) = wiped_with_lt_elsewhere().await;
    let admin = h.admin.insecure_clone();
    let keys = h.keys;
    // Not the next epoch (epoch 0's mint has no epoch in its seeds: the address is refused).
    h.expect_error(
        &[ix::start_lt_epoch(admin.pubkey(), &keys, args(2))],
        &[&admin],
        LeverError::WrongLtEpoch,
    )
    .await;
    let fail = h
        .send(&[ix::start_lt_epoch(admin.pubkey(), &keys, args(0))], &[&admin])
        .await
        .expect_err("epoch 0 again");
    assert_eq!(
        fail.custom_code(),
        Some(anchor_lang::error::ErrorCode::ConstraintSeeds as u32)
    );
    // Not the admin.
    let carol_kp = carol.kp.insecure_clone();
    h.expect_error(
        &[ix::start_lt_epoch(carol.pubkey(), &keys, args(1))],
        &[&carol_kp],
        LeverError::Unauthorized,
    )
    .await;
    // Metadata out of bounds.
    let empty = StartLtEpochArgs {
        name: String::new(),
        ..args(1)
    };
    h.expect_error(
        &[ix::start_lt_epoch(admin.pubkey(), &keys, empty)],
        &[&admin],
        LeverError::InvalidMetadata,
    )
    .await;
    // Another mint passed as the retiring one.
    let other = Pubkey::new_unique();
    let wrong = lever_sdk::pda::MarketKeys {
        lt_mint: other,
        ..keys
    };
    let fail = h
        .send(&[ix::start_lt_epoch(admin.pubkey(), &wrong, args(1))], &[&admin])
        .await
        .expect_err("another mint");
    assert!(fail.custom_code().is_some(), "{fail}");
    assert!(h.market().await.is_wiped());
}

#[tokio::test]
async fn a_second_wipe_moves_to_the_next_epoch_again() {
    let (mut h, _alice, _carol) = wiped_with_lt_elsewhere().await;
    let keys = h.keys;
    h.start_lt_epoch(args(1)).await.expect("epoch 1");
    assert_eq!(h.keys.lt_mint, pda::lt_mint_at(&keys.market, 1));
    let bob = h.user(sol(5.0)).await;
    h.mint_lt(&bob, sol(2.0)).await.expect("mint");
    h.set_price(25.0);
    assert!(h.rebalance().await.unwrap().wiped);
    h.start_lt_epoch(args(2)).await.expect("epoch 2");
    let market = h.market().await;
    assert_eq!(market.lt_epoch, 2);
    assert_eq!(market.lt_mint, pda::lt_mint_at(&keys.market, 2));
}
