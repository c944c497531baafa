//! The keeper's Hermes source end to end: a request's target time is the real Hermes update's
//! publish time (SOL/USD, 2024-05-13), a local Hermes answers `/v2/updates/price/{tau}` with the
//! real response, the keeper posts it through the Wormhole encoded-VAA path (every guardian
//! signature checked against guardian set 4) and settles at it.

use super::*;
use lever_sdk::hermes::{
    derived_price_update_keypair, parse_hermes_response, updates_at_path, HermesClient,
    MAINNET_GUARDIAN_SET_4,
};
use lever_sdk::pyth::{decode_price_update, price_input, Verification, SOL_USD_FEED_ID};
use lever_testkit::chain::Chain;
use lever_testkit::hermes_server::{HermesServer, Serve};
use lever_tests::{MarketOpts, User};
use pyth_solana_receiver_sdk::price_update::VerificationLevel;

/// The real response and its SOL message's times.
fn real_response() -> String {
    lever_sdk::data::read_data_file(None, lever_sdk::data::files::HERMES_UPDATE).expect("shared data")
}

fn sol_message() -> lever_sdk::hermes::MerkleUpdate {
    let parsed = parse_hermes_response(&real_response()).expect("parse");
    parsed
        .find(&SOL_USD_FEED_ID)
        .expect("SOL in the update")
        .1
        .clone()
}

/// A market created an hour before the real update at its price, funded and levered, with the
/// mainnet guardian set on chain; then a 1 SOL mint request with target `tau`.
async fn market_with_request(tau: i64) -> (Harness, User, Pubkey) {
    let m = sol_message();
    let usd = m.price.price as f64 * 1e-8;
    let chain = Chain::start().await.expect("chain");
    let mut h = Harness::on_chain_at(chain, MarketOpts::default(), m.price.publish_time - 3_600).await;
    h.set_price(usd);
    let lp = h.user(sol(110.0)).await;
    h.deposit(&lp, sol(100.0)).await.expect("deposit");
    let alice = h.user(sol(20.0)).await;
    h.mint_lt(&alice, sol(10.0)).await.expect("mint");
    h.chain.write_guardian_set(4, &MAINNET_GUARDIAN_SET_4);
    let delay = h.market().await.params.settle_delay_secs as i64;
    h.chain.set_time(tau - delay);
    h.set_price(usd);
    let (request, _) = h
        .request(&alice, RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("request");
    assert_eq!(h.request_state(&request).await.tau, tau);
    (h, alice, request)
}

fn hermes(server: &HermesServer) -> HermesClient {
    HermesClient::new(
        &server.url(),
        vec![("x-api-key".into(), "test".into())],
        Duration::from_secs(5),
    )
    .expect("client")
}

fn posts(log: &MemoryLog) -> Vec<Value> {
    events(log, "hermes_post")
}

#[tokio::test]
async fn a_due_request_is_settled_at_the_real_hermes_update_covering_tau() {
    let m = sol_message();
    let tau = m.price.publish_time;
    assert!(m.price.prev_publish_time < tau);
    let (mut h, alice, request) = market_with_request(tau).await;
    let server = HermesServer::start(vec![(real_response(), Serve::Covering)]).expect("server");
    h.chain.set_time(tau + 2);
    // What the program must do at the real message, quoted before anything is sent.
    let r = h.request_state(&request).await;
    let market = h.market().await;
    let vault = h.balance(&h.keys.vault.clone()).await;
    let real = m.price_input(Verification::Full);
    let expected = quote::settle(&market, &r, &real, vault, h.chain.clock())
        .expect("quote")
        .fill()
        .expect("fills at the real price")
        .amounts()
        .1;
    let lt_before = h.balance(&alice.lt).await;
    let payer = keeper_key(&mut h).await;
    let spent_before = h.chain.lamports(&payer.pubkey()).await.unwrap();
    // The keeper's own account for the feed, derived from its key.
    let price_account = derived_price_update_keypair(&payer, &SOL_USD_FEED_ID).pubkey();
    let log = MemoryLog::default();
    let cfg = KeeperConfig {
        hermes: Some(hermes(&server)),
        ..config(&h, &log)
    };
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(request);
        let keeper = Keeper::new(&cluster, payer.insecure_clone(), cfg);
        // One pass settles what is due, then assesses the market: nothing to rebalance (its
        // configured account holds an update older than the one the settlement used: wait).
        let decisions = keeper.run_once().await.expect("pass");
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].action, Action::Wait, "{:?}", decisions[0]);
        // Nothing left to do: no second post, no second request to Hermes.
        let source = keeper.hermes_updates(hermes(&server), HashMap::new());
        assert_eq!(source.price_account(&SOL_USD_FEED_ID), price_account);
        assert!(keeper.settle_due(&h.keys.market, &source).await.is_empty());
    }
    let settled = settlements(&log);
    assert_eq!(settled.len(), 1, "{settled:#?}");
    assert_eq!(settled[0]["settle"], "settled");
    assert_eq!(settled[0]["amount_out"], expected);
    assert_eq!(settled[0]["publish_time"], tau);
    assert_eq!(server.requests(), vec![updates_at_path(tau, &[SOL_USD_FEED_ID])]);
    let lines = posts(&log);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["outcome"], "posted");
    assert_eq!(lines[0]["detail"]["transactions"], 3);
    // The account holds the real message, fully verified, written by the keeper.
    let account = h.chain.account(&price_account).await.unwrap().expect("posted");
    assert_eq!(account.owner, pyth_solana_receiver_sdk::ID);
    let posted = decode_price_update(&account.data).expect("PriceUpdateV2");
    assert_eq!(posted.verification_level, VerificationLevel::Full);
    assert_eq!(posted.price_message, m.price);
    assert_eq!(posted.write_authority, payer.pubkey());
    assert_eq!(price_input(&posted), real);
    // Filled exactly as quoted; the request closed.
    assert_eq!(h.balance(&alice.lt).await - lt_before, expected);
    assert!(h.chain.account(&request).await.unwrap().is_none());
    // The encoded VAA's rent (about 7.9 M lamports) came back: the keeper spent the price
    // account's rent and fees, less the tip.
    let spent = spent_before - h.chain.lamports(&payer.pubkey()).await.unwrap();
    let price_rent = h.chain.rent(account.data.len()).await.unwrap();
    assert!(
        spent < price_rent + 100_000,
        "spent {spent}, price account rent {price_rent}"
    );
    h.check().await;
}

