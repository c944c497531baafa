//! The JSON-RPC methods the node answers, each mapped onto the embedded chain: the dispatch,
//! accounts, blockhashes and the node's own methods (the transaction methods are in
//! [`super::transactions`]).

use super::*;
use crate::chain::Chain;
use crate::embedded::Embedded;
use lever_sdk::cluster::Cluster;
use serde_json::{json, Value};
use solana_rpc_client::api::config::{RpcAccountInfoConfig, RpcContextConfig, RpcProgramAccountsConfig};
use solana_rpc_client::api::response::{
    Response, RpcBlockhash, RpcKeyedAccount, RpcResponseContext, RpcSimulateTransactionResult,
    RpcVersionInfo, UiAccount,
};
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

impl Node {
    pub(super) fn new(cluster: Arc<Embedded<Chain>>, web_root: Option<std::path::PathBuf>) -> Self {
        Self {
            cluster,
            writes: tokio::sync::Mutex::new(()),
            records: StdMutex::new(HashMap::new()),
            order: StdMutex::new(Vec::new()),
            events: tokio::sync::broadcast::channel(1024).0,
            next_subscription: std::sync::atomic::AtomicU64::new(0),
            price_feed: StdMutex::new(None),
            faucet: StdMutex::new(None),
            web_root,
        }
    }

    /// Tell the subscriptions (nobody listening is fine).
    pub(super) fn publish(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Start a new slot (the chain's lock held by the caller) and tell the subscriptions.
    pub(super) fn slot_made(&self, chain: &mut Chain) {
        let parent = chain.clock().slot;
        chain.next_slot();
        self.publish(Event::Slot {
            slot: chain.clock().slot,
            parent,
        });
    }

    pub(super) fn records(&self) -> std::sync::MutexGuard<'_, HashMap<Signature, Arc<Record>>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One HTTP body: a request or a batch.
    pub(super) async fn handle_body(&self, body: &[u8]) -> Vec<u8> {
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

    pub(super) async fn handle_one(&self, request: Value) -> Value {
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

    pub(super) async fn call(&self, method: &str, params: &Value) -> Result<Value, RpcErr> {
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
                to_json(self.block_height().await?)
            }
            "getEpochInfo" => {
                let config: RpcContextConfig = param(params, 0)?.unwrap_or_default();
                self.reach(config.min_context_slot).await?;
                let height = self.block_height().await?;
                let chain = self.cluster.chain().await;
                let slot = chain.clock().slot;
                let slots_in_epoch = chain.ctx.genesis_config().epoch_schedule.slots_per_epoch;
                // One epoch: the chain's clock says epoch 0 throughout.
                Ok(json!({
                    "absoluteSlot": slot,
                    "blockHeight": height,
                    "epoch": 0,
                    "slotIndex": slot,
                    "slotsInEpoch": slots_in_epoch.max(slot + 1),
                    "transactionCount": chain.transactions,
                }))
            }
            "getEpochSchedule" => {
                let chain = self.cluster.chain().await;
                to_json(chain.ctx.genesis_config().epoch_schedule.clone())
            }
            "getTransactionCount" => to_json(self.cluster.chain().await.transactions),
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
            "getFeeForMessage" => {
                let encoded: String = required(params, 0, "message")?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&encoded)
                    .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
                // A message is a transaction without its signatures: give it empty ones.
                let signers = match bytes.first() {
                    Some(b) if b & 0x80 != 0 => bytes.get(1).copied().unwrap_or(0),
                    Some(b) => *b,
                    None => 0,
                };
                let mut wire = Vec::with_capacity(bytes.len() + 1 + 64 * usize::from(signers));
                put_short_u16(&mut wire, usize::from(signers));
                wire.extend(std::iter::repeat_n(0u8, 64 * usize::from(signers)));
                wire.extend_from_slice(&bytes);
                let tx = decode_versioned(&wire)
                    .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
                let fee = match self.blockhash_valid(tx.message.recent_blockhash()).await? {
                    true => self.fee(&tx).await?,
                    false => None,
                };
                self.with_context(fee).await
            }
            "getVersion" => to_json(RpcVersionInfo {
                solana_core: VERSION.to_string(),
                feature_set: Some(FEATURE_SET),
            }),
            "getHealth" => Ok(json!("ok")),
            "getIdentity" => {
                let chain = self.cluster.chain().await;
                Ok(json!({"identity": chain.payer_pubkey().to_string()}))
            }
            "getGenesisHash" => {
                let chain = self.cluster.chain().await;
                to_json(chain.ctx.genesis_config().hash().to_string())
            }
            "getFirstAvailableBlock" => Ok(json!(0)),
            "getBlockTime" => {
                let slot: u64 = required(params, 0, "slot")?;
                let current = self.cluster.chain().await.clock();
                if slot > current.slot {
                    return Err(RpcErr::new(
                        -32004,
                        format!("Block not available for slot {slot}"),
                    ));
                }
                let time = self
                    .records()
                    .values()
                    .find(|r| r.slot == slot)
                    .map_or(current.unix_timestamp, |r| r.block_time);
                Ok(json!(time))
            }
            "getTokenAccountsByOwner" => self.get_token_accounts_by(params, false).await,
            "getTokenAccountsByDelegate" => self.get_token_accounts_by(params, true).await,
            "getTokenSupply" => self.get_token_supply(params).await,
            "getTokenAccountBalance" => self.get_token_account_balance(params).await,
            "getSignaturesForAddress" => self.get_signatures_for_address(params).await,
            "getBlock" => self.get_block(params).await,
            "getRecentPrioritizationFees" => self.get_recent_prioritization_fees(params).await,
            "lever_setPrice" => self.lever_set_price(params).await,
            "lever_advanceClock" => self.lever_advance_clock(params).await,
            "requestAirdrop" => self.request_airdrop(params).await,
            "lever_faucet" => self.lever_faucet(params).await,
            _ => Err(RpcErr::new(-32601, "Method not found")),
        }
    }

    pub(super) async fn slot(&self) -> u64 {
        self.cluster.chain().await.clock().slot
    }

    pub(super) async fn with_context<T: serde::Serialize>(&self, value: T) -> Result<Value, RpcErr> {
        to_json(Response {
            context: RpcResponseContext::new(self.slot().await),
            value,
        })
    }

    /// Make slots until the chain's slot is at least `min` (a validator would answer -32016 until
    /// it got there by itself).
    pub(super) async fn reach(&self, min: Option<u64>) -> Result<(), RpcErr> {
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
            self.slot_made(&mut chain);
        }
        Ok(())
    }

