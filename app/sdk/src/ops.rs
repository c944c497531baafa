//! Market operations, as `lever` runs them against a cluster: read and report markets, preview and
//! send the four user instructions, rebalance once, pause, update parameters.
//!
//! Everything is written against [`Cluster`], so the tests run these very functions on the
//! embedded chain. Previews use [`crate::quote`] (the program's own code) at the cluster's clock and
//! the price account's current price; the minimum-out sent with the instruction is the preview
//! less a slippage tolerance (or an explicit minimum), so a transaction that lands at a worse
//! price than the user accepted is refused by the program, not filled.
//!
//! Units: amounts are raw token units in the API and whole tokens (exact decimals, see
//! [`crate::units`]) in what is displayed; ratios are PPM.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use lever::constants::pause;
use lever::state::Market;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use serde::Serialize;
use solana_account::Account;
use solana_signer::Signer as _;

use crate::accounts::{decode_market, token_account_amount, token_metadata};
use crate::cluster::{Cluster, ClusterError};
use crate::errors;
use crate::pyth::decode_price_update;
use crate::pyth::sponsored_feed_address;
use crate::quote::Refusal;
use crate::units::format_units;

mod status;
pub use status::*;
mod user;
pub use user::*;
mod admin;
pub use admin::*;

/// Why an operation stopped before or while sending.
#[derive(Debug)]
pub enum OpsError {
    /// The cluster could not be read, or refused the transaction.
    Cluster(ClusterError),
    /// An account the operation needs does not exist.
    AccountMissing { what: &'static str, address: Pubkey },
    /// The account exists but is not what it must be.
    WrongAccount {
        what: &'static str,
        address: Pubkey,
        why: String,
    },
    /// The price account cannot be used now (stale, wrong feed, not fully verified, ...).
    Price(String),
    /// The program would refuse (the preview ran its code and it refused).
    Refused(Refusal),
    /// The wallet holds less than the operation spends.
    InsufficientBalance {
        account: Pubkey,
        have: u64,
        need: u64,
        decimals: u8,
    },
    /// A value is out of range (zero amount, slippage above 100%, ...).
    Invalid(String),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cluster(ClusterError::Transaction { error, logs, .. }) => {
                match crate::cluster::custom_code(error) {
                    Some(code) => write!(f, "the program refused: {}", errors::describe(code))?,
                    None => write!(f, "the transaction failed: {error}")?,
                }
                if let Some(last) = logs.iter().rev().find(|l| l.contains("Error")) {
                    write!(f, "\n  {last}")?;
                }
                Ok(())
            }
            Self::Cluster(e) => write!(f, "{e}"),
            Self::AccountMissing { what, address } => write!(f, "{what} {address} does not exist"),
            Self::WrongAccount { what, address, why } => write!(f, "{what} {address}: {why}"),
            Self::Price(why) => write!(f, "price: {why}"),
            Self::Refused(r) => write!(f, "the program would refuse: {}", errors::describe(r.code)),
            Self::InsufficientBalance {
                account,
                have,
                need,
                decimals,
            } => write!(
                f,
                "insufficient balance in {account}: {} held, {} needed",
                format_units(*have, *decimals),
                format_units(*need, *decimals)
            ),
            Self::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for OpsError {}

impl From<ClusterError> for OpsError {
    fn from(e: ClusterError) -> Self {
        Self::Cluster(e)
    }
}

impl From<Refusal> for OpsError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

pub type OpsResult<T> = Result<T, OpsError>;

// ---------------------------------------------------------------------------------------------
// Reading accounts
// ---------------------------------------------------------------------------------------------

/// The market account at `address`, decoded.
pub async fn load_market<C: Cluster>(cluster: &C, address: &Pubkey) -> OpsResult<Market> {
    let account = cluster.account(address).await?.ok_or(OpsError::AccountMissing {
        what: "market",
        address: *address,
    })?;
    decode_market(&account).ok_or_else(|| OpsError::WrongAccount {
        what: "market",
        address: *address,
        why: "not a Lever market account".into(),
    })
}

/// The `PriceUpdateV2` at `address`: owned by the Pyth receiver and decodable, or a named error.
pub async fn load_price_update<C: Cluster>(cluster: &C, address: &Pubkey) -> OpsResult<PriceUpdateV2> {
    let account = cluster.account(address).await?.ok_or(OpsError::AccountMissing {
        what: "price account",
        address: *address,
    })?;
    price_update_of(address, &account)
}

/// Check the owner and decode a price account already read.
pub fn price_update_of(address: &Pubkey, account: &Account) -> OpsResult<PriceUpdateV2> {
    let wrong = |why: String| OpsError::WrongAccount {
        what: "price account",
        address: *address,
        why,
    };
    if account.owner != pyth_solana_receiver_sdk::ID {
        return Err(wrong(format!(
            "owned by {}, not the Pyth receiver",
            account.owner
        )));
    }
    decode_price_update(&account.data).map_err(|e| wrong(format!("not a PriceUpdateV2: {e}")))
}

/// The price account to use for `market`: the one given, or Pyth's sponsored push-feed account
/// for the market's feed (shard 0).
pub fn price_account_for(market: &Market, given: Option<Pubkey>) -> Pubkey {
    given.unwrap_or_else(|| sponsored_feed_address(0, &market.feed_id))
}

/// Raw price (value units per raw unit, scaled 1e18) as USD per whole token.
pub fn price_usd(price: u128, decimals: u8) -> f64 {
    price as f64 / 1e36 * 10f64.powi(i32::from(decimals))
}

/// Value units (1e-18 USD) as USD.
pub fn value_usd(value: u128) -> f64 {
    value as f64 / 1e18
}

/// A NAV (value units per 1e9 raw shares) as USD per whole share.
pub fn nav_usd(nav: u128, decimals: u8) -> f64 {
    nav as f64 / 1e27 * 10f64.powi(i32::from(decimals))
}

/// The names of the operations paused by `bits`.
pub fn paused_names(bits: u8) -> Vec<&'static str> {
    PAUSE_NAMES
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect()
}

/// Pause bits by name, as `lever pause --only` takes them.
pub const PAUSE_NAMES: [(u8, &str); 5] = [
    (pause::MINT_LT, "mint"),
    (pause::REDEEM_LT, "redeem"),
    (pause::DEPOSIT_FUNDING, "fund"),
    (pause::WITHDRAW_FUNDING, "withdraw"),
    (pause::REBALANCE, "rebalance"),
];

/// Pause bits from names (`mint`, `redeem`, `fund`, `withdraw`, `rebalance`, `all`).
pub fn pause_bits(names: &[String]) -> OpsResult<u8> {
    names.iter().try_fold(0u8, |bits, name| {
        let name = name.trim().to_ascii_lowercase();
        if name == "all" {
            return Ok(bits | pause::ALL);
        }
        PAUSE_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(bit, _)| bits | bit)
            .ok_or_else(|| {
                OpsError::Invalid(format!(
                    "unknown operation `{name}` (mint, redeem, fund, withdraw, rebalance, all)"
                ))
            })
    })
}

/// The vault's units against what the market owes (`N + I + fee_units`), read in one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Conservation {
    pub vault_units: u64,
    pub owed_units: u64,
}

impl Conservation {
    /// The program's invariant: the vault holds exactly what the pools and the fees are owed.
    pub fn holds(&self) -> bool {
        self.vault_units == self.owed_units
    }
}

/// Read the market and its vault and compare them.
pub async fn conservation<C: Cluster>(cluster: &C, market: &Pubkey) -> OpsResult<Conservation> {
    let m = load_market(cluster, market).await?;
    let vault = cluster.account(&m.vault).await?.ok_or(OpsError::AccountMissing {
        what: "vault",
        address: m.vault,
    })?;
    let vault_units = token_account_amount(&vault.data).ok_or_else(|| OpsError::WrongAccount {
        what: "vault",
        address: m.vault,
        why: "not a token account".into(),
    })?;
    let owed_units = m.pool().units_owed().map_err(Refusal::from)?;
    Ok(Conservation {
        vault_units,
        owed_units,
    })
}
