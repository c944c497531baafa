//! JSON-RPC plumbing: errors, parameters, account and return-data views, and the transaction wire format.

use super::*;
use crate::chain::Chain;
use crate::embedded::Embedded;
use anchor_lang::prelude::Pubkey;
use lever_sdk::cluster::ClusterError;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use solana_account::Account;
use solana_account_decoder::parse_account_data::{AccountAdditionalDataV3, SplTokenAdditionalDataV2};
use solana_message::v0::MessageAddressTableLookup;
use solana_message::{v0, MessageHeader, VersionedMessage};
use solana_rpc_client::api::config::{RpcAccountInfoConfig, UiTransactionEncoding};
use solana_rpc_client::api::filter::{Memcmp, MemcmpEncodedBytes, RpcFilterType};
use solana_rpc_client::api::response::{
    EncodedTransaction, TransactionBinaryEncoding, UiAccount, UiAccountEncoding, UiCompiledInstruction,
    UiInnerInstructions, UiReturnDataEncoding, UiTransactionReturnData,
};
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::{CompiledInstruction, Hash, Message, Signature, Transaction};
use solana_transaction_error::TransactionError;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex as StdMutex};

// ---------------------------------------------------------------------------------------------
// JSON-RPC
// ---------------------------------------------------------------------------------------------

/// A JSON-RPC error.
#[derive(Debug)]
pub(super) struct RpcErr {
    pub(super) code: i64,
    pub(super) message: String,
    pub(super) data: Option<Value>,
}

impl RpcErr {
    pub(super) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub(super) fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(-32602, message)
    }

    pub(super) fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(-32603, format!("Internal error: {message}"))
    }

    pub(super) fn cluster(e: ClusterError) -> Self {
        Self::internal(e)
    }

    pub(super) fn to_json(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            e["data"] = data.clone();
        }
        e
    }
}

/// The bank's simulation, in the RPC types.
pub(super) struct Simulated {
    pub(super) result: Result<(), TransactionError>,
    pub(super) logs: Vec<String>,
    pub(super) units_consumed: u64,
    pub(super) loaded_accounts_data_size: Option<u32>,
    pub(super) return_data: Option<(Pubkey, Vec<u8>)>,
    pub(super) inner: Option<Vec<UiInnerInstructions>>,
}

/// What a processed transaction left, by signature.
pub(super) struct Record {
    pub(super) slot: u64,
    pub(super) block_time: i64,
    /// The block height and the latest blockhash when it landed (what `getBlock` reports).
    pub(super) block_height: u64,
    pub(super) blockhash: Hash,
    pub(super) tx: VersionedTransaction,
    /// Static keys, then the keys loaded from lookup tables (writable, then readonly).
    pub(super) keys: Vec<Pubkey>,
    pub(super) loaded: (Vec<Pubkey>, Vec<Pubkey>),
    pub(super) err: Option<TransactionError>,
    pub(super) logs: Vec<String>,
    pub(super) return_data: Option<(Pubkey, Vec<u8>)>,
    pub(super) inner: Option<Vec<UiInnerInstructions>>,
    pub(super) units: Option<u64>,
    pub(super) fee: u64,
    pub(super) pre_balances: Vec<u64>,
    pub(super) post_balances: Vec<u64>,
    pub(super) pre_token_balances: Vec<Value>,
    pub(super) post_token_balances: Vec<Value>,
}

/// What the websocket subscriptions hear about.
#[derive(Clone, Debug)]
pub(super) enum Event {
    /// A new slot.
    Slot { slot: u64, parent: u64 },
    /// A transaction landed (or failed on chain) in `slot`.
    Landed {
        signature: Signature,
        slot: u64,
        err: Option<TransactionError>,
        keys: Arc<Vec<Pubkey>>,
        logs: Arc<Vec<String>>,
    },
    /// Accounts written outside a transaction (a price, the clock).
    Accounts { slot: u64, keys: Arc<Vec<Pubkey>> },
}

pub(super) struct Node {
    pub(super) cluster: Arc<Embedded<Chain>>,
    /// Held by everything that changes the chain (transactions, slots, prices), so a
    /// transaction's preflight and processing see the same state.
    pub(super) writes: tokio::sync::Mutex<()>,
    pub(super) records: StdMutex<HashMap<Signature, Arc<Record>>>,
    /// Signatures in the order they were processed.
    pub(super) order: StdMutex<Vec<Signature>>,
    pub(super) events: tokio::sync::broadcast::Sender<Event>,
    pub(super) next_subscription: std::sync::atomic::AtomicU64,
    /// Where `lever_setPrice` writes by default (the demo's price account and feed).
    pub(super) price_feed: StdMutex<Option<(Pubkey, [u8; 32])>>,
    /// What `lever_faucet` mints (the demo's market and its underlying's mint authority).
    pub(super) faucet: StdMutex<Option<Faucet>>,
    /// The static files served on `GET` ([`super::LocalnetOptions::web_root`]).
    pub(super) web_root: Option<std::path::PathBuf>,
}

