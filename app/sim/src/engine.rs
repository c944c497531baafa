//! The simulation run: one market on the embedded chain, driven bar by bar.
//!
//! Per bar: the clock moves to the bar's time and a real-layout `PriceUpdateV2` (Full
//! verification, the close, a confidence per [`ConfMode`]) is written to the market's price
//! account. Then, in this order: the seeded random users act (`--users`); at the keeper's interval
//! the funding provider tops the funding pool up or takes from it to hold utilization near its
//! target, and the keeper rebalances if the market is out of band. Funding accrues on chain at every
//! transaction (every price-reading instruction accrues first), and between transactions NAVs are
//! read with the accrual the next instruction would book.
//!
//! Every transaction is predicted first with the SDK's quotes (the program's own `*_books`
//! functions on a copy of the account): the return data must equal the prediction, the market
//! account after it must equal the predicted one byte for byte, and a predicted refusal must be
//! refused with the same error. Every bar the chain's market is read back and its LT NAV compared
//! with the SDK's. Any difference ends the run with an error. Conservation (vault == N + I + fees)
//! is checked after every transaction and violations are counted.

use std::time::Instant;

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::ProgressBar;
use lever::constants::PPM;
use lever::state::{Market, MarketParams};
use serde::Serialize;

use crate::peers::{self, PeerRule, Step};
use crate::prices::Series;
use crate::report::BarRecord;
use crate::time::format_time;
use lever_sdk::pyth::{PriceInput, SOL_USD_FEED_ID};
use lever_sdk::quote::Refusal;
use lever_testkit::chain::Chain;
use lever_testkit::local::{LocalMarket, MarketSpec, Wallet};

mod bar;
use bar::*;

/// Decimals of the simulated underlying (SOL's).
const DECIMALS: u8 = 9;
const UNITS_PER_TOKEN: f64 = 1e9;
/// Value units (1e-18 USD) per USD.
const VALUE_PER_USD: f64 = 1e18;

/// Where the confidence of each written price comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConfMode {
    /// `conf = ratio * close`.
    Ratio(f64),
    /// Half the bar's high-low range scaled down to one minute (`/ sqrt(bar minutes)`, the
    /// random-walk scaling): a price's uncertainty over the minute it is published in. Needs the
    /// `high` and `low` columns.
    Bar,
}

/// One simulation's settings. Fractions are plain numbers (0.05 = 5%); rates are annual.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Label for names and titles ("SOL").
    pub asset: String,
    pub leverage: f64,
    /// Rebalance band as a fraction of L: rebalance when `|lambda - L| > band * L`.
    pub band: f64,
    /// Seconds between the keeper's checks; 0 = every bar.
    pub keeper_interval: i64,
    pub funding_base: f64,
    pub funding_kink: f64,
    pub funding_slope1: f64,
    pub funding_slope2: f64,
    pub mint_fee: f64,
    pub redeem_fee: f64,
    pub deposit_fee: f64,
    pub withdraw_fee: f64,
    /// Funding and fees zero, for like-for-like tracking.
    pub no_costs: bool,
    pub conf: ConfMode,
    /// The market's confidence limit (conf / price).
    pub max_conf: f64,
    /// Seeded random users minting, redeeming, depositing and withdrawing.
    pub users: u32,
    pub seed: u64,
    /// Peers' trading cost per unit of notional traded.
    pub peer_cost: f64,
    /// The LT holder's opening deposit, in USD at the first close.
    pub deposit_usd: f64,
    /// Utilization the funding provider steers to (it acts below half of it and above halfway
    /// to 100%).
    pub utilization_target: f64,
}

/// The default band (a fraction of L), chosen from the study in the README.
pub const DEFAULT_BAND: f64 = 0.02;

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            asset: "SOL".into(),
            leverage: 3.0,
            band: DEFAULT_BAND,
            keeper_interval: 0,
            funding_base: 0.02,
            funding_kink: 0.8,
            funding_slope1: 0.08,
            funding_slope2: 1.0,
            mint_fee: 0.001,
            redeem_fee: 0.001,
            deposit_fee: 0.0,
            withdraw_fee: 0.0,
            no_costs: false,
            conf: ConfMode::Ratio(0.0005),
            max_conf: 0.02,
            users: 0,
            seed: 1,
            peer_cost: 0.001,
            deposit_usd: 10_000.0,
            utilization_target: 0.5,
        }
    }
}

