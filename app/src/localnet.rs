//! A local JSON-RPC node over the embedded chain: the `lever` binary (and anything else built on
//! `solana_rpc_client`) runs against it offline, exactly as against a cluster.
//!
//! [`Localnet`] serves an [`Embedded<Chain>`] over HTTP/1.1 (a small hand-rolled server on a Tokio
//! `TcpListener`: `Content-Length` bodies, keep-alive, batches) and answers the JSON-RPC methods
//! [`RpcCluster`](crate::cluster::RpcCluster) and `RpcClient` call, with the response types of
//! `solana_rpc_client::api` serialized as a validator would:
//!
//! | method | what it does here |
//! |---|---|
//! | `getAccountInfo`, `getMultipleAccounts` | the bank's accounts, `base64` (or `base58`) with `dataSlice` |
//! | `getProgramAccounts` | the markets the [`Embedded`] watches (the bank cannot list by owner), `dataSize`/`memcmp` filters applied; every market a transaction creates is watched |
//! | `getLatestBlockhash`, `isBlockhashValid` | the bank's blockhash queue (never a blockhash a sent transaction used, see [`Embedded`]) |
//! | `simulateTransaction` | the bank's simulation: logs, units, return data, inner instructions, fee; `sigVerify`, `replaceRecentBlockhash` |
//! | `sendTransaction` | verified, preflighted unless `skipPreflight`, processed at once; the outcome is kept by signature |
//! | `getSignatureStatuses`, `getTransaction` | from the outcomes kept: finalized, with logs, return data, inner instructions, fee, balances |
//! | `getSlot`, `getBlockHeight`, `getBalance`, `getMinimumBalanceForRentExemption`, `getVersion`, `getHealth`, `getGenesisHash`, `requestAirdrop` (from the chain's payer) | |
//!
//! Anything else is answered with JSON-RPC error -32601. There is one bank and no forks: every
//! commitment reads the same state, and every transaction that landed is `finalized` at once.
//! Only legacy transactions are accepted (`lever` sends no other).
//!
//! Time: the chain's clock moves only when told ([`Localnet::advance`], [`Localnet::set_price`]),
//! so a price never goes stale by itself. Slots do move: one after every transaction, one every
//! [`LocalnetOptions::slot_interval`] (like a validator's 400 ms), and up to a request's
//! `minContextSlot`, so a client waiting for the next slot (`RpcCluster::wait_for_slot_after`)
//! gets it.
//!
//! [`demo`] builds the chain for a README session: a config, one SOL 3x market priced at Pyth's
//! sponsored SOL/USD account, funding, an LT holder and a user wallet.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use anyhow::{anyhow, Context as _};
use base64::Engine as _;
use lever::constants::PPM;
use lever::oracle::Now;
use lever::state::MarketParams;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_rpc_client::api::config::{
    RpcAccountInfoConfig, RpcContextConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig,
    RpcSignatureStatusConfig, RpcSimulateTransactionConfig, RpcTransactionConfig, UiTransactionEncoding,
};
use solana_rpc_client::api::filter::{Memcmp, MemcmpEncodedBytes, RpcFilterType};
use solana_rpc_client::api::response::transaction::versioned::TransactionVersion;
use solana_rpc_client::api::response::{
    EncodedTransaction, EncodedTransactionWithStatusMeta, OptionSerializer, Response, RpcBlockhash,
    RpcKeyedAccount, RpcResponseContext, RpcSimulateTransactionResult, RpcVersionInfo,
    TransactionBinaryEncoding, UiAccount, UiAccountData, UiAccountEncoding, UiCompiledInstruction,
    UiInnerInstructions, UiInstruction, UiLoadedAddresses, UiReturnDataEncoding, UiTransactionReturnData,
    UiTransactionStatusMeta,
};
use solana_signer::Signer as _;
use solana_transaction::{CompiledInstruction, Hash, Message, Signature, Transaction};
use solana_transaction_error::TransactionError;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::chain::Chain;
use crate::cluster::{decode_market, Cluster, ClusterError, Embedded};
use crate::keeper::sponsored_feed_address;
use crate::local::{LocalMarket, MarketSpec};
use crate::pda::MarketKeys;
use crate::pyth::{PriceInput, SOL_USD_FEED_ID};

/// The solana-core version `getVersion` reports (the crates this node is built from).
pub const VERSION: &str = "3.1.12";

/// Largest request body accepted (a transaction is at most 1232 bytes; batches stay far below).
const MAX_BODY: usize = 16 << 20;
/// Largest request head (request line and headers).
const MAX_HEAD: usize = 64 << 10;
/// `getMultipleAccounts` and `getSignatureStatuses` take at most this many keys, as a validator.
const MAX_MULTIPLE_ACCOUNTS: usize = 100;
const MAX_SIGNATURE_STATUSES: usize = 256;
/// `minContextSlot` is reached by making slots, at most this many per request.
const MAX_SLOTS_MADE: u64 = 10_000;

/// How the node runs.
#[derive(Clone, Debug)]
pub struct LocalnetOptions {
    /// A new slot this often (`None`: only after transactions and for `minContextSlot`).
    pub slot_interval: Option<Duration>,
}

