//! The keeper bot as a library: watch Lever markets on any [`Cluster`] and send `rebalance` when
//! the program would accept it.
//!
//! For each market, one pass reads the market and its price account (a `PriceUpdateV2`, found
//! through [`KeeperConfig::price_accounts`] by the feed id the market pins), and decides with the
//! program's own code ([`quote::rebalance`] at the cluster's clock):
//!
//! | situation | action |
//! |---|---|
//! | rebalance paused (pause bit 16) | `skip` |
//! | leverage within the band, or the leveraged pool empty | `skip` |
//! | price older than the market's maximum age (or another price refusal that time may cure) | `wait` |
//! | out of band, or insolvent | simulate `rebalance`; send only if the simulation succeeds → `rebalanced` |
//! | the simulation or the chain refuses with `WithinBand`/`NothingToRebalance` | `lost_race`: another keeper (or a user instruction, which rebalances first) got there first |
//! | anything else | `failed` |
//!
//! Transient failures are retried with exponential backoff ([`KeeperConfig::backoff`]), each retry
//! reading the market again: no blockhash, a blockhash that expired before confirmation, an RPC
//! error; `PriceChangedInSlot` (another price was used in this slot) waits for the next slot.
//!
//! Each decision is written as one JSON line ([`Decision`]) to [`KeeperConfig::log`]; [`Keeper::run`]
//! also writes `{"event":"pass_failed",...}` when it cannot list the markets and
//! `{"event":"stopped",...}` when it stops.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use lever::constants::{pause, PPM};
use lever::error::LeverError;
use lever::instructions::RebalanceOutcome;
use lever::math::RebalanceResult;
use lever::oracle::Now;
use lever::state::Market;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};
use serde::{Serialize, Serializer};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;
use tokio::sync::watch;

use crate::cluster::{custom_code, decode_market, Cluster, ClusterError, ClusterResult};
use crate::pyth::{scaled, to_hex, PriceInput, Verification};
use crate::{ix, quote};

/// Which markets a keeper watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarketSelection {
    /// Every market [`Cluster::markets`] lists, listed again every pass.
    All,
    Only(Vec<Pubkey>),
}

/// Where decisions are written, one JSON line each. Cloning shares the writer.
#[derive(Clone)]
pub struct LogSink(Arc<StdMutex<Box<dyn Write + Send>>>);

impl LogSink {
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self(Arc::new(StdMutex::new(Box::new(writer))))
    }

    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    pub fn discard() -> Self {
        Self::new(std::io::sink())
    }

    /// Write `line` and a newline, then flush (a failing writer is ignored: logs never stop the
    /// keeper).
    pub fn write_line(&self, line: &str) {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(w, "{line}");
        let _ = w.flush();
    }
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogSink")
    }
}

/// An in-memory writer for [`LogSink`] that can be read back (tests capture the log with it).
#[derive(Clone, Debug, Default)]
pub struct MemoryLog(Arc<StdMutex<Vec<u8>>>);

impl MemoryLog {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Every non-empty line, parsed as JSON.
    pub fn json_lines(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        self.contents()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect()
    }

    pub fn sink(&self) -> LogSink {
        LogSink::new(self.clone())
    }
}

impl Write for MemoryLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How the keeper runs.
#[derive(Clone, Debug)]
pub struct KeeperConfig {
    /// Pause between two passes of [`Keeper::run`].
    pub poll_interval: Duration,
    /// `SetComputeUnitPrice` (micro-lamports per compute unit); 0 leaves the instruction out.
    pub priority_fee_micro_lamports: u64,
    /// `SetComputeUnitLimit`; 0 leaves the instruction out.
    pub compute_unit_limit: u32,
    /// Retries after the first attempt, for transient failures.
    pub max_retries: u32,
    /// Wait before retry `n` (1-based): `backoff_base · 2^(n-1)`, at most `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub markets: MarketSelection,
    /// Feed id → the `PriceUpdateV2` account to pass (e.g. Pyth's sponsored push-feed account,
    /// [`sponsored_feed_address`]).
    pub price_accounts: HashMap<[u8; 32], Pubkey>,
    /// Feeds missing from `price_accounts` use Pyth's sponsored push-feed account on this shard
    /// ([`sponsored_feed_address`]); `None`: such a market fails with "no price account".
    pub sponsored_shard: Option<u16>,
    pub log: LogSink,
}

