//! `lever sim --attacker latency`: an adversary that knows every Pyth update the moment it is
//! published, on a chain whose clock lags real time, trading through the real program.
//!
//! The series is replayed as Pyth updates: each bar becomes `updates_per_bar` updates (4 by default:
//! the open at +0, the high and the low in the bar's direction order at +1/4 and +2/4 of the bar,
//! the close at +3/4; more updates interpolate that path linearly and hold the close for the last
//! quarter). Each update's `prev_publish_time` is the previous one's `publish_time`, so the two-step
//! rule `prev < tau <= publish` picks exactly one update for any target. The chain's clock is real
//! time minus `clock_lag_secs` at every update.
//!
//! Actors, all on the embedded chain: the honest LP (a funding deposit) and the honest LT holder,
//! opened like the tracking replay's and then passive, so their final value with and without the
//! attacker is a like-for-like measure of what the attacker took; the keeper, which settles due
//! requests and rebalances when the market is out of band; and two attackers with their own capital:
//! - the instant attacker (only where the instant path is on) which, at each update, looks at every
//!   older update the program would still accept (age within `instant_max_age_secs` of the lagging
//!   clock, not older than the market's last price) and, when the SDK's exact quotes say the round
//!   trip pays after every fee, mints LT (or deposits FT) at the stale update and redeems (or
//!   withdraws) at the newest one in the next slot;
//! - the two-step attacker, which requests at real time `t` (the program records
//!   `tau = t - lag + settle_delay`) and settles through `settle_request` at the update the rule
//!   forces. When that update is already published (the lag is at least the delay) it trades on
//!   what it knows; otherwise it bets on momentum of the closes and holds one bar.
//!
//! Every decision is an in-process SDK quote; transactions are sent only for attack legs, requests,
//! settlements and rebalances, which keeps a month of 1-minute bars within minutes. A counterfactual
//! replay without the attackers gives the honest holders' losses.

use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use anyhow::{anyhow, bail, Context as _, Result};
use lever::constants::PPM;
use lever::instructions::SettleOutcome;
use lever::oracle::Now;
use lever::state::{Market, Request, RequestArgs, RequestKind};
use lever_sdk::ix::{self, RequestAccounts};
use lever_sdk::pyth::{PriceInput, SOL_USD_FEED_ID};
use lever_sdk::quote::{self, Refusal};
use lever_testkit::chain::Chain;
use lever_testkit::local::{LocalMarket, MarketSpec, Wallet};
use serde::Serialize;

use crate::engine::SimConfig;
use crate::prices::Series;
use crate::time::format_time;

/// Decimals of the simulated underlying (as in the tracking replay).
const DECIMALS: u8 = 9;
const UNITS_PER_TOKEN: f64 = 1e9;
/// Value units (1e-18 USD) per USD.
const VALUE_PER_USD: f64 = 1e18;
/// Confidence / price of the written updates: Pyth BTC/USD's in the 1-second sample
/// (`hf/pythbench_*`, median about 0.03%; a test reads the file and checks it).
pub const DEFAULT_CONF_RATIO: f64 = 0.0003;
/// The USD price at which tips (lamports) are counted: tips are SOL whatever the underlying, and
/// 5000 lamports are a fraction of a cent at any recent SOL price.
const SOL_USD_FOR_TIPS: f64 = 150.0;
/// Largest number of halvings tried when sizing an attack leg to what the pool accepts.
const SIZE_STEPS: u32 = 10;