impl Default for LocalnetOptions {
    fn default() -> Self {
        Self {
            slot_interval: Some(Duration::from_millis(400)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The handle
// ---------------------------------------------------------------------------------------------

/// A running node. Dropping it stops the server (its connections are closed); [`Localnet::stop`]
/// also waits for it.
pub struct Localnet {
    node: Arc<Node>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Localnet {
    /// Bind `addr` (port 0 picks a free port) and serve `cluster` with the default options.
    pub async fn start(cluster: Arc<Embedded<Chain>>, addr: SocketAddr) -> io::Result<Self> {
        Self::start_with(cluster, addr, LocalnetOptions::default()).await
    }

    pub async fn start_with(
        cluster: Arc<Embedded<Chain>>,
        addr: SocketAddr,
        options: LocalnetOptions,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let node = Arc::new(Node::new(cluster));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(node.clone(), listener, options, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            node,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// [`demo`] served at `addr`, its market watched.
    pub async fn demo(addr: SocketAddr) -> anyhow::Result<(Self, Demo)> {
        let (chain, demo) = demo().await?;
        let cluster = Arc::new(Embedded::new(chain).with_markets([demo.market]));
        let net = Self::start(cluster, addr)
            .await
            .with_context(|| format!("bind {addr}"))?;
        Ok((net, demo))
    }

    /// `http://ADDRESS:PORT`, for `-u`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The chain being served (read it, or write to it while the node runs).
    pub fn cluster(&self) -> &Arc<Embedded<Chain>> {
        &self.node.cluster
    }

    /// Transactions `sendTransaction` processed (landed or failed on chain).
    pub fn processed(&self) -> usize {
        self.node.records().len()
    }

    /// The chain's clock.
    pub async fn clock(&self) -> Now {
        self.node.cluster.chain().await.clock()
    }

    /// Move the chain's clock `secs` seconds forward, in a new slot.
    pub async fn advance(&self, secs: i64) -> Now {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        let to = chain.now() + secs;
        chain.set_time(to);
        chain.clock()
    }

    /// Start a new slot at the same time.
    pub async fn next_slot(&self) -> Now {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        chain.next_slot();
        chain.clock()
    }

    /// Write a `PriceUpdateV2` at `account` (in a new slot).
    pub async fn write_price(&self, account: &Pubkey, input: &PriceInput) {
        let _w = self.node.writes.lock().await;
        self.node.cluster.chain().await.write_price(account, input);
    }

    /// Publish `usd` for `feed_id` at `account`, published now, confidence [`DEMO_CONF_RATIO`].
    pub async fn set_price(&self, account: &Pubkey, feed_id: [u8; 32], usd: f64) -> PriceInput {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        let input = PriceInput::usd(feed_id, usd, DEMO_CONF_RATIO, chain.now());
        chain.write_price(account, &input);
        input
    }

    /// Stop serving and wait for the server to finish.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serve `cluster` at `addr` until `shutdown` resolves (then every connection is closed).
pub async fn serve(
    cluster: Arc<Embedded<Chain>>,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(cluster, addr, LocalnetOptions::default(), shutdown).await
}

pub async fn serve_with(
    cluster: Arc<Embedded<Chain>>,
    addr: SocketAddr,
    options: LocalnetOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    run(Arc::new(Node::new(cluster)), listener, options, shutdown).await
}

async fn run(
    node: Arc<Node>,
    listener: TcpListener,
    options: LocalnetOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut tasks = JoinSet::new();
    if let Some(interval) = options.slot_interval.filter(|d| !d.is_zero()) {
        let node = node.clone();
        tasks.spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let _w = node.writes.lock().await;
                node.cluster.chain().await.next_slot();
            }
        });
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let node = node.clone();
                    tasks.spawn(async move {
                        // A connection that breaks only ends itself.
                        let _ = connection(node, stream).await;
                    });
                }
                // Out of descriptors and the like: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1
// ---------------------------------------------------------------------------------------------

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

/// Requests on one connection, one at a time, until the client closes it or asks to.
async fn connection(node: Arc<Node>, stream: TcpStream) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let request = match read_request(&mut reader, &mut write).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(HttpError { status, message }) => {
                let _ = respond(&mut write, status, "text/plain", message.as_bytes(), true).await;
                return Ok(());
            }
        };
        let (status, content_type, body) = match (request.method.as_str(), request.path.as_str()) {
            ("POST", _) => (200, "application/json", node.handle_body(&request.body).await),
            ("GET", "/health") => (200, "text/plain", b"ok".to_vec()),
            ("GET", _) => (404, "text/plain", b"not found".to_vec()),
            _ => (405, "text/plain", b"method not allowed".to_vec()),
        };
        respond(&mut write, status, content_type, &body, request.close).await?;
        if request.close {
            return Ok(());
        }
    }
}

struct HttpError {
    status: u16,
    message: String,
}

impl HttpError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// The next request, `None` at a clean end of the stream.
async fn read_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
) -> Result<Option<Request>, HttpError> {
    let mut head = 0usize;
    let mut line = String::new();
    // Blank lines before a request are allowed (RFC 9112 §2.2).
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .await
            .map_err(|e| HttpError::new(400, e.to_string()))?;
        if n == 0 {
            return Ok(None);
        }
        head += n;
        if head > MAX_HEAD {
            return Err(HttpError::new(431, "request head too large"));
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(HttpError::new(400, "malformed request line"));
    };
    let (method, path) = (method.to_string(), path.to_string());
    let http10 = version.eq_ignore_ascii_case("HTTP/1.0");
    let mut content_length = None;
    let mut chunked = false;
    let mut connection = String::new();
    let mut expect_continue = false;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .await
            .map_err(|e| HttpError::new(400, e.to_string()))?;
        if n == 0 {
            return Err(HttpError::new(400, "connection closed in the headers"));
        }
        head += n;
        if head > MAX_HEAD {
            return Err(HttpError::new(431, "request head too large"));
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(HttpError::new(400, "malformed header"));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => {
                content_length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| HttpError::new(400, "bad content-length"))?,
                )
            }
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => connection = value.to_ascii_lowercase(),
            "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
    }
    if chunked {
        return Err(HttpError::new(501, "chunked request bodies are not supported"));
    }
    let length = match (content_length, method.as_str()) {
        (Some(n), _) => n,
        (None, "POST") => return Err(HttpError::new(411, "content-length required")),
        (None, _) => 0,
    };
    if length > MAX_BODY {
        return Err(HttpError::new(413, "request body too large"));
    }
    if expect_continue {
        write
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|e| HttpError::new(400, e.to_string()))?;
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|e| HttpError::new(400, e.to_string()))?;
    let close = connection.contains("close") || (http10 && !connection.contains("keep-alive"));
    Ok(Some(Request {
        method,
        path,
        body,
        close,
    }))
}

async fn respond(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    status: u16,
    content_type: &str,
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: {}\r\n\r\n",
        body.len(),
        if close { "close" } else { "keep-alive" }
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    write.write_all(&out).await?;
    write.flush().await
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC
// ---------------------------------------------------------------------------------------------

/// A JSON-RPC error.
#[derive(Debug)]
struct RpcErr {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcErr {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(-32602, message)
    }

    fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(-32603, format!("Internal error: {message}"))
    }

    fn cluster(e: ClusterError) -> Self {
        Self::internal(e)
    }

    fn to_json(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            e["data"] = data.clone();
        }
        e
    }
}

/// The bank's simulation, in the RPC types.
struct Simulated {
    result: Result<(), TransactionError>,
    logs: Vec<String>,
    units_consumed: u64,
    loaded_accounts_data_size: Option<u32>,
    return_data: Option<(Pubkey, Vec<u8>)>,
    inner: Option<Vec<UiInnerInstructions>>,
}

/// What a processed transaction left, by signature.
struct Record {
    slot: u64,
    block_time: i64,
    tx: Transaction,
    err: Option<TransactionError>,
    logs: Vec<String>,
    return_data: Option<(Pubkey, Vec<u8>)>,
    inner: Option<Vec<UiInnerInstructions>>,
    units: Option<u64>,
    fee: u64,
    pre_balances: Vec<u64>,
    post_balances: Vec<u64>,
}

