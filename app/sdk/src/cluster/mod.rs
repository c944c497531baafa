//! One interface for what a Lever client needs from a chain, with two implementations: the
//! embedded in-process chain ([`Embedded`], over [`Chain`]) and a real RPC endpoint
//! ([`RpcCluster`], over `solana_rpc_client`'s nonblocking `RpcClient`). The keeper
//! (`crate::keeper`) is written against [`Cluster`] only, so its end-to-end tests on the embedded
//! chain exercise the very code that runs against a cluster.
//!
//! The trait's methods return `impl Future + Send` (return-position `impl Trait` in traits, stable
//! Rust): implementations may be written with `async fn`, and a keeper can be spawned on a
//! multi-threaded runtime. The trait is therefore not object-safe; use generics.

use std::future::Future;

use anchor_lang::prelude::Pubkey;
use lever::error::LeverError;
use lever::oracle::Now;
use lever::state::{Market, Request};
use solana_account::Account;
use solana_instruction::error::InstructionError;
use solana_transaction::{Hash, Signature, Transaction};
use solana_transaction_error::TransactionError;

use crate::events::LeverEvent;

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
    /// Compute units the transaction consumed, if the cluster reported them (on the embedded chain
    /// only the SBF token programs' CPIs are metered; native code counts ~1 per call).
    pub compute_units: Option<u64>,
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

    pub fn client(context: &str, e: impl std::fmt::Display) -> Self {
        Self::Client(format!("{context}: {e}"))
    }
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The readable form, the exact variant (`InstructionError(1, Custom(6004))`), and the
            // program's own error line when the logs have one.
            Self::Transaction { error, logs, .. } => {
                write!(f, "transaction failed: {error} ({error:?})")?;
                if let Some(line) = logs.iter().rev().find(|l| l.contains("Error")) {
                    write!(f, ": {line}")?;
                }
                Ok(())
            }
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

    /// Every open two-step request on `market` the cluster can list, decoded.
    fn requests(&self, market: &Pubkey)
        -> impl Future<Output = ClusterResult<Vec<(Pubkey, Request)>>> + Send;

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
    fn requests(
        &self,
        market: &Pubkey,
    ) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Request)>>> + Send {
        (**self).requests(market)
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

mod rpc;
pub use rpc::*;

#[cfg(test)]
mod tests;