impl Default for KeeperConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            priority_fee_micro_lamports: 1_000,
            compute_unit_limit: 200_000,
            max_retries: 5,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(5),
            markets: MarketSelection::All,
            price_accounts: HashMap::new(),
            sponsored_shard: None,
            log: LogSink::stdout(),
        }
    }
}

impl KeeperConfig {
    /// The wait before retry `retry` (1-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.backoff_base.saturating_mul(factor).min(self.backoff_max)
    }

    pub fn with_price_account(mut self, feed_id: [u8; 32], address: Pubkey) -> Self {
        self.price_accounts.insert(feed_id, address);
        self
    }
}

/// The address of Pyth's push-feed `PriceUpdateV2` account for `feed_id` on `shard_id` (0 is the
/// shard Pyth sponsors): PDA `[shard_id u16 LE, feed_id]` of the push oracle program.
pub fn sponsored_feed_address(shard_id: u16, feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(
        &[&shard_id.to_le_bytes(), feed_id],
        &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID,
    )
    .0
}

/// What the keeper did about one market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do (in band, paused, empty pool).
    Skip,
    /// Not yet: the price must be fresher (or another slot must come).
    Wait,
    /// A rebalance landed.
    Rebalanced,
    /// Someone else rebalanced first (`WithinBand`/`NothingToRebalance` at simulation or on chain).
    LostRace,
    Failed,
}

impl Action {
    /// The name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Wait => "wait",
            Self::Rebalanced => "rebalanced",
            Self::LostRace => "lost_race",
            Self::Failed => "failed",
        }
    }
}

/// One decision, logged as one JSON line. Leverage in PPM (3x = 3_000_000), price in USD.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    #[serde(serialize_with = "display")]
    pub market: Pubkey,
    /// The keeper's fee payer (tells keepers apart in a shared log).
    #[serde(serialize_with = "display")]
    pub keeper: Pubkey,
    pub action: Action,
    pub reason: String,
    pub leverage_before_ppm: Option<u64>,
    pub leverage_after_ppm: Option<u64>,
    pub target_leverage_ppm: Option<u64>,
    pub price: Option<f64>,
    pub publish_time: Option<i64>,
    pub publish_age_secs: Option<i64>,
    #[serde(serialize_with = "display_opt")]
    pub signature: Option<Signature>,
    /// The custom program error behind a `lost_race`, `wait` or `failed`, if any.
    pub error_code: Option<u32>,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub slot: Option<u64>,
    pub unix_time: Option<i64>,
}

impl Decision {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn display<S: Serializer, T: Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn display_opt<S: Serializer, T: Display>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// What the keeper read about a market.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Observed {
    pub now: Option<Now>,
    pub target_leverage_ppm: Option<u64>,
    /// Leverage at the price, funding accrued (`None` when insolvent or unknown).
    pub leverage_ppm: Option<u64>,
    pub price: Option<f64>,
    pub publish_time: Option<i64>,
    pub publish_age_secs: Option<i64>,
}

/// What the keeper would do about a market, before doing it.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Skip(String),
    Wait {
        reason: String,
        code: Option<u32>,
    },
    Failed {
        reason: String,
        code: Option<u32>,
    },
    /// `PriceChangedInSlot`: try again in the next slot.
    NextSlot(String),
    /// A read failed: try again after the backoff.
    Retry(String),
    /// The program would rebalance: `expected` is its own prediction.
    Rebalance {
        price_account: Pubkey,
        expected: RebalanceResult,
        reason: String,
    },
}

/// A market, what was read about it and the verdict. [`Keeper::assess`] makes one,
/// [`Keeper::act`] carries it out.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    pub market: Pubkey,
    pub observed: Observed,
    pub verdict: Verdict,
}

/// What [`Keeper::run`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Passes over the markets completed.
    pub passes: u64,
    /// Passes that could not list the markets.
    pub failed_passes: u64,
    pub decisions: HashMap<Action, u64>,
}