struct Node {
    cluster: Arc<Embedded<Chain>>,
    /// Held by everything that changes the chain (transactions, slots, prices), so a
    /// transaction's preflight and processing see the same state.
    writes: tokio::sync::Mutex<()>,
    records: StdMutex<HashMap<Signature, Arc<Record>>>,
}

fn to_json<T: serde::Serialize>(value: T) -> Result<Value, RpcErr> {
    serde_json::to_value(value).map_err(RpcErr::internal)
}

/// Parameter `i`, `None` when absent or null.
fn param<T: DeserializeOwned>(params: &Value, i: usize) -> Result<Option<T>, RpcErr> {
    match params.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| RpcErr::invalid_params(format!("Invalid params: parameter {i}: {e}"))),
    }
}

fn required<T: DeserializeOwned>(params: &Value, i: usize, what: &str) -> Result<T, RpcErr> {
    param(params, i)?.ok_or_else(|| RpcErr::invalid_params(format!("Invalid params: missing {what}")))
}

fn pubkey(text: &str) -> Result<Pubkey, RpcErr> {
    Pubkey::from_str(text).map_err(|e| RpcErr::invalid_params(format!("Invalid param: {text}: {e}")))
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base58 through the encoder the RPC types already carry (this crate has no base58 dependency).
fn base58(bytes: &[u8]) -> String {
    UiCompiledInstruction::from(
        &CompiledInstruction::new_from_raw_parts(0, bytes.to_vec(), vec![]),
        None,
    )
    .data
}

fn base58_decode(text: &str) -> Option<Vec<u8>> {
    Memcmp::new(0, MemcmpEncodedBytes::Base58(text.to_owned()))
        .bytes()
        .map(|b| b.into_owned())
}

/// An account as `getAccountInfo` returns it: base58 when asked for it, base64 otherwise (also for
/// `base64+zstd` and `jsonParsed`, which a validator too falls back from; clients decode by the
/// encoding returned).
fn ui_account(account: &Account, config: &RpcAccountInfoConfig) -> UiAccount {
    let data = match &config.data_slice {
        Some(s) => {
            let start = s.offset.min(account.data.len());
            let end = s.offset.saturating_add(s.length).min(account.data.len());
            &account.data[start..end]
        }
        None => &account.data[..],
    };
    let data = match config.encoding {
        Some(UiAccountEncoding::Binary) => UiAccountData::LegacyBinary(base58(data)),
        Some(UiAccountEncoding::Base58) => UiAccountData::Binary(base58(data), UiAccountEncoding::Base58),
        _ => UiAccountData::Binary(base64(data), UiAccountEncoding::Base64),
    };
    UiAccount {
        lamports: account.lamports,
        data,
        owner: account.owner.to_string(),
        executable: account.executable,
        rent_epoch: account.rent_epoch,
        space: Some(account.data.len() as u64),
    }
}

fn filters_match(filters: &[RpcFilterType], data: &[u8]) -> Result<bool, RpcErr> {
    for filter in filters {
        let ok = match filter {
            RpcFilterType::DataSize(size) => data.len() as u64 == *size,
            RpcFilterType::Memcmp(m) => m.bytes_match(data),
            RpcFilterType::TokenAccountState => {
                return Err(RpcErr::invalid_params(
                    "tokenAccountState filters are not supported by this node",
                ))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ui_return_data(program_id: &Pubkey, data: &[u8]) -> UiTransactionReturnData {
    UiTransactionReturnData {
        program_id: program_id.to_string(),
        data: (base64(data), UiReturnDataEncoding::Base64),
    }
}

/// Transactions that fail this way were executed and committed (the fee was charged): they get a
/// status. Others (bad blockhash, signature, fee payer, ...) never land.
fn lands_with_error(error: &TransactionError, logs: &[String]) -> bool {
    matches!(
        error,
        TransactionError::InstructionError(..) | TransactionError::InsufficientFundsForRent { .. }
    ) || !logs.is_empty()
}

/// The legacy wire format: compact-u16 signature count, signatures, then the message.
pub fn encode_transaction(tx: &Transaction) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 64 * tx.signatures.len() + 512);
    put_short_u16(&mut out, tx.signatures.len());
    for s in &tx.signatures {
        out.extend_from_slice(s.as_ref());
    }
    out.extend(tx.message_data());
    out
}

fn put_short_u16(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        byte |= 0x80;
        out.push(byte);
    }
}

/// Decode a legacy transaction in the wire format (versioned transactions are refused).
pub fn decode_transaction(bytes: &[u8]) -> Result<Transaction, String> {
    let mut r = Reader { bytes, pos: 0 };
    let count = r.short_u16()?;
    let mut signatures = Vec::with_capacity(count);
    for _ in 0..count {
        let raw: [u8; 64] = r.take(64)?.try_into().map_err(|_| "signature")?;
        signatures.push(Signature::from(raw));
    }
    let first = r.u8()?;
    if first & 0x80 != 0 {
        return Err(format!(
            "versioned transactions (v{}) are not supported by this node",
            first & 0x7f
        ));
    }
    let (required, readonly_signed, readonly_unsigned) = (first, r.u8()?, r.u8()?);
    let key_count = r.short_u16()?;
    let mut keys = Vec::with_capacity(key_count);
    for _ in 0..key_count {
        let raw: [u8; 32] = r.take(32)?.try_into().map_err(|_| "key")?;
        keys.push(Pubkey::new_from_array(raw));
    }
    let blockhash: [u8; 32] = r.take(32)?.try_into().map_err(|_| "blockhash")?;
    let ix_count = r.short_u16()?;
    let mut instructions = Vec::with_capacity(ix_count);
    for _ in 0..ix_count {
        let program = r.u8()?;
        let n = r.short_u16()?;
        let accounts = r.take(n)?.to_vec();
        let n = r.short_u16()?;
        let data = r.take(n)?.to_vec();
        instructions.push(CompiledInstruction::new_from_raw_parts(program, data, accounts));
    }
    if r.pos != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - r.pos));
    }
    Ok(Transaction {
        signatures,
        message: Message::new_with_compiled_instructions(
            required,
            readonly_signed,
            readonly_unsigned,
            keys,
            Hash::new_from_array(blockhash),
            instructions,
        ),
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| "transaction too short".to_string())?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn short_u16(&mut self) -> Result<usize, String> {
        let mut value = 0usize;
        for i in 0..3 {
            let byte = self.u8()?;
            value |= usize::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return if value <= usize::from(u16::MAX) {
                    Ok(value)
                } else {
                    Err("compact-u16 overflow".into())
                };
            }
        }
        Err("compact-u16 too long".into())
    }
}

