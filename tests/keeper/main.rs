//! The keeper end to end on the embedded chain: the real program natively beside the real token
//! programs, driven through the same `Cluster` interface a keeper uses against an RPC node. Every
//! test asserts on the keeper's JSON log lines, on what was sent, and on the market afterwards.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use lever::constants::{pause, PPM};
use lever_keeper::{
    shutdown_channel, Action, Keeper, KeeperConfig, MarketSelection, MemoryLog, SettleAction, Verdict,
};
use lever_sdk::cluster::{Cluster, ClusterError, ClusterResult, Landed, Simulation};
use lever_sdk::lever::oracle::Now;
use lever_sdk::lever::state::{Market, Request, RequestKind};
use lever_sdk::pyth::price_update_data;
use lever_sdk::{ix, quote};
use lever_testkit::embedded::Embedded;
use lever_tests::{levered, sol, Harness};
use serde_json::Value;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::{Hash, Signature, Transaction};
use tokio::sync::Notify;

mod hermes;

/// A keeper configuration for `h`'s market that logs to `log`, with short waits.
fn config(h: &Harness, log: &MemoryLog) -> KeeperConfig {
    KeeperConfig {
        poll_interval: Duration::from_millis(20),
        priority_fee_micro_lamports: 1_000,
        compute_unit_limit: 200_000,
        max_retries: 3,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        markets: MarketSelection::Only(vec![h.keys.market]),
        price_accounts: HashMap::from([(h.feed_id, h.price_account)]),
        sponsored_shard: None,
        hermes: None,
        log: log.sink(),
    }
}

/// A fee payer for a keeper, funded from the chain's payer.
async fn keeper_key(h: &mut Harness) -> Keypair {
    let k = Keypair::new();
    h.chain
        .airdrop(&k.pubkey(), 1_000_000_000)
        .await
        .expect("airdrop");
    k
}

/// The decision lines of the log (every line must be JSON).
fn decisions(log: &MemoryLog) -> Vec<Value> {
    log.json_lines()
        .expect("every log line is JSON")
        .into_iter()
        .filter(|v| v.get("action").is_some())
        .collect()
}

fn action(line: &Value) -> &str {
    line["action"].as_str().expect("action")
}

fn reason(line: &Value) -> &str {
    line["reason"].as_str().expect("reason")
}

async fn market_bytes(h: &mut Harness) -> Vec<u8> {
    let key = h.keys.market;
    h.chain.account(&key).await.expect("read").expect("market").data
}

/// Leverage at `usd` in PPM, from the market account.
fn leverage(h: &Harness, market: &Market, usd: f64) -> u128 {
    quote::marks(market, h.price_q(usd))
        .expect("marks")
        .leverage_ppm
        .expect("leverage")
}

/// 3·1.1/(1 + 3·0.1): the 3x pool after +10% (README), in PPM.
const AFTER_PLUS_10_PCT: f64 = 3.3 / 1.3 * 1e6;

/// A [`Cluster`] in front of another that can run hooks around simulations and sends and inject
/// failures: how the tests order two keepers, fire a shutdown mid-pass, or fail a send.
struct Scripted<C> {
    inner: C,
    after_simulate: Option<Box<dyn Fn() + Send + Sync>>,
    before_send: Option<Arc<Notify>>,
    /// Sends to refuse with a client error before they reach the chain.
    failing_sends: AtomicU32,
    /// Blockhash requests to fail.
    failing_blockhashes: AtomicU32,
}