/// Tells [`Keeper::run`] to stop (between two markets or two passes, never mid-send).
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// Fires a [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// A trigger and the signal it fires.
pub fn shutdown_channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// A signal that never fires.
    pub fn never() -> Self {
        shutdown_channel().1
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the signal fires (never, if its trigger is dropped unfired).
    pub async fn requested(&mut self) {
        if self.0.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A signal fired by the first Ctrl-C (SIGINT). Call inside a Tokio runtime.
pub fn shutdown_on_ctrl_c() -> Shutdown {
    let (trigger, shutdown) = shutdown_channel();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            trigger.fire();
        }
    });
    shutdown
}

/// The result of one attempt.
enum Outcome {
    Done(Done),
    Retry { reason: String, next_slot: bool },
}

struct Done {
    action: Action,
    reason: String,
    code: Option<u32>,
    signature: Option<Signature>,
    leverage_after_ppm: Option<u64>,
}

impl Done {
    fn new(action: Action, reason: String, code: Option<u32>) -> Self {
        Self {
            action,
            reason,
            code,
            signature: None,
            leverage_after_ppm: None,
        }
    }
}

pub struct Keeper<C> {
    cluster: C,
    payer: Keypair,
    config: KeeperConfig,
}

impl<C: Cluster> Keeper<C> {
    /// A keeper paying fees from `payer` (it signs the rebalances; it needs lamports only).
    pub fn new(cluster: C, payer: Keypair, config: KeeperConfig) -> Self {
        Self {
            cluster,
            payer,
            config,
        }
    }

    pub fn cluster(&self) -> &C {
        &self.cluster
    }

    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    pub fn config(&self) -> &KeeperConfig {
        &self.config
    }

    /// The markets one pass goes over.
    pub async fn markets(&self) -> ClusterResult<Vec<Pubkey>> {
        match &self.config.markets {
            MarketSelection::Only(markets) => Ok(markets.clone()),
            MarketSelection::All => Ok(self
                .cluster
                .markets()
                .await?
                .into_iter()
                .map(|(k, _)| k)
                .collect()),
        }
    }

    /// One pass over the markets: a decision for each (each also logged).
    pub async fn run_once(&self) -> ClusterResult<Vec<Decision>> {
        Ok(self.pass(&Shutdown::never()).await?.0)
    }