fn decode_wire(encoded: &str, encoding: Option<UiTransactionEncoding>) -> Result<Transaction, RpcErr> {
    let bytes = match encoding.unwrap_or(UiTransactionEncoding::Base58) {
        UiTransactionEncoding::Base58 | UiTransactionEncoding::Binary => base58_decode(encoded),
        UiTransactionEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(encoded).ok(),
        other => {
            return Err(RpcErr::invalid_params(format!(
                "unsupported encoding: {other}. Supported encodings: base58, base64"
            )))
        }
    }
    .ok_or_else(|| RpcErr::invalid_params("invalid transaction encoding"))?;
    decode_transaction(&bytes)
        .map_err(|e| RpcErr::invalid_params(format!("failed to deserialize transaction: {e}")))
}

/// The transaction in the requested encoding (`json`/`jsonParsed`: the raw message as JSON).
fn encode_for(tx: &Transaction, encoding: UiTransactionEncoding) -> Result<Value, RpcErr> {
    Ok(match encoding {
        UiTransactionEncoding::Base64 => to_json(EncodedTransaction::Binary(
            base64(&encode_transaction(tx)),
            TransactionBinaryEncoding::Base64,
        ))?,
        UiTransactionEncoding::Base58 => to_json(EncodedTransaction::Binary(
            base58(&encode_transaction(tx)),
            TransactionBinaryEncoding::Base58,
        ))?,
        UiTransactionEncoding::Binary => {
            to_json(EncodedTransaction::LegacyBinary(base58(&encode_transaction(tx))))?
        }
        UiTransactionEncoding::Json | UiTransactionEncoding::JsonParsed => {
            let m = &tx.message;
            json!({
                "signatures": tx.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "message": {
                    "header": {
                        "numRequiredSignatures": m.header.num_required_signatures,
                        "numReadonlySignedAccounts": m.header.num_readonly_signed_accounts,
                        "numReadonlyUnsignedAccounts": m.header.num_readonly_unsigned_accounts,
                    },
                    "accountKeys": m.account_keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "recentBlockhash": m.recent_blockhash.to_string(),
                    "instructions": m
                        .instructions
                        .iter()
                        .map(|i| UiCompiledInstruction::from(i, Some(1)))
                        .collect::<Vec<_>>(),
                },
            })
        }
    })
}

impl Node {
    fn new(cluster: Arc<Embedded<Chain>>) -> Self {
        Self {
            cluster,
            writes: tokio::sync::Mutex::new(()),
            records: StdMutex::new(HashMap::new()),
        }
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<Signature, Arc<Record>>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One HTTP body: a request or a batch.
    async fn handle_body(&self, body: &[u8]) -> Vec<u8> {
        let answer = match serde_json::from_slice::<Value>(body) {
            Err(e) => error_response(Value::Null, &RpcErr::new(-32700, format!("Parse error: {e}"))),
            Ok(Value::Array(batch)) if batch.is_empty() => {
                error_response(Value::Null, &RpcErr::new(-32600, "Invalid request: empty batch"))
            }
            Ok(Value::Array(batch)) => {
                let mut out = Vec::with_capacity(batch.len());
                for request in batch {
                    out.push(self.handle_one(request).await);
                }
                Value::Array(out)
            }
            Ok(request) => self.handle_one(request).await,
        };
        serde_json::to_vec(&answer).unwrap_or_default()
    }

    async fn handle_one(&self, request: Value) -> Value {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            return error_response(id, &RpcErr::new(-32600, "Invalid request"));
        };
        let params = request.get("params").cloned().unwrap_or(Value::Null);
        match self.call(method, &params).await {
            Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
            Err(e) => error_response(id, &e),
        }
    }

    async fn call(&self, method: &str, params: &Value) -> Result<Value, RpcErr> {
        match method {
            "getAccountInfo" => self.get_account_info(params).await,
            "getMultipleAccounts" => self.get_multiple_accounts(params).await,
            "getProgramAccounts" => self.get_program_accounts(params).await,
            "getLatestBlockhash" => self.get_latest_blockhash(params).await,
            "isBlockhashValid" => self.is_blockhash_valid(params).await,
            "simulateTransaction" => self.simulate_transaction(params).await,
            "sendTransaction" => self.send_transaction(params).await,
            "getSignatureStatuses" => self.get_signature_statuses(params).await,
            "getTransaction" => self.get_transaction(params).await,
            "getSlot" => {
                let config: RpcContextConfig = param(params, 0)?.unwrap_or_default();
                self.reach(config.min_context_slot).await?;
                to_json(self.slot().await)
            }
            "getBlockHeight" => {
                let config: RpcContextConfig = param(params, 0)?.unwrap_or_default();
                self.reach(config.min_context_slot).await?;
                let chain = self.cluster.chain().await;
                let height = chain
                    .ctx
                    .banks_client
                    .get_root_block_height()
                    .await
                    .map_err(RpcErr::internal)?;
                to_json(height)
            }
            "getBalance" => {
                let key = pubkey(&required::<String>(params, 0, "pubkey")?)?;
                let config: RpcContextConfig = param(params, 1)?.unwrap_or_default();
                self.reach(config.min_context_slot).await?;
                let lamports = self
                    .cluster
                    .account(&key)
                    .await
                    .map_err(RpcErr::cluster)?
                    .map_or(0, |a| a.lamports);
                self.with_context(lamports).await
            }
            "getMinimumBalanceForRentExemption" => {
                let space: usize = required(params, 0, "data length")?;
                let mut chain = self.cluster.chain().await;
                to_json(chain.rent(space).await.map_err(RpcErr::internal)?)
            }
            "getVersion" => to_json(RpcVersionInfo {
                solana_core: VERSION.to_string(),
                feature_set: None,
            }),
            "getHealth" => Ok(json!("ok")),
            "getGenesisHash" => {
                let chain = self.cluster.chain().await;
                to_json(chain.ctx.genesis_config().hash().to_string())
            }
            "requestAirdrop" => self.request_airdrop(params).await,
            _ => Err(RpcErr::new(-32601, "Method not found")),
        }
    }

    async fn slot(&self) -> u64 {
        self.cluster.chain().await.clock().slot
    }

    async fn with_context<T: serde::Serialize>(&self, value: T) -> Result<Value, RpcErr> {
        to_json(Response {
            context: RpcResponseContext::new(self.slot().await),
            value,
        })
    }