/// Settings of a latency-attack replay.
#[derive(Clone, Debug)]
pub struct AttackConfig {
    /// Leverage, band, fees, funding curve, deposit size, utilization target and confidence limit
    /// of the market, as in the tracking replay.
    pub base: SimConfig,
    /// How far the chain's clock is behind real time.
    pub clock_lag_secs: i64,
    pub settle_delay_secs: u64,
    pub settle_window_secs: u64,
    pub min_settle_tip_lamports: u64,
    /// 0 turns the instant path off.
    pub instant_max_age_secs: u64,
    /// Fraction (0.003 = 0.3%).
    pub instant_fee: f64,
    /// Fraction.
    pub instant_max_conf: f64,
    /// Raw units; `u64::MAX` for none.
    pub instant_slot_cap: u64,
    /// Confidence / price of every update.
    pub conf_ratio: f64,
    /// Pyth updates per bar: 4, or a multiple of 4 that divides the bar's seconds.
    pub updates_per_bar: usize,
    /// Each attacker's capital in USD at the first price.
    pub capital_usd: f64,
    /// The two-step attacker bets only when the last close-to-close move is at least this.
    pub momentum_threshold: f64,
    /// Run the instant attacker (where the path is on).
    pub instant_attacker: bool,
    /// Run the two-step attacker.
    pub two_step_attacker: bool,
}

impl AttackConfig {
    /// The deployed defaults (`migrations/markets.toml`): the instant path off at every leverage
    /// (this attacker took value from it at 3x at every fee up to 1%: README), requests settle 10 s
    /// after they land, within 300 s, for a 5000-lamport tip. `--instant-age` and `--instant-fee`
    /// turn the instant path on to measure it (2 s, 0.3% and confidence up to 1% when only the age
    /// is given).
    pub fn deployed(base: SimConfig) -> Self {
        let instant = false;
        Self {
            base,
            clock_lag_secs: 3,
            settle_delay_secs: 10,
            settle_window_secs: 300,
            min_settle_tip_lamports: 5_000,
            instant_max_age_secs: if instant { 2 } else { 0 },
            instant_fee: if instant { 0.003 } else { 0.0 },
            instant_max_conf: 0.01,
            // The deployed 500-token cap is in SOL; the replayed underlyings range from BONK to BTC,
            // so the cap is off unless set: the attackers' capital is the binding size.
            instant_slot_cap: u64::MAX,
            conf_ratio: DEFAULT_CONF_RATIO,
            updates_per_bar: 4,
            capital_usd: 100_000.0,
            momentum_threshold: 0.001,
            instant_attacker: true,
            two_step_attacker: true,
        }
    }

    fn market_params(&self) -> Result<lever::state::MarketParams> {
        let mut p = self.base.market_params()?;
        p.settle_delay_secs = self.settle_delay_secs;
        p.settle_window_secs = self.settle_window_secs;
        p.min_settle_tip_lamports = self.min_settle_tip_lamports;
        p.instant_max_age_secs = self.instant_max_age_secs;
        p.instant_fee_ppm = ppm("--instant-fee", self.instant_fee)?;
        p.instant_max_conf_ppm = ppm("instant max conf", self.instant_max_conf)?;
        p.instant_slot_cap = self.instant_slot_cap;
        Ok(p)
    }
}

fn ppm(name: &str, x: f64) -> Result<u64> {
    if !x.is_finite() || !(0.0..=1.0).contains(&x) {
        bail!("{name} must be a fraction within 0..=1, got {x}");
    }
    Ok((x * 1e6).round() as u64)
}

/// One Pyth update of the replay.
#[derive(Clone, Copy, Debug)]
pub struct Update {
    pub publish: i64,
    pub price: f64,
    /// Index of the bar it belongs to, and whether it is the bar's close.
    pub bar: usize,
    pub is_close: bool,
}