/// A fraction as PPM, refusing what is not a finite non-negative number.
fn ppm(name: &str, x: f64) -> Result<u64> {
    if !x.is_finite() || x < 0.0 || x * 1e6 > u64::MAX as f64 {
        bail!("{name} must be a finite number >= 0, got {x}");
    }
    Ok((x * 1e6).round() as u64)
}

/// The instant fee floor at `leverage` for a 1 s instant age (the program's bound).
fn instant_floor(leverage: f64) -> Result<u64> {
    lever::state::instant_fee_floor_ppm(ppm("--leverage", leverage)?, 1)
        .map_err(|e| anyhow!("instant fee floor at {leverage}x: {e}"))
}

impl SimConfig {
    /// The market's parameters. Bounds are the program's to enforce: `create_market` refuses
    /// out-of-bounds values with its own named error.
    pub fn market_params(&self) -> Result<MarketParams> {
        let cost = |x: f64| if self.no_costs { 0.0 } else { x };
        Ok(MarketParams {
            target_leverage_ppm: ppm("--leverage", self.leverage)?,
            band_ppm: ppm("--band", self.band)?,
            mint_fee_ppm: ppm("--mint-fee", cost(self.mint_fee))?,
            redeem_fee_ppm: ppm("--redeem-fee", cost(self.redeem_fee))?,
            deposit_fee_ppm: ppm("--deposit-fee", cost(self.deposit_fee))?,
            withdraw_fee_ppm: ppm("--withdraw-fee", cost(self.withdraw_fee))?,
            max_price_age_secs: 60,
            max_conf_ppm: ppm("--max-conf", self.max_conf)?,
            conf_multiplier_ppm: PPM,
            exposure_cap: u64::MAX,
            max_utilization_ppm: PPM,
            base_rate_ppm: ppm("--funding-rate", cost(self.funding_base))?,
            kink_ppm: ppm("--funding-kink", self.funding_kink)?,
            slope1_ppm: ppm("--funding-slope1", cost(self.funding_slope1))?,
            slope2_ppm: ppm("--funding-slope2", cost(self.funding_slope2))?,
            settle_delay_secs: 10,
            settle_window_secs: 3_600,
            min_settle_tip_lamports: 0,
            // The simulated users trade on the instant path with updates published at the bar's
            // time: the shortest age, at its floor fee (charged even with --no-costs: no market
            // may go below it).
            instant_max_age_secs: 1,
            instant_fee_ppm: instant_floor(self.leverage)?,
            instant_max_conf_ppm: ppm("--max-conf", self.max_conf)?,
            instant_slot_cap: u64::MAX,
        })
    }

    fn validate(&self, series: &Series) -> Result<()> {
        for (name, x) in [
            ("--peer-cost", self.peer_cost),
            ("--deposit-usd", self.deposit_usd),
            ("--utilization-target", self.utilization_target),
        ] {
            if !x.is_finite() || x < 0.0 {
                bail!("{name} must be a finite number >= 0, got {x}");
            }
        }
        if self.deposit_usd <= 0.0 {
            bail!("--deposit-usd must be > 0");
        }
        if !(0.05..=0.95).contains(&self.utilization_target) {
            bail!("--utilization-target must be within 0.05..=0.95");
        }
        if self.keeper_interval < 0 {
            bail!("--keeper-interval must be >= 0 seconds");
        }
        match self.conf {
            ConfMode::Ratio(r) if !r.is_finite() || r < 0.0 => bail!("--conf must be >= 0 or `bar`"),
            ConfMode::Bar if series.bars.iter().any(|b| b.high.is_none() || b.low.is_none()) => {
                bail!("--conf bar needs `high` and `low` columns in {}", series.source)
            }
            _ => Ok(()),
        }
    }
}