    /// Make slots until the chain's slot is at least `min` (a validator would answer -32016 until
    /// it got there by itself).
    async fn reach(&self, min: Option<u64>) -> Result<(), RpcErr> {
        let Some(min) = min.filter(|m| *m > 0) else {
            return Ok(());
        };
        if self.slot().await >= min {
            return Ok(());
        }
        let _w = self.writes.lock().await;
        let mut chain = self.cluster.chain().await;
        let slot = chain.clock().slot;
        if min > slot.saturating_add(MAX_SLOTS_MADE) {
            return Err(RpcErr::new(
                -32016,
                format!("Minimum context slot has not been reached: {slot} < {min}"),
            ));
        }
        while chain.clock().slot < min {
            chain.next_slot();
        }
        Ok(())
    }

    async fn get_account_info(&self, params: &Value) -> Result<Value, RpcErr> {
        let key = pubkey(&required::<String>(params, 0, "pubkey")?)?;
        let config: RpcAccountInfoConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let account = self.cluster.account(&key).await.map_err(RpcErr::cluster)?;
        self.with_context(account.map(|a| ui_account(&a, &config))).await
    }

    async fn get_multiple_accounts(&self, params: &Value) -> Result<Value, RpcErr> {
        let keys: Vec<String> = required(params, 0, "pubkeys")?;
        if keys.len() > MAX_MULTIPLE_ACCOUNTS {
            return Err(RpcErr::invalid_params(format!(
                "Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}"
            )));
        }
        let keys = keys.iter().map(|k| pubkey(k)).collect::<Result<Vec<_>, _>>()?;
        let config: RpcAccountInfoConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let accounts = self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?;
        let value: Vec<Option<UiAccount>> = accounts
            .iter()
            .map(|a| a.as_ref().map(|a| ui_account(a, &config)))
            .collect();
        self.with_context(value).await
    }

