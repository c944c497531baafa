//! [`Cluster`] over the embedded chain.

use std::borrow::BorrowMut;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use lever::oracle::Now;
use lever::state::{Market, Request};
use solana_account::Account;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{Hash, Transaction};

use crate::chain::Chain;
use lever_sdk::accounts::{decode_market, decode_request};
use lever_sdk::cluster::{Cluster, ClusterError, ClusterResult, Landed, Simulation};
use lever_sdk::events::{compiled_events, LeverEvent};

/// The Lever events in a bank simulation's inner instructions.
fn simulation_events(
    tx: &Transaction,
    details: Option<&solana_banks_interface::TransactionSimulationDetails>,
) -> Vec<LeverEvent> {
    compiled_events(
        &tx.message.account_keys,
        details
            .and_then(|d| d.inner_instructions.clone())
            .into_iter()
            .flatten()
            .flatten()
            .map(|i| (i.instruction.program_id_index, i.instruction.data)),
    )
}

// ---------------------------------------------------------------------------------------------
// The embedded chain
// ---------------------------------------------------------------------------------------------

/// How long to wait for the bank to register a blockhash not yet used by a sent transaction.
const FRESH_BLOCKHASH_TIMEOUT: Duration = Duration::from_secs(10);

/// [`Cluster`] over the embedded chain, owned (`Embedded<Chain>`) or borrowed
/// (`Embedded<&mut Chain>`, so a test harness keeps its chain). Calls are serialised by an async
/// mutex, so several keepers can share one `&Embedded`.
///
/// - The bank cannot list accounts by owner: [`Cluster::markets`] returns the markets this value
///   was told about ([`Embedded::with_markets`], [`Embedded::watch`]) that exist and decode, and
///   [`Cluster::requests`] the open requests that transactions sent through this value opened.
/// - The chain makes no slots by itself (the caller moves its clock): waiting for the next slot
///   makes one ([`Chain::next_slot`]).
/// - Transactions are signed by the caller, so two identical ones on one blockhash would collide
///   (`AlreadyProcessed`); [`Cluster::latest_blockhash`] therefore never hands out a blockhash a
///   sent transaction already used, waiting (tens of ms) for the bank to register a new one, or,
///   on a paced chain ([`Chain::start_paced`]), making the next block.
pub struct Embedded<B = Chain> {
    chain: tokio::sync::Mutex<B>,
    markets: StdMutex<Vec<Pubkey>>,
    /// Requests opened by transactions sent through this value (from their `RequestOpened`).
    requests: StdMutex<Vec<Pubkey>>,
    spent: StdMutex<HashSet<Hash>>,
    sent: AtomicU64,
    simulated: AtomicU64,
}

impl<B: BorrowMut<Chain> + Send> Embedded<B> {
    pub fn new(chain: B) -> Self {
        Self {
            chain: tokio::sync::Mutex::new(chain),
            markets: StdMutex::new(Vec::new()),
            requests: StdMutex::new(Vec::new()),
            spent: StdMutex::new(HashSet::new()),
            sent: AtomicU64::new(0),
            simulated: AtomicU64::new(0),
        }
    }

    /// Add market addresses [`Cluster::markets`] lists.
    pub fn with_markets(self, markets: impl IntoIterator<Item = Pubkey>) -> Self {
        for m in markets {
            self.watch(m);
        }
        self
    }

    /// Add a market address [`Cluster::markets`] lists.
    pub fn watch(&self, market: Pubkey) {
        let mut markets = self.markets.lock().unwrap_or_else(|e| e.into_inner());
        if !markets.contains(&market) {
            markets.push(market);
        }
    }

    /// Add a request address [`Cluster::requests`] lists (one opened by a transaction sent some
    /// other way).
    pub fn watch_request(&self, request: Pubkey) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if !requests.contains(&request) {
            requests.push(request);
        }
    }

    /// The chain, locked (write prices, move the clock, read balances).
    pub async fn chain(&self) -> tokio::sync::MappedMutexGuard<'_, Chain> {
        tokio::sync::MutexGuard::map(self.chain.lock().await, |b| b.borrow_mut())
    }

    pub fn into_inner(self) -> B {
        self.chain.into_inner()
    }

    /// Transactions sent through [`Cluster::send_and_confirm`] (landed or not).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Transactions simulated through [`Cluster::simulate`].
    pub fn simulated(&self) -> u64 {
        self.simulated.load(Ordering::SeqCst)
    }

    fn is_spent(&self, hash: &Hash) -> bool {
        self.spent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(hash)
    }
}

impl<B: BorrowMut<Chain> + Send> Cluster for Embedded<B> {
    async fn account(&self, address: &Pubkey) -> ClusterResult<Option<Account>> {
        let mut chain = self.chain().await;
        chain
            .account(address)
            .await
            .map_err(|e| ClusterError::client("get account", e))
    }

