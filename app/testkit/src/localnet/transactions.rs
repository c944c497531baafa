//! The transaction methods the node answers: fees and simulation, sending and its records,
//! signature statuses, transactions, signatures by address, blocks and prioritization fees.

use super::methods::{preflight_failure, verify};
use super::*;
use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use lever_sdk::accounts::decode_market;
use lever_sdk::cluster::{Cluster, ClusterError};
use serde_json::{json, Value};
use solana_account::Account;
use solana_message::VersionedMessage;
use solana_rpc_client::api::config::{
    RpcAccountInfoConfig, RpcContextConfig, RpcSendTransactionConfig, RpcSignatureStatusConfig,
    RpcSimulateTransactionConfig, RpcTransactionConfig, UiTransactionEncoding,
};
use solana_rpc_client::api::response::{
    RpcBlockhash, RpcSimulateTransactionResult, UiCompiledInstruction, UiInnerInstructions, UiInstruction,
};
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{CompiledInstruction, Hash, Message, Signature};
use solana_transaction_error::TransactionError;
use std::str::FromStr;
use std::sync::Arc;

impl Node {
    /// The fee the bank charges for `tx` (`None`: blockhash unknown). For a v0 message, the
    /// bank prices the same header, keys and instructions (the fee does not depend on the
    /// accounts an instruction names).
    pub(super) async fn fee(&self, tx: &VersionedTransaction) -> Result<Option<u64>, RpcErr> {
        let message = match &tx.message {
            VersionedMessage::Legacy(m) => m.clone(),
            VersionedMessage::V0(m) => Message::new_with_compiled_instructions(
                m.header.num_required_signatures,
                m.header.num_readonly_signed_accounts,
                m.header.num_readonly_unsigned_accounts,
                m.account_keys.clone(),
                m.recent_blockhash,
                m.instructions
                    .iter()
                    .map(|i| {
                        CompiledInstruction::new_from_raw_parts(i.program_id_index, i.data.clone(), vec![])
                    })
                    .collect(),
            ),
        };
        let chain = self.cluster.chain().await;
        chain
            .ctx
            .banks_client
            .get_fee_for_message(message)
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
    pub(super) async fn simulate_raw(&self, tx: &VersionedTransaction) -> Result<Simulated, RpcErr> {
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
        tx: &VersionedTransaction,
        sim: &Simulated,
        inner_instructions: bool,
        replacement_blockhash: Option<RpcBlockhash>,
    ) -> Result<RpcSimulateTransactionResult, RpcErr> {
        let fee = match &sim.result {
            Err(_) => None,
            Ok(()) => self.fee(tx).await?,
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
        self.reach(config.min_context_slot).await?;
        if config.sig_verify {
            verify(&tx)?;
        }
        let replacement = if config.replace_recent_blockhash {
            let (blockhash, last_valid_block_height) = self.latest_blockhash().await?;
            match &mut tx.message {
                VersionedMessage::Legacy(m) => m.recent_blockhash = blockhash,
                VersionedMessage::V0(m) => m.recent_blockhash = blockhash,
            }
            Some(RpcBlockhash {
                blockhash: blockhash.to_string(),
                last_valid_block_height,
            })
        } else {
            None
        };
        let _w = self.writes.lock().await;
        let sim = self.simulate_raw(&tx).await?;
        let mut result = self
            .simulation_result(&tx, &sim, config.inner_instructions, replacement)
            .await?;
        if let Some(accounts) = &config.accounts {
            if accounts.addresses.len() > MAX_MULTIPLE_ACCOUNTS {
                return Err(RpcErr::invalid_params(format!(
                    "Too many accounts provided; max {MAX_MULTIPLE_ACCOUNTS}"
                )));
            }
            let addresses = accounts
                .addresses
                .iter()
                .map(|a| pubkey(a))
                .collect::<Result<Vec<_>, _>>()?;
            if sim.result.is_ok() {
                let after = self.accounts_after(&tx, &addresses).await?;
                let account_config = RpcAccountInfoConfig {
                    encoding: accounts.encoding,
                    ..Default::default()
                };
                let mut shown = Vec::with_capacity(after.len());
                for (key, account) in addresses.iter().zip(after) {
                    shown.push(match account {
                        Some(a) => Some(self.ui(key, &a, &account_config).await),
                        None => None,
                    });
                }
                result.accounts = Some(shown);
            } else {
                result.accounts = Some(vec![None; addresses.len()]);
            }
        }
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

    /// The static keys of `tx`, then the keys its lookup tables load (writable, then readonly).
    pub(super) async fn resolve_keys(
        &self,
        tx: &VersionedTransaction,
    ) -> Result<(Vec<Pubkey>, (Vec<Pubkey>, Vec<Pubkey>)), RpcErr> {
        let mut keys = tx.message.static_account_keys().to_vec();
        let mut loaded = (Vec::new(), Vec::new());
        for lookup in tx.message.address_table_lookups().unwrap_or_default() {
            let table = self
                .cluster
                .account(&lookup.account_key)
                .await
                .map_err(RpcErr::cluster)?
                .ok_or_else(|| {
                    preflight_failure(
                        TransactionError::AddressLookupTableNotFound,
                        empty_simulation(TransactionError::AddressLookupTableNotFound),
                    )
                })?;
            let addresses: Vec<Pubkey> = table
                .data
                .get(LOOKUP_TABLE_META_SIZE..)
                .unwrap_or_default()
                .chunks_exact(32)
                .map(|c| Pubkey::new_from_array(c.try_into().unwrap_or([0; 32])))
                .collect();
            let pick = |indexes: &[u8]| -> Result<Vec<Pubkey>, RpcErr> {
                indexes
                    .iter()
                    .map(|i| {
                        addresses.get(usize::from(*i)).copied().ok_or_else(|| {
                            preflight_failure(
                                TransactionError::InvalidAddressLookupTableIndex,
                                empty_simulation(TransactionError::InvalidAddressLookupTableIndex),
                            )
                        })
                    })
                    .collect()
            };
            loaded.0.extend(pick(&lookup.writable_indexes)?);
            loaded.1.extend(pick(&lookup.readonly_indexes)?);
        }
        keys.extend(loaded.0.iter().copied());
        keys.extend(loaded.1.iter().copied());
        Ok((keys, loaded))
    }

    /// Verify, preflight unless `skip_preflight`, process, and keep the outcome. A transaction
    /// that cannot land is refused as a preflight failure (-32002, with its error), so a client
    /// learns at once what a validator would let it find out only when the blockhash expires.
    pub(super) async fn send(
        &self,
        tx: VersionedTransaction,
        skip_preflight: bool,
    ) -> Result<Signature, RpcErr> {
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
        let (keys, loaded) = self.resolve_keys(&tx).await?;
        let sim = self.simulate_raw(&tx).await?;
        let preflight = self.simulation_result(&tx, &sim, true, None).await?;
        if !skip_preflight {
            if let Some(err) = &preflight.err {
                return Err(preflight_failure(err.clone().into(), preflight));
            }
        }
        let fee = self.fee(&tx).await?.unwrap_or(0);
        let lamports = |accounts: &[Option<Account>]| -> Vec<u64> {
            accounts
                .iter()
                .map(|a| a.as_ref().map_or(0, |a| a.lamports))
                .collect()
        };
        let pre = self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?;
        let pre_token_balances = self.token_balances(&keys, &pre).await;
        // The preflight above already read the inner instructions: no second simulation.
        let outcome = self.cluster.process_versioned(&tx).await;
        let post = self.cluster.accounts(&keys).await.map_err(RpcErr::cluster)?;
        let post_token_balances = self.token_balances(&keys, &post).await;
        let (now, block_height, blockhash) = {
            let mut chain = self.cluster.chain().await;
            chain.note_accounts(keys.iter().copied());
            let now = chain.clock();
            let height = chain.block_height().await.map_err(RpcErr::internal)?;
            let (hash, _) = chain.latest_blockhash_info().await.map_err(RpcErr::internal)?;
            self.slot_made(&mut chain);
            (now, height, hash)
        };
        let sim_return = sim.return_data.as_ref().map(|(program, _)| *program);
        let last_program = tx
            .message
            .instructions()
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
            block_height,
            blockhash,
            tx,
            keys,
            loaded,
            err,
            logs,
            return_data,
            inner: preflight.inner_instructions,
            units: preflight.units_consumed,
            fee,
            pre_balances: lamports(&pre),
            post_balances: lamports(&post),
            pre_token_balances,
            post_token_balances,
        };
        if record.err.is_none() {
            self.watch_created_markets(&record.tx, &record.keys).await?;
        }
        self.publish(Event::Landed {
            signature,
            slot: record.slot,
            err: record.err.clone(),
            keys: Arc::new(record.keys.clone()),
            logs: Arc::new(record.logs.clone()),
        });
        self.records().insert(signature, Arc::new(record));
        self.order
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(signature);
        Ok(signature)
    }

    /// Watch the market of every `create_market` in `tx` (which landed).
    pub(super) async fn watch_created_markets(
        &self,
        tx: &VersionedTransaction,
        keys: &[Pubkey],
    ) -> Result<(), RpcErr> {
        let candidates: Vec<Pubkey> = tx
            .message
            .instructions()
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
        let mut value = transaction_with_meta(&r, encoding, config.max_supported_transaction_version)?;
        // `EncodedConfirmedTransactionWithStatusMeta`: slot, the flattened fields, block time.
        value["slot"] = json!(r.slot);
        value["blockTime"] = json!(r.block_time);
        Ok(value)
    }

    pub(super) async fn get_signatures_for_address(&self, params: &Value) -> Result<Value, RpcErr> {
        let address = pubkey(&required::<String>(params, 0, "address")?)?;
        let config: Value = param(params, 1)?.unwrap_or(json!({}));
        let limit = config.get("limit").and_then(Value::as_u64).unwrap_or(1000);
        if !(1..=1000).contains(&limit) {
            return Err(RpcErr::invalid_params("Invalid limit; max 1000"));
        }
        let signature_of = |key: &str| -> Result<Option<Signature>, RpcErr> {
            match config.get(key).and_then(Value::as_str) {
                Some(s) => Signature::from_str(s)
                    .map(Some)
                    .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}"))),
                None => Ok(None),
            }
        };
        let (before, until) = (signature_of("before")?, signature_of("until")?);
        let order = self.order.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let records = self.records();
        let mut out = Vec::new();
        // Newest first; `before` excludes itself and everything newer, `until` stops there.
        let mut started = before.is_none();
        for signature in order.iter().rev() {
            if !started {
                started = Some(*signature) == before;
                continue;
            }
            if Some(*signature) == until || out.len() as u64 >= limit {
                break;
            }
            let Some(r) = records.get(signature) else { continue };
            if r.keys.contains(&address) {
                out.push(json!({
                    "signature": signature.to_string(),
                    "slot": r.slot,
                    "err": r.err,
                    "memo": null,
                    "blockTime": r.block_time,
                    "confirmationStatus": "finalized",
                }));
            }
        }
        Ok(Value::Array(out))
    }

    pub(super) async fn get_block(&self, params: &Value) -> Result<Value, RpcErr> {
        let slot: u64 = required(params, 0, "slot")?;
        let config: Value = match params.get(1) {
            Some(Value::String(e)) => json!({"encoding": e}),
            Some(v @ Value::Object(_)) => v.clone(),
            _ => json!({}),
        };
        let encoding: UiTransactionEncoding = match config.get("encoding") {
            Some(e) => serde_json::from_value(e.clone())
                .map_err(|e| RpcErr::invalid_params(format!("Invalid param: {e}")))?,
            None => UiTransactionEncoding::Json,
        };
        let details = config
            .get("transactionDetails")
            .and_then(Value::as_str)
            .unwrap_or("full")
            .to_string();
        let max_version = config
            .get("maxSupportedTransactionVersion")
            .and_then(Value::as_u64)
            .map(|v| v as u8);
        let rewards = config.get("rewards").and_then(Value::as_bool).unwrap_or(true);
        let (current, height, hash) = {
            let mut chain = self.cluster.chain().await;
            let clock = chain.clock();
            let height = chain.block_height().await.map_err(RpcErr::internal)?;
            let (hash, _) = chain.latest_blockhash_info().await.map_err(RpcErr::internal)?;
            (clock, height, hash)
        };
        if slot > current.slot {
            return Err(RpcErr::new(
                -32004,
                format!("Block not available for slot {slot}"),
            ));
        }
        let order = self.order.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let in_slot: Vec<Arc<Record>> = {
            let records = self.records();
            order
                .iter()
                .filter_map(|s| records.get(s).cloned())
                .filter(|r| r.slot == slot)
                .collect()
        };
        let (block_height, blockhash, block_time) = match in_slot.first() {
            Some(r) => (r.block_height, r.blockhash, r.block_time),
            None => (height, hash, current.unix_timestamp),
        };
        let mut block = json!({
            "blockHeight": block_height,
            "blockTime": block_time,
            "blockhash": blockhash.to_string(),
            "parentSlot": slot.saturating_sub(1),
            "previousBlockhash": blockhash.to_string(),
        });
        if rewards {
            block["rewards"] = json!([]);
        }
        match details.as_str() {
            "none" => {}
            "signatures" => {
                block["signatures"] = json!(in_slot
                    .iter()
                    .map(|r| r.tx.signatures[0].to_string())
                    .collect::<Vec<_>>());
            }
            "full" | "accounts" => {
                let mut txs = Vec::new();
                for r in &in_slot {
                    if matches!(r.tx.message, VersionedMessage::V0(_)) && max_version.is_none() {
                        return Err(RpcErr::new(
                            -32015,
                            "Transaction version (0) is not supported by the requesting client. \
                             Please try the request again with the following configuration \
                             parameter: \"maxSupportedTransactionVersion\": 0",
                        ));
                    }
                    let mut t = transaction_with_meta(r, encoding, max_version)?;
                    if details == "accounts" {
                        t["transaction"] = json!({
                            "signatures": r.tx.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                            "accountKeys": encode_for(&r.tx, UiTransactionEncoding::JsonParsed, &r.keys, &r.loaded)?["message"]["accountKeys"].clone(),
                        });
                    }
                    txs.push(t);
                }
                block["transactions"] = Value::Array(txs);
            }
            other => {
                return Err(RpcErr::invalid_params(format!(
                    "Invalid param: unknown transactionDetails {other}"
                )))
            }
        }
        Ok(block)
    }

    /// The compute-unit price of each recent transaction (writing one of `addresses`, if given);
    /// a single zero at the current slot when there is none.
    pub(super) async fn get_recent_prioritization_fees(&self, params: &Value) -> Result<Value, RpcErr> {
        let addresses: Vec<String> = param(params, 0)?.unwrap_or_default();
        let addresses = addresses
            .iter()
            .map(|a| pubkey(a))
            .collect::<Result<Vec<_>, _>>()?;
        let slot = self.slot().await;
        let records = self.records();
        let mut fees: std::collections::BTreeMap<u64, u64> = Default::default();
        for r in records.values().filter(|r| r.slot + 150 >= slot) {
            if !addresses.is_empty() && !addresses.iter().any(|a| r.keys.contains(a)) {
                continue;
            }
            let price = compute_unit_price(&r.tx, &r.keys);
            let entry = fees.entry(r.slot).or_default();
            *entry = (*entry).max(price);
        }
        if fees.is_empty() {
            fees.insert(slot, 0);
        }
        Ok(Value::Array(
            fees.into_iter()
                .map(|(slot, fee)| json!({"slot": slot, "prioritizationFee": fee}))
                .collect(),
        ))
    }
}