    /// The watched markets (the only accounts this node can list), filtered.
    async fn get_program_accounts(&self, params: &Value) -> Result<Value, RpcErr> {
        let program = pubkey(&required::<String>(params, 0, "program id")?)?;
        let config: RpcProgramAccountsConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.account_config.min_context_slot).await?;
        let filters = config.filters.unwrap_or_default();
        for f in &filters {
            f.verify()
                .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
        }
        let mut keys: Vec<Pubkey> = self
            .cluster
            .markets()
            .await
            .map_err(RpcErr::cluster)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        if config.sort_results.unwrap_or(true) {
            keys.sort();
        }
        let accounts = self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?;
        let mut out = Vec::new();
        for (key, account) in keys.iter().zip(accounts) {
            let Some(account) = account else { continue };
            if account.owner == program && filters_match(&filters, &account.data)? {
                out.push(RpcKeyedAccount {
                    pubkey: key.to_string(),
                    account: ui_account(&account, &config.account_config),
                });
            }
        }
        if config.with_context.unwrap_or(false) {
            self.with_context(out).await
        } else {
            to_json(out)
        }
    }

    async fn get_latest_blockhash(&self, params: &Value) -> Result<Value, RpcErr> {
        let config: RpcContextConfig = param(params, 0)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let blockhash = self.cluster.latest_blockhash().await.map_err(RpcErr::cluster)?;
        let last_valid_block_height = self.last_valid_block_height().await?;
        self.with_context(RpcBlockhash {
            blockhash: blockhash.to_string(),
            last_valid_block_height,
        })
        .await
    }

    async fn last_valid_block_height(&self) -> Result<u64, RpcErr> {
        let chain = self.cluster.chain().await;
        let latest = chain
            .ctx
            .banks_client
            .get_latest_blockhash_with_commitment(Default::default())
            .await
            .map_err(RpcErr::internal)?;
        Ok(latest.map_or(0, |(_, height)| height))
    }

    /// Whether the bank's queue still holds `hash` (the fee lookup fails when it does not).
    async fn blockhash_valid(&self, hash: &Hash) -> Result<bool, RpcErr> {
        let chain = self.cluster.chain().await;
        let payer = chain.payer_pubkey();
        let message = Message::new_with_blockhash(&[], Some(&payer), hash);
        let fee = chain
            .ctx
            .banks_client
            .get_fee_for_message(message)
            .await
            .map_err(RpcErr::internal)?;
        Ok(fee.is_some())
    }

    async fn fee(&self, message: &Message) -> Result<Option<u64>, RpcErr> {
        let chain = self.cluster.chain().await;
        chain
            .ctx
            .banks_client
            .get_fee_for_message(message.clone())
            .await
            .map_err(RpcErr::internal)
    }

    async fn is_blockhash_valid(&self, params: &Value) -> Result<Value, RpcErr> {
        let text: String = required(params, 0, "blockhash")?;
        let hash =
            Hash::from_str(&text).map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
        let config: RpcContextConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let valid = self.blockhash_valid(&hash).await?;
        self.with_context(valid).await
    }

    /// The bank's simulation of `tx` at the current state.
    async fn simulate_raw(&self, tx: &Transaction) -> Result<Simulated, RpcErr> {
        let chain = self.cluster.chain().await;
        let out = chain
            .ctx
            .banks_client
            .simulate_transaction(tx.clone())
            .await
            .map_err(RpcErr::internal)?;
        let result = out
            .result
            .ok_or_else(|| RpcErr::internal("the bank returned no simulation result"))?;
        let details = out.simulation_details;
        Ok(Simulated {
            result,
            logs: details.as_ref().map(|d| d.logs.clone()).unwrap_or_default(),
            units_consumed: details.as_ref().map_or(0, |d| d.units_consumed),
            loaded_accounts_data_size: details.as_ref().map(|d| d.loaded_accounts_data_size),
            return_data: details
                .as_ref()
                .and_then(|d| d.return_data.as_ref())
                .map(|r| (r.program_id, r.data.clone())),
            inner: details.as_ref().map(|d| {
                d.inner_instructions
                    .iter()
                    .flatten()
                    .enumerate()
                    .filter(|(_, list)| !list.is_empty())
                    .map(|(index, list)| UiInnerInstructions {
                        index: index as u8,
                        instructions: list
                            .iter()
                            .map(|i| {
                                UiInstruction::Compiled(UiCompiledInstruction::from(
                                    &i.instruction,
                                    Some(u32::from(i.stack_height)),
                                ))
                            })
                            .collect(),
                    })
                    .collect()
            }),
        })
    }

    /// A simulation as `simulateTransaction` reports it.
    async fn simulation_result(
        &self,
        tx: &Transaction,
        sim: &Simulated,
        inner_instructions: bool,
        replacement_blockhash: Option<RpcBlockhash>,
    ) -> Result<RpcSimulateTransactionResult, RpcErr> {
        let fee = match &sim.result {
            Err(_) => None,
            Ok(()) => self.fee(&tx.message).await?,
        };
        Ok(RpcSimulateTransactionResult {
            err: sim.result.clone().err().map(Into::into),
            logs: Some(sim.logs.clone()),
            accounts: None,
            units_consumed: Some(sim.units_consumed),
            loaded_accounts_data_size: sim.loaded_accounts_data_size,
            return_data: sim.return_data.as_ref().map(|(p, d)| ui_return_data(p, d)),
            inner_instructions: if inner_instructions {
                sim.inner.clone()
            } else {
                None
            },
            replacement_blockhash,
            fee,
            pre_balances: None,
            post_balances: None,
            pre_token_balances: None,
            post_token_balances: None,
            loaded_addresses: None,
        })
    }

    async fn simulate_transaction(&self, params: &Value) -> Result<Value, RpcErr> {
        let encoded: String = required(params, 0, "transaction")?;
        let config: RpcSimulateTransactionConfig = param(params, 1)?.unwrap_or_default();
        let mut tx = decode_wire(&encoded, config.encoding)?;
        if config.sig_verify && config.replace_recent_blockhash {
            return Err(RpcErr::invalid_params(
                "sigVerify may not be used with replaceRecentBlockhash",
            ));
        }
        if config.accounts.is_some() {
            return Err(RpcErr::invalid_params(
                "simulateTransaction `accounts` is not supported by this node",
            ));
        }
        self.reach(config.min_context_slot).await?;
        if config.sig_verify {
            verify(&tx)?;
        }
        let replacement = if config.replace_recent_blockhash {
            let blockhash = self.cluster.latest_blockhash().await.map_err(RpcErr::cluster)?;
            tx.message.recent_blockhash = blockhash;
            Some(RpcBlockhash {
                blockhash: blockhash.to_string(),
                last_valid_block_height: self.last_valid_block_height().await?,
            })
        } else {
            None
        };
        let sim = self.simulate_raw(&tx).await?;
        let result = self
            .simulation_result(&tx, &sim, config.inner_instructions, replacement)
            .await?;
        self.with_context(result).await
    }

    async fn send_transaction(&self, params: &Value) -> Result<Value, RpcErr> {
        let encoded: String = required(params, 0, "transaction")?;
        let config: RpcSendTransactionConfig = param(params, 1)?.unwrap_or_default();
        let tx = decode_wire(&encoded, config.encoding)?;
        self.reach(config.min_context_slot).await?;
        let signature = self.send(tx, config.skip_preflight).await?;
        to_json(signature.to_string())
    }

    /// Verify, preflight unless `skip_preflight`, process, and keep the outcome. A transaction
    /// that cannot land is refused as a preflight failure (-32002, with its error), so a client
    /// learns at once what a validator would let it find out only when the blockhash expires.
    async fn send(&self, tx: Transaction, skip_preflight: bool) -> Result<Signature, RpcErr> {
        let signature = *tx
            .signatures
            .first()
            .ok_or_else(|| RpcErr::invalid_params("the transaction has no signature"))?;
        verify(&tx)?;
        let _w = self.writes.lock().await;
        if self.records().contains_key(&signature) {
            // Already processed: a validator would drop the duplicate.
            return Ok(signature);
        }
        let sim = self.simulate_raw(&tx).await?;
        let preflight = self.simulation_result(&tx, &sim, true, None).await?;
        if !skip_preflight {
            if let Some(err) = &preflight.err {
                return Err(preflight_failure(err.clone().into(), preflight));
            }
        }
        let fee = self.fee(&tx.message).await?.unwrap_or(0);
        let keys = tx.message.account_keys.clone();
        let balances = |accounts: Vec<Option<Account>>| -> Vec<u64> {
            accounts
                .iter()
                .map(|a| a.as_ref().map_or(0, |a| a.lamports))
                .collect()
        };
        let pre_balances = balances(self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?);
        // The preflight above already read the inner instructions: no second simulation.
        let outcome = self.cluster.process_without_events(&tx).await;
        let post_balances = balances(self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?);
        let now = {
            let mut chain = self.cluster.chain().await;
            let now = chain.clock();
            chain.next_slot();
            now
        };
        let sim_return = sim.return_data.as_ref().map(|(program, _)| *program);
        let last_program = tx
            .message
            .instructions
            .last()
            .and_then(|i| keys.get(usize::from(i.program_id_index)))
            .copied();
        let (err, logs, return_data) = match outcome {
            Ok(landed) => (
                None,
                landed.logs,
                landed
                    .return_data
                    .map(|data| (sim_return.or(last_program).unwrap_or_default(), data)),
            ),
            Err(ClusterError::Transaction { error, logs, .. }) if lands_with_error(&error, &logs) => {
                (Some(error), logs, None)
            }
            Err(ClusterError::Transaction { error, logs, .. }) => {
                let mut result = preflight;
                result.err = Some(error.clone().into());
                result.logs = Some(logs);
                return Err(preflight_failure(error, result));
            }
            Err(ClusterError::Expired { .. }) => {
                let mut result = preflight;
                result.err = Some(TransactionError::BlockhashNotFound.into());
                return Err(preflight_failure(TransactionError::BlockhashNotFound, result));
            }
            Err(e @ ClusterError::Client(_)) => return Err(RpcErr::cluster(e)),
        };
        let record = Record {
            slot: now.slot,
            block_time: now.unix_timestamp,
            tx,
            err,
            logs,
            return_data,
            inner: preflight.inner_instructions,
            units: preflight.units_consumed,
            fee,
            pre_balances,
            post_balances,
        };
        if record.err.is_none() {
            self.watch_created_markets(&record.tx).await?;
        }
        self.records().insert(signature, Arc::new(record));
        Ok(signature)
    }

    /// Watch the market of every `create_market` in `tx` (which landed).
    async fn watch_created_markets(&self, tx: &Transaction) -> Result<(), RpcErr> {
        let keys = &tx.message.account_keys;
        let candidates: Vec<Pubkey> = tx
            .message
            .instructions
            .iter()
            .filter(|i| {
                keys.get(usize::from(i.program_id_index)) == Some(&lever::ID)
                    && i.data
                        .starts_with(lever::instruction::CreateMarket::DISCRIMINATOR)
            })
            .flat_map(|i| {
                i.accounts
                    .iter()
                    .filter_map(|a| keys.get(usize::from(*a)).copied())
            })
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let accounts = self
            .cluster
            .accounts(&candidates)
            .await
            .map_err(RpcErr::cluster)?;
        for (key, account) in candidates.iter().zip(accounts) {
            if account.as_ref().and_then(decode_market).is_some() {
                self.cluster.watch(*key);
            }
        }
        Ok(())
    }

    async fn get_signature_statuses(&self, params: &Value) -> Result<Value, RpcErr> {
        let signatures: Vec<String> = required(params, 0, "signatures")?;
        if signatures.len() > MAX_SIGNATURE_STATUSES {
            return Err(RpcErr::invalid_params(format!(
                "Too many inputs provided; max {MAX_SIGNATURE_STATUSES}"
            )));
        }
        let _config: Option<RpcSignatureStatusConfig> = param(params, 1)?;
        let mut value = Vec::with_capacity(signatures.len());
        for text in &signatures {
            let signature = Signature::from_str(text)
                .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
            let record = self.records().get(&signature).cloned();
            value.push(record.map(|r| {
                let status: Result<(), TransactionError> = match &r.err {
                    None => Ok(()),
                    Some(e) => Err(e.clone()),
                };
                // The fields of `TransactionStatus`: every landed transaction is final here.
                json!({
                    "slot": r.slot,
                    "confirmations": null,
                    "status": status,
                    "err": r.err,
                    "confirmationStatus": "finalized",
                })
            }));
        }
        self.with_context(value).await
    }

    async fn get_transaction(&self, params: &Value) -> Result<Value, RpcErr> {
        let text: String = required(params, 0, "signature")?;
        let signature =
            Signature::from_str(&text).map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
        // The configuration, or (deprecated) just an encoding.
        let config: RpcTransactionConfig = match params.get(1) {
            Some(Value::String(_)) => RpcTransactionConfig {
                encoding: param(params, 1)?,
                ..RpcTransactionConfig::default()
            },
            _ => param(params, 1)?.unwrap_or_default(),
        };
        let Some(r) = self.records().get(&signature).cloned() else {
            return Ok(Value::Null);
        };
        let encoding = config.encoding.unwrap_or(UiTransactionEncoding::Json);
        let meta = UiTransactionStatusMeta {
            err: r.err.clone().map(Into::into),
            status: match &r.err {
                None => Ok(()),
                Some(e) => Err(e.clone().into()),
            },
            fee: r.fee,
            pre_balances: r.pre_balances.clone(),
            post_balances: r.post_balances.clone(),
            inner_instructions: match &r.inner {
                Some(inner) => OptionSerializer::Some(inner.clone()),
                None => OptionSerializer::None,
            },
            log_messages: OptionSerializer::Some(r.logs.clone()),
            pre_token_balances: OptionSerializer::None,
            post_token_balances: OptionSerializer::None,
            rewards: OptionSerializer::Some(Vec::new()),
            loaded_addresses: OptionSerializer::Some(UiLoadedAddresses {
                writable: Vec::new(),
                readonly: Vec::new(),
            }),
            return_data: match &r.return_data {
                Some((program, data)) => OptionSerializer::Some(ui_return_data(program, data)),
                None => OptionSerializer::Skip,
            },
            compute_units_consumed: match r.units {
                Some(u) => OptionSerializer::Some(u),
                None => OptionSerializer::Skip,
            },
            cost_units: OptionSerializer::Skip,
        };
        let with_meta = EncodedTransactionWithStatusMeta {
            // Replaced below by the requested encoding.
            transaction: EncodedTransaction::LegacyBinary(String::new()),
            meta: Some(meta),
            version: config
                .max_supported_transaction_version
                .map(|_| TransactionVersion::LEGACY),
        };
        let mut value = to_json(with_meta)?;
        value["transaction"] = encode_for(&r.tx, encoding)?;
        // `EncodedConfirmedTransactionWithStatusMeta`: slot, the flattened fields, block time.
        value["slot"] = json!(r.slot);
        value["blockTime"] = json!(r.block_time);
        Ok(value)
    }

    async fn request_airdrop(&self, params: &Value) -> Result<Value, RpcErr> {
        let to = pubkey(&required::<String>(params, 0, "pubkey")?)?;
        let lamports: u64 = required(params, 1, "lamports")?;
        let blockhash = self.cluster.latest_blockhash().await.map_err(RpcErr::cluster)?;
        let tx = {
            let chain = self.cluster.chain().await;
            let payer = chain.payer();
            let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, lamports);
            Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[payer], blockhash)
        };
        let signature = self.send(tx, false).await?;
        to_json(signature.to_string())
    }
}

