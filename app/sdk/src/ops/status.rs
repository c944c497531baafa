//! Market status as `lever status` shows it: NAV, leverage against the band, utilization, funding, caps, the oracle.

use super::*;
use crate::cluster::{Cluster, ClusterError};
use crate::pyth::{scaled, to_hex};
use crate::quote::{self, Refusal};
use crate::units::{format_leverage, format_percent, format_units};
use anchor_lang::prelude::Pubkey;
use lever::constants::PPM;
use lever::math::BandStatus;
use lever::oracle::Now;
use lever::state::Market;
use serde::Serialize;
use solana_account::Account;

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
    /// The underlying has a freeze authority the admin accepted at creation
    /// (`allow_freeze_authority`): its issuer can freeze the vault.
    pub underlying_freezable: bool,
    /// Unix time a risk parameter was last loosened (0: never); the next loosening may land a day
    /// after it.
    pub last_loosened_at: i64,
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

pub(super) fn status_of(
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
                match lever::oracle::read_price(&update, market, now) {
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
        (None, market.params.base_rate_ppm)
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
        let delta = u128::from(market.params.target_leverage_ppm) * u128::from(market.params.band_ppm)
            / u128::from(PPM);
        let l = u128::from(market.params.target_leverage_ppm);
        let edge = if up { l + delta } else { l.saturating_sub(delta) };
        format_leverage(u64::try_from(edge).unwrap_or(u64::MAX))
    };
    let symbol = lt_mint_acc
        .as_ref()
        .and_then(|a| token_metadata(&a.data))
        .map(|(_, symbol, _)| symbol)
        .unwrap_or_else(|| crate::units::leverage_label(market.params.target_leverage_ppm));
    let vault_raw = vault_acc.as_ref().and_then(|a| token_account_amount(&a.data));
    let vault_units = vault_raw.map_or_else(|| "missing".to_string(), |u| format_units(u, d));
    let conserved = vault_raw.is_some() && vault_raw == market.pool().units_owed().ok();
    Ok(MarketStatus {
        market: address.to_string(),
        symbol,
        id: market.id,
        underlying_mint: market.underlying_mint.to_string(),
        underlying_freezable: market.underlying_freezable(),
        last_loosened_at: market.last_loosened_at,
        decimals: d,
        feed_id: to_hex(&market.feed_id),
        lt_mint: market.lt_mint.to_string(),
        ft_mint: market.ft_mint.to_string(),
        vault: market.vault.to_string(),
        target_leverage: format_leverage(market.params.target_leverage_ppm),
        band: format_percent(market.params.band_ppm),
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
        exposure_cap: if market.params.exposure_cap == u64::MAX {
            "none".into()
        } else {
            format_units(market.params.exposure_cap, d)
        },
        max_utilization: format_percent(market.params.max_utilization_ppm),
        fees_ppm: FeesView {
            mint: format_percent(market.params.mint_fee_ppm),
            redeem: format_percent(market.params.redeem_fee_ppm),
            deposit: format_percent(market.params.deposit_fee_ppm),
            withdraw: format_percent(market.params.withdraw_fee_ppm),
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
pub(super) fn format_leverage_2dp(ppm: u64) -> String {
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