/// The bar's path as `updates_per_bar` updates (see the module documentation).
pub fn updates(series: &Series, per_bar: usize) -> Result<Vec<Update>> {
    let bar_secs = series.bar_seconds;
    let n = i64::try_from(per_bar).context("--updates-per-bar")?;
    if per_bar == 0 || !per_bar.is_multiple_of(4) || bar_secs % n != 0 {
        bail!("--updates-per-bar must be a multiple of 4 dividing the bar ({bar_secs} s), got {per_bar}");
    }
    let step = bar_secs / n;
    let quarter = per_bar / 4;
    let mut out: Vec<Update> = Vec::with_capacity(series.bars.len() * per_bar);
    let mut prev_close: Option<f64> = None;
    for (b, bar) in series.bars.iter().enumerate() {
        let open = bar.open.or(prev_close).unwrap_or(bar.close);
        let (high, low) = (bar.high.unwrap_or(bar.close), bar.low.unwrap_or(bar.close));
        // An up bar is read open, low, high, close; a down bar open, high, low, close.
        let (x1, x2) = if bar.close >= open {
            (low, high)
        } else {
            (high, low)
        };
        let anchors = [open, x1, x2, bar.close, bar.close];
        for i in 0..per_bar {
            let (seg, within) = (i / quarter, i % quarter);
            let t = within as f64 / quarter as f64;
            let price = anchors[seg] + (anchors[seg + 1] - anchors[seg]) * t;
            let publish = bar.time + step * i64::try_from(i).context("update index")?;
            if let Some(last) = out.last() {
                if publish <= last.publish {
                    bail!(
                        "{}: bar {} at {} overlaps the previous bar's updates (bars closer than {bar_secs} s)",
                        series.source,
                        b,
                        format_time(bar.time)
                    );
                }
            }
            out.push(Update {
                publish,
                price,
                bar: b,
                is_close: i == 3 * quarter,
            });
        }
        prev_close = Some(bar.close);
    }
    Ok(out)
}

/// The instant path's parameters as run.
#[derive(Clone, Debug, Serialize)]
pub struct InstantParams {
    pub on: bool,
    pub max_age_secs: u64,
    pub fee: f64,
    /// The program's floor at this leverage and age.
    pub fee_floor: f64,
    pub max_conf: f64,
    /// `null`: no cap.
    pub slot_cap_units: Option<u64>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RoundTrips {
    pub instant: u64,
    pub two_step: u64,
}

/// What the attackers took and what the honest holders lost (the `attacker` object).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AttackerReport {
    /// Sum over the instant round trips of (units out - units in) x the newest price.
    pub instant_pnl_usd: f64,
    /// Sum over the two-step round trips of (units out - units in) x the exit's settlement price,
    /// minus the tips paid.
    pub two_step_pnl_usd: f64,
    pub round_trips: RoundTrips,
    pub instant_lt_round_trips: u64,
    pub instant_ft_round_trips: u64,
    pub two_step_lt_round_trips: u64,
    pub two_step_ft_round_trips: u64,
    pub two_step_winning_round_trips: u64,
    pub two_step_refunds: u64,
    pub two_step_tips_usd: f64,
    /// Best single instant round trip.
    pub instant_best_usd: f64,
    /// Instant legs whose landed amounts differed from the quote (must be 0).
    pub instant_quote_mismatches: u64,
    /// Positions still open at the end (not counted in the PnL).
    pub open_positions_at_end: u64,
    /// Final USD value of the honest holders without the attacker minus with it (positive: they
    /// lost): the sum of the two attackers' replays' losses below.
    pub honest_lt_loss_usd: f64,
    pub honest_ft_loss_usd: f64,
    pub instant_honest_lt_loss_usd: f64,
    pub instant_honest_ft_loss_usd: f64,
    pub two_step_honest_lt_loss_usd: f64,
    pub two_step_honest_ft_loss_usd: f64,
    /// In the two-step attacker's replay.
    pub honest_lt_usd: f64,
    pub honest_ft_usd: f64,
    pub honest_lt_usd_without_attacker: f64,
    pub honest_ft_usd_without_attacker: f64,
}