fn error_response(id: Value, e: &RpcErr) -> Value {
    json!({"jsonrpc": "2.0", "error": e.to_json(), "id": id})
}

/// -32002 with the simulation, as a validator refuses a transaction whose preflight fails.
fn preflight_failure(error: TransactionError, result: RpcSimulateTransactionResult) -> RpcErr {
    RpcErr {
        code: -32002,
        message: format!("Transaction simulation failed: {error}"),
        data: serde_json::to_value(result).ok(),
    }
}

fn verify(tx: &Transaction) -> Result<(), RpcErr> {
    tx.verify()
        .map_err(|_| RpcErr::new(-32003, "Transaction signature verification failure"))
}

// ---------------------------------------------------------------------------------------------
// The demo chain
// ---------------------------------------------------------------------------------------------

/// Confidence of the demo's prices, as a fraction of the price (0.05%).
pub const DEMO_CONF_RATIO: f64 = 0.0005;
/// The demo's SOL price.
pub const DEMO_PRICE_USD: f64 = 150.0;
const SOL: u64 = 1_000_000_000;
/// Underlying the funding provider deposits, the LT holder mints with, and the user holds.
pub const DEMO_FUNDING_UNITS: u64 = 1_000 * SOL;
pub const DEMO_HOLDER_UNITS: u64 = 10 * SOL;
pub const DEMO_USER_UNITS: u64 = 100 * SOL;
/// Lamports the user starts with (fees and rent).
pub const DEMO_USER_LAMPORTS: u64 = 10 * SOL;

/// The demo market's parameters: 3x, band ±5%, fees 0.3% / 0.2% / 0.1% / 0.1%, prices up to 60 s
/// old with confidence up to 2%, no exposure cap, utilization up to 90%, funding 2% a year plus 8%
/// up to the 80% kink and 100% beyond.
pub fn demo_params() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 3 * PPM,
        band_ppm: 50_000,
        mint_fee_ppm: 3_000,
        redeem_fee_ppm: 2_000,
        deposit_fee_ppm: 1_000,
        withdraw_fee_ppm: 1_000,
        max_price_age_secs: 60,
        max_conf_ppm: 20_000,
        conf_multiplier_ppm: PPM,
        exposure_cap: u64::MAX,
        max_utilization_ppm: 900_000,
        base_rate_ppm: 20_000,
        kink_ppm: 800_000,
        slope1_ppm: 80_000,
        slope2_ppm: 1_000_000,
    }
}