    pub(super) async fn block_height(&self) -> Result<u64, RpcErr> {
        self.cluster
            .chain()
            .await
            .block_height()
            .await
            .map_err(RpcErr::internal)
    }

    pub(super) async fn get_account_info(&self, params: &Value) -> Result<Value, RpcErr> {
        let key = pubkey(&required::<String>(params, 0, "pubkey")?)?;
        let config: RpcAccountInfoConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let account = self.cluster.account(&key).await.map_err(RpcErr::cluster)?;
        let value = match account {
            Some(a) => Some(self.ui(&key, &a, &config).await),
            None => None,
        };
        self.with_context(value).await
    }

    pub(super) async fn get_multiple_accounts(&self, params: &Value) -> Result<Value, RpcErr> {
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
        let mut value: Vec<Option<UiAccount>> = Vec::with_capacity(keys.len());
        for (key, a) in keys.iter().zip(&accounts) {
            value.push(match a {
                Some(a) => Some(self.ui(key, a, &config).await),
                None => None,
            });
        }
        self.with_context(value).await
    }

    /// The accounts this chain has seen (every key of every transaction it processed, and every
    /// account written directly) and the watched markets, owned by the program and filtered.
    pub(super) async fn get_program_accounts(&self, params: &Value) -> Result<Value, RpcErr> {
        let program = pubkey(&required::<String>(params, 0, "program id")?)?;
        let config: RpcProgramAccountsConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.account_config.min_context_slot).await?;
        let filters = config.filters.unwrap_or_default();
        for f in &filters {
            f.verify()
                .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
        }
        let mut keys = self.cluster.chain().await.known_accounts();
        for (market, _) in self.cluster.markets().await.map_err(RpcErr::cluster)? {
            if keys.binary_search(&market).is_err() {
                keys.push(market);
            }
        }
        keys.sort();
        let accounts = self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?;
        let mut out = Vec::new();
        for (key, account) in keys.iter().zip(accounts) {
            let Some(account) = account else { continue };
            if account.owner == program && filters_match(&filters, &account.data)? {
                out.push(RpcKeyedAccount {
                    pubkey: key.to_string(),
                    account: self.ui(key, &account, &config.account_config).await,
                });
            }
        }
        if config.with_context.unwrap_or(false) {
            self.with_context(out).await
        } else {
            to_json(out)
        }
    }

    pub(super) async fn get_latest_blockhash(&self, params: &Value) -> Result<Value, RpcErr> {
        let config: RpcContextConfig = param(params, 0)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let (blockhash, last_valid_block_height) = self.latest_blockhash().await?;
        self.with_context(RpcBlockhash {
            blockhash: blockhash.to_string(),
            last_valid_block_height,
        })
        .await
    }

    /// The chain's latest blockhash and the last block height a transaction may use it at.
    pub(super) async fn latest_blockhash(&self) -> Result<(Hash, u64), RpcErr> {
        self.cluster
            .chain()
            .await
            .latest_blockhash_info()
            .await
            .map_err(RpcErr::internal)
    }

    /// Whether a transaction using `hash` would be accepted now (the rule `sendTransaction`
    /// applies).
    pub(super) async fn blockhash_valid(&self, hash: &Hash) -> Result<bool, RpcErr> {
        self.cluster
            .chain()
            .await
            .is_blockhash_valid(hash)
            .await
            .map_err(RpcErr::internal)
    }

    /// `lever_setPrice [usd, {account, feedId, confidence}]`: publish a price at the chain's
    /// time (default: the demo's price account and feed).
    pub(super) async fn lever_set_price(&self, params: &Value) -> Result<Value, RpcErr> {
        let usd: f64 = required(params, 0, "price in USD")?;
        if !(usd.is_finite() && usd > 0.0) {
            return Err(RpcErr::invalid_params(
                "Invalid param: the price must be positive",
            ));
        }
        let options: Value = param(params, 1)?.unwrap_or(json!({}));
        let default = *self.price_feed.lock().unwrap_or_else(|e| e.into_inner());
        let account = match options.get("account").and_then(Value::as_str) {
            Some(a) => pubkey(a)?,
            None => default
                .map(|(a, _)| a)
                .ok_or_else(|| RpcErr::invalid_params("Invalid param: no price account given"))?,
        };
        let feed_id = match options.get("feedId").and_then(Value::as_str) {
            Some(hex) => {
                let hex = hex.trim_start_matches("0x");
                let bytes: Option<Vec<u8>> = (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
                    .collect();
                bytes
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| RpcErr::invalid_params("Invalid param: feedId is 32 bytes of hex"))?
            }
            None => default
                .map(|(_, f)| f)
                .ok_or_else(|| RpcErr::invalid_params("Invalid param: no feedId given"))?,
        };
        let confidence = options
            .get("confidence")
            .and_then(Value::as_f64)
            .unwrap_or(DEMO_CONF_RATIO);
        let _w = self.writes.lock().await;
        let (input, slot) = {
            let mut chain = self.cluster.chain().await;
            let input = lever_sdk::pyth::PriceInput::usd(feed_id, usd, confidence, chain.now());
            chain.write_price(&account, &input);
            (input, chain.clock().slot)
        };
        self.publish(Event::Slot {
            slot,
            parent: slot.saturating_sub(1),
        });
        self.publish(Event::Accounts {
            slot,
            keys: Arc::new(vec![account]),
        });
        Ok(json!({
            "account": account.to_string(),
            "price": input.price,
            "conf": input.conf,
            "exponent": input.exponent,
            "publishTime": input.publish_time,
            "slot": slot,
        }))
    }

    /// `lever_advanceClock [seconds]`: move the chain's clock forward, in a new slot.
    pub(super) async fn lever_advance_clock(&self, params: &Value) -> Result<Value, RpcErr> {
        let secs: i64 = required(params, 0, "seconds")?;
        if secs < 0 {
            return Err(RpcErr::invalid_params(
                "Invalid param: the clock only moves forward",
            ));
        }
        let _w = self.writes.lock().await;
        let clock = {
            let mut chain = self.cluster.chain().await;
            let to = chain.now().saturating_add(secs);
            let parent = chain.clock().slot;
            chain.set_time(to);
            let clock = chain.clock();
            self.publish(Event::Slot {
                slot: clock.slot,
                parent,
            });
            clock
        };
        Ok(json!({"unixTimestamp": clock.unix_timestamp, "slot": clock.slot}))
    }

    pub(super) async fn request_airdrop(&self, params: &Value) -> Result<Value, RpcErr> {
        let to = pubkey(&required::<String>(params, 0, "pubkey")?)?;
        let lamports: u64 = required(params, 1, "lamports")?;
        let (blockhash, _) = self.latest_blockhash().await?;
        let tx = {
            let chain = self.cluster.chain().await;
            let payer = chain.payer();
            let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, lamports);
            Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[payer], blockhash)
        };
        let signature = self.send(tx.into(), false).await?;
        to_json(signature.to_string())
    }
}