impl<C> Scripted<C> {
    fn new(inner: C) -> Self {
        Self {
            inner,
            after_simulate: None,
            before_send: None,
            failing_sends: AtomicU32::new(0),
            failing_blockhashes: AtomicU32::new(0),
        }
    }
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl<C: Cluster> Cluster for Scripted<C> {
    fn account(&self, address: &Pubkey) -> impl Future<Output = ClusterResult<Option<Account>>> + Send {
        self.inner.account(address)
    }
    fn accounts(
        &self,
        addresses: &[Pubkey],
    ) -> impl Future<Output = ClusterResult<Vec<Option<Account>>>> + Send {
        self.inner.accounts(addresses)
    }
    fn markets(&self) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Market)>>> + Send {
        self.inner.markets()
    }
    fn requests(
        &self,
        market: &Pubkey,
    ) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Request)>>> + Send {
        self.inner.requests(market)
    }
    fn clock(&self) -> impl Future<Output = ClusterResult<Now>> + Send {
        self.inner.clock()
    }
    async fn latest_blockhash(&self) -> ClusterResult<Hash> {
        if take(&self.failing_blockhashes) {
            return Err(ClusterError::Client("injected: node unreachable".into()));
        }
        self.inner.latest_blockhash().await
    }
    async fn simulate(&self, tx: &Transaction) -> ClusterResult<Simulation> {
        let out = self.inner.simulate(tx).await;
        if let Some(hook) = &self.after_simulate {
            hook();
        }
        out
    }
    async fn send_and_confirm(&self, tx: &Transaction) -> ClusterResult<Landed> {
        if let Some(gate) = &self.before_send {
            gate.notified().await;
        }
        if take(&self.failing_sends) {
            return Err(ClusterError::Client("injected: connection reset".into()));
        }
        self.inner.send_and_confirm(tx).await
    }
    fn wait_for_slot_after(&self, slot: u64) -> impl Future<Output = ClusterResult<Now>> + Send {
        self.inner.wait_for_slot_after(slot)
    }
}

#[tokio::test]
async fn out_of_band_market_is_rebalanced_once_then_skipped() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    let keeper_pubkey = payer.pubkey();
    h.set_price(110.0);
    let before = h.market().await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let (first, second, sent) = {
        let cluster = Embedded::new(&mut h.chain);
        let keeper = Keeper::new(&cluster, payer, cfg);
        let first = keeper.run_once().await.expect("pass");
        let sent = cluster.sent();
        // Back in band: the next pass sends nothing.
        let second = keeper.run_once().await.expect("pass");
        assert_eq!(cluster.sent(), sent, "an in-band pass sent a transaction");
        (first, second, sent)
    };
    assert_eq!(sent, 1, "exactly one transaction");
    let after = h.market().await;
    assert_eq!(after.rebalance_count, before.rebalance_count + 1);
    let lev = leverage(&h, &after, 110.0);
    assert!(
        lev <= u128::from(3 * PPM) && u128::from(3 * PPM) - lev <= 1,
        "leverage {lev}"
    );
    h.check().await;

    let lines = decisions(&log);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let d = &lines[0];
    assert_eq!(action(d), "rebalanced");
    assert_eq!(d["market"], h.keys.market.to_string());
    assert_eq!(d["keeper"], keeper_pubkey.to_string());
    assert_eq!(d["attempt"], 1);
    assert_eq!(d["price"], 110.0);
    assert_eq!(d["publish_age_secs"], 0);
    assert_eq!(d["target_leverage_ppm"], 3 * PPM);
    let before_ppm = d["leverage_before_ppm"].as_f64().expect("leverage before");
    assert!(
        (before_ppm - AFTER_PLUS_10_PCT).abs() <= 2.0,
        "leverage before {before_ppm}"
    );
    assert_eq!(d["leverage_after_ppm"].as_u64(), Some(lev as u64));
    assert!(
        reason(d).starts_with("out of band: leverage 2.5385x"),
        "{}",
        reason(d)
    );
    assert!(d["error_code"].is_null());
    // The logged signature is the transaction the bank processed, and it succeeded.
    let signature: Signature = d["signature"]
        .as_str()
        .expect("signature")
        .parse()
        .expect("base58");
    let status = h
        .chain
        .ctx
        .banks_client
        .get_transaction_status(signature)
        .await
        .expect("status")
        .expect("the logged signature was processed");
    assert!(status.err.is_none());

    let d = &lines[1];
    assert_eq!(action(d), "skip");
    assert!(
        reason(d).starts_with("in band: leverage 3.0000x within 3x ± 5%"),
        "{}",
        reason(d)
    );
    assert!(d["signature"].is_null());
    assert_eq!(d["leverage_before_ppm"].as_u64(), Some(lev as u64));

    // The returned decisions are the logged ones.
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 1);
    assert_eq!(first[0].action, Action::Rebalanced);
    assert_eq!(serde_json::to_value(&first[0]).expect("json"), lines[0]);
    assert_eq!(serde_json::to_value(&second[0]).expect("json"), lines[1]);
}

