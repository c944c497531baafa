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
use anchor_lang::AnchorDeserialize;
use anchor_spl::compat::spl_token_metadata_interface::state::TokenMetadata;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};
use lever::constants::{pause, PPM};
use lever::instructions::{DepositFundingOutcome, MintLtOutcome, RedeemLtOutcome, WithdrawFundingOutcome};
use lever::math::BandStatus;
use lever::oracle::Now;
use lever::state::{Market, UpdateMarketParams};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use serde::Serialize;
use solana_account::Account;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer as _;

use crate::cluster::{decode_market, submit, Cluster, ClusterError, Landed};
use crate::keeper::{price_input, sponsored_feed_address};
use crate::pda::{associated_token_account, MarketKeys};
use crate::pyth::{decode_price_update, scaled, to_hex};
use crate::quote::{self, Refusal};
use crate::units::{format_leverage, format_percent, format_units};
use crate::{errors, ix};

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

/// An SPL Token / Token-2022 token account's amount (`None` if the data is not a token account).
pub fn token_account_amount(data: &[u8]) -> Option<u64> {
    StateWithExtensions::<spl_token_2022::state::Account>::unpack(data)
        .ok()
        .map(|a| a.base.amount)
}

/// Name, symbol and uri from a Token-2022 mint's metadata extension (the LT and FT carry one).
pub fn token_metadata(data: &[u8]) -> Option<(String, String, String)> {
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(data).ok()?;
    let meta = state.get_variable_len_extension::<TokenMetadata>().ok()?;
    Some((meta.name, meta.symbol, meta.uri))
}

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

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

/// What the oracle account holds now.
#[derive(Clone, Debug, Serialize)]
pub struct OracleView {
    pub account: String,
    pub price_usd: Option<f64>,
    pub conf_usd: Option<f64>,
    pub publish_time: Option<i64>,
    pub age_secs: Option<i64>,
    /// `usable` when the program would accept it for a mint now, else why not.
    pub state: String,
}

