//! The market account's layout version. Version 3 stores every parameter as one block
//! ([`lever::state::StoredMarketParams`], declared once with `MarketParams` and
//! `UpdateMarketParams`), so the fields after it moved: an account of another version would be
//! read at the wrong offsets. Every instruction that takes a market refuses one
//! (`UnsupportedMarketVersion`) and changes nothing; the SDK's decoder does not decode one.

use anchor_lang::AnchorSerialize;
use lever::constants::{pause, MARKET_VERSION};
use lever::error::LeverError;
use lever::state::{Market, MarketParams, RequestKind, StoredMarketParams, UpdateMarketParams};
use lever_sdk::ix;
use lever_tests::*;
use solana_signer::Signer;

/// Rewrite the market account's version byte (a market of another layout, as far as the program
/// can tell: the discriminator, owner and size are unchanged).
async fn set_version(h: &mut Harness, version: u8) {
    let mut account = h
        .chain
        .account(&h.keys.market)
        .await
        .expect("rpc")
        .expect("market");
    let mut market: Market = bytemuck::pod_read_unaligned(&account.data[8..8 + Market::SIZE]);
    market.version = version;
    account.data[8..8 + Market::SIZE].copy_from_slice(bytemuck::bytes_of(&market));
    h.chain.set_account(&h.keys.market, account);
}

#[tokio::test]
async fn every_instruction_refuses_a_market_of_another_layout_version() {
    let (mut h, lp, alice) = levered().await;
    assert_eq!(h.market().await.version, MARKET_VERSION);
    // A request opened while the market was current, to settle and cancel below: opened
    // `settle_delay_secs` before the price account's update, as `Harness::two_step` does, so that
    // update covers its target.
    let now = h.chain.now();
    let publish = h.price_update().await.price_message.publish_time;
    let delay = i64::try_from(h.market().await.params.settle_delay_secs).expect("delay");
    h.chain.set_time(publish - delay);
    let (request, receipt) = h
        .request(&alice, RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("request");
    h.chain.set_time(now);
    assert_eq!(receipt.tau, publish);

    for version in [2, MARKET_VERSION + 1] {
        set_version(&mut h, version).await;
        let account = h.chain.account(&h.keys.market).await.unwrap().unwrap();
        assert!(
            lever_sdk::accounts::decode_market(&account).is_none(),
            "the SDK decodes only its own version"
        );
        let refused = LeverError::UnsupportedMarketVersion;
        let payer = h.chain.payer_pubkey();
        let admin = h.admin.insecure_clone();
        let r = h.request_state(&request).await;
        let user_ixs = [
            h.mint_ix(&alice, sol(1.0), 0),
            h.redeem_ix(&alice, sol(1.0), 0),
            h.deposit_ix(&lp, sol(1.0), 0),
            h.withdraw_ix(&lp, sol(1.0), 0),
        ];
        for (ix, signer) in user_ixs.into_iter().zip([&alice.kp, &alice.kp, &lp.kp, &lp.kp]) {
            h.expect_error(&[ix], &[signer], refused).await;
        }
        let args = lever::state::RequestArgs {
            nonce: 999,
            amount: sol(1.0),
            min_out: 0,
            tip_lamports: 1_000_000,
        };
        let accounts = h.request_accounts(&alice, RequestKind::MintLt);
        let open = ix::open_request(&h.keys, RequestKind::MintLt, &accounts, args);
        h.expect_error(&[open], &[&alice.kp], refused).await;
        let settle = ix::settle_request(payer, &h.keys, request, &r, h.price_account);
        h.expect_error(&[settle], &[], refused).await;
        let cancel = ix::cancel_request(payer, &h.keys, request, &r);
        h.expect_error(&[cancel], &[], refused).await;
        let rebalance = ix::rebalance(payer, h.keys.market, h.price_account);
        h.expect_error(&[rebalance], &[], refused).await;
        let update = ix::update_market(
            admin.pubkey(),
            h.keys.market,
            UpdateMarketParams {
                mint_fee_ppm: Some(1_000),
                ..Default::default()
            },
        );
        h.expect_error(&[update], &[&admin], refused).await;
        let pause_ix = ix::set_pause(admin.pubkey(), h.keys.market, pause::MINT_LT);
        h.expect_error(&[pause_ix], &[&admin], refused).await;
        let reopen = ix::reopen_market(admin.pubkey(), &h.keys);
        h.expect_error(&[reopen], &[&admin], refused).await;
        let fee_destination = h
            .token_account(&h.keys.underlying_mint.clone(), &admin.pubkey())
            .await;
        let fees = ix::withdraw_fees(admin.pubkey(), &h.keys, fee_destination, 1);
        h.expect_error(&[fees], &[&admin], refused).await;
        let epoch = ix::start_lt_epoch(
            admin.pubkey(),
            &h.keys,
            lever::instructions::StartLtEpochArgs {
                epoch: 1,
                name: "SOL 3x Long".into(),
                symbol: "SOL3X".into(),
                uri: String::new(),
            },
        );
        h.expect_error(&[epoch], &[&admin], refused).await;
        let rename = ix::update_share_metadata(
            admin.pubkey(),
            &h.keys,
            lever::instructions::UpdateShareMetadataArgs {
                share: lever::state::ShareKind::Lt,
                name: Some("SOL 4x Long".into()),
                symbol: None,
                uri: None,
            },
        );
        h.expect_error(&[rename], &[&admin], refused).await;
    }

    // Back at the program's version everything works again, the open request included.
    set_version(&mut h, MARKET_VERSION).await;
    h.mint_lt(&alice, sol(1.0)).await.expect("mint");
    assert!(h.settle(&request).await.expect("settle").filled);
}

#[test]
fn the_three_parameter_forms_share_one_field_list() {
    // Every field in the order stored on chain and sent on the wire: the two encodings coincide.
    let mut update = UpdateMarketParams::default();
    for (i, name) in MarketParams::FIELDS.iter().enumerate() {
        assert!(update.set(name, 1_000 + i as u64), "{name}");
    }
    assert!(!update.set("no_such_field", 1));
    let base = default_params();
    let applied = base.apply(&update);
    let stored = StoredMarketParams::from(applied);
    let mut borsh = Vec::new();
    applied.serialize(&mut borsh).expect("borsh");
    assert_eq!(borsh.as_slice(), bytemuck::bytes_of(&stored));
    for (i, name) in MarketParams::FIELDS.iter().enumerate() {
        assert_eq!(applied.field(name), Some(1_000 + i as u64), "{name}");
        assert_eq!(
            borsh[8 * i..8 * i + 8],
            (1_000 + i as u64).to_le_bytes(),
            "{name} at its place"
        );
    }
    assert_eq!(MarketParams::from(stored), applied);
    // An empty update keeps everything.
    assert_eq!(base.apply(&UpdateMarketParams::default()), base);
}
