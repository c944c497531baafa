//! One interface for what a Lever client needs from a chain, with two implementations: the
//! embedded in-process chain ([`Embedded`], over [`Chain`]) and a real RPC endpoint
//! ([`RpcCluster`], over `solana_rpc_client`'s nonblocking `RpcClient`). The keeper
//! (`crate::keeper`) is written against [`Cluster`] only, so its end-to-end tests on the embedded
//! chain exercise the very code that runs against a cluster.
//!
//! The trait's methods return `impl Future + Send` (return-position `impl Trait` in traits, stable
//! Rust): implementations may be written with `async fn`, and a keeper can be spawned on a
//! multi-threaded runtime. The trait is therefore not object-safe; use generics.

use std::borrow::BorrowMut;
use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use base64::Engine as _;
use lever::error::LeverError;
use lever::oracle::Now;
use lever::state::Market;
use solana_account::Account;
use solana_instruction::error::InstructionError;
use solana_rpc_client::api::client_error::Error as ClientError;
use solana_rpc_client::api::config::{
    CommitmentConfig, RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig,
    RpcSimulateTransactionConfig, RpcTransactionConfig, UiAccountEncoding, UiTransactionEncoding,
};
use solana_rpc_client::api::filter::{Memcmp, MemcmpEncodedBytes, RpcFilterType};
use solana_rpc_client::api::response::{
    UiInnerInstructions, UiInstruction, UiLoadedAddresses, UiParsedInstruction, UiTransactionReturnData,
};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;

use crate::chain::{decode_zero_copy, Chain};
use crate::events::{events_in, LeverEvent};

/// What a simulation reported. `error` is the transaction's error, if it would fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simulation {
    pub error: Option<TransactionError>,
    pub logs: Vec<String>,
    pub return_data: Option<Vec<u8>>,
    pub units_consumed: Option<u64>,
    /// Lever events the simulated run emitted, in order (for a failed run, those emitted before
    /// the failure: none of them would happen). Empty if the cluster reported no inner
    /// instructions.
    pub events: Vec<LeverEvent>,
}

impl Simulation {
    /// The custom program error the simulation failed with (Lever's are 6000 + index).
    pub fn custom_code(&self) -> Option<u32> {
        self.error.as_ref().and_then(custom_code)
    }
}

/// A transaction that landed (executed successfully and confirmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landed {
    pub signature: Signature,
    /// Logs and return data as the cluster reported them (an RPC node may not return them).
    pub logs: Vec<String>,
    pub return_data: Option<Vec<u8>>,
    /// Lever events (`emit_cpi!` inner instructions) the transaction emitted, in order. Empty if
    /// the cluster did not report inner instructions (an RPC node may not).
    pub events: Vec<LeverEvent>,
}

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterError {
    /// The chain refused or failed the transaction (it may have been charged a fee).
    Transaction {
        error: TransactionError,
        logs: Vec<String>,
        signature: Option<Signature>,
    },
    /// Not confirmed before its blockhash expired: it can no longer land. Sign it again on a fresh
    /// blockhash.
    Expired { signature: Signature },
    /// The cluster could not be reached, or answered something unexpected.
    Client(String),
}

impl ClusterError {
    /// The custom program error code (Anchor errors are 6000 + index), if an instruction failed
    /// with one.
    pub fn custom_code(&self) -> Option<u32> {
        match self {
            Self::Transaction { error, .. } => custom_code(error),
            _ => None,
        }
    }

    /// Is this Lever error `e`?
    pub fn is(&self, e: LeverError) -> bool {
        self.custom_code() == Some(u32::from(e))
    }

    /// The blockhash the transaction was signed on is gone: signing again may succeed.
    pub fn is_blockhash_expired(&self) -> bool {
        matches!(
            self,
            Self::Expired { .. }
                | Self::Transaction {
                    error: TransactionError::BlockhashNotFound,
                    ..
                }
        )
    }

    pub fn logs(&self) -> &[String] {
        match self {
            Self::Transaction { logs, .. } => logs,
            _ => &[],
        }
    }