impl Node {
    /// `lever_faucet [owner, {units, lamports}]`: lamports (default 10 SOL) and `units` of the
    /// demo's underlying (default 100 whole) into `owner`'s associated token account, created if
    /// missing. Returns the account and what it holds now.
    pub(super) async fn lever_faucet(&self, params: &Value) -> Result<Value, RpcErr> {
        const WHOLE: u64 = 1_000_000_000;
        let owner = pubkey(&required::<String>(params, 0, "owner")?)?;
        let options: Value = param(params, 1)?.unwrap_or(json!({}));
        let amount = |name: &str, default: u64| match options.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| RpcErr::invalid_params(format!("Invalid param: {name} is a u64"))),
        };
        let units = amount("units", 100 * WHOLE)?;
        let lamports = amount("lamports", 10 * WHOLE)?;
        let (keys, authority) = {
            let faucet = self.faucet.lock().unwrap_or_else(|e| e.into_inner());
            let f = faucet
                .as_ref()
                .ok_or_else(|| RpcErr::new(-32601, "Method not found: this node has no faucet"))?;
            (f.keys, f.mint_authority.insecure_clone())
        };
        let _w = self.writes.lock().await;
        let mut chain = self.cluster.chain().await;
        if lamports > 0 {
            chain.airdrop(&owner, lamports).await.map_err(RpcErr::internal)?;
        }
        let account = crate::local::fund_associated(&mut chain, &keys, &authority, &owner, units)
            .await
            .map_err(RpcErr::internal)?;
        let slot = chain.clock().slot;
        drop(chain);
        self.publish(Event::Accounts {
            slot,
            keys: Arc::new(vec![owner, account]),
        });
        Ok(
            json!({"owner": owner.to_string(), "account": account.to_string(), "units": units, "lamports": lamports}),
        )
    }
}

pub(super) fn error_response(id: Value, e: &RpcErr) -> Value {
    json!({"jsonrpc": "2.0", "error": e.to_json(), "id": id})
}

/// -32002 with the simulation, as a validator refuses a transaction whose preflight fails.
pub(super) fn preflight_failure(error: TransactionError, result: RpcSimulateTransactionResult) -> RpcErr {
    RpcErr {
        code: -32002,
        message: format!("Transaction simulation failed: {error}"),
        data: serde_json::to_value(result).ok(),
    }
}

pub(super) fn verify(tx: &VersionedTransaction) -> Result<(), RpcErr> {
    let signers = usize::from(tx.message.header().num_required_signatures);
    if tx.signatures.len() != signers || !tx.verify_with_results().iter().all(|ok| *ok) {
        return Err(RpcErr::new(-32003, "Transaction signature verification failure"));
    }
    Ok(())
}