    async fn accounts(&self, addresses: &[Pubkey]) -> ClusterResult<Vec<Option<Account>>> {
        let mut chain = self.chain().await;
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            out.push(
                chain
                    .account(address)
                    .await
                    .map_err(|e| ClusterError::client("get account", e))?,
            );
        }
        Ok(out)
    }

    async fn markets(&self) -> ClusterResult<Vec<(Pubkey, Market)>> {
        let known = self.markets.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let accounts = self.accounts(&known).await?;
        Ok(known
            .into_iter()
            .zip(accounts)
            .filter_map(|(key, account)| Some((key, decode_market(&account?)?)))
            .collect())
    }

    async fn requests(&self, market: &Pubkey) -> ClusterResult<Vec<(Pubkey, Request)>> {
        let known = self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let accounts = self.accounts(&known).await?;
        let mut open = Vec::new();
        let mut still = Vec::new();
        for (key, account) in known.into_iter().zip(accounts) {
            if let Some(r) = account.as_ref().and_then(decode_request) {
                still.push(key);
                if r.market == *market {
                    open.push((key, r));
                }
            }
        }
        // Settled and cancelled requests are closed: forget them.
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) = still;
        Ok(open)
    }

    async fn clock(&self) -> ClusterResult<Now> {
        Ok(self.chain().await.clock())
    }

    async fn latest_blockhash(&self) -> ClusterResult<Hash> {
        let mut chain = self.chain().await;
        let start = Instant::now();
        if chain.is_paced() {
            // Blocks come only when made: make one rather than wait.
            let (hash, _) = chain
                .latest_blockhash_info()
                .await
                .map_err(|e| ClusterError::client("latest blockhash", e))?;
            if !self.is_spent(&hash) {
                return Ok(hash);
            }
            return chain
                .next_block()
                .await
                .map_err(|e| ClusterError::client("next block", e));
        }
        loop {
            let hash = chain
                .ctx
                .banks_client
                .get_latest_blockhash()
                .await
                .map_err(|e| ClusterError::client("latest blockhash", e))?;
            if !self.is_spent(&hash) {
                return Ok(hash);
            }
            if start.elapsed() > FRESH_BLOCKHASH_TIMEOUT {
                return Err(ClusterError::Client(format!(
                    "no fresh blockhash after {FRESH_BLOCKHASH_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn simulate(&self, tx: &Transaction) -> ClusterResult<Simulation> {
        let chain = self.chain().await;
        self.simulated.fetch_add(1, Ordering::SeqCst);
        let out = chain
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .map_err(|e| ClusterError::client("simulate", e))?;
        let result = out
            .result
            .ok_or_else(|| ClusterError::Client("the bank returned no simulation result".into()))?;
        let details = out.simulation_details;
        let events = simulation_events(tx, details.as_ref());
        Ok(Simulation {
            error: result.err(),
            logs: details.as_ref().map(|d| d.logs.clone()).unwrap_or_default(),
            return_data: details
                .as_ref()
                .and_then(|d| d.return_data.as_ref())
                .map(|r| r.data.clone()),
            units_consumed: details.map(|d| d.units_consumed),
            events,
        })
    }

    async fn send_and_confirm(&self, tx: &Transaction) -> ClusterResult<Landed> {
        let mut chain = self.chain().await;
        // The bank keeps no inner instructions of a processed transaction (program-test's banks
        // server drops them from the metadata), so the events come from simulating this same
        // transaction at this same state, just before it is processed: the chain's lock is held
        // throughout, so nothing changes the accounts in between.
        let events = chain
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .ok()
            .filter(|s| matches!(s.result, Some(Ok(()))))
            .map(|s| simulation_events(tx, s.simulation_details.as_ref()))
            .unwrap_or_default();
        self.process_locked(&mut chain, &VersionedTransaction::from(tx.clone()), events)
            .await
    }

    async fn wait_for_slot_after(&self, slot: u64) -> ClusterResult<Now> {
        let mut chain = self.chain().await;
        if chain.clock().slot <= slot {
            chain.next_slot();
        }
        Ok(chain.clock())
    }
}

impl<B: BorrowMut<Chain> + Send> Embedded<B> {
    /// Process `tx` as [`Cluster::send_and_confirm`] does, without the simulation that reads its
    /// events: the returned [`Landed::events`] is empty. For a caller that has just simulated the
    /// transaction itself (the local RPC node's preflight), so it is not run a third time.
    pub async fn process_without_events(&self, tx: &Transaction) -> ClusterResult<Landed> {
        self.process_versioned(&VersionedTransaction::from(tx.clone()))
            .await
    }

    /// [`Embedded::process_without_events`] for a legacy or v0 transaction.
    pub async fn process_versioned(&self, tx: &VersionedTransaction) -> ClusterResult<Landed> {
        let mut chain = self.chain().await;
        self.process_locked(&mut chain, tx, Vec::new()).await
    }

    async fn process_locked(
        &self,
        chain: &mut Chain,
        tx: &VersionedTransaction,
        events: Vec<LeverEvent>,
    ) -> ClusterResult<Landed> {
        let signature = tx.signatures.first().copied().unwrap_or_default();
        chain.note_accounts(tx.message.static_account_keys().iter().copied());
        self.spent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(*tx.message.recent_blockhash());
        self.sent.fetch_add(1, Ordering::SeqCst);
        chain.transactions += 1;
        let out = chain
            .ctx
            .banks_client
            .process_transaction_with_metadata(tx.clone())
            .await
            .map_err(|e| ClusterError::client("process transaction", e))?;
        let (logs, return_data, compute_units) = match out.metadata {
            Some(m) => (
                m.log_messages,
                m.return_data.map(|r| r.data),
                Some(m.compute_units_consumed),
            ),
            None => (Vec::new(), None, None),
        };
        if out.result.is_ok() {
            let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            for event in &events {
                if let LeverEvent::RequestOpened(opened) = event {
                    requests.push(opened.request);
                }
            }
        }
        match out.result {
            Ok(()) => Ok(Landed {
                signature,
                logs,
                return_data,
                events,
                compute_units,
            }),
            Err(error) => Err(ClusterError::Transaction {
                error,
                logs,
                signature: Some(signature),
            }),
        }
    }
}