    fn client(context: &str, e: impl std::fmt::Display) -> Self {
        Self::Client(format!("{context}: {e}"))
    }
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transaction { error, .. } => write!(f, "transaction failed: {error}"),
            Self::Expired { signature } => write!(f, "transaction {signature} expired unconfirmed"),
            Self::Client(e) => write!(f, "client: {e}"),
        }
    }
}

impl std::error::Error for ClusterError {}

pub type ClusterResult<T> = Result<T, ClusterError>;

/// The custom program error code of a transaction error, if an instruction failed with one.
pub fn custom_code(error: &TransactionError) -> Option<u32> {
    match error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// What a Lever client needs from a chain.
pub trait Cluster: Send + Sync {
    /// One account, `None` if it does not exist.
    fn account(&self, address: &Pubkey) -> impl Future<Output = ClusterResult<Option<Account>>> + Send;

    /// Several accounts, in order.
    fn accounts(
        &self,
        addresses: &[Pubkey],
    ) -> impl Future<Output = ClusterResult<Vec<Option<Account>>>> + Send;

    /// Every Lever `Market` account the cluster can list, decoded.
    fn markets(&self) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Market)>>> + Send;

    /// The clock programs see (the Clock sysvar): unix time and slot.
    fn clock(&self) -> impl Future<Output = ClusterResult<Now>> + Send;

    fn latest_blockhash(&self) -> impl Future<Output = ClusterResult<Hash>> + Send;

    /// Run the signed transaction against the current state without committing anything.
    fn simulate(&self, tx: &Transaction) -> impl Future<Output = ClusterResult<Simulation>> + Send;

    /// Send the signed transaction and wait until it is confirmed or can no longer land.
    fn send_and_confirm(&self, tx: &Transaction) -> impl Future<Output = ClusterResult<Landed>> + Send;

    /// Wait until the cluster's slot is past `slot`; returns the clock then.
    fn wait_for_slot_after(&self, slot: u64) -> impl Future<Output = ClusterResult<Now>> + Send;
}

impl<C: Cluster> Cluster for &C {
    fn account(&self, address: &Pubkey) -> impl Future<Output = ClusterResult<Option<Account>>> + Send {
        (**self).account(address)
    }
    fn accounts(
        &self,
        addresses: &[Pubkey],
    ) -> impl Future<Output = ClusterResult<Vec<Option<Account>>>> + Send {
        (**self).accounts(addresses)
    }
    fn markets(&self) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Market)>>> + Send {
        (**self).markets()
    }
    fn clock(&self) -> impl Future<Output = ClusterResult<Now>> + Send {
        (**self).clock()
    }
    fn latest_blockhash(&self) -> impl Future<Output = ClusterResult<Hash>> + Send {
        (**self).latest_blockhash()
    }
    fn simulate(&self, tx: &Transaction) -> impl Future<Output = ClusterResult<Simulation>> + Send {
        (**self).simulate(tx)
    }
    fn send_and_confirm(&self, tx: &Transaction) -> impl Future<Output = ClusterResult<Landed>> + Send {
        (**self).send_and_confirm(tx)
    }
    fn wait_for_slot_after(&self, slot: u64) -> impl Future<Output = ClusterResult<Now>> + Send {
        (**self).wait_for_slot_after(slot)
    }
}

/// Sign `ixs` with `payer` (the fee payer) and `signers` on a fresh blockhash, simulate, and send
/// only if the simulation succeeds (a refusal then costs no fee). A blockhash that expires before
/// confirmation is retried once on a new one.
pub async fn submit<C: Cluster>(
    cluster: &C,
    ixs: &[solana_instruction::Instruction],
    payer: &solana_keypair::Keypair,
    signers: &[&solana_keypair::Keypair],
) -> ClusterResult<Landed> {
    use solana_signer::Signer as _;
    let mut all: Vec<&solana_keypair::Keypair> = vec![payer];
    all.extend(signers.iter().copied().filter(|s| s.pubkey() != payer.pubkey()));
    let mut attempt = 0;
    loop {
        let blockhash = cluster.latest_blockhash().await?;
        let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
        let simulation = cluster.simulate(&tx).await?;
        if let Some(error) = simulation.error {
            return Err(ClusterError::Transaction {
                error,
                logs: simulation.logs,
                signature: None,
            });
        }
        match cluster.send_and_confirm(&tx).await {
            Err(e) if e.is_blockhash_expired() && attempt == 0 => attempt += 1,
            other => return other,
        }
    }
}