#[tokio::test]
async fn in_band_market_is_skipped_without_a_transaction() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    h.set_price(102.0); // 3x at +2%: 3.06/1.06 = 2.8868x, inside 3x ± 5% (2.85x-3.15x)
    let market_before = market_bytes(&mut h).await;
    let transactions = h.chain.transactions;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        let keeper = Keeper::new(&cluster, payer, cfg);
        let out = keeper.run_once().await.expect("pass");
        assert_eq!(out[0].action, Action::Skip);
        assert_eq!(cluster.sent(), 0);
        assert_eq!(cluster.simulated(), 0, "an in-band market is not even simulated");
    }
    assert_eq!(h.chain.transactions, transactions);
    assert_eq!(market_bytes(&mut h).await, market_before, "the market changed");
    let lines = decisions(&log);
    assert_eq!(lines.len(), 1);
    assert_eq!(action(&lines[0]), "skip");
    assert!(
        reason(&lines[0]).starts_with("in band: leverage 2.8868x within 3x ± 5%"),
        "{}",
        reason(&lines[0])
    );
    assert!(lines[0]["signature"].is_null());
    h.check().await;
}

#[tokio::test]
async fn two_keepers_race_one_lands_the_other_lost_the_race_on_chain() {
    let (mut h, _lp, _alice) = levered().await;
    let key_a = keeper_key(&mut h).await;
    let key_b = keeper_key(&mut h).await;
    let (a_pubkey, b_pubkey) = (key_a.pubkey(), key_b.pubkey());
    h.set_price(90.0); // 3x at -10%: 3.857x, out of band
    let before = h.market().await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let (da, db, sent, simulated) = {
        let cluster = Embedded::new(&mut h.chain);
        // Both decide and simulate on the same state; A sends only once B has simulated, and B
        // sends only once A's rebalance has landed.
        let b_simulated = Arc::new(Notify::new());
        let a_done = Arc::new(Notify::new());
        let mut gate_a = Scripted::new(&cluster);
        gate_a.before_send = Some(b_simulated.clone());
        let mut gate_b = Scripted::new(&cluster);
        let notify = b_simulated.clone();
        gate_b.after_simulate = Some(Box::new(move || notify.notify_one()));
        gate_b.before_send = Some(a_done.clone());
        let a = Keeper::new(gate_a, key_a, cfg.clone());
        let b = Keeper::new(gate_b, key_b, cfg);
        let (da, db) = tokio::join!(
            async {
                let d = a.run_once().await.expect("pass A");
                a_done.notify_one();
                d
            },
            async { b.run_once().await.expect("pass B") }
        );
        (da, db, cluster.sent(), cluster.simulated())
    };
    assert_eq!((sent, simulated), (2, 2), "both simulated and sent");
    assert_eq!(da[0].action, Action::Rebalanced);
    assert_eq!(db[0].action, Action::LostRace);
    let after = h.market().await;
    assert_eq!(
        after.rebalance_count,
        before.rebalance_count + 1,
        "exactly one rebalance landed"
    );
    let lev = leverage(&h, &after, 90.0);
    assert!(u128::from(3 * PPM) - lev <= 1);
    h.check().await;

    let lines = decisions(&log);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let won = lines
        .iter()
        .find(|l| action(l) == "rebalanced")
        .expect("rebalanced");
    let lost = lines
        .iter()
        .find(|l| action(l) == "lost_race")
        .expect("lost_race");
    assert_eq!(won["keeper"], a_pubkey.to_string());
    assert_eq!(lost["keeper"], b_pubkey.to_string());
    assert_eq!(lost["error_code"], 6038);
    assert!(
        reason(lost).starts_with("the chain refused with WithinBand (6038): another keeper"),
        "{}",
        reason(lost)
    );
    // B's transaction reached the chain and was refused there: it carries a signature.
    assert!(lost["signature"].is_string());
    assert_ne!(lost["signature"], won["signature"]);
    assert_eq!(
        lost["leverage_before_ppm"], won["leverage_before_ppm"],
        "same snapshot"
    );
}

