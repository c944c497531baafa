//! A local JSON-RPC node over the embedded chain: the `lever` binary, `solana_rpc_client`, and the
//! JavaScript clients wallets and dapps use (web3.js, @solana/kit, Anchor's TypeScript client,
//! @solana/spl-token) run against it offline, as against `solana-test-validator`.
//!
//! [`Localnet`] serves an [`Embedded<Chain>`] over HTTP/1.1 (a small hand-rolled server on a Tokio
//! `TcpListener`: `Content-Length` bodies, keep-alive, batches, CORS for browsers) and the pubsub
//! websocket on the RPC port + 1, with the response types of `solana_rpc_client::api` and the
//! validator's JSON shapes:
//!
//! | method | what it does here |
//! |---|---|
//! | `getAccountInfo`, `getMultipleAccounts` | the bank's accounts in every encoding: `base58`, `base64`, `base64+zstd`, `jsonParsed` (the validator's `solana-account-decoder`: SPL Token and Token-2022 with extensions and token metadata; other accounts fall back to base64), `dataSlice` |
//! | `getProgramAccounts` | every account the chain has seen (the keys of every transaction it processed and every account written directly: the bank cannot list by owner) and the watched markets, owner, `dataSize`/`memcmp`/`tokenAccountState` filters applied |
//! | `getTokenAccountsByOwner`/`ByDelegate`, `getTokenAccountBalance`, `getTokenSupply` | the same accounts, as a validator's token index answers |
//! | `getLatestBlockhash`, `isBlockhashValid`, `getBlockHeight`, `getEpochInfo` | blocks: one per [`LocalnetOptions::slot_interval`] (400 ms); a blockhash is accepted for 150 blocks ([`Chain::start_paced`]), and `isBlockhashValid` applies exactly that rule |
//! | `simulateTransaction` | the bank's simulation: logs, units, return data, inner instructions, fee; `sigVerify`, `replaceRecentBlockhash`, `accounts` (the state left, read by a native inspector instruction appended to a second simulation) |
//! | `sendTransaction` | legacy and v0 (lookup tables resolved); verified, preflighted unless `skipPreflight`, processed at once; the outcome is kept by signature |
//! | `getSignatureStatuses`, `getTransaction`, `getSignaturesForAddress`, `getBlock`, `getBlockTime` | from the outcomes kept: finalized, with logs, return data, inner instructions, fee, balances, token balances; `json`/`jsonParsed`/binary encodings; `maxSupportedTransactionVersion` as a validator |
//! | `getFeeForMessage`, `getRecentPrioritizationFees`, `getSlot`, `getBalance`, `getMinimumBalanceForRentExemption`, `getVersion` (with a `feature-set`), `getHealth`, `getIdentity`, `getGenesisHash`, `getEpochSchedule`, `getTransactionCount`, `getFirstAvailableBlock`, `requestAirdrop` (from the chain's payer) | |
//! | `lever_setPrice [usd, {account, feedId, confidence}]`, `lever_advanceClock [seconds]` | custom: publish a price (default: the demo's Pyth account and feed) at the chain's time; move the chain's clock forward |
//! | `lever_faucet [owner, {units, lamports}]` | custom (the demo): `lamports` (default 10 SOL) and `units` of the demo market's underlying (default 100 whole) into `owner`'s associated token account, created if missing, so a fresh wallet (the web app's test wallet) can trade |
//!
//! `GET` serves the files under [`LocalnetOptions::web_root`] (the web app), `/health` answers `ok`.
//!
//! Websocket: `signatureSubscribe`, `accountSubscribe`, `slotSubscribe`, `logsSubscribe` and their
//! unsubscribes, with `signatureNotification`/`accountNotification`/`slotNotification`/
//! `logsNotification` as a validator sends them.
//!
//! Anything else is answered with JSON-RPC error -32601. There is one bank and no forks: every
//! commitment reads the same state, and every transaction that landed is `finalized` at once.
//! Logs are the validator's (`crate::native`): `Program log: Instruction: ...`, `AnchorError ...`,
//! `Program return:`, `consumed` lines.
//!
//! Time: the chain's clock moves only when told ([`Localnet::advance`], [`Localnet::set_price`],
//! `lever_advanceClock`), so a price never goes stale by itself. Slots do move: one after every
//! transaction, one every [`LocalnetOptions::slot_interval`] (with a block), and up to a request's
//! `minContextSlot`, so a client waiting for the next slot (`RpcCluster::wait_for_slot_after`)
//! gets it.
//!
//! [`demo`] builds the chain for a README session: a config, one SOL 3x market priced at Pyth's
//! sponsored SOL/USD account, funding, an LT holder and a user wallet.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anyhow::Context as _;
use base64::Engine as _;
use lever::oracle::Now;
use solana_signer::Signer as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use crate::chain::Chain;
use crate::embedded::Embedded;
use lever_sdk::pda::MarketKeys;
use lever_sdk::pyth::PriceInput;