#[tokio::test]
async fn no_update_yet_waits_and_an_update_not_covering_tau_is_never_posted() {
    let m = sol_message();
    // A target after the real update: Hermes has nothing at or after it yet.
    let tau = m.price.publish_time + 5;
    let (mut h, _alice, request) = market_with_request(tau).await;
    let covering = HermesServer::start(vec![(real_response(), Serve::Covering)]).expect("server");
    // A provider that answers any time with the update it has (earlier than tau).
    let lagging = HermesServer::start(vec![(real_response(), Serve::Always)]).expect("server");
    h.chain.set_time(tau + 2);
    let payer = keeper_key(&mut h).await;
    let price_key = Keypair::new();
    let price_account = price_key.pubkey();
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(request);
        let keeper = Keeper::new(&cluster, payer.insecure_clone(), cfg);
        let keys = || HashMap::from([(SOL_USD_FEED_ID, price_key.insecure_clone())]);
        let waited = keeper
            .settle_due(&h.keys.market, &keeper.hermes_updates(hermes(&covering), keys()))
            .await;
        assert_eq!(waited[0].settle, SettleAction::Wait, "{waited:#?}");
        assert_eq!(cluster.sent(), 0);
        let waited = keeper
            .settle_due(&h.keys.market, &keeper.hermes_updates(hermes(&lagging), keys()))
            .await;
        assert_eq!(waited[0].settle, SettleAction::Wait, "{waited:#?}");
        assert_eq!(cluster.sent(), 0, "an update not covering tau is not posted");
    }
    assert_eq!(covering.requests().len(), 1);
    assert_eq!(lagging.requests().len(), 1);
    let lines = posts(&log);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["outcome"], "not_covering");
    assert_eq!(lines[0]["detail"]["publish_time"], m.price.publish_time);
    assert!(h.chain.account(&price_account).await.unwrap().is_none());
    assert!(h.chain.account(&request).await.unwrap().is_some());
    h.check().await;
}

#[tokio::test]
async fn an_update_signed_by_keys_outside_the_guardian_set_is_refused_and_its_vaa_closed() {
    let m = sol_message();
    let tau = m.price.publish_time;
    let (mut h, _alice, request) = market_with_request(tau).await;
    // Guardian set 4 on chain with other keys: the real signatures no longer match it.
    let mut wrong = MAINNET_GUARDIAN_SET_4;
    wrong.reverse();
    h.chain.write_guardian_set(4, &wrong);
    let server = HermesServer::start(vec![(real_response(), Serve::Covering)]).expect("server");
    h.chain.set_time(tau + 2);
    let payer = keeper_key(&mut h).await;
    let before = h.chain.lamports(&payer.pubkey()).await.unwrap();
    let price_key = Keypair::new();
    let price_account = price_key.pubkey();
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(request);
        let keeper = Keeper::new(&cluster, payer.insecure_clone(), cfg);
        let source = keeper.hermes_updates(hermes(&server), HashMap::from([(SOL_USD_FEED_ID, price_key)]));
        let failed = keeper.settle_due(&h.keys.market, &source).await;
        assert_eq!(failed[0].settle, SettleAction::Failed, "{failed:#?}");
        assert!(
            failed[0].reason.contains("post step 2 of 3"),
            "{}",
            failed[0].reason
        );
    }
    let lines = posts(&log);
    assert_eq!(lines[0]["outcome"], "failed", "{lines:#?}");
    assert_eq!(lines[0]["detail"]["closed_encoded_vaa"], true);
    assert!(h.chain.account(&price_account).await.unwrap().is_none());
    assert!(
        h.chain.account(&request).await.unwrap().is_some(),
        "the request stays open"
    );
    // Only fees were spent: the encoded VAA written in step 1 was closed and its rent returned.
    let spent = before - h.chain.lamports(&payer.pubkey()).await.unwrap();
    assert!(spent < 50_000, "spent {spent}");
    h.check().await;
}