#[tokio::test]
async fn a_stale_plan_loses_the_race_at_simulation_and_sends_nothing() {
    let (mut h, _lp, _alice) = levered().await;
    let key_a = keeper_key(&mut h).await;
    let key_b = keeper_key(&mut h).await;
    h.set_price(110.0);
    let before = h.market().await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let market = h.keys.market;
    {
        let cluster = Embedded::new(&mut h.chain);
        let a = Keeper::new(&cluster, key_a, cfg.clone());
        let b = Keeper::new(&cluster, key_b, cfg);
        let plan = b.assess(&market).await;
        assert!(matches!(plan.verdict, Verdict::Rebalance { .. }), "{plan:?}");
        assert_eq!(a.run_once().await.expect("pass")[0].action, Action::Rebalanced);
        let d = b.act(plan).await;
        assert_eq!(d.action, Action::LostRace);
        assert_eq!(d.signature, None);
        assert_eq!(cluster.sent(), 1, "the loser sent nothing");
    }
    let lines = decisions(&log);
    assert_eq!(lines.len(), 2);
    assert_eq!(action(&lines[1]), "lost_race");
    assert!(
        reason(&lines[1]).starts_with("simulation refused with WithinBand (6038)"),
        "{}",
        reason(&lines[1])
    );
    assert_eq!(h.market().await.rebalance_count, before.rebalance_count + 1);
    h.check().await;
}

#[tokio::test]
async fn two_keepers_running_concurrently_land_one_rebalance() {
    let (mut h, _lp, _alice) = levered().await;
    let key_a = keeper_key(&mut h).await;
    let key_b = keeper_key(&mut h).await;
    h.set_price(115.0);
    let before = h.market().await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let (da, db) = {
        let cluster = Embedded::new(&mut h.chain);
        let a = Keeper::new(&cluster, key_a, cfg.clone());
        let b = Keeper::new(&cluster, key_b, cfg);
        tokio::join!(a.run_once(), b.run_once())
    };
    let mut actions = [da.expect("A")[0].action, db.expect("B")[0].action];
    actions.sort();
    // Whoever comes second either lost the race (simulation or chain) or already sees the market
    // in band, depending on the interleaving.
    assert!(
        actions == [Action::Rebalanced, Action::LostRace] || actions == [Action::Skip, Action::Rebalanced],
        "{actions:?}"
    );
    assert_eq!(h.market().await.rebalance_count, before.rebalance_count + 1);
    assert_eq!(decisions(&log).len(), 2);
    h.check().await;
}

#[tokio::test]
async fn stale_price_waits_and_names_its_age() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    h.set_price(110.0); // out of band, but about to go stale
    h.advance(75); // market max age: 60 s
    let market_before = market_bytes(&mut h).await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let payer_copy = payer.insecure_clone();
    {
        let cluster = Embedded::new(&mut h.chain);
        let keeper = Keeper::new(&cluster, payer, cfg.clone());
        assert_eq!(keeper.run_once().await.expect("pass")[0].action, Action::Wait);
        assert_eq!((cluster.sent(), cluster.simulated()), (0, 0));
    }
    assert_eq!(market_bytes(&mut h).await, market_before);
    let lines = decisions(&log);
    assert_eq!(lines.len(), 1);
    let d = &lines[0];
    assert_eq!(action(d), "wait");
    assert_eq!(
        reason(d),
        "price too old: published 75 s ago, market max age 60 s; waiting for a fresh price"
    );
    assert_eq!(d["publish_age_secs"], 75);
    assert_eq!(d["error_code"], 6032); // PriceTooOld
    assert!(d["signature"].is_null());

    // A fresh price arrives: the next pass rebalances.
    h.set_price(110.0);
    {
        let cluster = Embedded::new(&mut h.chain);
        let keeper = Keeper::new(&cluster, payer_copy, cfg);
        assert_eq!(
            keeper.run_once().await.expect("pass")[0].action,
            Action::Rebalanced
        );
    }
    let lines = decisions(&log);
    assert_eq!(action(&lines[1]), "rebalanced");
    assert_eq!(lines[1]["publish_age_secs"], 0);
    h.check().await;
}

