//! A processed transaction with its meta as `getTransaction`/`getBlock` show it, and the
//! post-simulation accounts `simulateTransaction` reports.

use super::*;
use serde_json::{json, Value};
use solana_account::Account;
use solana_message::VersionedMessage;
use solana_rpc_client::api::config::UiTransactionEncoding;
use solana_rpc_client::api::response::{
    OptionSerializer, RpcSimulateTransactionResult, UiInstruction, UiLoadedAddresses, UiTransactionStatusMeta,
};
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::CompiledInstruction;
use solana_transaction_error::TransactionError;

/// Where an address lookup table's addresses start.
pub(super) const LOOKUP_TABLE_META_SIZE: usize = 56;

/// What `getVersion` reports as `feature-set` (a validator reports an id of its active feature
/// set; program-test activates every feature of agave 3.1.12, so this names that set).
pub const FEATURE_SET: u32 = 3_011_012;

/// A simulation result carrying only `err` (for refusals before anything ran).
pub(super) fn empty_simulation(err: TransactionError) -> RpcSimulateTransactionResult {
    RpcSimulateTransactionResult {
        err: Some(err.into()),
        logs: Some(Vec::new()),
        accounts: None,
        units_consumed: Some(0),
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
    }
}

/// The compute-unit price a transaction offers (micro-lamports; 0 without `SetComputeUnitPrice`).
pub(super) fn compute_unit_price(tx: &VersionedTransaction, keys: &[Pubkey]) -> u64 {
    let budget = solana_compute_budget_interface::ID;
    tx.message
        .instructions()
        .iter()
        .filter(|i| keys.get(usize::from(i.program_id_index)) == Some(&budget))
        .filter_map(|i| match i.data.split_first() {
            Some((3, rest)) => rest
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes),
            _ => None,
        })
        .next_back()
        .unwrap_or(0)
}

/// `EncodedTransactionWithStatusMeta` for a record: the transaction in `encoding` and its meta
/// (for `jsonParsed`, inner instructions parsed or partially decoded too).
pub(super) fn transaction_with_meta(
    r: &Record,
    encoding: UiTransactionEncoding,
    max_version: Option<u8>,
) -> Result<Value, RpcErr> {
    let v0 = matches!(r.tx.message, VersionedMessage::V0(_));
    if v0 && max_version.is_none() {
        return Err(RpcErr::new(
            -32015,
            "Transaction version (0) is not supported by the requesting client. Please try the \
             request again with the following configuration parameter: \
             \"maxSupportedTransactionVersion\": 0",
        ));
    }
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
            writable: r.loaded.0.iter().map(|k| k.to_string()).collect(),
            readonly: r.loaded.1.iter().map(|k| k.to_string()).collect(),
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
    let mut meta = to_json(meta)?;
    meta["preTokenBalances"] = json!(r.pre_token_balances);
    meta["postTokenBalances"] = json!(r.post_token_balances);
    if encoding == UiTransactionEncoding::JsonParsed {
        if let Some(inner) = &r.inner {
            meta["innerInstructions"] = json!(inner
                .iter()
                .map(|set| json!({
                    "index": set.index,
                    "instructions": set.instructions.iter().map(|i| match i {
                        UiInstruction::Compiled(c) => parsed_instruction(
                            c.program_id_index,
                            &c.accounts,
                            &base58_decode(&c.data).unwrap_or_default(),
                            &r.keys,
                            c.stack_height,
                        ),
                        other => json!(other),
                    }).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>());
        }
    }
    let version = match (max_version, v0) {
        (None, _) => Value::Null,
        (Some(_), false) => json!("legacy"),
        (Some(_), true) => json!(0),
    };
    let mut value = json!({
        "transaction": encode_for(&r.tx, encoding, &r.keys, &r.loaded)?,
        "meta": meta,
    });
    if !version.is_null() {
        value["version"] = version;
    }
    Ok(value)
}

impl Node {
    /// The state of `addresses` after `tx` (which simulated successfully): the bank's simulation
    /// reports no accounts, so `tx` is simulated once more with one instruction appended, to the
    /// chain's native inspector ([`crate::native::INSPECTOR_ID`]), which reads the accounts as the
    /// transaction's own instructions left them and logs each one (`Program data:` lines, which a
    /// simulation does not truncate). Signatures are not checked in a simulation, so the changed
    /// message needs none.
    pub(super) async fn accounts_after(
        &self,
        tx: &VersionedTransaction,
        addresses: &[Pubkey],
    ) -> Result<Vec<Option<Account>>, RpcErr> {
        let inspector = crate::native::INSPECTOR_ID;
        let mut probe = tx.clone();
        let (statics, header, instructions) = match &mut probe.message {
            VersionedMessage::Legacy(m) => (&mut m.account_keys, &mut m.header, &mut m.instructions),
            VersionedMessage::V0(m) => (&mut m.account_keys, &mut m.header, &mut m.instructions),
        };
        let before = statics.len();
        let add = |key: &Pubkey, statics: &mut Vec<Pubkey>| -> usize {
            match statics.iter().position(|k| k == key) {
                Some(i) => i,
                None => {
                    statics.push(*key);
                    statics.len() - 1
                }
            }
        };
        let program_index = add(&inspector, statics);
        let mut indexes = Vec::with_capacity(addresses.len());
        for a in addresses {
            indexes.push(add(a, statics));
        }
        let added = statics.len() - before;
        header.num_readonly_unsigned_accounts = header
            .num_readonly_unsigned_accounts
            .saturating_add(u8::try_from(added).map_err(|_| RpcErr::invalid_params("too many accounts"))?);
        // Keys loaded from lookup tables come after the static ones: they move by `added`.
        for i in instructions.iter_mut() {
            for a in i.accounts.iter_mut() {
                if usize::from(*a) >= before {
                    *a = u8::try_from(usize::from(*a) + added)
                        .map_err(|_| RpcErr::invalid_params("too many accounts"))?;
                }
            }
        }
        let to_u8 = |i: usize| u8::try_from(i).map_err(|_| RpcErr::invalid_params("too many accounts"));
        instructions.push(CompiledInstruction::new_from_raw_parts(
            to_u8(program_index)?,
            vec![],
            indexes.iter().map(|i| to_u8(*i)).collect::<Result<_, _>>()?,
        ));
        let sim = self.simulate_raw(&probe).await?;
        if let Err(e) = &sim.result {
            return Err(RpcErr::internal(format!(
                "reading the accounts after the simulation: {e}"
            )));
        }
        let invoke = format!("Program {inspector} invoke [1]");
        let start = sim
            .logs
            .iter()
            .rposition(|l| *l == invoke)
            .unwrap_or(sim.logs.len());
        let mut out = Vec::with_capacity(addresses.len());
        for line in sim.logs[start..]
            .iter()
            .filter_map(|l| l.strip_prefix("Program data: "))
        {
            out.push(crate::native::decode_inspected(line));
        }
        out.resize(addresses.len(), None);
        Ok(out)
    }
}