mod http;
use http::*;
mod wire;
pub use wire::*;
mod demo;
mod meta;
mod methods;
mod tokens;
mod transactions;
mod ws;
pub use demo::*;
pub use meta::FEATURE_SET;
use meta::*;

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
    /// A new slot and a new block this often (`None`: slots only after transactions and for
    /// `minContextSlot`, and no new blocks: blockhashes then never expire).
    pub slot_interval: Option<Duration>,
    /// Serve the pubsub websocket on the RPC port + 1 (an ephemeral port when the RPC port is 0).
    pub websocket: bool,
    /// Serve the files under this folder on `GET` (the web app's static build, `app/web/dist`):
    /// a browser then loads the app from the node it talks to.
    pub web_root: Option<std::path::PathBuf>,
}

impl Default for LocalnetOptions {
    fn default() -> Self {
        Self {
            slot_interval: Some(Duration::from_millis(400)),
            websocket: true,
            web_root: None,
        }
    }
}

/// The websocket's listener for the RPC listener bound at `rpc`: port + 1 (as a validator), or,
/// when any RPC port was asked for (`any`), any free port if that one is taken.
async fn ws_listener(rpc: SocketAddr, any: bool) -> io::Result<TcpListener> {
    let mut addr = rpc;
    addr.set_port(
        rpc.port()
            .checked_add(1)
            .ok_or_else(|| io::Error::other("no port after the RPC port"))?,
    );
    match TcpListener::bind(addr).await {
        Err(_) if any => TcpListener::bind(SocketAddr::new(rpc.ip(), 0)).await,
        other => other,
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
    ws_addr: Option<SocketAddr>,
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
        let requested_port = addr.port();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let ws = match options.websocket {
            true => Some(ws_listener(addr, requested_port == 0).await?),
            false => None,
        };
        let ws_addr = ws.as_ref().map(|l| l.local_addr()).transpose()?;
        let node = Arc::new(Node::new(cluster, options.web_root.clone()));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(node.clone(), listener, ws, options, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            node,
            addr,
            ws_addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// [`demo`] served at `addr`, its market watched, `lever_faucet` giving its underlying.
    pub async fn demo(addr: SocketAddr) -> anyhow::Result<(Self, Demo)> {
        Self::demo_with(addr, LocalnetOptions::default()).await
    }

    /// [`Localnet::demo`] with `options` (say, a web root).
    pub async fn demo_with(addr: SocketAddr, options: LocalnetOptions) -> anyhow::Result<(Self, Demo)> {
        let (chain, demo) = demo().await?;
        let cluster = Arc::new(Embedded::new(chain).with_markets([demo.market]));
        let net = Self::start_with(cluster, addr, options)
            .await
            .with_context(|| format!("bind {addr} (and the websocket on the next port)"))?;
        net.set_price_feed(demo.price_account, demo.feed_id);
        net.set_faucet(demo.keys, demo.mint_authority.insecure_clone());
        Ok((net, demo))
    }

    /// What `lever_faucet` gives: the underlying of `keys`' market, minted by `mint_authority`.
    pub fn set_faucet(&self, keys: MarketKeys, mint_authority: solana_keypair::Keypair) {
        *self.node.faucet.lock().unwrap_or_else(|e| e.into_inner()) = Some(Faucet { keys, mint_authority });
    }

    /// `http://ADDRESS:PORT`, for `-u`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDRESS:PORT` of the pubsub websocket (`None` if not served).
    pub fn ws_url(&self) -> Option<String> {
        self.ws_addr.map(|a| format!("ws://{a}"))
    }

    /// Where `lever_setPrice` writes when not told (the demo's Pyth account and feed).
    pub fn set_price_feed(&self, account: Pubkey, feed_id: [u8; 32]) {
        *self.node.price_feed.lock().unwrap_or_else(|e| e.into_inner()) = Some((account, feed_id));
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
        let parent = chain.clock().slot;
        chain.set_time(to);
        let now = chain.clock();
        self.node.publish(Event::Slot {
            slot: now.slot,
            parent,
        });
        now
    }

    /// Start a new slot at the same time.
    pub async fn next_slot(&self) -> Now {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        self.node.slot_made(&mut chain);
        chain.clock()
    }

    /// Make a block (a new blockhash, the block height + 1) and a slot, as the node does every
    /// [`LocalnetOptions::slot_interval`].
    pub async fn next_block(&self) -> anyhow::Result<u64> {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        self.node.slot_made(&mut chain);
        chain.next_block().await?;
        chain.block_height().await
    }

    /// Write a `PriceUpdateV2` at `account` (in a new slot).
    pub async fn write_price(&self, account: &Pubkey, input: &PriceInput) {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        chain.write_price(account, input);
        let slot = chain.clock().slot;
        self.node.publish(Event::Accounts {
            slot,
            keys: Arc::new(vec![*account]),
        });
    }

    /// Publish `usd` for `feed_id` at `account`, published now, confidence [`DEMO_CONF_RATIO`].
    pub async fn set_price(&self, account: &Pubkey, feed_id: [u8; 32], usd: f64) -> PriceInput {
        let _w = self.node.writes.lock().await;
        let mut chain = self.node.cluster.chain().await;
        let input = PriceInput::usd(feed_id, usd, DEMO_CONF_RATIO, chain.now());
        chain.write_price(account, &input);
        let slot = chain.clock().slot;
        self.node.publish(Event::Accounts {
            slot,
            keys: Arc::new(vec![*account]),
        });
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
    let ws = match options.websocket {
        true => Some(ws_listener(listener.local_addr()?, addr.port() == 0).await?),
        false => None,
    };
    run(
        Arc::new(Node::new(cluster, options.web_root.clone())),
        listener,
        ws,
        options,
        shutdown,
    )
    .await
}

async fn run(
    node: Arc<Node>,
    listener: TcpListener,
    ws: Option<TcpListener>,
    options: LocalnetOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut tasks = JoinSet::new();
    if let Some(interval) = options.slot_interval.filter(|d| !d.is_zero()) {
        let node = node.clone();
        tasks.spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let _w = node.writes.lock().await;
                let mut chain = node.cluster.chain().await;
                node.slot_made(&mut chain);
                // A block too: a paced chain's blockhashes age by blocks, as a validator's.
                let _ = chain.next_block().await;
            }
        });
    }
    if let Some(ws) = ws {
        let node = node.clone();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = ws.accept() => match accepted {
                        Ok((stream, _)) => {
                            let node = node.clone();
                            connections.spawn(async move {
                                let _ = ws::ws_connection(node, stream).await;
                            });
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    },
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use solana_keypair::Keypair;
    use solana_transaction::{Hash, Transaction};

    #[test]
    fn wire_format_round_trips() {
        let payer = Keypair::new();
        let ixs = [
            lever_sdk::ix::rebalance(payer.pubkey(), Pubkey::new_unique(), Pubkey::new_unique()),
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
