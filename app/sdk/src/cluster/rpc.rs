//! [`Cluster`] over JSON-RPC (`solana_rpc_client`'s nonblocking `RpcClient`).

use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use base64::Engine as _;
use lever::oracle::Now;
use lever::state::{Market, Request};
use solana_account::Account;
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

use super::*;
use crate::accounts::{decode_clock, decode_market, decode_request, CLOCK_SYSVAR};
use crate::events::{events_in, LeverEvent};

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

impl RpcCluster {
    /// The Lever program's accounts matching `filters` (`getProgramAccounts`, base64).
    async fn lever_accounts(&self, filters: Vec<RpcFilterType>) -> ClusterResult<Vec<(Pubkey, Account)>> {
        let config = RpcProgramAccountsConfig {
            filters: Some(filters),
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
            .filter_map(|(key, account)| Some((key, account.decode::<Account>()?)))
            .collect())
    }
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
        let accounts = self
            .lever_accounts(vec![
                RpcFilterType::DataSize(Market::SPACE as u64),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, Market::DISCRIMINATOR)),
            ])
            .await?;
        Ok(accounts
            .into_iter()
            .filter_map(|(key, account)| Some((key, decode_market(&account)?)))
            .collect())
    }

    async fn requests(&self, market: &Pubkey) -> ClusterResult<Vec<(Pubkey, Request)>> {
        let accounts = self
            .lever_accounts(vec![
                RpcFilterType::DataSize((8 + <Request as anchor_lang::Space>::INIT_SPACE) as u64),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, Request::DISCRIMINATOR)),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(8, market.as_ref())),
            ])
            .await?;
        Ok(accounts
            .into_iter()
            .filter_map(|(key, account)| Some((key, decode_request(&account)?)))
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
                            // Not read back: `getTransaction` is asked only for logs, return data
                            // and inner instructions.
                            compute_units: None,
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