    /// Passes every [`KeeperConfig::poll_interval`] until `shutdown` fires. The signal is looked at
    /// between markets and while waiting between passes: a market being handled (its simulation,
    /// send, confirmation and retries) is always finished first.
    pub async fn run(&self, mut shutdown: Shutdown) -> RunSummary {
        let mut summary = RunSummary::default();
        while !shutdown.is_requested() {
            match self.pass(&shutdown).await {
                Ok((decisions, complete)) => {
                    for d in decisions {
                        *summary.decisions.entry(d.action).or_default() += 1;
                    }
                    if complete {
                        summary.passes += 1;
                    }
                }
                Err(e) => {
                    summary.failed_passes += 1;
                    self.config.log.write_line(
                        &serde_json::json!({
                            "event": "pass_failed",
                            "keeper": self.payer().to_string(),
                            "reason": format!("list markets: {e}"),
                        })
                        .to_string(),
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = shutdown.requested() => {}
            }
        }
        let decisions: HashMap<String, u64> = summary
            .decisions
            .iter()
            .map(|(a, n)| (a.as_str().to_string(), *n))
            .collect();
        self.config.log.write_line(
            &serde_json::json!({
                "event": "stopped",
                "keeper": self.payer().to_string(),
                "passes": summary.passes,
                "failed_passes": summary.failed_passes,
                "decisions": decisions,
            })
            .to_string(),
        );
        summary
    }

    /// One pass; `false` if the signal stopped it before the last market.
    async fn pass(&self, shutdown: &Shutdown) -> ClusterResult<(Vec<Decision>, bool)> {
        let markets = self.markets().await?;
        let mut decisions = Vec::with_capacity(markets.len());
        for market in markets {
            if shutdown.is_requested() {
                return Ok((decisions, false));
            }
            decisions.push(self.keep(&market).await);
        }
        Ok((decisions, true))
    }

    /// Assess one market and act on it.
    pub async fn keep(&self, market: &Pubkey) -> Decision {
        let assessment = self.assess(market).await;
        self.act(assessment).await
    }

    /// Read the market and its price and decide, with the program's own code, what to do.
    /// Sends nothing.
    pub async fn assess(&self, market: &Pubkey) -> Assessment {
        let mut observed = Observed::default();
        let verdict = self.judge(market, &mut observed).await;
        Assessment {
            market: *market,
            observed,
            verdict,
        }
    }

    async fn judge(&self, key: &Pubkey, obs: &mut Observed) -> Verdict {
        let now = match self.cluster.clock().await {
            Ok(now) => now,
            Err(e) => return Verdict::Retry(format!("read clock: {e}")),
        };
        obs.now = Some(now);
        let market = match self.cluster.account(key).await {
            Err(e) => return Verdict::Retry(format!("read market: {e}")),
            Ok(None) => return failed(format!("market account {key} not found")),
            Ok(Some(account)) => match decode_market(&account) {
                Some(m) => m,
                None => return failed(format!("{key} is not a Lever market account")),
            },
        };
        obs.target_leverage_ppm = Some(market.target_leverage_ppm);
        if market.paused & pause::REBALANCE != 0 {
            return Verdict::Skip(format!("rebalance paused (pause bits {:#07b})", market.paused));
        }
        let configured = self.config.price_accounts.get(&market.feed_id).copied();
        let sponsored = self
            .config
            .sponsored_shard
            .map(|shard| sponsored_feed_address(shard, &market.feed_id));
        let Some(price_account) = configured.or(sponsored) else {
            return failed(format!(
                "no price account configured for feed 0x{}",
                to_hex(&market.feed_id)
            ));
        };
        let update = match self.cluster.account(&price_account).await {
            Err(e) => return Verdict::Retry(format!("read price account: {e}")),
            Ok(None) => return failed(format!("price account {price_account} not found")),
            Ok(Some(a)) => match crate::ops::price_update_of(&price_account, &a) {
                Ok(u) => u,
                Err(e) => return failed(e.to_string()),
            },
        };
        let msg = &update.price_message;
        let age = now.unix_timestamp.saturating_sub(msg.publish_time);
        obs.price = Some(scaled(msg.price, msg.exponent));
        obs.publish_time = Some(msg.publish_time);
        obs.publish_age_secs = Some(age);
        if msg.feed_id != market.feed_id {
            return Verdict::Failed {
                reason: format!(
                    "price account {price_account} holds feed 0x{}",
                    to_hex(&msg.feed_id)
                ),
                code: Some(LeverError::PriceFeedMismatch.into()),
            };
        }
        let max_age = market.max_price_age_secs;
        if age > 0 && age as u64 > max_age {
            return Verdict::Wait {
                reason: format!(
                    "price too old: published {age} s ago, market max age {max_age} s; waiting for a fresh price"
                ),
                code: Some(LeverError::PriceTooOld.into()),
            };
        }
        match quote::rebalance(&market, &price_input(&update), now) {
            Ok(p) => {
                let r = p.quote;
                obs.leverage_ppm = nonzero_ppm(r.leverage_before_ppm);
                let reason = if r.wiped {
                    "insolvent: equity <= 0 at the mid price, the leveraged pool will be wiped out"
                        .to_string()
                } else {
                    format!(
                        "out of band: leverage {} outside {}; rebalance to {}{}",
                        lev(r.leverage_before_ppm),
                        band_text(&market),
                        lev(r.leverage_after_ppm),
                        if r.bounded { " (bounded by idle units)" } else { "" }
                    )
                };
                Verdict::Rebalance {
                    price_account,
                    expected: r,
                    reason,
                }
            }
            Err(r) if r.is(LeverError::WithinBand) => {
                obs.leverage_ppm = in_band_leverage(&market, &update, now);
                Verdict::Skip(format!(
                    "in band: leverage {} within {}",
                    obs.leverage_ppm
                        .map(|l| lev(l.into()))
                        .unwrap_or_else(|| "?".into()),
                    band_text(&market)
                ))
            }
            Err(r) if r.is(LeverError::NothingToRebalance) => {
                Verdict::Skip("nothing to rebalance: the leveraged pool is empty".into())
            }
            Err(r) if r.is(LeverError::OperationPaused) => Verdict::Skip("rebalance paused".into()),
            Err(r) if r.is(LeverError::PriceChangedInSlot) => Verdict::NextSlot(format!(
                "{r}: another price was already used in slot {}",
                now.slot
            )),
            Err(r)
                if [
                    LeverError::PriceTooOld,
                    LeverError::PriceOlderThanLast,
                    LeverError::PriceConfidenceTooWide,
                    LeverError::PriceNotPositive,
                ]
                .into_iter()
                .any(|e| r.is(e)) =>
            {
                Verdict::Wait {
                    reason: format!("the program would refuse this price: {r}; waiting for another"),
                    code: Some(r.code),
                }
            }
            Err(r) => Verdict::Failed {
                reason: format!("the program would refuse the rebalance: {r}"),
                code: Some(r.code),
            },
        }
    }

    /// Carry out an assessment: for a rebalance, simulate then send, retrying transient failures
    /// (each retry assesses the market again). Logs and returns the decision.
    pub async fn act(&self, assessment: Assessment) -> Decision {
        let mut a = assessment;
        let mut attempt = 1u32;
        let decision = loop {
            let outcome = match &a.verdict {
                Verdict::Skip(reason) => Outcome::Done(Done::new(Action::Skip, reason.clone(), None)),
                Verdict::Wait { reason, code } => {
                    Outcome::Done(Done::new(Action::Wait, reason.clone(), *code))
                }
                Verdict::Failed { reason, code } => {
                    Outcome::Done(Done::new(Action::Failed, reason.clone(), *code))
                }
                Verdict::NextSlot(reason) => Outcome::Retry {
                    reason: reason.clone(),
                    next_slot: true,
                },
                Verdict::Retry(reason) => Outcome::Retry {
                    reason: reason.clone(),
                    next_slot: false,
                },
                Verdict::Rebalance {
                    price_account,
                    expected,
                    reason,
                } => {
                    self.try_rebalance(&a.market, *price_account, expected, reason)
                        .await
                }
            };
            match outcome {
                Outcome::Done(done) => break self.decision(&a, done, attempt),
                Outcome::Retry { reason, next_slot } => {
                    if attempt > self.config.max_retries {
                        let action = if next_slot { Action::Wait } else { Action::Failed };
                        let code = next_slot.then(|| LeverError::PriceChangedInSlot.into());
                        let done = Done::new(
                            action,
                            format!("gave up after {attempt} attempts: {reason}"),
                            code,
                        );
                        break self.decision(&a, done, attempt);
                    }
                    if next_slot {
                        let slot = a.observed.now.map(|n| n.slot).unwrap_or_default();
                        if self.cluster.wait_for_slot_after(slot).await.is_err() {
                            tokio::time::sleep(self.config.backoff(attempt)).await;
                        }
                    } else {
                        tokio::time::sleep(self.config.backoff(attempt)).await;
                    }
                    attempt += 1;
                    a = self.assess(&a.market).await;
                }
            }
        };
        self.config.log.write_line(&decision.to_json());
        decision
    }

    /// The signed rebalance transaction: compute budget, then `rebalance`.
    pub fn rebalance_transaction(
        &self,
        market: &Pubkey,
        price_account: &Pubkey,
        blockhash: Hash,
    ) -> Transaction {
        let mut ixs = Vec::with_capacity(3);
        if self.config.compute_unit_limit > 0 {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_limit(
                self.config.compute_unit_limit,
            ));
        }
        if self.config.priority_fee_micro_lamports > 0 {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_price(
                self.config.priority_fee_micro_lamports,
            ));
        }
        ixs.push(ix::rebalance(self.payer(), *market, *price_account));
        Transaction::new_signed_with_payer(&ixs, Some(&self.payer()), &[&self.payer], blockhash)
    }