#[tokio::test]
async fn paused_market_is_skipped() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    let set_pause = ix::set_pause(h.admin.pubkey(), h.keys.market, pause::REBALANCE);
    h.admin_send(&[set_pause]).await.expect("pause");
    h.set_price(120.0); // far out of band
    let market_before = market_bytes(&mut h).await;
    let log = MemoryLog::default();
    let cfg = KeeperConfig {
        markets: MarketSelection::All,
        ..config(&h, &log)
    };
    {
        // "All markets": the embedded chain lists the markets it was told about.
        let cluster = Embedded::new(&mut h.chain).with_markets([h.keys.market, Pubkey::new_unique()]);
        let keeper = Keeper::new(&cluster, payer, cfg);
        let out = keeper.run_once().await.expect("pass");
        assert_eq!(out.len(), 1, "a missing account is not a market");
        assert_eq!((cluster.sent(), cluster.simulated()), (0, 0));
    }
    assert_eq!(market_bytes(&mut h).await, market_before);
    let lines = decisions(&log);
    assert_eq!(lines.len(), 1);
    assert_eq!(action(&lines[0]), "skip");
    assert_eq!(reason(&lines[0]), "rebalance paused (pause bits 0b10000)");
    assert_eq!(lines[0]["market"], h.keys.market.to_string());
    h.check().await;
}

#[tokio::test]
async fn price_changed_in_slot_waits_for_the_next_slot() {
    let (mut h, _lp, alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    // An instant mint at $100 pins this slot (a chosen price; a settlement would not); publish
    // $110 in the same slot (written directly: `write_price` would start a new slot).
    h.instant_mint_lt(&alice, sol(0.1))
        .await
        .expect("an instant mint pins the slot");
    let input = h.price_input(110.0);
    let price_account = h.price_account;
    h.chain.set_account(
        &price_account,
        Account {
            lamports: 10_000_000,
            data: price_update_data(&input),
            owner: pyth_solana_receiver_sdk::ID,
            executable: false,
            rent_epoch: 0,
        },
    );
    let slot = h.chain.clock().slot;
    assert_eq!(h.market().await.last_price_slot, slot);
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        let keeper = Keeper::new(&cluster, payer, cfg);
        let d = keeper.run_once().await.expect("pass");
        assert_eq!(d[0].action, Action::Rebalanced);
        assert_eq!(cluster.sent(), 1);
    }
    assert_eq!(h.chain.clock().slot, slot + 1, "the keeper waited one slot");
    let lines = decisions(&log);
    assert_eq!(lines.len(), 1);
    assert_eq!(action(&lines[0]), "rebalanced");
    assert_eq!(lines[0]["attempt"], 2);
    assert_eq!(lines[0]["slot"], slot + 1);
    h.check().await;
}

#[tokio::test]
async fn transient_failures_are_retried_then_given_up() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    h.set_price(110.0);
    let before = h.market().await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        // One failed send: the second attempt lands.
        let flaky = Scripted::new(&cluster);
        flaky.failing_sends.store(1, Ordering::SeqCst);
        let keeper = Keeper::new(flaky, payer.insecure_clone(), cfg.clone());
        assert_eq!(
            keeper.run_once().await.expect("pass")[0].action,
            Action::Rebalanced
        );
        assert_eq!(cluster.sent(), 1);
    }
    h.set_price(125.0);
    {
        let cluster = Embedded::new(&mut h.chain);
        // No blockhash ever: 1 + max_retries attempts, then `failed`.
        let down = Scripted::new(&cluster);
        down.failing_blockhashes.store(u32::MAX, Ordering::SeqCst);
        let keeper = Keeper::new(down, payer, cfg);
        let started = std::time::Instant::now();
        assert_eq!(keeper.run_once().await.expect("pass")[0].action, Action::Failed);
        // Backoff 5, 10, 20 ms (capped at 40).
        assert!(started.elapsed() >= Duration::from_millis(35));
        assert_eq!(cluster.sent(), 0);
    }
    let lines = decisions(&log);
    assert_eq!(lines.len(), 2);
    assert_eq!(action(&lines[0]), "rebalanced");
    assert_eq!(lines[0]["attempt"], 2);
    assert_eq!(action(&lines[1]), "failed");
    assert_eq!(lines[1]["attempt"], 4);
    assert_eq!(
        reason(&lines[1]),
        "gave up after 4 attempts: latest blockhash: client: injected: node unreachable"
    );
    assert_eq!(h.market().await.rebalance_count, before.rebalance_count + 1);
    h.check().await;
}