/// A peer's line in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct PeerSummary {
    pub name: &'static str,
    pub rule: String,
    pub final_nav: f64,
    /// ln(final NAV / ideal NAV); `null` when either is 0.
    pub tracking_error_log: Option<f64>,
    pub rebalances: u64,
    /// Notional traded, in units of the starting equity.
    pub traded_notional: f64,
    pub trading_costs: f64,
    pub wiped: bool,
}

/// Transactions that landed, per instruction.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Landed {
    pub mint_lt: u64,
    pub redeem_lt: u64,
    pub deposit_funding: u64,
    pub withdraw_funding: u64,
    pub rebalance: u64,
    pub reopen_market: u64,
}

/// What a run measured (the `--json` object).
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub prices: String,
    pub bars: usize,
    /// Intervals longer than the series' bar (the clock jumps them).
    pub gaps: usize,
    pub missing_bars: usize,
    pub start: String,
    pub end: String,
    pub leverage: f64,
    pub band: f64,
    pub keeper_interval: i64,
    pub no_costs: bool,
    /// LT NAV at the end over LT NAV at the start (0 once wiped out: a holder lost it all).
    pub final_lt_nav: f64,
    /// The same token rebalanced to exactly L every bar, with the run's funding cost.
    pub ideal_lt_nav: f64,
    /// docs/MECHANISM.md's closed form `(S_T/S_0)^L * exp(-(L^2-L)/2 * sigma^2 t)`, realized
    /// variance, no costs: a reference.
    pub closed_form_lt_nav: f64,
    pub underlying_return: f64,
    /// ln(final LT NAV / ideal NAV); `null` when either is 0.
    pub tracking_error_log: Option<f64>,
    /// Largest |ln(LT NAV / ideal NAV)| over the bars where both are positive.
    pub max_abs_tracking_log: f64,
    /// Rebalances booked on chain (by the keeper or inside a user's instruction).
    pub rebalances: u64,
    pub keeper_rebalances: u64,
    /// Leverage range marked at each bar's close before that bar's transactions.
    pub min_leverage: Option<f64>,
    pub max_leverage: Option<f64>,
    pub lt_wipeouts: u64,
    pub funding_bad_debt_usd: f64,
    pub funding_interest_usd: f64,
    pub conservation_violations: u64,
    /// FT NAV at the end over FT NAV at the start, in USD.
    pub final_ft_nav: f64,
    pub transactions: u64,
    pub landed: Landed,
    pub user_actions: u64,
    pub user_refusals: u64,
    pub provider_actions: u64,
    pub wall_seconds: f64,
    pub bars_per_second: f64,
    pub peers: Vec<PeerSummary>,
}

/// A run's summary and its per-bar records.
pub struct SimOutput {
    pub summary: Summary,
    pub records: Vec<BarRecord>,
}

/// SplitMix64: a small seeded generator, so `--seed` replays the same users on any machine.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A wallet and the balances the run expects it to hold.
struct Actor {
    wallet: Wallet,
    units: u64,
    lt: u64,
    ft: u64,
}

/// The run's state: the chain's market, the SDK's copy of it, and the counters.
struct Sim {
    m: LocalMarket,
    cfg: SimConfig,
    /// The market as the SDK predicts it; equal to the chain's after every transaction.
    shadow: Market,
    price: PriceInput,
    now: i64,
    bar: usize,
    holder: Actor,
    provider: Actor,
    users: Vec<Actor>,
    rng: Rng,
    landed: Landed,
    /// The series' usual bar, for the users' daily pace.
    bar_seconds: i64,
    conservation_violations: u64,
    keeper_rebalances: u64,
    user_actions: u64,
    user_refusals: u64,
    provider_actions: u64,
    wipeouts: u64,
    /// The holder's NAV is the product of segment returns; 0 after a wipe-out.
    lt_alive: bool,
    lt_base: u128,
}