/// One market's numbers, for `lever status` and `lever market show`.
#[derive(Clone, Debug, Serialize)]
pub struct MarketStatus {
    pub market: String,
    /// The LT symbol from its metadata (or the leverage label).
    pub symbol: String,
    pub id: u32,
    pub underlying_mint: String,
    pub decimals: u8,
    pub feed_id: String,
    pub lt_mint: String,
    pub ft_mint: String,
    pub vault: String,
    pub target_leverage: String,
    pub band: String,
    /// Leverage range the band allows (`L(1-b)`..`L(1+b)`).
    pub band_range: [String; 2],
    /// Current leverage at the price used (none while the leveraged pool is empty or insolvent).
    pub leverage: Option<String>,
    pub leverage_ppm: Option<u64>,
    /// `within`, `out`, `insolvent` or `empty`.
    pub band_state: String,
    pub utilization: String,
    pub utilization_ppm: u64,
    /// Annual funding rate at the current utilization.
    pub funding_rate: String,
    pub funding_rate_ppm: u64,
    /// USD per whole LT and FT.
    pub lt_nav_usd: f64,
    pub ft_nav_usd: f64,
    /// Whole tokens.
    pub lt_supply: String,
    pub ft_supply: String,
    pub exposure: String,
    pub idle: String,
    pub fees: String,
    pub vault_units: String,
    /// The vault holds exactly `exposure + idle + fees` (false also when it cannot be read).
    pub conserved: bool,
    pub debt_usd: f64,
    /// Whole tokens, or `none`.
    pub exposure_cap: String,
    pub max_utilization: String,
    pub fees_ppm: FeesView,
    /// The price the market last used, and its age at the cluster's clock.
    pub last_price_usd: f64,
    pub last_publish_time: i64,
    pub last_price_age_secs: i64,
    pub oracle: OracleView,
    /// `oracle` when the numbers are at the oracle's current price, `last` when at the market's
    /// last price (the oracle account is missing or unusable).
    pub priced_at: String,
    pub paused: Vec<&'static str>,
    pub wiped: bool,
    pub rebalance_count: u64,
    pub created_at: i64,
    pub now: i64,
    pub slot: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FeesView {
    pub mint: String,
    pub redeem: String,
    pub deposit: String,
    pub withdraw: String,
}

/// The status of `market` at the cluster's clock, priced at the oracle's current price when the
/// program would accept it, else at the market's last price.
pub async fn market_status<C: Cluster>(
    cluster: &C,
    address: &Pubkey,
    price_account: Option<Pubkey>,
) -> OpsResult<MarketStatus> {
    let market = load_market(cluster, address).await?;
    let now = cluster.clock().await?;
    let price_key = price_account_for(&market, price_account);
    let accounts = cluster
        .accounts(&[price_key, market.vault, market.lt_mint])
        .await?;
    let [price_acc, vault_acc, lt_mint_acc]: [Option<Account>; 3] = accounts
        .try_into()
        .map_err(|_| OpsError::Cluster(ClusterError::Client("accounts: wrong count".into())))?;
    status_of(
        address,
        &market,
        now,
        &price_key,
        price_acc,
        vault_acc,
        lt_mint_acc,
    )
}

fn status_of(
    address: &Pubkey,
    market: &Market,
    now: Now,
    price_key: &Pubkey,
    price_acc: Option<Account>,
    vault_acc: Option<Account>,
    lt_mint_acc: Option<Account>,
) -> OpsResult<MarketStatus> {
    let d = market.decimals;
    let mut oracle = OracleView {
        account: price_key.to_string(),
        price_usd: None,
        conf_usd: None,
        publish_time: None,
        age_secs: None,
        state: "missing".into(),
    };
    let mut mid = None;
    if let Some(acc) = price_acc {
        match price_update_of(price_key, &acc) {
            Err(e) => oracle.state = e.to_string(),
            Ok(update) => {
                let m = &update.price_message;
                oracle.price_usd = Some(scaled(m.price, m.exponent));
                oracle.conf_usd = Some(scaled(i64::try_from(m.conf).unwrap_or(i64::MAX), m.exponent));
                oracle.publish_time = Some(m.publish_time);
                oracle.age_secs = Some(now.unix_timestamp - m.publish_time);
                match lever::oracle::read_price(&update, market, now, false) {
                    Ok(p) => {
                        oracle.state = "usable".into();
                        mid = Some(p.band.mid);
                    }
                    Err(e) => oracle.state = format!("not usable: {}", Refusal::from(e).name),
                }
            }
        }
    }
    let priced_at = if mid.is_some() { "oracle" } else { "last" };
    let price = mid.unwrap_or_else(|| market.last_price.get());
    // Funding accrues to `now` before anything else happens: show what the next instruction sees.
    let accrued = if price > 0 {
        quote::accrued(market, price, now.unix_timestamp)?
    } else {
        *market
    };
    let (marks, rate_ppm) = if price > 0 {
        let marks = quote::marks(&accrued, price)?;
        let rate = accrued
            .risk_params()
            .curve
            .rate_ppm(marks.utilization_ppm)
            .map_err(Refusal::from)?;
        (Some(marks), rate)
    } else {
        (None, market.base_rate_ppm)
    };
    let leverage_ppm = marks
        .and_then(|m| m.leverage_ppm)
        .map(|l| u64::try_from(l).unwrap_or(u64::MAX));
    let band_state = match marks.map(|m| m.band) {
        None | Some(BandStatus::Empty) => "empty",
        Some(BandStatus::Within { .. }) => "within",
        Some(BandStatus::Out { .. }) => "out",
        Some(BandStatus::Insolvent) => "insolvent",
    };
    let utilization_ppm = marks.map_or(0, |m| m.utilization_ppm);
    let band_edge = |up: bool| {
        let delta = u128::from(market.target_leverage_ppm) * u128::from(market.band_ppm) / u128::from(PPM);
        let l = u128::from(market.target_leverage_ppm);
        let edge = if up { l + delta } else { l.saturating_sub(delta) };
        format_leverage(u64::try_from(edge).unwrap_or(u64::MAX))
    };
    let symbol = lt_mint_acc
        .as_ref()
        .and_then(|a| token_metadata(&a.data))
        .map(|(_, symbol, _)| symbol)
        .unwrap_or_else(|| crate::local::leverage_label(market.target_leverage_ppm));
    let vault_raw = vault_acc.as_ref().and_then(|a| token_account_amount(&a.data));
    let vault_units = vault_raw.map_or_else(|| "missing".to_string(), |u| format_units(u, d));
    let conserved = vault_raw.is_some() && vault_raw == market.pool().units_owed().ok();
    Ok(MarketStatus {
        market: address.to_string(),
        symbol,
        id: market.id,
        underlying_mint: market.underlying_mint.to_string(),
        decimals: d,
        feed_id: to_hex(&market.feed_id),
        lt_mint: market.lt_mint.to_string(),
        ft_mint: market.ft_mint.to_string(),
        vault: market.vault.to_string(),
        target_leverage: format_leverage(market.target_leverage_ppm),
        band: format_percent(market.band_ppm),
        band_range: [band_edge(false), band_edge(true)],
        leverage: leverage_ppm.map(format_leverage_2dp),
        leverage_ppm,
        band_state: band_state.into(),
        utilization: format_percent(utilization_ppm),
        utilization_ppm,
        funding_rate: format_percent(rate_ppm),
        funding_rate_ppm: rate_ppm,
        lt_nav_usd: marks.map_or(0.0, |m| nav_usd(m.lt_nav, d)),
        ft_nav_usd: marks.map_or(0.0, |m| nav_usd(m.ft_nav, d)),
        lt_supply: format_units(accrued.lt_supply, d),
        ft_supply: format_units(accrued.ft_supply, d),
        exposure: format_units(accrued.exposure, d),
        idle: format_units(accrued.idle, d),
        fees: format_units(accrued.fee_units, d),
        vault_units,
        conserved,
        debt_usd: value_usd(accrued.debt.get()),
        exposure_cap: if market.exposure_cap == u64::MAX {
            "none".into()
        } else {
            format_units(market.exposure_cap, d)
        },
        max_utilization: format_percent(market.max_utilization_ppm),
        fees_ppm: FeesView {
            mint: format_percent(market.mint_fee_ppm),
            redeem: format_percent(market.redeem_fee_ppm),
            deposit: format_percent(market.deposit_fee_ppm),
            withdraw: format_percent(market.withdraw_fee_ppm),
        },
        last_price_usd: price_usd(market.last_price.get(), d),
        last_publish_time: market.last_publish_time,
        last_price_age_secs: now.unix_timestamp - market.last_publish_time,
        oracle,
        priced_at: priced_at.into(),
        paused: paused_names(market.paused),
        wiped: market.is_wiped(),
        rebalance_count: market.rebalance_count,
        created_at: market.created_at,
        now: now.unix_timestamp,
        slot: now.slot,
    })
}

/// Leverage to two decimals for display ("3.04x").
fn format_leverage_2dp(ppm: u64) -> String {
    format!("{:.2}x", ppm as f64 / PPM as f64)
}

/// The status of every market (or of `only`), sorted by address.
pub async fn status<C: Cluster>(
    cluster: &C,
    only: &[Pubkey],
    price_account: impl Fn(&[u8; 32]) -> Option<Pubkey>,
) -> OpsResult<Vec<MarketStatus>> {
    let mut keys: Vec<Pubkey> = if only.is_empty() {
        cluster.markets().await?.into_iter().map(|(k, _)| k).collect()
    } else {
        only.to_vec()
    };
    keys.sort();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let market = load_market(cluster, &key).await?;
        out.push(market_status(cluster, &key, price_account(&market.feed_id)).await?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The four user instructions
// ---------------------------------------------------------------------------------------------

/// Which user instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Underlying in, LT out.
    Mint,
    /// LT in, underlying out.
    Redeem,
    /// Underlying in, FT out (`lever fund`).
    Deposit,
    /// FT in, underlying out.
    Withdraw,
}

impl Flow {
    fn spends_underlying(self) -> bool {
        matches!(self, Self::Mint | Self::Deposit)
    }

    /// What the user pays in and receives, for display.
    pub fn tokens(self) -> (&'static str, &'static str) {
        match self {
            Self::Mint => ("underlying", "LT"),
            Self::Redeem => ("LT", "underlying"),
            Self::Deposit => ("underlying", "FT"),
            Self::Withdraw => ("FT", "underlying"),
        }
    }
}

/// What a user operation will send, and what the program's code says it will do.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub flow: Flow,
    /// The wallet that signs and pays.
    pub user: Pubkey,
    pub market: Pubkey,
    pub keys: MarketKeys,
    pub decimals: u8,
    /// Raw units (underlying for mint/fund, shares for redeem/withdraw).
    pub amount_in: u64,
    /// Previewed output (raw) at the cluster's clock and the current price.
    pub expected_out: u64,
    pub fee_units: u64,
    /// Sent with the instruction: the program refuses to give less.
    pub min_out: u64,
    pub price_account: Pubkey,
    /// Price the conversion uses (USD per whole token; the confidence-interval end that favours
    /// the pools).
    pub price_usd: f64,
    pub user_in: Pubkey,
    pub user_out: Pubkey,
    pub instructions: Vec<Instruction>,
}

impl Prepared {
    pub fn preview(&self) -> Preview {
        let (pay, get) = self.flow.tokens();
        Preview {
            flow: self.flow,
            market: self.market.to_string(),
            pay: format!("{} {pay}", format_units(self.amount_in, self.decimals)),
            receive: format!("{} {get}", format_units(self.expected_out, self.decimals)),
            minimum: format!("{} {get}", format_units(self.min_out, self.decimals)),
            fee: format!("{} underlying", format_units(self.fee_units, self.decimals)),
            price_usd: self.price_usd,
            amount_in: self.amount_in,
            expected_out: self.expected_out,
            min_out: self.min_out,
            fee_units: self.fee_units,
        }
    }
}

/// A preview in whole tokens (and raw units for machines).
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    pub flow: Flow,
    pub market: String,
    pub pay: String,
    pub receive: String,
    pub minimum: String,
    pub fee: String,
    pub price_usd: f64,
    pub amount_in: u64,
    pub expected_out: u64,
    pub min_out: u64,
    pub fee_units: u64,
}