/// The Lever events among inner instructions compiled against `keys` (the transaction's account
/// keys): each given as (program id index, data).
fn compiled_events(keys: &[Pubkey], inner: impl IntoIterator<Item = (u8, Vec<u8>)>) -> Vec<LeverEvent> {
    events_in(
        inner
            .into_iter()
            .filter_map(|(index, data)| Some((*keys.get(usize::from(index))?, data))),
    )
}

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

/// Decode `account` as a Lever market if it is one (owner, discriminator and size).
pub fn decode_market(account: &Account) -> Option<Market> {
    if account.owner != lever::ID || account.data.len() != Market::SPACE {
        return None;
    }
    decode_zero_copy::<Market>(&account.data).ok()
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
///   was told about ([`Embedded::with_markets`], [`Embedded::watch`]) that exist and decode.
/// - The chain makes no slots by itself (the caller moves its clock): waiting for the next slot
///   makes one ([`Chain::next_slot`]).
/// - Transactions are signed by the caller, so two identical ones on one blockhash would collide
///   (`AlreadyProcessed`); [`Cluster::latest_blockhash`] therefore never hands out a blockhash a
///   sent transaction already used, waiting (tens of ms) for the bank to register a new one.
pub struct Embedded<B = Chain> {
    chain: tokio::sync::Mutex<B>,
    markets: StdMutex<Vec<Pubkey>>,
    spent: StdMutex<HashSet<Hash>>,
    sent: AtomicU64,
    simulated: AtomicU64,
}

impl<B: BorrowMut<Chain> + Send> Embedded<B> {
    pub fn new(chain: B) -> Self {
        Self {
            chain: tokio::sync::Mutex::new(chain),
            markets: StdMutex::new(Vec::new()),
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

    async fn clock(&self) -> ClusterResult<Now> {
        Ok(self.chain().await.clock())
    }

    async fn latest_blockhash(&self) -> ClusterResult<Hash> {
        let chain = self.chain().await;
        let start = Instant::now();
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
        self.process_locked(&mut chain, tx, events).await
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
        let mut chain = self.chain().await;
        self.process_locked(&mut chain, tx, Vec::new()).await
    }

    async fn process_locked(
        &self,
        chain: &mut Chain,
        tx: &Transaction,
        events: Vec<LeverEvent>,
    ) -> ClusterResult<Landed> {
        let signature = tx.signatures.first().copied().unwrap_or_default();
        self.spent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tx.message.recent_blockhash);
        self.sent.fetch_add(1, Ordering::SeqCst);
        chain.transactions += 1;
        let out = chain
            .ctx
            .banks_client
            .process_transaction_with_metadata(tx.clone())
            .await
            .map_err(|e| ClusterError::client("process transaction", e))?;
        let (logs, return_data) = match out.metadata {
            Some(m) => (m.log_messages, m.return_data.map(|r| r.data)),
            None => (Vec::new(), None),
        };
        match out.result {
            Ok(()) => Ok(Landed {
                signature,
                logs,
                return_data,
                events,
            }),
            Err(error) => Err(ClusterError::Transaction {
                error,
                logs,
                signature: Some(signature),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A real cluster over JSON-RPC
// ---------------------------------------------------------------------------------------------

/// The URL for a cluster moniker (`mainnet-beta`, `devnet`, `testnet`, `localhost`); anything else
/// is taken as a URL.
pub fn resolve_url(url_or_moniker: &str) -> String {
    match url_or_moniker {
        "mainnet-beta" => "https://api.mainnet-beta.solana.com".into(),
        "devnet" => "https://api.devnet.solana.com".into(),
        "testnet" => "https://api.testnet.solana.com".into(),
        "localhost" => "http://localhost:8899".into(),
        url => url.into(),
    }
}

/// How often [`RpcCluster`] polls signature statuses and slots.
const RPC_POLL: Duration = Duration::from_millis(400);
/// Longest wait for a confirmation (a blockhash lives ~60-90 s) or a slot.
const RPC_CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);
const RPC_SLOT_TIMEOUT: Duration = Duration::from_secs(30);
/// `getMultipleAccounts` takes at most this many addresses.
const RPC_MAX_MULTIPLE: usize = 100;

/// [`Cluster`] over JSON-RPC. A thin mapping onto `RpcClient` calls, one per method (the markets
/// come from `getProgramAccounts` filtered by the `Market` discriminator and size; the clock from
/// the Clock sysvar account). It is not exercised against a live cluster in this repository.
pub struct RpcCluster {
    client: RpcClient,
    commitment: CommitmentConfig,
}

impl RpcCluster {
    /// A client for `url_or_moniker` (see [`resolve_url`]) at `confirmed` commitment.
    pub fn new(url_or_moniker: &str) -> Self {
        Self::with_commitment(url_or_moniker, CommitmentConfig::confirmed())
    }

    pub fn with_commitment(url_or_moniker: &str, commitment: CommitmentConfig) -> Self {
        Self::from_client(RpcClient::new_with_commitment(
            resolve_url(url_or_moniker),
            commitment,
        ))
    }

    /// Wrap a client (its commitment is used for every read, simulation and confirmation).
    pub fn from_client(client: RpcClient) -> Self {
        let commitment = client.commitment();
        Self { client, commitment }
    }

    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    pub fn url(&self) -> String {
        self.client.url()
    }

    /// Logs, return data and Lever events of a confirmed transaction (best effort: a node may
    /// have none of them).
    async fn details(&self, signature: &Signature) -> (Vec<String>, Option<Vec<u8>>, Vec<LeverEvent>) {
        let config = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            commitment: Some(self.commitment),
            max_supported_transaction_version: Some(0),
        };
        let Ok(tx) = self.client.get_transaction_with_config(signature, config).await else {
            return (Vec::new(), None, Vec::new());
        };
        let Some(meta) = tx.transaction.meta else {
            return (Vec::new(), None, Vec::new());
        };
        let logs = Option::<Vec<String>>::from(meta.log_messages).unwrap_or_default();
        let return_data: Option<UiTransactionReturnData> = meta.return_data.into();
        let return_data =
            return_data.and_then(|r| base64::engine::general_purpose::STANDARD.decode(r.data.0).ok());
        // Inner instructions index the account keys of the message (asked for in base64, so it
        // decodes to the transaction), then the addresses loaded from lookup tables.
        let mut keys = tx
            .transaction
            .transaction
            .decode()
            .map(|t| t.message.static_account_keys().to_vec())
            .unwrap_or_default();
        if let Some(loaded) = Option::<UiLoadedAddresses>::from(meta.loaded_addresses) {
            let parsed: Result<Vec<Pubkey>, _> = loaded
                .writable
                .iter()
                .chain(&loaded.readonly)
                .map(|k| k.parse::<Pubkey>())
                .collect();
            keys.extend(parsed.unwrap_or_default());
        }
        let events = ui_events(&keys, meta.inner_instructions.into());
        (logs, return_data, events)
    }
}

/// The Lever events among inner instructions as an RPC node reports them, in order: compiled
/// against `keys` (or, in `jsonParsed`, partially decoded with their program id), data in base58.
fn ui_events(keys: &[Pubkey], inner: Option<Vec<UiInnerInstructions>>) -> Vec<LeverEvent> {
    let lever = |program_id: Pubkey, data: &str| {
        (program_id == lever::ID).then(|| Some((program_id, base58_decode(data)?)))?
    };
    events_in(
        inner
            .into_iter()
            .flatten()
            .flat_map(|i| i.instructions)
            .filter_map(|ix| match ix {
                UiInstruction::Compiled(c) => lever(*keys.get(usize::from(c.program_id_index))?, &c.data),
                UiInstruction::Parsed(UiParsedInstruction::PartiallyDecoded(p)) => {
                    lever(p.program_id.parse().ok()?, &p.data)
                }
                UiInstruction::Parsed(UiParsedInstruction::Parsed(_)) => None,
            }),
    )
}

/// Base58 as RPC nodes encode instruction data, through the `bs58` the RPC types already use for
/// memcmp filters (this crate has no direct base58 dependency).
fn base58_decode(text: &str) -> Option<Vec<u8>> {
    Memcmp::new(0, MemcmpEncodedBytes::Base58(text.to_owned()))
        .bytes()
        .map(|b| b.into_owned())
}

fn rpc_error(context: &str, e: ClientError) -> ClusterError {
    ClusterError::client(context, e)
}

/// The Clock sysvar's address.
pub const CLOCK_SYSVAR: Pubkey = anchor_lang::prelude::pubkey!("SysvarC1ock11111111111111111111111111111111");

/// Decode the Clock sysvar's bincode layout: slot, epoch start time, epoch, leader schedule epoch,
/// unix time (five little-endian 64-bit fields).
pub fn decode_clock(data: &[u8]) -> Option<Now> {
    let field = |i: usize| -> Option<[u8; 8]> { data.get(8 * i..8 * i + 8)?.try_into().ok() };
    Some(Now {
        slot: u64::from_le_bytes(field(0)?),
        unix_timestamp: i64::from_le_bytes(field(4)?),
    })
}

impl Cluster for RpcCluster {
    async fn account(&self, address: &Pubkey) -> ClusterResult<Option<Account>> {
        self.client
            .get_account_with_commitment(address, self.commitment)
            .await
            .map(|r| r.value)
            .map_err(|e| rpc_error("getAccountInfo", e))
    }

    async fn accounts(&self, addresses: &[Pubkey]) -> ClusterResult<Vec<Option<Account>>> {
        let mut out = Vec::with_capacity(addresses.len());
        for chunk in addresses.chunks(RPC_MAX_MULTIPLE) {
            let r = self
                .client
                .get_multiple_accounts_with_commitment(chunk, self.commitment)
                .await
                .map_err(|e| rpc_error("getMultipleAccounts", e))?;
            out.extend(r.value);
        }
        Ok(out)
    }

    async fn markets(&self) -> ClusterResult<Vec<(Pubkey, Market)>> {
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::DataSize(Market::SPACE as u64),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, Market::DISCRIMINATOR)),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.commitment),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let accounts = self
            .client
            .get_program_ui_accounts_with_config(&lever::ID, config)
            .await
            .map_err(|e| rpc_error("getProgramAccounts", e))?;
        Ok(accounts
            .into_iter()
            .filter_map(|(key, account)| Some((key, decode_market(&account.decode::<Account>()?)?)))
            .collect())
    }

    async fn clock(&self) -> ClusterResult<Now> {
        let account = self
            .account(&CLOCK_SYSVAR)
            .await?
            .ok_or_else(|| ClusterError::Client("the Clock sysvar is missing".into()))?;
        decode_clock(&account.data).ok_or_else(|| ClusterError::Client("malformed Clock sysvar".into()))
    }

    async fn latest_blockhash(&self) -> ClusterResult<Hash> {
        self.client
            .get_latest_blockhash_with_commitment(self.commitment)
            .await
            .map(|(hash, _)| hash)
            .map_err(|e| rpc_error("getLatestBlockhash", e))
    }

    async fn simulate(&self, tx: &Transaction) -> ClusterResult<Simulation> {
        let config = RpcSimulateTransactionConfig {
            sig_verify: false,
            replace_recent_blockhash: false,
            commitment: Some(self.commitment),
            encoding: Some(UiTransactionEncoding::Base64),
            inner_instructions: true,
            ..RpcSimulateTransactionConfig::default()
        };
        let r = self
            .client
            .simulate_transaction_with_config(tx, config)
            .await
            .map_err(|e| rpc_error("simulateTransaction", e))?
            .value;
        Ok(Simulation {
            error: r.err.map(TransactionError::from),
            logs: r.logs.unwrap_or_default(),
            return_data: r
                .return_data
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d.data.0).ok()),
            units_consumed: r.units_consumed,
            events: ui_events(&tx.message.account_keys, r.inner_instructions),
        })
    }

    /// Sent without preflight (the caller simulates first), then polled until the status reaches
    /// the client's commitment or the blockhash expires.
    async fn send_and_confirm(&self, tx: &Transaction) -> ClusterResult<Landed> {
        let config = RpcSendTransactionConfig {
            skip_preflight: true,
            encoding: Some(UiTransactionEncoding::Base64),
            ..RpcSendTransactionConfig::default()
        };
        let signature = match self.client.send_transaction_with_config(tx, config).await {
            Ok(signature) => signature,
            Err(e) => {
                return Err(match e.get_transaction_error() {
                    Some(error) => ClusterError::Transaction {
                        error,
                        logs: Vec::new(),
                        signature: tx.signatures.first().copied(),
                    },
                    None => rpc_error("sendTransaction", e),
                })
            }
        };
        let start = Instant::now();
        loop {
            let statuses = self
                .client
                .get_signature_statuses(&[signature])
                .await
                .map_err(|e| rpc_error("getSignatureStatuses", e))?
                .value;
            if let Some(Some(status)) = statuses.into_iter().next() {
                if status.satisfies_commitment(self.commitment) {
                    let (logs, return_data, events) = self.details(&signature).await;
                    return match status.err {
                        None => Ok(Landed {
                            signature,
                            logs,
                            return_data,
                            events,
                        }),
                        Some(error) => Err(ClusterError::Transaction {
                            error,
                            logs,
                            signature: Some(signature),
                        }),
                    };
                }
            } else {
                let valid = self
                    .client
                    .is_blockhash_valid(&tx.message.recent_blockhash, CommitmentConfig::processed())
                    .await
                    .map_err(|e| rpc_error("isBlockhashValid", e))?;
                if !valid {
                    return Err(ClusterError::Expired { signature });
                }
            }
            if start.elapsed() > RPC_CONFIRM_TIMEOUT {
                return Err(ClusterError::Client(format!(
                    "{signature} not confirmed after {RPC_CONFIRM_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(RPC_POLL).await;
        }
    }

    async fn wait_for_slot_after(&self, slot: u64) -> ClusterResult<Now> {
        let start = Instant::now();
        loop {
            let now = self.clock().await?;
            if now.slot > slot {
                return Ok(now);
            }
            if start.elapsed() > RPC_SLOT_TIMEOUT {
                return Err(ClusterError::Client(format!(
                    "slot still {} after {RPC_SLOT_TIMEOUT:?}",
                    now.slot
                )));
            }
            tokio::time::sleep(RPC_POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_resolve_to_the_standard_urls() {
        assert_eq!(resolve_url("mainnet-beta"), "https://api.mainnet-beta.solana.com");
        assert_eq!(resolve_url("devnet"), "https://api.devnet.solana.com");
        assert_eq!(resolve_url("testnet"), "https://api.testnet.solana.com");
        assert_eq!(resolve_url("localhost"), "http://localhost:8899");
        assert_eq!(
            resolve_url("https://rpc.example:8899"),
            "https://rpc.example:8899"
        );
        assert_eq!(RpcCluster::new("devnet").url(), "https://api.devnet.solana.com");
    }

    #[test]
    fn clock_sysvar_layout() {
        let mut data = Vec::new();
        for v in [77u64, 1, 2, 3] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&1_735_689_600i64.to_le_bytes());
        assert_eq!(
            decode_clock(&data),
            Some(Now {
                slot: 77,
                unix_timestamp: 1_735_689_600
            })
        );
        assert_eq!(decode_clock(&data[..39]), None);
    }

    #[test]
    fn custom_codes_and_expiry() {
        let e = ClusterError::Transaction {
            error: TransactionError::InstructionError(2, InstructionError::Custom(6038)),
            logs: vec![],
            signature: None,
        };
        assert_eq!(e.custom_code(), Some(6038));
        assert!(e.is(LeverError::WithinBand));
        assert!(!e.is_blockhash_expired());
        assert!(ClusterError::Expired {
            signature: Signature::default()
        }
        .is_blockhash_expired());
    }

    // RpcCluster against solana-rpc-client's mock sender: canned JSON answers, so these check the
    // decoding of each answer, not the requests a real node would see.

    fn account_json(owner: &Pubkey, data: &[u8]) -> serde_json::Value {
        serde_json::json!({
            "lamports": 1_000_000,
            "data": [base64::engine::general_purpose::STANDARD.encode(data), "base64"],
            "owner": owner.to_string(),
            "executable": false,
            "rentEpoch": 0,
            "space": data.len(),
        })
    }

    fn signed_tx() -> Transaction {
        use solana_signer::Signer as _;
        let payer = solana_keypair::Keypair::new();
        let ix = crate::ix::rebalance(payer.pubkey(), Pubkey::new_unique(), Pubkey::new_unique());
        Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[&payer], Hash::default())
    }

    #[tokio::test]
    async fn rpc_answers_decode() {
        use solana_rpc_client::api::request::RpcRequest;
        use solana_rpc_client::api::response::RpcSimulateTransactionResult;

        let mut market: Market = bytemuck::Zeroable::zeroed();
        market.target_leverage_ppm = 3_000_000;
        let mut data = Market::DISCRIMINATOR.to_vec();
        data.extend_from_slice(bytemuck::bytes_of(&market));
        let key = Pubkey::new_unique();
        let mut clock = Vec::new();
        for v in [42u64, 0, 0, 0, 1_735_689_600] {
            clock.extend_from_slice(&v.to_le_bytes());
        }
        let simulation = RpcSimulateTransactionResult {
            err: Some(TransactionError::InstructionError(2, InstructionError::Custom(6038)).into()),
            logs: Some(vec!["Program log: WithinBand".into()]),
            accounts: None,
            units_consumed: Some(1234),
            loaded_accounts_data_size: None,
            return_data: None,
            inner_instructions: None,
            replacement_blockhash: None,
            fee: None,
            pre_balances: None,
            post_balances: None,
            pre_token_balances: None,
            post_token_balances: None,
            loaded_addresses: None,
        };
        let mocks = [
            (
                RpcRequest::GetProgramAccounts,
                serde_json::json!([
                    {"pubkey": key.to_string(), "account": account_json(&lever::ID, &data)},
                    // Same size, another owner: not a market.
                    {"pubkey": Pubkey::new_unique().to_string(), "account": account_json(&Pubkey::new_unique(), &data)},
                ]),
            ),
            (
                RpcRequest::GetAccountInfo,
                serde_json::json!({"context": {"slot": 42}, "value": account_json(&CLOCK_SYSVAR, &clock)}),
            ),
            (
                RpcRequest::SimulateTransaction,
                serde_json::json!({"context": {"slot": 42}, "value": simulation}),
            ),
        ]
        .into_iter()
        .collect();
        let rpc = RpcCluster::from_client(RpcClient::new_mock_with_mocks("succeeds".into(), mocks));
        let markets = rpc.markets().await.expect("markets");
        assert_eq!(markets.len(), 1);
        assert_eq!(markets[0].0, key);
        assert_eq!(markets[0].1.target_leverage_ppm, 3_000_000);
        assert_eq!(
            rpc.clock().await.expect("clock"),
            Now {
                slot: 42,
                unix_timestamp: 1_735_689_600
            }
        );
        let sim = rpc.simulate(&signed_tx()).await.expect("simulate");
        assert_eq!(sim.custom_code(), Some(6038));
        assert_eq!(sim.units_consumed, Some(1234));
        assert_eq!(sim.logs, ["Program log: WithinBand"]);
    }

    #[tokio::test]
    async fn rpc_events_decode_from_inner_instructions() {
        use anchor_lang::Event as _;
        use solana_rpc_client::api::request::RpcRequest;

        let tx = signed_tx();
        let keys = &tx.message.account_keys;
        let lever_index = keys.iter().position(|k| *k == lever::ID).expect("lever in keys");
        let event = lever::events::LtMinted {
            market: Pubkey::new_unique(),
            user: keys[0],
            units_in: 1_000_000_000,
            fee_units: 3_000,
            shares_out: 999_997_000,
            from_idle: 2_000_000_000,
            debt_added: 200_000_000_000_000_000_000,
            price: 100_000_000_000_000_000_000,
            pool: lever::events::PoolSnapshot {
                exposure: 3_000_000_000,
                debt: 200_000_000_000_000_000_000,
                idle: 8_000_000_000,
                fee_units: 3_000,
                lt_supply: 999_997_000,
                ft_supply: 10_000_000_000,
            },
        };
        let mut data = anchor_lang::event::EVENT_IX_TAG_LE.to_vec();
        data.extend(event.data());
        let mut unknown = data.clone();
        unknown[8] ^= 0xff;
        let base58 = |bytes: &[u8]| {
            serde_json::to_value(Memcmp::new_base58_encoded(0, bytes)).expect("memcmp")["bytes"]
                .as_str()
                .expect("base58")
                .to_owned()
        };
        let inner = |index: usize, data: &[u8]| {
            serde_json::json!({
                "programIdIndex": index,
                "accounts": [],
                "data": base58(data),
                "stackHeight": 2,
            })
        };
        // The event, then the same bytes from another program, an unknown Lever event and an
        // index past the keys: only the first is Lever's.
        let inner_instructions = serde_json::json!([{"index": 0, "instructions": [
            inner(lever_index, &data),
            inner(0, &data),
            inner(lever_index, &unknown),
            inner(keys.len(), &data),
        ]}]);
        // The legacy wire format: signature count (one byte below 128), signatures, message.
        let mut wire = vec![u8::try_from(tx.signatures.len()).expect("few signatures")];
        for signature in &tx.signatures {
            wire.extend_from_slice(signature.as_ref());
        }
        wire.extend(tx.message_data());
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let get_transaction = serde_json::json!({
            "slot": 5,
            "blockTime": null,
            "version": "legacy",
            "transaction": [b64(&wire), "base64"],
            "meta": {
                "err": null,
                "status": {"Ok": null},
                "fee": 5000,
                "preBalances": [],
                "postBalances": [],
                "innerInstructions": inner_instructions,
                "logMessages": ["Program log: minted"],
                "loadedAddresses": {"writable": [], "readonly": []},
                "returnData": {"programId": lever::ID.to_string(), "data": [b64(&[7, 8]), "base64"]},
            },
        });
        let simulation = serde_json::json!({
            "context": {"slot": 5},
            "value": {"err": null, "logs": [], "accounts": null, "unitsConsumed": 10,
                      "returnData": null, "innerInstructions": inner_instructions},
        });
        let mocks = [
            (RpcRequest::GetTransaction, get_transaction),
            (RpcRequest::SimulateTransaction, simulation),
        ]
        .into_iter()
        .collect();
        let rpc = RpcCluster::from_client(RpcClient::new_mock_with_mocks("succeeds".into(), mocks));

        let expected = crate::events::LeverEvent::from(event);
        let landed = rpc.send_and_confirm(&tx).await.expect("landed");
        assert_eq!(landed.logs, ["Program log: minted"]);
        assert_eq!(landed.return_data, Some(vec![7, 8]));
        assert_eq!(landed.events, std::slice::from_ref(&expected));
        let got = crate::events::find::<lever::events::LtMinted>(&landed.events).expect("LtMinted");
        assert_eq!(got.units_in, 1_000_000_000);
        assert_eq!(got.shares_out, 999_997_000);
        assert_eq!(got.user, keys[0]);
        assert_eq!(got.pool.debt, 200_000_000_000_000_000_000);

        let sim = rpc.simulate(&tx).await.expect("simulate");
        assert_eq!(sim.error, None);
        assert_eq!(sim.events, [expected]);
    }

    #[tokio::test]
    async fn rpc_send_and_confirm_maps_the_status() {
        let tx = signed_tx();
        let ok = RpcCluster::from_client(RpcClient::new_mock("succeeds".into()));
        let landed = ok.send_and_confirm(&tx).await.expect("landed");
        assert_eq!(landed.signature, tx.signatures[0]);
        // The mock answers getTransaction in JSON and with no inner instructions: no events.
        assert!(landed.events.is_empty());
        let refused = RpcCluster::from_client(RpcClient::new_mock("instruction_error".into()));
        match refused.send_and_confirm(&tx).await {
            Err(ClusterError::Transaction {
                error: TransactionError::InstructionError(0, InstructionError::UninitializedAccount),
                signature,
                ..
            }) => assert_eq!(signature, Some(tx.signatures[0])),
            other => panic!("expected the status' error, got {other:?}"),
        }
    }
}
