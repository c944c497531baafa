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
use lever::math::RebalanceResult;
use lever::oracle::Now;
use serde::{Serialize, Serializer};
use solana_transaction::Signature;
use tokio::sync::watch;

mod hermes_source;
mod pass;
mod settle;
pub use hermes_source::*;
pub use pass::*;
pub use settle::*;

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
    /// Where to fetch the update covering a request's target time when no known account holds it
    /// (see [`HermesUpdates`]); `None`: only the known accounts are used.
    pub hermes: Option<lever_sdk::hermes::HermesClient>,
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
            hermes: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use lever::error::LeverError;
    use solana_transaction_error::TransactionError;

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