/// The demo's underlying, for `lever_faucet`.
pub(super) struct Faucet {
    pub(super) keys: lever_sdk::pda::MarketKeys,
    pub(super) mint_authority: solana_keypair::Keypair,
}

pub(super) fn to_json<T: serde::Serialize>(value: T) -> Result<Value, RpcErr> {
    serde_json::to_value(value).map_err(RpcErr::internal)
}

/// Parameter `i`, `None` when absent or null.
pub(super) fn param<T: DeserializeOwned>(params: &Value, i: usize) -> Result<Option<T>, RpcErr> {
    match params.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| RpcErr::invalid_params(format!("Invalid params: parameter {i}: {e}"))),
    }
}

pub(super) fn required<T: DeserializeOwned>(params: &Value, i: usize, what: &str) -> Result<T, RpcErr> {
    param(params, i)?.ok_or_else(|| RpcErr::invalid_params(format!("Invalid params: missing {what}")))
}

pub(super) fn pubkey(text: &str) -> Result<Pubkey, RpcErr> {
    Pubkey::from_str(text).map_err(|e| RpcErr::invalid_params(format!("Invalid param: {text}: {e}")))
}

pub(super) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base58 through the encoder the RPC types already carry (this crate has no base58 dependency).
pub(super) fn base58(bytes: &[u8]) -> String {
    UiCompiledInstruction::from(
        &CompiledInstruction::new_from_raw_parts(0, bytes.to_vec(), vec![]),
        None,
    )
    .data
}

pub(super) fn base58_decode(text: &str) -> Option<Vec<u8>> {
    Memcmp::new(0, MemcmpEncodedBytes::Base58(text.to_owned()))
        .bytes()
        .map(|b| b.into_owned())
}

/// An account as `getAccountInfo` returns it, in the requested encoding (`base64` by default;
/// `jsonParsed` through the validator's own decoder, `solana-account-decoder`, with `additional`
/// the mint data a token account is shown with; falls back to `base64` for accounts it cannot
/// parse, as a validator does).
pub(super) fn ui_account(
    key: &Pubkey,
    account: &Account,
    config: &RpcAccountInfoConfig,
    additional: Option<SplTokenAdditionalDataV2>,
) -> UiAccount {
    let encoding = config.encoding.unwrap_or(UiAccountEncoding::Base64);
    let additional = additional.map(|a| AccountAdditionalDataV3 {
        spl_token_additional_data: Some(a),
    });
    solana_account_decoder::encode_ui_account(key, account, encoding, additional, config.data_slice)
}