#[tokio::test]
async fn run_stops_when_the_shutdown_signal_fires() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let (trigger, shutdown) = shutdown_channel();
    let summary = {
        let cluster = Embedded::new(&mut h.chain);
        let keeper = Keeper::new(&cluster, payer, cfg);
        let run = async {
            let (summary, ()) = tokio::join!(keeper.run(shutdown), async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                trigger.fire();
            });
            summary
        };
        let summary = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .expect("run stopped after the signal");
        assert_eq!(cluster.sent(), 0);
        summary
    };
    assert!(summary.passes >= 2, "{summary:?}");
    assert_eq!(summary.failed_passes, 0);
    assert_eq!(
        summary.decisions.get(&Action::Skip).copied(),
        Some(summary.passes)
    );
    let lines = log.json_lines().expect("json");
    let (last, rest) = lines.split_last().expect("lines");
    assert_eq!(last["event"], "stopped");
    assert_eq!(last["passes"], summary.passes);
    assert_eq!(last["decisions"]["skip"], summary.passes);
    assert_eq!(
        rest.len() as u64,
        summary.passes,
        "one decision per pass, nothing else"
    );
    assert!(rest.iter().all(|l| action(l) == "skip"));

    // A signal that fired before the run: no pass at all.
    let (trigger, shutdown) = shutdown_channel();
    trigger.fire();
    let cfg = KeeperConfig {
        log: MemoryLog::default().sink(),
        ..config(&h, &log)
    };
    let cluster = Embedded::new(&mut h.chain);
    let keeper = Keeper::new(&cluster, Keypair::new(), cfg);
    let summary = keeper.run(shutdown).await;
    assert_eq!(summary.passes, 0);
    assert!(summary.decisions.is_empty());
}

#[tokio::test]
async fn a_signal_during_a_send_lets_the_send_finish() {
    let (mut h, _lp, _alice) = levered().await;
    let payer = keeper_key(&mut h).await;
    h.set_price(110.0);
    let before = h.market().await;
    let log = MemoryLog::default();
    let cfg = KeeperConfig {
        poll_interval: Duration::from_secs(3600),
        ..config(&h, &log)
    };
    let (trigger, shutdown) = shutdown_channel();
    let summary = {
        let cluster = Embedded::new(&mut h.chain);
        let mut scripted = Scripted::new(&cluster);
        // Fires between the simulation and the send.
        scripted.after_simulate = Some(Box::new(move || trigger.fire()));
        let keeper = Keeper::new(scripted, payer, cfg);
        let summary = tokio::time::timeout(Duration::from_secs(30), keeper.run(shutdown))
            .await
            .expect("run stopped without waiting out the poll interval");
        assert_eq!(cluster.sent(), 1, "the send went ahead");
        summary
    };
    assert_eq!(summary.passes, 1);
    assert_eq!(summary.decisions.get(&Action::Rebalanced).copied(), Some(1));
    assert_eq!(h.market().await.rebalance_count, before.rebalance_count + 1);
    let lines = log.json_lines().expect("json");
    assert_eq!(lines.len(), 2);
    assert_eq!(action(&lines[0]), "rebalanced");
    assert_eq!(lines[1]["event"], "stopped");
    h.check().await;
}

/// The keeper's settlement log lines.
/// The log lines of one `event` (every line must be JSON).
fn events(log: &MemoryLog, event: &str) -> Vec<Value> {
    log.json_lines()
        .expect("every log line is JSON")
        .into_iter()
        .filter(|v| v["event"] == event)
        .collect()
}

fn settlements(log: &MemoryLog) -> Vec<Value> {
    events(log, "settle")
}

#[tokio::test]
async fn due_requests_are_settled_in_tau_order_exactly_as_quoted() {
    let (mut h, lp, alice) = levered().await;
    let (late, _) = h
        .request(&lp, RequestKind::DepositFunding, sol(5.0), 0)
        .await
        .expect("request");
    h.advance(-3);
    let (early, _) = h
        .request(&alice, RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("request");
    h.advance(3);
    let (r_early, r_late) = (h.request_state(&early).await, h.request_state(&late).await);
    assert!(r_early.tau < r_late.tau);
    // Not due yet: nothing is sent.
    let payer = keeper_key(&mut h).await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(early);
        cluster.watch_request(late);
        let keeper = Keeper::new(&cluster, payer.insecure_clone(), cfg.clone());
        keeper.run_once().await.expect("pass");
        assert_eq!(cluster.sent(), 0);
    }
    assert!(settlements(&log).is_empty());
    // One update covering both targets (the feed published nothing in between).
    h.advance(11);
    let input = lever_sdk::pyth::PriceInput {
        publish_time: r_late.tau,
        ..h.price_input(100.5)
    }
    .after(r_early.tau - 1);
    h.write_price(&input);
    let market = h.market().await;
    let vault = h.balance(&h.keys.vault.clone()).await;
    let first = quote::settle(&market, &r_early, &input, vault, h.chain.clock()).expect("quote");
    let lt_before = h.balance(&alice.lt).await;
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(early);
        cluster.watch_request(late);
        let keeper = Keeper::new(&cluster, payer, cfg);
        let settled = keeper.settle_due(&h.keys.market, &keeper.account_updates()).await;
        assert_eq!(settled.len(), 2);
        assert_eq!(settled[0].request, early, "the earlier target first");
        assert_eq!(settled[1].request, late);
    }
    let lines = settlements(&log);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["settle"], "settled", "{line}");
        assert_eq!(line["publish_time"], r_late.tau);
        assert_eq!(line["tip_lamports"], 5_000);
    }
    let expected = first.fill().expect("fills").amounts().1;
    assert_eq!(lines[0]["amount_out"], expected);
    assert_eq!(h.balance(&alice.lt).await - lt_before, expected);
    assert!(h.chain.account(&early).await.unwrap().is_none());
    assert!(h.chain.account(&late).await.unwrap().is_none());
    h.check().await;
}