/// How a user operation is sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendOptions {
    /// The minimum output; `None` derives it from the preview and `slippage_ppm`.
    pub min_out: Option<u64>,
    /// Accepted shortfall from the preview when `min_out` is `None` (PPM; default 0.5%).
    pub slippage_ppm: u64,
    /// The price account; `None` uses Pyth's sponsored account for the market's feed.
    pub price_account: Option<Pubkey>,
    /// `SetComputeUnitPrice` in micro-lamports (0 or `None`: leave it out).
    pub compute_unit_price: Option<u64>,
}

/// Default slippage tolerance: 0.5%.
pub const DEFAULT_SLIPPAGE_PPM: u64 = 5_000;

/// Build a user operation for `user` and preview it with the program's code; nothing is sent.
/// The user's token accounts are their associated token accounts; the output account is created
/// in the same transaction if it does not exist.
pub async fn prepare<C: Cluster>(
    cluster: &C,
    user: Pubkey,
    market_key: Pubkey,
    flow: Flow,
    amount: u64,
    options: SendOptions,
) -> OpsResult<Prepared> {
    if amount == 0 {
        return Err(OpsError::Invalid("the amount must be above zero".into()));
    }
    if options.slippage_ppm > PPM {
        return Err(OpsError::Invalid("slippage above 100%".into()));
    }
    let market = load_market(cluster, &market_key).await?;
    let keys = MarketKeys::derive(market.underlying_mint, market.id, market.underlying_token_program);
    if keys.market != market_key {
        return Err(OpsError::WrongAccount {
            what: "market",
            address: market_key,
            why: "its address is not the PDA of its underlying mint and id".into(),
        });
    }
    let token_2022 = anchor_spl::token_2022::ID;
    let underlying = associated_token_account(&user, &keys.underlying_mint, &keys.underlying_token_program);
    let shares_mint = match flow {
        Flow::Mint | Flow::Redeem => keys.lt_mint,
        Flow::Deposit | Flow::Withdraw => keys.ft_mint,
    };
    let shares = associated_token_account(&user, &shares_mint, &token_2022);
    let (user_in, user_out) = if flow.spends_underlying() {
        (underlying, shares)
    } else {
        (shares, underlying)
    };
    let price_account = price_account_for(&market, options.price_account);
    let now = cluster.clock().await?;
    let accounts = cluster.accounts(&[price_account, keys.vault, user_in]).await?;
    let [price_acc, vault_acc, in_acc]: [Option<Account>; 3] = accounts
        .try_into()
        .map_err(|_| OpsError::Cluster(ClusterError::Client("accounts: wrong count".into())))?;
    let update = price_update_of(
        &price_account,
        &price_acc.ok_or(OpsError::AccountMissing {
            what: "price account",
            address: price_account,
        })?,
    )?;
    let vault_units = vault_acc
        .as_ref()
        .and_then(|a| token_account_amount(&a.data))
        .ok_or(OpsError::AccountMissing {
            what: "vault",
            address: keys.vault,
        })?;
    let have = in_acc
        .as_ref()
        .and_then(|a| token_account_amount(&a.data))
        .ok_or(OpsError::AccountMissing {
            what: "your token account",
            address: user_in,
        })?;
    if have < amount {
        return Err(OpsError::InsufficientBalance {
            account: user_in,
            have,
            need: amount,
            decimals: market.decimals,
        });
    }
    let input = price_input(&update);
    // Preview with no minimum: the program's own code decides the output.
    let (expected_out, fee_units, price) = match flow {
        Flow::Mint => {
            let p = quote::mint_lt(&market, &input, vault_units, now, amount, 0)?;
            (p.quote.shares_out, p.quote.fee_units, p.price.band.upper)
        }
        Flow::Redeem => {
            let p = quote::redeem_lt(&market, &input, vault_units, now, amount, 0)?;
            (p.quote.units_out, p.quote.fee_units, p.price.band.lower)
        }
        Flow::Deposit => {
            let p = quote::deposit_funding(&market, &input, vault_units, now, amount, 0)?;
            (p.quote.shares_out, p.quote.fee_units, p.price.band.lower)
        }
        Flow::Withdraw => {
            let p = quote::withdraw_funding(&market, &input, vault_units, now, amount, 0)?;
            (p.quote.units_out, p.quote.fee_units, p.price.band.upper)
        }
    };
    // Minimum out rounds down: the tolerance is never tighter than asked.
    let min_out = options.min_out.unwrap_or_else(|| {
        let kept = u128::from(expected_out) * u128::from(PPM - options.slippage_ppm) / u128::from(PPM);
        u64::try_from(kept).unwrap_or(expected_out)
    });
    let accounts = ix::UserAccounts {
        user,
        user_underlying: underlying,
        user_shares: shares,
        price_update: price_account,
    };
    let mut instructions = Vec::with_capacity(3);
    if let Some(price) = options.compute_unit_price.filter(|p| *p > 0) {
        instructions.push(ComputeBudgetInstruction::set_compute_unit_price(price));
    }
    let (out_mint, out_program) = if flow.spends_underlying() {
        (shares_mint, token_2022)
    } else {
        (keys.underlying_mint, keys.underlying_token_program)
    };
    instructions.push(ix::create_associated_token_account_idempotent(
        user,
        user,
        out_mint,
        out_program,
    ));
    instructions.push(match flow {
        Flow::Mint => ix::mint_lt(&keys, &accounts, amount, min_out),
        Flow::Redeem => ix::redeem_lt(&keys, &accounts, amount, min_out),
        Flow::Deposit => ix::deposit_funding(&keys, &accounts, amount, min_out),
        Flow::Withdraw => ix::withdraw_funding(&keys, &accounts, amount, min_out),
    });
    Ok(Prepared {
        flow,
        user,
        market: market_key,
        keys,
        decimals: market.decimals,
        amount_in: amount,
        expected_out,
        fee_units,
        min_out,
        price_account,
        price_usd: price_usd(price, market.decimals),
        user_in,
        user_out,
        instructions,
    })
}