    async fn try_rebalance(
        &self,
        market: &Pubkey,
        price_account: Pubkey,
        expected: &RebalanceResult,
        reason: &str,
    ) -> Outcome {
        let blockhash = match self.cluster.latest_blockhash().await {
            Ok(h) => h,
            Err(e) => return retry(format!("latest blockhash: {e}")),
        };
        let tx = self.rebalance_transaction(market, &price_account, blockhash);
        let simulation = match self.cluster.simulate(&tx).await {
            Ok(s) => s,
            Err(e) => return retry(format!("simulate: {e}")),
        };
        if let Some(error) = simulation.error {
            return refused("simulation", error, None);
        }
        match self.cluster.send_and_confirm(&tx).await {
            Ok(landed) => {
                let outcome = landed
                    .return_data
                    .as_deref()
                    .and_then(|mut data| RebalanceOutcome::deserialize(&mut data).ok());
                let after = outcome.map_or(expected.leverage_after_ppm, |o| o.leverage_after_ppm);
                Outcome::Done(Done {
                    action: Action::Rebalanced,
                    reason: reason.to_string(),
                    code: None,
                    signature: Some(landed.signature),
                    leverage_after_ppm: Some(ppm_u64(after)),
                })
            }
            Err(ClusterError::Transaction { error, signature, .. }) => refused("the chain", error, signature),
            Err(e @ ClusterError::Expired { .. }) => retry(e.to_string()),
            Err(ClusterError::Client(e)) => retry(format!("send: {e}")),
        }
    }

