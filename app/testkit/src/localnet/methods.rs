//! The JSON-RPC methods the node answers, each mapped onto the embedded chain.

use super::*;
use crate::chain::Chain;
use crate::embedded::Embedded;
use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use lever_sdk::accounts::decode_market;
use lever_sdk::cluster::{Cluster, ClusterError};
use serde_json::{json, Value};
use solana_account::Account;
use solana_rpc_client::api::config::{
    RpcAccountInfoConfig, RpcContextConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig,
    RpcSignatureStatusConfig, RpcSimulateTransactionConfig, RpcTransactionConfig, UiTransactionEncoding,
};
use solana_rpc_client::api::response::transaction::versioned::TransactionVersion;
use solana_rpc_client::api::response::{
    EncodedTransaction, EncodedTransactionWithStatusMeta, OptionSerializer, Response, RpcBlockhash,
    RpcKeyedAccount, RpcResponseContext, RpcSimulateTransactionResult, RpcVersionInfo, UiAccount,
    UiCompiledInstruction, UiInnerInstructions, UiInstruction, UiLoadedAddresses, UiTransactionStatusMeta,
};
use solana_transaction::{Hash, Message, Signature, Transaction};
use solana_transaction_error::TransactionError;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex as StdMutex};

impl Node {
    pub(super) fn new(cluster: Arc<Embedded<Chain>>) -> Self {
        Self {
            cluster,
            writes: tokio::sync::Mutex::new(()),
            records: StdMutex::new(HashMap::new()),
        }
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
            chain.next_slot();
        }
        Ok(())
    }

    pub(super) async fn get_account_info(&self, params: &Value) -> Result<Value, RpcErr> {
        let key = pubkey(&required::<String>(params, 0, "pubkey")?)?;
        let config: RpcAccountInfoConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let account = self.cluster.account(&key).await.map_err(RpcErr::cluster)?;
        self.with_context(account.map(|a| ui_account(&a, &config))).await
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
        let value: Vec<Option<UiAccount>> = accounts
            .iter()
            .map(|a| a.as_ref().map(|a| ui_account(a, &config)))
            .collect();
        self.with_context(value).await
    }

    /// The watched markets (the only accounts this node can list), filtered.
    pub(super) async fn get_program_accounts(&self, params: &Value) -> Result<Value, RpcErr> {
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

    pub(super) async fn get_latest_blockhash(&self, params: &Value) -> Result<Value, RpcErr> {
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

    pub(super) async fn last_valid_block_height(&self) -> Result<u64, RpcErr> {
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
    pub(super) async fn blockhash_valid(&self, hash: &Hash) -> Result<bool, RpcErr> {
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

    pub(super) async fn fee(&self, message: &Message) -> Result<Option<u64>, RpcErr> {
        let chain = self.cluster.chain().await;
        chain
            .ctx
            .banks_client
            .get_fee_for_message(message.clone())
            .await
            .map_err(RpcErr::internal)
    }

    pub(super) async fn is_blockhash_valid(&self, params: &Value) -> Result<Value, RpcErr> {
        let text: String = required(params, 0, "blockhash")?;
        let hash =
            Hash::from_str(&text).map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?;
        let config: RpcContextConfig = param(params, 1)?.unwrap_or_default();
        self.reach(config.min_context_slot).await?;
        let valid = self.blockhash_valid(&hash).await?;
        self.with_context(valid).await
    }

    /// The bank's simulation of `tx` at the current state.
    pub(super) async fn simulate_raw(&self, tx: &Transaction) -> Result<Simulated, RpcErr> {
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
    pub(super) async fn simulation_result(
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

    pub(super) async fn simulate_transaction(&self, params: &Value) -> Result<Value, RpcErr> {
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

    pub(super) async fn send_transaction(&self, params: &Value) -> Result<Value, RpcErr> {
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
    pub(super) async fn send(&self, tx: Transaction, skip_preflight: bool) -> Result<Signature, RpcErr> {
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
    pub(super) async fn watch_created_markets(&self, tx: &Transaction) -> Result<(), RpcErr> {
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

    pub(super) async fn get_signature_statuses(&self, params: &Value) -> Result<Value, RpcErr> {
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

    pub(super) async fn get_transaction(&self, params: &Value) -> Result<Value, RpcErr> {
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

    pub(super) async fn request_airdrop(&self, params: &Value) -> Result<Value, RpcErr> {
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

pub(super) fn verify(tx: &Transaction) -> Result<(), RpcErr> {
    tx.verify()
        .map_err(|_| RpcErr::new(-32003, "Transaction signature verification failure"))
}