#[tokio::test]
async fn a_request_without_a_covering_update_waits_then_is_cancelled_after_expiry() {
    let (mut h, _lp, alice) = levered().await;
    let (request, receipt) = h
        .request(&alice, RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("request");
    h.advance(20);
    // The price account still holds the update from before the request.
    let payer = keeper_key(&mut h).await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(request);
        let keeper = Keeper::new(&cluster, payer.insecure_clone(), cfg.clone());
        let waited = keeper.settle_due(&h.keys.market, &keeper.account_updates()).await;
        assert_eq!(waited.len(), 1);
        assert_eq!(cluster.sent(), 0, "nothing to send without the covering update");
    }
    let units_before = h.balance(&alice.underlying).await;
    h.chain.set_time(receipt.expires_at + 1);
    {
        let cluster = Embedded::new(&mut h.chain);
        cluster.watch_request(request);
        let keeper = Keeper::new(&cluster, payer, cfg);
        keeper.settle_due(&h.keys.market, &keeper.account_updates()).await;
        assert_eq!(cluster.sent(), 1);
    }
    let lines = settlements(&log);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["settle"], "wait");
    assert!(
        lines[0]["reason"].as_str().unwrap().contains("no update"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["settle"], "cancelled");
    assert_eq!(lines[1]["amount_out"], sol(1.0));
    assert_eq!(h.balance(&alice.underlying).await - units_before, sol(1.0));
    assert!(h.chain.account(&request).await.unwrap().is_none());
    h.check().await;
}

#[tokio::test]
async fn a_request_settled_by_someone_else_first_is_a_lost_race() {
    let (mut h, _lp, alice) = levered().await;
    let (request, receipt) = h
        .request(&alice, RequestKind::MintLt, sol(1.0), 0)
        .await
        .expect("request");
    h.advance(11);
    let input = lever_sdk::pyth::PriceInput {
        publish_time: receipt.tau,
        ..h.price_input(100.0)
    }
    .after(receipt.tau - 1);
    h.write_price(&input);
    let payer = keeper_key(&mut h).await;
    let log = MemoryLog::default();
    let cfg = config(&h, &log);
    let other = keeper_key(&mut h).await;
    let r = h.request_state(&request).await;
    let theirs = ix::settle_request(other.pubkey(), &h.keys, request, &r, h.price_account);
    // The keeper read the request; the other settler lands first; the keeper's settlement is
    // refused at simulation (the request is closed) and nothing is sent.
    {
        let cluster = Embedded::new(&mut h.chain);
        lever_sdk::cluster::submit(&cluster, &[theirs], &other, &[])
            .await
            .expect("the other settler");
        let sent = cluster.sent();
        let keeper = Keeper::new(&cluster, payer, cfg);
        let d = keeper
            .settle_request(&h.keys.market, &request, &r, &keeper.account_updates())
            .await;
        assert_eq!(d.settle, SettleAction::LostRace, "{d:?}");
        assert_eq!(
            d.error_code,
            Some(anchor_lang::error::ErrorCode::AccountNotInitialized as u32)
        );
        assert_eq!(cluster.sent(), sent, "a lost race sends nothing");
    }
    h.check().await;
}