    fn decision(&self, a: &Assessment, done: Done, attempt: u32) -> Decision {
        let o = &a.observed;
        Decision {
            market: a.market,
            keeper: self.payer(),
            action: done.action,
            reason: done.reason,
            leverage_before_ppm: o.leverage_ppm,
            leverage_after_ppm: done.leverage_after_ppm,
            target_leverage_ppm: o.target_leverage_ppm,
            price: o.price,
            publish_time: o.publish_time,
            publish_age_secs: o.publish_age_secs,
            signature: done.signature,
            error_code: done.code,
            attempt,
            slot: o.now.map(|n| n.slot),
            unix_time: o.now.map(|n| n.unix_timestamp),
        }
    }
}

fn failed(reason: String) -> Verdict {
    Verdict::Failed { reason, code: None }
}

fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        reason,
        next_slot: false,
    }
}

/// A refusal by the simulation or the chain.
fn refused(stage: &str, error: TransactionError, signature: Option<Signature>) -> Outcome {
    let code = custom_code(&error);
    let is = |e: LeverError| code == Some(u32::from(e));
    let named = match code {
        Some(c) => format!("{} ({c})", error_name(c)),
        None => error.to_string(),
    };
    if is(LeverError::WithinBand) || is(LeverError::NothingToRebalance) {
        return Outcome::Done(Done {
            signature,
            ..Done::new(
                Action::LostRace,
                format!("{stage} refused with {named}: another keeper rebalanced first"),
                code,
            )
        });
    }
    if is(LeverError::PriceChangedInSlot) {
        return Outcome::Retry {
            reason: format!("{stage} refused with {named}"),
            next_slot: true,
        };
    }
    if is(LeverError::OperationPaused) {
        return Outcome::Done(Done {
            signature,
            ..Done::new(
                Action::Skip,
                format!("{stage} refused with {named}: paused meanwhile"),
                code,
            )
        });
    }
    // Transient: the next assessment sees what changed (a price gone stale becomes a `wait`).
    if is(LeverError::PriceTooOld)
        || matches!(
            error,
            TransactionError::BlockhashNotFound | TransactionError::AlreadyProcessed
        )
    {
        return retry(format!("{stage} refused with {named}"));
    }
    Outcome::Done(Done {
        signature,
        ..Done::new(Action::Failed, format!("{stage} refused with {named}"), code)
    })
}

/// The name of a custom program error code (Lever's, or Anchor's framework errors by number).
pub fn error_name(code: u32) -> String {
    const LEVER: &[LeverError] = &[
        LeverError::OperationPaused,
        LeverError::PriceFeedMismatch,
        LeverError::PriceTooOld,
        LeverError::PriceNotFullyVerified,
        LeverError::PriceConfidenceTooWide,
        LeverError::PriceNotPositive,
        LeverError::PriceOlderThanLast,
        LeverError::PriceOutOfRange,
        LeverError::WithinBand,
        LeverError::NothingToRebalance,
        LeverError::MathOverflow,
        LeverError::DivisionByZero,
        LeverError::InvalidPoolState,
        LeverError::PriceChangedInSlot,
        LeverError::UnexpectedAccounts,
    ];
    LEVER
        .iter()
        .find(|e| u32::from(**e) == code)
        .map(|e| quote::Refusal::from(*e).name)
        .unwrap_or_else(|| format!("custom program error {code}"))
}