pub(super) fn filters_match(filters: &[RpcFilterType], data: &[u8]) -> Result<bool, RpcErr> {
    for filter in filters {
        let ok = match filter {
            RpcFilterType::DataSize(size) => data.len() as u64 == *size,
            RpcFilterType::Memcmp(m) => m.bytes_match(data),
            RpcFilterType::TokenAccountState => super::tokens::is_token_account(data),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn ui_return_data(program_id: &Pubkey, data: &[u8]) -> UiTransactionReturnData {
    UiTransactionReturnData {
        program_id: program_id.to_string(),
        data: (base64(data), UiReturnDataEncoding::Base64),
    }
}

/// Transactions that fail this way were executed and committed (the fee was charged): they get a
/// status. Others (bad blockhash, signature, fee payer, ...) never land.
pub(super) fn lands_with_error(error: &TransactionError, logs: &[String]) -> bool {
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

pub(super) fn put_short_u16(out: &mut Vec<u8>, mut n: usize) {
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
    let signatures = read_signatures(&mut r)?;
    let first = r.u8()?;
    if first & 0x80 != 0 {
        return Err(format!(
            "versioned transactions (v{}) are not supported by this node",
            first & 0x7f
        ));
    }
    legacy_after_first_byte(&mut r, signatures, first)
}

/// The rest of a legacy transaction once its signatures and first header byte are read.
fn legacy_after_first_byte(
    r: &mut Reader,
    signatures: Vec<Signature>,
    required: u8,
) -> Result<Transaction, String> {
    let (readonly_signed, readonly_unsigned) = (r.u8()?, r.u8()?);
    let keys = read_keys(r)?;
    let blockhash = read_hash(r)?;
    let instructions = read_instructions(r)?;
    r.finish()?;
    Ok(Transaction {
        signatures,
        message: Message::new_with_compiled_instructions(
            required,
            readonly_signed,
            readonly_unsigned,
            keys,
            blockhash,
            instructions,
        ),
    })
}

fn read_signatures(r: &mut Reader) -> Result<Vec<Signature>, String> {
    let count = r.short_u16()?;
    let mut signatures = Vec::with_capacity(count);
    for _ in 0..count {
        let raw: [u8; 64] = r.take(64)?.try_into().map_err(|_| "signature")?;
        signatures.push(Signature::from(raw));
    }
    Ok(signatures)
}

fn read_pubkey(r: &mut Reader) -> Result<Pubkey, String> {
    let raw: [u8; 32] = r.take(32)?.try_into().map_err(|_| "key")?;
    Ok(Pubkey::new_from_array(raw))
}

fn read_keys(r: &mut Reader) -> Result<Vec<Pubkey>, String> {
    let count = r.short_u16()?;
    (0..count).map(|_| read_pubkey(r)).collect()
}

fn read_hash(r: &mut Reader) -> Result<Hash, String> {
    let raw: [u8; 32] = r.take(32)?.try_into().map_err(|_| "blockhash")?;
    Ok(Hash::new_from_array(raw))
}

fn read_instructions(r: &mut Reader) -> Result<Vec<CompiledInstruction>, String> {
    let count = r.short_u16()?;
    let mut instructions = Vec::with_capacity(count);
    for _ in 0..count {
        let program = r.u8()?;
        let n = r.short_u16()?;
        let accounts = r.take(n)?.to_vec();
        let n = r.short_u16()?;
        let data = r.take(n)?.to_vec();
        instructions.push(CompiledInstruction::new_from_raw_parts(program, data, accounts));
    }
    Ok(instructions)
}

pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl Reader<'_> {
    /// Every byte read.
    fn finish(&self) -> Result<(), String> {
        if self.pos != self.bytes.len() {
            return Err(format!("{} trailing bytes", self.bytes.len() - self.pos));
        }
        Ok(())
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| "transaction too short".to_string())?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn short_u16(&mut self) -> Result<usize, String> {
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

/// A transaction in the wire format, legacy or v0.
pub fn decode_versioned(bytes: &[u8]) -> Result<VersionedTransaction, String> {
    let mut r = Reader { bytes, pos: 0 };
    let signatures = read_signatures(&mut r)?;
    let first = r.u8()?;
    if first & 0x80 == 0 {
        return legacy_after_first_byte(&mut r, signatures, first).map(VersionedTransaction::from);
    }
    if first & 0x7f != 0 {
        return Err(format!("transaction version {} is not supported", first & 0x7f));
    }
    let header = MessageHeader {
        num_required_signatures: r.u8()?,
        num_readonly_signed_accounts: r.u8()?,
        num_readonly_unsigned_accounts: r.u8()?,
    };
    let account_keys = read_keys(&mut r)?;
    let recent_blockhash = read_hash(&mut r)?;
    let instructions = read_instructions(&mut r)?;
    let lookup_count = r.short_u16()?;
    let mut address_table_lookups = Vec::with_capacity(lookup_count);
    for _ in 0..lookup_count {
        let account_key = read_pubkey(&mut r)?;
        let n = r.short_u16()?;
        let writable_indexes = r.take(n)?.to_vec();
        let n = r.short_u16()?;
        let readonly_indexes = r.take(n)?.to_vec();
        address_table_lookups.push(MessageAddressTableLookup {
            account_key,
            writable_indexes,
            readonly_indexes,
        });
    }
    r.finish()?;
    Ok(VersionedTransaction {
        signatures,
        message: VersionedMessage::V0(v0::Message {
            header,
            account_keys,
            recent_blockhash,
            instructions,
            address_table_lookups,
        }),
    })
}

/// The wire format of a legacy or v0 transaction.
pub fn encode_versioned(tx: &VersionedTransaction) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 64 * tx.signatures.len() + 512);
    put_short_u16(&mut out, tx.signatures.len());
    for s in &tx.signatures {
        out.extend_from_slice(s.as_ref());
    }
    out.extend(tx.message.serialize());
    out
}

pub(super) fn decode_wire(
    encoded: &str,
    encoding: Option<UiTransactionEncoding>,
) -> Result<VersionedTransaction, RpcErr> {
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
    decode_versioned(&bytes)
        .map_err(|e| RpcErr::invalid_params(format!("failed to deserialize transaction: {e}")))
}

/// Whether static key `i` of `message` signs and is writable (by the header alone).
pub(super) fn static_key_flags(message: &VersionedMessage, i: usize) -> (bool, bool) {
    let h = message.header();
    let n = message.static_account_keys().len();
    let signers = usize::from(h.num_required_signatures);
    if i < signers {
        (
            true,
            i < signers.saturating_sub(usize::from(h.num_readonly_signed_accounts)),
        )
    } else {
        (
            false,
            i < n.saturating_sub(usize::from(h.num_readonly_unsigned_accounts)),
        )
    }
}

/// An instruction as `jsonParsed` shows it: parsed for the System program's transfers and account
/// creations, otherwise "partially decoded" (program id, account addresses, base58 data), as a
/// validator shows a program it has no parser for.
pub(super) fn parsed_instruction(
    program_id_index: u8,
    accounts: &[u8],
    data: &[u8],
    keys: &[Pubkey],
    stack_height: Option<u32>,
) -> Value {
    let key = |i: u8| {
        keys.get(usize::from(i))
            .map(|k| k.to_string())
            .unwrap_or_default()
    };
    let program = keys
        .get(usize::from(program_id_index))
        .copied()
        .unwrap_or_default();
    if program == solana_system_interface::program::ID {
        let u64_at = |o: usize| {
            data.get(o..o + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
        };
        let parsed = match (data.get(..4), accounts) {
            (Some([2, 0, 0, 0]), [from, to, ..]) => u64_at(4).map(|lamports| {
                json!({"type": "transfer", "info": {"source": key(*from), "destination": key(*to), "lamports": lamports}})
            }),
            (Some([0, 0, 0, 0]), [from, new, ..]) if data.len() == 52 => {
                let owner: [u8; 32] = data[20..52].try_into().unwrap_or([0; 32]);
                Some(json!({"type": "createAccount", "info": {
                    "source": key(*from), "newAccount": key(*new),
                    "lamports": u64_at(4), "space": u64_at(12),
                    "owner": Pubkey::new_from_array(owner).to_string(),
                }}))
            }
            _ => None,
        };
        if let Some(parsed) = parsed {
            return json!({"program": "system", "programId": program.to_string(), "parsed": parsed, "stackHeight": stack_height});
        }
    }
    json!({
        "programId": program.to_string(),
        "accounts": accounts.iter().map(|a| key(*a)).collect::<Vec<_>>(),
        "data": base58(data),
        "stackHeight": stack_height,
    })
}

/// The transaction in the requested encoding (`json`: the raw message; `jsonParsed`: account
/// keys with their roles and instructions parsed or partially decoded).
pub(super) fn encode_for(
    tx: &VersionedTransaction,
    encoding: UiTransactionEncoding,
    keys: &[Pubkey],
    loaded: &(Vec<Pubkey>, Vec<Pubkey>),
) -> Result<Value, RpcErr> {
    let bytes = || encode_versioned(tx);
    Ok(match encoding {
        UiTransactionEncoding::Base64 => to_json(EncodedTransaction::Binary(
            base64(&bytes()),
            TransactionBinaryEncoding::Base64,
        ))?,
        UiTransactionEncoding::Base58 => to_json(EncodedTransaction::Binary(
            base58(&bytes()),
            TransactionBinaryEncoding::Base58,
        ))?,
        UiTransactionEncoding::Binary => to_json(EncodedTransaction::LegacyBinary(base58(&bytes())))?,
        UiTransactionEncoding::Json | UiTransactionEncoding::JsonParsed => {
            let m = &tx.message;
            let lookups = m.address_table_lookups().map(|l| {
                l.iter()
                    .map(|l| {
                        json!({
                            "accountKey": l.account_key.to_string(),
                            "writableIndexes": l.writable_indexes,
                            "readonlyIndexes": l.readonly_indexes,
                        })
                    })
                    .collect::<Vec<_>>()
            });
            let mut message = if encoding == UiTransactionEncoding::Json {
                json!({
                    "header": {
                        "numRequiredSignatures": m.header().num_required_signatures,
                        "numReadonlySignedAccounts": m.header().num_readonly_signed_accounts,
                        "numReadonlyUnsignedAccounts": m.header().num_readonly_unsigned_accounts,
                    },
                    "accountKeys": m.static_account_keys().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "recentBlockhash": m.recent_blockhash().to_string(),
                    "instructions": m
                        .instructions()
                        .iter()
                        .map(|i| UiCompiledInstruction::from(i, None))
                        .collect::<Vec<_>>(),
                })
            } else {
                let statics = m.static_account_keys().len();
                let account_keys: Vec<Value> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        let (signer, writable, source) = if i < statics {
                            let (s, w) = static_key_flags(m, i);
                            (s, w, "transaction")
                        } else {
                            (false, i < statics + loaded.0.len(), "lookupTable")
                        };
                        json!({"pubkey": k.to_string(), "signer": signer, "writable": writable, "source": source})
                    })
                    .collect();
                json!({
                    "accountKeys": account_keys,
                    "recentBlockhash": m.recent_blockhash().to_string(),
                    "instructions": m
                        .instructions()
                        .iter()
                        .map(|i| parsed_instruction(i.program_id_index, &i.accounts, &i.data, keys, None))
                        .collect::<Vec<_>>(),
                })
            };
            if let Some(lookups) = lookups {
                message["addressTableLookups"] = json!(lookups);
            }
            json!({
                "signatures": tx.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "message": message,
            })
        }
    })
}