/// Run `series` through a market set up per `cfg`. `progress` ticks once per bar; `record` keeps
/// the per-bar rows (for `--out`).
pub async fn run(
    series: &Series,
    cfg: &SimConfig,
    progress: Option<&ProgressBar>,
    record: bool,
) -> Result<SimOutput> {
    let started = Instant::now();
    cfg.validate(series)?;
    let bars = &series.bars;
    let first = bars
        .first()
        .ok_or_else(|| anyhow!("{}: no bars", series.source))?;
    let params = cfg.market_params()?;
    let target = params.target_leverage_ppm as f64 / PPM as f64;

    let mut chain = Chain::start().await?;
    chain.set_time(first.time);
    let spec = MarketSpec::named(
        &cfg.asset,
        SOL_USD_FEED_ID,
        anchor_spl::token::ID,
        DECIMALS,
        params,
    );
    let mut m = LocalMarket::create(chain, &spec)
        .await
        .context("create the market (are the parameters within the program's bounds?)")?;
    let holder = Actor::new(m.wallet(0).await?, 0);
    let provider = Actor::new(m.wallet(0).await?, 0);
    let mut users = Vec::new();
    for _ in 0..cfg.users {
        let units = usd_to_units(cfg.deposit_usd, first.close)?;
        users.push(Actor::new(m.wallet(units).await?, units));
    }
    let shadow = m.market().await?;
    let mut sim = Sim {
        price: price_input(cfg, first, &m),
        m,
        cfg: cfg.clone(),
        shadow,
        now: first.time,
        bar: 0,
        holder,
        provider,
        users,
        rng: Rng(cfg.seed),
        landed: Landed::default(),
        bar_seconds: series.bar_seconds,
        conservation_violations: 0,
        keeper_rebalances: 0,
        user_actions: 0,
        user_refusals: 0,
        provider_actions: 0,
        wipeouts: 0,
        lt_alive: true,
        lt_base: 0,
    };
    sim.publish();
    sim.open_position(first.close).await?;
    let open = sim.marks()?;
    sim.lt_base = open.lt_nav;
    let ft_base = open.ft_nav;
    if sim.lt_base == 0 || ft_base == 0 {
        bail!("the opening mint left a zero NAV");
    }

    let mut records = Vec::with_capacity(if record { bars.len() } else { 0 });
    let mut steps = Vec::with_capacity(bars.len());
    let mut lt_navs = Vec::with_capacity(bars.len());
    let mut min_lev = f64::INFINITY;
    let mut max_lev = f64::NEG_INFINITY;
    let mut last_keeper: Option<i64> = None;
    let mut rate = 0.0;
    for (i, bar) in bars.iter().enumerate() {
        sim.bar = i;
        let rebalances_before = sim.shadow.rebalance_count;
        if i > 0 {
            sim.now = bar.time;
            sim.m.chain.set_time(bar.time);
            sim.price = price_input(cfg, bar, &sim.m);
            sim.publish();
            let before = sim.marks()?;
            if let Some(l) = before.leverage_ppm {
                let l = l as f64 / PPM as f64;
                min_lev = min_lev.min(l);
                max_lev = max_lev.max(l);
            }
            sim.users_act().await?;
            if last_keeper.is_none_or(|t| bar.time - t >= cfg.keeper_interval) {
                last_keeper = Some(bar.time);
                sim.provide().await?;
                sim.keep().await?;
            }
        }
        // Every bar: the chain's market read back and compared with the SDK's, byte for byte.
        // Every NAV, leverage and utilization below is a function of that account, the price and
        // the time, so the chain's LT NAV equals the SDK's exactly whenever this passes (and the
        // run fails when it does not).
        let chain_market = sim.m.market().await?;
        sim.compare(&chain_market, "bar close")?;
        let marks = sim.marks()?;
        let lt_nav = if sim.lt_alive {
            marks.lt_nav as f64 / sim.lt_base as f64
        } else {
            0.0
        };
        lt_navs.push(lt_nav);
        steps.push(Step {
            time: bar.time,
            price: bar.close,
            borrow_rate: rate,
        });
        // The rate this bar's state charges over the next interval.
        rate = sim
            .shadow
            .risk_params()
            .curve
            .rate_ppm(marks.utilization_ppm)
            .map_err(Refusal::from)? as f64
            / PPM as f64;
        if record {
            records.push(BarRecord {
                time: bar.time,
                price: bar.close,
                lt_nav,
                ideal_nav: 0.0,
                leverage: marks.leverage_ppm.map_or(0.0, |l| l as f64 / PPM as f64),
                utilization: marks.utilization_ppm as f64 / PPM as f64,
                ft_nav: marks.ft_nav as f64 / ft_base as f64,
                rebalanced: sim.shadow.rebalance_count > rebalances_before,
            });
        }
        if let Some(p) = progress {
            p.inc(1);
        }
    }

    let ideal = peers::ideal(target, &steps);
    for (r, nav) in records.iter_mut().zip(&ideal) {
        r.ideal_nav = *nav;
    }
    let ideal_final = ideal.last().copied().unwrap_or(1.0);
    let final_lt = lt_navs.last().copied().unwrap_or(1.0);
    let max_abs_tracking = lt_navs
        .iter()
        .zip(&ideal)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0)
        .map(|(a, b)| (a / b).ln().abs())
        .fold(0.0, f64::max);
    let peers = PeerRule::ALL
        .iter()
        .map(|rule| {
            let r = peers::replay(*rule, target, cfg.peer_cost, &steps);
            PeerSummary {
                name: r.name,
                rule: rule.describe(target),
                final_nav: r.final_nav,
                tracking_error_log: log_ratio(r.final_nav, ideal_final),
                rebalances: r.rebalances,
                traded_notional: r.traded_notional,
                trading_costs: r.trading_costs,
                wiped: r.wiped,
            }
        })
        .collect();
    let last = bars.last().unwrap_or(first);
    let end_marks = sim.marks()?;
    let wall = started.elapsed().as_secs_f64();
    let summary = Summary {
        prices: series.source.clone(),
        bars: bars.len(),
        gaps: series.gaps,
        missing_bars: series.missing_bars,
        start: format_time(first.time),
        end: format_time(last.time),
        leverage: target,
        band: params.band_ppm as f64 / PPM as f64,
        keeper_interval: cfg.keeper_interval,
        no_costs: cfg.no_costs,
        final_lt_nav: final_lt,
        ideal_lt_nav: ideal_final,
        closed_form_lt_nav: peers::closed_form(target, &steps),
        underlying_return: last.close / first.close - 1.0,
        tracking_error_log: log_ratio(final_lt, ideal_final),
        max_abs_tracking_log: max_abs_tracking,
        rebalances: sim.shadow.rebalance_count,
        keeper_rebalances: sim.keeper_rebalances,
        min_leverage: min_lev.is_finite().then_some(min_lev),
        max_leverage: max_lev.is_finite().then_some(max_lev),
        lt_wipeouts: sim.wipeouts,
        funding_bad_debt_usd: sim.shadow.total_bad_debt.get() as f64 / VALUE_PER_USD,
        funding_interest_usd: sim.shadow.total_funding.get() as f64 / VALUE_PER_USD,
        conservation_violations: sim.conservation_violations,
        final_ft_nav: end_marks.ft_nav as f64 / ft_base as f64,
        transactions: sim.m.chain.transactions,
        landed: sim.landed,
        user_actions: sim.user_actions,
        user_refusals: sim.user_refusals,
        provider_actions: sim.provider_actions,
        wall_seconds: wall,
        bars_per_second: bars.len() as f64 / wall.max(1e-9),
        peers,
    };
    Ok(SimOutput { summary, records })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_difference_between_chain_and_sdk_is_caught() {
        let a: Market = bytemuck::Zeroable::zeroed();
        assert!(same_market(&a, &a).is_ok());
        for change in [
            |m: &mut Market| m.exposure = 1,
            |m: &mut Market| m.last_accrual_ts = 1,
            |m: &mut Market| m.rebalance_count = 1,
        ] {
            let mut b = a;
            change(&mut b);
            let err = same_market(&a, &b).expect_err("a changed market must be caught");
            assert!(err.to_string().contains("differs"));
        }
    }

    #[test]
    fn fractions_become_ppm_or_a_named_error() {
        assert_eq!(ppm("--band", 0.02).ok(), Some(20_000));
        for bad in [-0.1, f64::NAN, f64::INFINITY, 1e20] {
            let err = ppm("--band", bad).expect_err("refused");
            assert!(err.to_string().contains("--band"));
        }
    }
}