/// The price update as the SDK's quotes take it.
pub fn price_input(update: &PriceUpdateV2) -> PriceInput {
    let m = &update.price_message;
    PriceInput {
        feed_id: m.feed_id,
        price: m.price,
        conf: m.conf,
        exponent: m.exponent,
        publish_time: m.publish_time,
        verification: match update.verification_level {
            VerificationLevel::Full => Verification::Full,
            VerificationLevel::Partial { num_signatures } => Verification::Partial(num_signatures),
        },
    }
}

/// Leverage at the mid price with funding accrued, as the program would see it (in band).
fn in_band_leverage(market: &Market, update: &PriceUpdateV2, now: Now) -> Option<u64> {
    let price = lever::oracle::read_price(update, market, now, false).ok()?;
    let accrued = quote::accrued(market, price.band.mid, now.unix_timestamp).ok()?;
    let leverage = quote::marks(&accrued, price.band.mid).ok()?.leverage_ppm?;
    Some(ppm_u64(leverage))
}

fn ppm_u64(ppm: u128) -> u64 {
    u64::try_from(ppm).unwrap_or(u64::MAX)
}

fn nonzero_ppm(ppm: u128) -> Option<u64> {
    (ppm != 0).then(|| ppm_u64(ppm))
}

fn lev(ppm: u128) -> String {
    format!("{:.4}x", ppm as f64 / PPM as f64)
}

/// "3x ± 5% (2.8500x-3.1500x)".
fn band_text(market: &Market) -> String {
    let target = u128::from(market.target_leverage_ppm);
    let width = target * u128::from(market.band_ppm) / u128::from(PPM);
    format!(
        "{} ± {}% ({}-{})",
        crate::local::leverage_label(market.target_leverage_ppm) + "x",
        market.band_ppm as f64 / 1e4,
        lev(target - width),
        lev(target + width)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = KeeperConfig {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(700),
            log: LogSink::discard(),
            ..KeeperConfig::default()
        };
        let waits: Vec<u128> = (1..=5).map(|n| c.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 700, 700]);
        assert_eq!(c.backoff(200), Duration::from_millis(700));
    }

    #[test]
    fn error_names() {
        assert_eq!(error_name(6038), "WithinBand");
        assert_eq!(error_name(6060), "PriceChangedInSlot");
        assert_eq!(error_name(1), "custom program error 1");
    }

    #[test]
    fn refusals_are_classified() {
        let custom = |e: LeverError| {
            TransactionError::InstructionError(
                1,
                solana_instruction::error::InstructionError::Custom(e.into()),
            )
        };
        let done = |o: Outcome| match o {
            Outcome::Done(d) => Some(d.action),
            Outcome::Retry { .. } => None,
        };
        assert_eq!(
            done(refused("x", custom(LeverError::WithinBand), None)),
            Some(Action::LostRace)
        );
        assert_eq!(
            done(refused("x", custom(LeverError::NothingToRebalance), None)),
            Some(Action::LostRace)
        );
        assert!(matches!(
            refused("x", custom(LeverError::PriceChangedInSlot), None),
            Outcome::Retry { next_slot: true, .. }
        ));
        assert!(matches!(
            refused("x", TransactionError::BlockhashNotFound, None),
            Outcome::Retry { next_slot: false, .. }
        ));
        assert_eq!(
            done(refused("x", custom(LeverError::MathOverflow), None)),
            Some(Action::Failed)
        );
        assert_eq!(
            done(refused("x", TransactionError::InsufficientFundsForFee, None)),
            Some(Action::Failed)
        );
    }

    #[test]
    fn sponsored_feed_address_is_a_push_oracle_pda() {
        // Pyth's sponsored SOL/USD account on mainnet and devnet (shard 0).
        let sol = sponsored_feed_address(0, &crate::pyth::SOL_USD_FEED_ID);
        assert_eq!(sol.to_string(), "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE");
        assert_ne!(sponsored_feed_address(1, &crate::pyth::SOL_USD_FEED_ID), sol);
    }

    #[tokio::test]
    async fn shutdown_signal() {
        let (trigger, mut shutdown) = shutdown_channel();
        assert!(!shutdown.is_requested());
        trigger.fire();
        assert!(shutdown.is_requested());
        shutdown.requested().await;
        let never = Shutdown::never();
        assert!(!never.is_requested());
    }
}