/// What [`demo`] made.
pub struct Demo {
    pub market: Pubkey,
    pub keys: MarketKeys,
    /// The underlying's decimals (9).
    pub decimals: u8,
    /// Config admin (update, unpause).
    pub admin: Keypair,
    /// May pause.
    pub pause_authority: Keypair,
    pub fee_receiver: Keypair,
    /// Mint authority of the underlying (fund more wallets with [`crate::local::fund`]).
    pub mint_authority: Keypair,
    /// A wallet with [`DEMO_USER_LAMPORTS`] and [`DEMO_USER_UNITS`] of underlying in its associated
    /// token account, and nothing else.
    pub user: Keypair,
    /// The user's associated token account of the underlying.
    pub user_underlying: Pubkey,
    /// Pyth's sponsored SOL/USD push-feed account (shard 0), where the price is written: what
    /// `lever` reads by default.
    pub price_account: Pubkey,
    pub feed_id: [u8; 32],
    /// The price written, published at the chain's time then.
    pub price: PriceInput,
}

/// Where [`Demo::write_keypairs`] put the keypair files.
#[derive(Clone, Debug)]
pub struct DemoKeypairFiles {
    pub admin: PathBuf,
    pub pause_authority: PathBuf,
    pub user: PathBuf,
}

impl Demo {
    /// Write the admin, pause-authority and user keypairs into `dir` (created if needed) as the
    /// Solana CLI writes keypair files: a JSON array of the 64 bytes (owner-only on Unix).
    pub fn write_keypairs(&self, dir: &Path) -> io::Result<DemoKeypairFiles> {
        std::fs::create_dir_all(dir)?;
        let files = DemoKeypairFiles {
            admin: dir.join("admin.json"),
            pause_authority: dir.join("pause-authority.json"),
            user: dir.join("user.json"),
        };
        for (path, kp) in [
            (&files.admin, &self.admin),
            (&files.pause_authority, &self.pause_authority),
            (&files.user, &self.user),
        ] {
            write_keypair_file(kp, path)?;
        }
        Ok(files)
    }
}

/// A keypair file as the Solana CLI writes it: a JSON array of the 64 bytes.
pub fn write_keypair_file(kp: &Keypair, path: &Path) -> io::Result<()> {
    let text = serde_json::to_string(&kp.to_bytes().to_vec()).map_err(io::Error::other)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    use std::io::Write as _;
    options.open(path)?.write_all(text.as_bytes())
}

/// A chain for a demo session: the config, one SOL 3x market ([`demo_params`], an SPL Token
/// underlying with 9 decimals) priced at [`DEMO_PRICE_USD`] in Pyth's sponsored SOL/USD account,
/// [`DEMO_FUNDING_UNITS`] of funding deposited, an LT holder who minted with
/// [`DEMO_HOLDER_UNITS`] (so the market has a position and a leverage), and a user wallet. The
/// chain's clock is set to the wall clock, and stays there until moved.
pub async fn demo() -> anyhow::Result<(Chain, Demo)> {
    let mut chain = Chain::start().await?;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    if wall > chain.now() {
        chain.set_time(wall);
    }
    let token_program = anchor_spl::token::ID;
    let spec = MarketSpec::named("SOL", SOL_USD_FEED_ID, token_program, 9, demo_params());
    let mut m = LocalMarket::create(chain, &spec).await?;
    m.price_account = sponsored_feed_address(0, &SOL_USD_FEED_ID);
    let price = PriceInput::usd(SOL_USD_FEED_ID, DEMO_PRICE_USD, DEMO_CONF_RATIO, m.chain.now());
    m.write_price(&price);

    let provider = m.wallet(DEMO_FUNDING_UNITS).await?;
    let deposit = crate::ix::deposit_funding(
        &m.keys,
        &provider.ft_accounts(m.price_account),
        DEMO_FUNDING_UNITS,
        0,
    );
    m.chain
        .send(&[deposit], &[&provider.kp])
        .await
        .map_err(|e| anyhow!("deposit_funding: {e}"))?;
    let holder = m.wallet(DEMO_HOLDER_UNITS).await?;
    let mint = crate::ix::mint_lt(
        &m.keys,
        &holder.lt_accounts(m.price_account),
        DEMO_HOLDER_UNITS,
        0,
    );
    m.chain
        .send(&[mint], &[&holder.kp])
        .await
        .map_err(|e| anyhow!("mint_lt: {e}"))?;

    let (user, user_underlying) = crate::local::ata_wallet(
        &mut m.chain,
        &m.keys,
        &m.mint_authority,
        DEMO_USER_LAMPORTS,
        DEMO_USER_UNITS,
    )
    .await?;

    let LocalMarket {
        chain,
        admin,
        pause_authority,
        fee_receiver,
        mint_authority,
        keys,
        price_account,
        feed_id,
        decimals,
    } = m;
    Ok((
        chain,
        Demo {
            market: keys.market,
            keys,
            decimals,
            admin,
            pause_authority,
            fee_receiver,
            mint_authority,
            user,
            user_underlying,
            price_account,
            feed_id,
            price,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_round_trips() {
        let payer = Keypair::new();
        let ixs = [
            crate::ix::rebalance(payer.pubkey(), Pubkey::new_unique(), Pubkey::new_unique()),
            solana_system_interface::instruction::transfer(&payer.pubkey(), &Pubkey::new_unique(), 5),
        ];
        let tx =
            Transaction::new_signed_with_payer(&ixs, Some(&payer.pubkey()), &[&payer], Hash::new_unique());
        let bytes = encode_transaction(&tx);
        assert_eq!(decode_transaction(&bytes), Ok(tx.clone()));
        assert!(decode_transaction(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_transaction(&longer).is_err());
        // A v0 message is refused by name.
        let mut v0 = bytes.clone();
        v0[1 + 64] = 0x80;
        assert!(decode_transaction(&v0).unwrap_err().contains("versioned"));
        let mut out = Vec::new();
        put_short_u16(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(Reader { bytes: &out, pos: 0 }.short_u16(), Ok(300));
    }

    #[test]
    fn base58_round_trips() {
        let bytes = [0u8, 0, 1, 2, 255, 7];
        assert_eq!(base58_decode(&base58(&bytes)), Some(bytes.to_vec()));
        let key = Pubkey::new_unique();
        assert_eq!(base58(key.as_ref()), key.to_string());
    }
}