/// The `--attacker latency --json` object.
#[derive(Clone, Debug, Serialize)]
pub struct AttackSummary {
    pub prices: String,
    pub bars: usize,
    pub updates: usize,
    pub updates_per_bar: usize,
    pub start: String,
    pub end: String,
    pub underlying_return: f64,
    pub leverage: f64,
    pub clock_lag_secs: i64,
    pub settle_delay_secs: u64,
    pub conf_ratio: f64,
    pub capital_usd: f64,
    pub instant: InstantParams,
    pub attacker: AttackerReport,
    /// In the replay without the attackers.
    pub keeper_rebalances: u64,
    pub lt_wiped: bool,
    pub transactions: u64,
    pub wall_seconds: f64,
}

/// A wallet and its starting capital.
struct Party {
    wallet: Wallet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leg {
    /// An honest opening (no accounting).
    Honest,
    Entry,
    Exit,
}

/// An open request waiting for the update that covers its `tau`.
struct Pending {
    address: Pubkey,
    request: Request,
    leg: Leg,
}

/// The two-step attacker's position.
#[derive(Clone, Copy, Debug)]
enum TwoStep {
    Idle,
    /// Entry requested with `units` in.
    Entering {
        kind: RequestKind,
        units: u64,
        known: bool,
    },
    /// Entry filled: holding `shares` bought with `units`.
    Holding {
        kind: RequestKind,
        units: u64,
        shares: u64,
        known: bool,
    },
    /// Exit requested.
    Exiting {
        kind: RequestKind,
        units: u64,
        shares: u64,
        known: bool,
    },
}

struct Replay {
    m: LocalMarket,
    cfg: AttackConfig,
    ups: Vec<Update>,
    inputs: Vec<PriceInput>,
    market: Market,
    holder: Party,
    provider: Party,
    instant: Option<Party>,
    two: Option<Party>,
    two_state: TwoStep,
    pending: Vec<Pending>,
    nonce: u64,
    k: usize,
    /// The chain's clock as the replay has it: written to the chain only before a transaction
    /// (rewriting the Clock sysvar costs about 0.2 ms, more than everything else an update does).
    now: i64,
    report: AttackerReport,
    keeper_rebalances: u64,
}

/// Run the attack replay and its counterfactual.
pub async fn run(series: &Series, cfg: &AttackConfig) -> Result<AttackSummary> {
    let started = Instant::now();
    if cfg.clock_lag_secs < 0 {
        bail!("--clock-lag must be >= 0 seconds");
    }
    if !cfg.capital_usd.is_finite() || cfg.capital_usd <= 0.0 {
        bail!("the attacker's capital must be > 0 USD");
    }
    let ups = updates(series, cfg.updates_per_bar)?;
    // One replay per attacker and one without: run together, each attacker's trades move the
    // other's prices (an FT-holding two-step attacker pays for the instant attacker's round trips),
    // so each is measured alone against the same counterfactual.
    let only = |instant: bool, two_step: bool| AttackConfig {
        instant_attacker: instant && cfg.instant_attacker,
        two_step_attacker: two_step && cfg.two_step_attacker,
        ..cfg.clone()
    };
    let without = replay(series, &ups, &only(false, false)).await?;
    let instant = replay(series, &ups, &only(true, false)).await?;
    let two = replay(series, &ups, &only(false, true)).await?;
    let (i, t, c) = (&instant.report, &two.report, &without.report);
    let mut report = AttackerReport {
        instant_pnl_usd: i.instant_pnl_usd,
        instant_lt_round_trips: i.instant_lt_round_trips,
        instant_ft_round_trips: i.instant_ft_round_trips,
        instant_best_usd: i.instant_best_usd,
        instant_quote_mismatches: i.instant_quote_mismatches,
        ..t.clone()
    };
    report.round_trips = RoundTrips {
        instant: i.round_trips.instant,
        two_step: t.round_trips.two_step,
    };
    report.instant_honest_lt_loss_usd = c.honest_lt_usd - i.honest_lt_usd;
    report.instant_honest_ft_loss_usd = c.honest_ft_usd - i.honest_ft_usd;
    report.two_step_honest_lt_loss_usd = c.honest_lt_usd - t.honest_lt_usd;
    report.two_step_honest_ft_loss_usd = c.honest_ft_usd - t.honest_ft_usd;
    report.honest_lt_loss_usd = report.instant_honest_lt_loss_usd + report.two_step_honest_lt_loss_usd;
    report.honest_ft_loss_usd = report.instant_honest_ft_loss_usd + report.two_step_honest_ft_loss_usd;
    report.honest_lt_usd_without_attacker = c.honest_lt_usd;
    report.honest_ft_usd_without_attacker = c.honest_ft_usd;
    let params = cfg.market_params()?;
    let floor = lever::state::instant_fee_floor_ppm(params.target_leverage_ppm, params.instant_max_age_secs)
        .map_err(|e| anyhow!("instant fee floor: {e}"))?;
    let (first, last) = match (series.bars.first(), series.bars.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => bail!("{}: no bars", series.source),
    };
    Ok(AttackSummary {
        prices: series.source.clone(),
        bars: series.bars.len(),
        updates: ups.len(),
        updates_per_bar: cfg.updates_per_bar,
        start: format_time(first.time),
        end: format_time(last.time),
        underlying_return: last.close / first.close - 1.0,
        leverage: params.target_leverage_ppm as f64 / PPM as f64,
        clock_lag_secs: cfg.clock_lag_secs,
        settle_delay_secs: cfg.settle_delay_secs,
        conf_ratio: cfg.conf_ratio,
        capital_usd: cfg.capital_usd,
        instant: InstantParams {
            on: params.instant_max_age_secs > 0,
            max_age_secs: params.instant_max_age_secs,
            fee: params.instant_fee_ppm as f64 / PPM as f64,
            fee_floor: floor as f64 / PPM as f64,
            max_conf: params.instant_max_conf_ppm as f64 / PPM as f64,
            slot_cap_units: (params.instant_slot_cap != u64::MAX).then_some(params.instant_slot_cap),
        },
        attacker: report,
        keeper_rebalances: without.keeper_rebalances,
        lt_wiped: [&without, &instant, &two].iter().any(|r| r.market.is_wiped()),
        transactions: [&without, &instant, &two]
            .iter()
            .map(|r| r.m.chain.transactions)
            .sum(),
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

fn usd_to_units(usd: f64, price: f64) -> Result<u64> {
    let units = usd / price * UNITS_PER_TOKEN;
    if !units.is_finite() || units < 1.0 || units > u64::MAX as f64 / 16.0 {
        bail!("{usd} USD at {price} is not a usable number of units");
    }
    Ok(units.round() as u64)
}

/// Signed units difference as USD at `price`.
fn units_usd(out: u64, input: u64, price: f64) -> f64 {
    (out as f64 - input as f64) / UNITS_PER_TOKEN * price
}

async fn replay(series: &Series, ups: &[Update], cfg: &AttackConfig) -> Result<Replay> {
    let first = ups
        .first()
        .ok_or_else(|| anyhow!("{}: no updates", series.source))?;
    let params = cfg.market_params()?;
    let feed = SOL_USD_FEED_ID;
    let mut inputs: Vec<PriceInput> = Vec::with_capacity(ups.len());
    for (i, u) in ups.iter().enumerate() {
        // The first update covers the hour before it, so the honest openings requested before the
        // replay (at any clock lag) settle at it.
        let prev = if i == 0 {
            u.publish - 3_600
        } else {
            ups[i - 1].publish
        };
        inputs.push(PriceInput::usd(feed, u.price, cfg.conf_ratio, u.publish).after(prev));
    }
    let delay = i64::try_from(cfg.settle_delay_secs).context("--settle-delay")?;
    // Opening: the clock starts before the first update by the larger of the lag and the delay.
    let open_at = first.publish - delay.max(cfg.clock_lag_secs) - 1;
    let mut chain = Chain::start().await?;
    chain.set_time(open_at - 1);
    let spec = MarketSpec::named(&cfg.base.asset, feed, anchor_spl::token::ID, DECIMALS, params);
    let mut m = LocalMarket::create(chain, &spec)
        .await
        .context("create the market (are the parameters within the program's bounds?)")?;
    let holder = Party {
        wallet: m.wallet(0).await?,
    };
    let provider = Party {
        wallet: m.wallet(0).await?,
    };
    let capital = usd_to_units(cfg.capital_usd, first.price)?;
    let (instant, two) = {
        let i = if cfg.instant_attacker && params.instant_max_age_secs > 0 {
            Some(Party {
                wallet: m.wallet(capital).await?,
            })
        } else {
            None
        };
        let t = if cfg.two_step_attacker {
            Some(Party {
                wallet: m.wallet(capital).await?,
            })
        } else {
            None
        };
        (i, t)
    };
    let market = m.market().await?;
    let mut r = Replay {
        m,
        cfg: cfg.clone(),
        ups: ups.to_vec(),
        inputs,
        market,
        holder,
        provider,
        instant,
        two,
        two_state: TwoStep::Idle,
        pending: Vec::new(),
        nonce: 0,
        k: 0,
        now: open_at,
        report: AttackerReport::default(),
        keeper_rebalances: 0,
    };
    // Lamports for request rent and tips (refunded at settlement, but a request is open at a time).
    let mut payers = vec![r.holder.wallet.pubkey(), r.provider.wallet.pubkey()];
    payers.extend(r.two.iter().map(|p| p.wallet.pubkey()));
    for key in payers {
        r.m.chain.airdrop(&key, 100_000_000_000).await?;
    }

    // The honest openings, sized like the tracking replay's: the LP lends what the holder's
    // position borrows at the utilization target, the holder mints `deposit_usd`.
    r.m.chain.set_time(open_at);
    let l = params.target_leverage_ppm as f64 / PPM as f64;
    let lend = usd_to_units(
        cfg.base.deposit_usd * (l - 1.0) / cfg.base.utilization_target,
        first.price,
    )?;
    let units = usd_to_units(cfg.base.deposit_usd, first.price)?;
    let (p_under, h_under) = (r.provider.wallet.underlying, r.holder.wallet.underlying);
    r.m.fund(&p_under, lend).await?;
    r.m.fund(&h_under, units).await?;
    r.open(Who::Provider, RequestKind::DepositFunding, lend, Leg::Honest)
        .await?;
    r.open(Who::Holder, RequestKind::MintLt, units, Leg::Honest)
        .await?;

    for k in 0..r.ups.len() {
        r.k = k;
        r.now = r.now.max(r.ups[k].publish - cfg.clock_lag_secs);
        r.settle_due().await?;
        if r.instant.is_some() {
            r.instant_attack().await?;
        }
        if r.two.is_some() {
            r.two_step_attack().await?;
            // A request whose update is already published settles at once.
            r.settle_due().await?;
        }
        r.keep().await?;
    }
    let last = r.inputs.last().copied().ok_or_else(|| anyhow!("no updates"))?;
    let mid = mid_of(&last)?;
    let view = quote::accrued(&r.market, mid, r.now)?;
    let marks = quote::marks(&view, mid)?;
    let (h_lt, p_ft) = (r.holder.wallet.lt, r.provider.wallet.ft);
    let lt = r.m.chain.token_amount(&h_lt).await?;
    let ft = r.m.chain.token_amount(&p_ft).await?;
    r.report.honest_lt_usd = lt as f64 / UNITS_PER_TOKEN * marks.lt_nav as f64 / VALUE_PER_USD;
    r.report.honest_ft_usd = ft as f64 / UNITS_PER_TOKEN * marks.ft_nav as f64 / VALUE_PER_USD;
    r.report.open_positions_at_end = u64::from(!matches!(r.two_state, TwoStep::Idle));
    Ok(r)
}

mod replay;
use replay::*;

#[cfg(test)]
mod tests;