/// What a user operation did: read from the program's return data, or, when the node did not
/// return it, from the change of the output token account (the fee is then the preview's).
#[derive(Clone, Debug, Serialize)]
pub struct Executed {
    pub signature: String,
    pub flow: Flow,
    pub amount_in: u64,
    pub amount_out: u64,
    pub fee_units: u64,
    /// Whole tokens.
    pub received: String,
    /// `return_data` or `balance_change`.
    pub source: &'static str,
}

/// Send a prepared operation signed by `user` (also the fee payer). Once the transaction has
/// landed this never fails: a landed operation reported as an error could be sent twice.
pub async fn execute<C: Cluster>(cluster: &C, user: &Keypair, prepared: &Prepared) -> OpsResult<Executed> {
    if user.pubkey() != prepared.user {
        return Err(OpsError::Invalid(
            "the operation was prepared for another wallet".into(),
        ));
    }
    let out_before = token_balance(cluster, &prepared.user_out).await?;
    let landed = submit(cluster, &prepared.instructions, user, &[]).await?;
    let (amount_in, amount_out, fee_units, source) = match outcome(prepared.flow, &landed) {
        Some((i, o, f)) => (i, o, f, "return_data"),
        None => {
            // Another transaction may move the account in between; the signature is what counts.
            let after = token_balance(cluster, &prepared.user_out)
                .await
                .unwrap_or(out_before);
            (
                prepared.amount_in,
                after.saturating_sub(out_before),
                prepared.fee_units,
                "balance_change",
            )
        }
    };
    let (_, get) = prepared.flow.tokens();
    Ok(Executed {
        signature: landed.signature.to_string(),
        flow: prepared.flow,
        amount_in,
        amount_out,
        fee_units,
        received: format!("{} {get}", format_units(amount_out, prepared.decimals)),
        source,
    })
}

/// A token account's amount (0 if it does not exist yet).
async fn token_balance<C: Cluster>(cluster: &C, address: &Pubkey) -> OpsResult<u64> {
    Ok(cluster
        .account(address)
        .await?
        .and_then(|a| token_account_amount(&a.data))
        .unwrap_or(0))
}

/// `(in, out, fee)` from the return data of the user instruction.
fn outcome(flow: Flow, landed: &Landed) -> Option<(u64, u64, u64)> {
    let mut data = landed.return_data.as_deref()?;
    Some(match flow {
        Flow::Mint => {
            let o = MintLtOutcome::deserialize(&mut data).ok()?;
            (o.units_in, o.shares_out, o.fee_units)
        }
        Flow::Redeem => {
            let o = RedeemLtOutcome::deserialize(&mut data).ok()?;
            (o.shares_in, o.units_out, o.fee_units)
        }
        Flow::Deposit => {
            let o = DepositFundingOutcome::deserialize(&mut data).ok()?;
            (o.units_in, o.shares_out, o.fee_units)
        }
        Flow::Withdraw => {
            let o = WithdrawFundingOutcome::deserialize(&mut data).ok()?;
            (o.shares_in, o.units_out, o.fee_units)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

/// A landed admin transaction.
#[derive(Clone, Debug, Serialize)]
pub struct AdminDone {
    pub signature: String,
    pub action: String,
}

/// Set the market's pause bits to `bits` (admin or pause authority).
pub async fn set_pause<C: Cluster>(
    cluster: &C,
    authority: &Keypair,
    market: Pubkey,
    bits: u8,
) -> OpsResult<AdminDone> {
    load_market(cluster, &market).await?;
    let landed = submit(
        cluster,
        &[ix::set_pause(authority.pubkey(), market, bits)],
        authority,
        &[],
    )
    .await?;
    Ok(AdminDone {
        signature: landed.signature.to_string(),
        action: match paused_names(bits) {
            names if names.is_empty() => "unpaused".into(),
            names => format!("paused: {}", names.join(", ")),
        },
    })
}

/// Change the parameters set in `update` (admin); the program validates them against the
/// config's bounds, and the preview refuses an update that changes nothing.
pub async fn update_market<C: Cluster>(
    cluster: &C,
    admin: &Keypair,
    market: Pubkey,
    update: UpdateMarketParams,
) -> OpsResult<AdminDone> {
    let current = load_market(cluster, &market).await?;
    let before = current.params();
    if before.apply(&update) == before {
        return Err(OpsError::Invalid("the update changes nothing".into()));
    }
    let landed = submit(
        cluster,
        &[ix::update_market(admin.pubkey(), market, update)],
        admin,
        &[],
    )
    .await?;
    Ok(AdminDone {
        signature: landed.signature.to_string(),
        action: "parameters updated".into(),
    })
}
