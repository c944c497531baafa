//! Reference NAV paths for a leveraged token, in plain `f64` math.
//!
//! Our on-chain product is judged against what a leveraged token *could* do on the same price path:
//! the ideal continuously rebalanced token ([`ideal`], and its closed form [`closed_form`]) and three
//! peer rule sets ([`PeerRule`]) replayed by [`replay`]. Keeping these independent of the on-chain
//! fixed-point code means a bug there cannot hide by also being present in the benchmark.
//!
//! # Peer model
//!
//! A position has equity `E` (starts at 1.0, so all amounts are in units of initial equity) and
//! exposure value `X` (starts at `L·E`: it opens at target leverage at `steps[0]`). At each step
//! `i >= 1`, with `r = p_i/p_{i-1} - 1` and `dt = t_i - t_{i-1}` (negative `dt` counts as 0):
//!
//! 1. `debt = X - E`; `E += X·r - debt·borrow_rate_i·dt/YEAR`; `X *= 1 + r`.
//! 2. If `E <= 0` the position is wiped: NAV is 0 from this step on and the replay stops.
//! 3. With `lam = X/E`, the rule may choose a new leverage `lam*`. A rebalance trades notional
//!    `|lam*·E - X|`, pays `trading_cost × notional` out of `E`, then sets `X = lam*·E` (after the
//!    cost). A target that equals the current leverage within 1e-12 relative is not a trade and is
//!    not counted (e.g. a daily reset on a flat, interest-free bar).
//! 4. NAV after the step is `E`.
//!
//! "New UTC day" means `t_i.div_euclid(86400) != t_{i-1}.div_euclid(86400)`, i.e. the bar at
//! 00:00 UTC or the first bar after it. Rules (with target leverage `L`):
//!
//! * **Ftx**: reset to `L` on each new UTC day, and intraday whenever `lam >= 4/3·L` (4x for 3x).
//!   At most one rebalance per step.
//! * **Toros**: reset to `L` whenever `lam` leaves `[L·(1 - 0.2/3), L·(1 + 0.2/3)]` (2.8x–3.2x for 3x).
//! * **Fli** (Index Coop FLI's FlexibleLeverageStrategyExtension): ripcord reset to `L` whenever
//!   `lam >= 1.3·L`; otherwise, on each new UTC day, move to `0.05·L + 0.95·lam` clamped to
//!   `[0.85·L, 1.15·L]` (FLI rebalances daily even inside its band, recentring 5% of the way).
//!
//! Inputs are expected to have finite, positive prices; the code never divides by a non-positive
//! equity, and a NaN equity (from invalid input) is treated as a wipe rather than propagated.

/// Seconds in a 365-day year, the basis for annual borrow rates.
pub const SECONDS_PER_YEAR: f64 = 31_536_000.0;

const SECONDS_PER_DAY: i64 = 86_400;

/// Relative leverage change below which a rule's target is treated as "no trade".
const NO_TRADE_REL: f64 = 1e-12;

/// One step of the path: the price at `time`, and the annual borrow rate (fraction, e.g. 0.05)
/// charged on debt over the interval that ends at this step (0 for the first step).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Unix seconds, UTC.
    pub time: i64,
    pub price: f64,
    pub borrow_rate: f64,
}

/// The peer rebalancing rule sets we benchmark against (see the module doc for the exact model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRule {
    Ftx,
    Toros,
    Fli,
}

impl PeerRule {
    pub const ALL: [PeerRule; 3] = [PeerRule::Ftx, PeerRule::Toros, PeerRule::Fli];

    /// Short stable name for tables and file names.
    pub fn name(&self) -> &'static str {
        match self {
            PeerRule::Ftx => "ftx",
            PeerRule::Toros => "toros",
            PeerRule::Fli => "fli",
        }
    }

    /// One line describing the rule with its concrete thresholds at `leverage`, for report headers.
    pub fn describe(&self, leverage: f64) -> String {
        let l = leverage;
        match self {
            PeerRule::Ftx => format!(
                "ftx: reset to {l:.2}x on each new UTC day and intraday when leverage >= {:.2}x",
                ftx_trigger(l)
            ),
            PeerRule::Toros => {
                let (lo, hi) = toros_band(l);
                format!("toros: reset to {l:.2}x when leverage leaves [{lo:.2}x, {hi:.2}x]")
            }
            PeerRule::Fli => {
                let (lo, hi) = fli_band(l);
                format!(
                    "fli: ripcord reset to {l:.2}x when leverage >= {:.2}x; daily move 5% toward \
                     {l:.2}x, clamped to [{lo:.2}x, {hi:.2}x]",
                    fli_ripcord(l)
                )
            }
        }
    }

    /// The leverage the rule wants after a step, or `None` to leave the position alone.
    fn target(&self, leverage: f64, lam: f64, new_day: bool) -> Option<f64> {
        match self {
            PeerRule::Ftx => (new_day || lam >= ftx_trigger(leverage)).then_some(leverage),
            PeerRule::Toros => {
                let (lo, hi) = toros_band(leverage);
                (lam < lo || lam > hi).then_some(leverage)
            }
            PeerRule::Fli => {
                if lam >= fli_ripcord(leverage) {
                    Some(leverage)
                } else if new_day {
                    let (lo, hi) = fli_band(leverage);
                    Some((0.05 * leverage + 0.95 * lam).clamp(lo, hi))
                } else {
                    None
                }
            }
        }
    }
}

fn ftx_trigger(leverage: f64) -> f64 {
    leverage * 4.0 / 3.0
}

fn toros_band(leverage: f64) -> (f64, f64) {
    (leverage * (1.0 - 0.2 / 3.0), leverage * (1.0 + 0.2 / 3.0))
}

fn fli_ripcord(leverage: f64) -> f64 {
    1.3 * leverage
}

fn fli_band(leverage: f64) -> (f64, f64) {
    (0.85 * leverage, 1.15 * leverage)
}

/// Outcome of replaying one peer rule on a path.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerResult {
    pub name: &'static str,
    pub final_nav: f64,
    pub rebalances: u64,
    /// In units of initial equity.
    pub traded_notional: f64,
    /// In units of initial equity.
    pub trading_costs: f64,
    pub wiped: bool,
    /// NAV after each step, `navs[0] = 1.0`; same length as the input steps.
    pub navs: Vec<f64>,
}

/// Replays `rule` at target `leverage` over `steps`, paying `trading_cost` (fraction of traded
/// notional) on each rebalance. An empty path gives `final_nav` 1.0 and no NAVs.
pub fn replay(rule: PeerRule, leverage: f64, trading_cost: f64, steps: &[Step]) -> PeerResult {
    let mut result = PeerResult {
        name: rule.name(),
        final_nav: 1.0,
        rebalances: 0,
        traded_notional: 0.0,
        trading_costs: 0.0,
        wiped: false,
        navs: Vec::with_capacity(steps.len()),
    };
    if steps.is_empty() {
        return result;
    }
    let mut equity = 1.0_f64;
    let mut exposure = leverage * equity;
    result.navs.push(equity);

    for w in steps.windows(2) {
        let (prev, cur) = (w[0], w[1]);
        let r = cur.price / prev.price - 1.0;
        let dt = (cur.time - prev.time).max(0) as f64;
        let debt = exposure - equity;
        equity += exposure * r - debt * cur.borrow_rate * dt / SECONDS_PER_YEAR;
        exposure *= 1.0 + r;
        // NaN can only come from invalid input; treat it as a wipe rather than propagate it.
        if equity.is_nan() || equity <= 0.0 {
            result.wiped = true;
            break;
        }
        let lam = exposure / equity;
        let new_day = cur.time.div_euclid(SECONDS_PER_DAY) != prev.time.div_euclid(SECONDS_PER_DAY);
        if let Some(target) = rule.target(leverage, lam, new_day) {
            if (target - lam).abs() > NO_TRADE_REL * lam.abs() {
                let notional = (target * equity - exposure).abs();
                let cost = trading_cost * notional;
                equity -= cost;
                result.rebalances += 1;
                result.traded_notional += notional;
                result.trading_costs += cost;
                if equity.is_nan() || equity <= 0.0 {
                    result.wiped = true;
                    break;
                }
                exposure = target * equity;
            }
        }
        result.navs.push(equity);
    }

    if result.wiped {
        result.navs.resize(steps.len(), 0.0);
        result.final_nav = 0.0;
    } else {
        result.final_nav = equity;
    }
    result
}

/// The ideal: rebalanced to exactly L at every step:
/// `nav_i = nav_{i-1} · max(0, 1 + L·r_i - (L-1)·borrow_rate_i·dt_i/YEAR)`, `r_i = p_i/p_{i-1} - 1`,
/// YEAR = 31_536_000 s. Returns the NAV after each step (`navs[0] = 1.0`). Once 0, stays 0.
pub fn ideal(leverage: f64, steps: &[Step]) -> Vec<f64> {
    let mut navs = Vec::with_capacity(steps.len());
    if steps.is_empty() {
        return navs;
    }
    let mut nav = 1.0_f64;
    navs.push(nav);
    for w in steps.windows(2) {
        let (prev, cur) = (w[0], w[1]);
        let r = cur.price / prev.price - 1.0;
        let dt = (cur.time - prev.time).max(0) as f64;
        let growth = 1.0 + leverage * r - (leverage - 1.0) * cur.borrow_rate * dt / SECONDS_PER_YEAR;
        // `f64::max` returns 0.0 for a NaN growth, so invalid input ends at 0 instead of NaN.
        nav *= growth.max(0.0);
        navs.push(nav);
    }
    navs
}

/// MECHANISM closed form for a continuously rebalanced token, no costs (borrow rates ignored):
/// `(S_T/S_0)^L · exp(-(L²-L)/2 · Σ_i ln(p_i/p_{i-1})²)` (realized variance in place of σ²t).
/// Returns 1.0 for fewer than 2 steps.
pub fn closed_form(leverage: f64, steps: &[Step]) -> f64 {
    let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
        return 1.0;
    };
    let realized_var: f64 = steps
        .windows(2)
        .map(|w| (w[1].price / w[0].price).ln().powi(2))
        .sum();
    let log_return = (last.price / first.price).ln();
    (leverage * log_return - (leverage * leverage - leverage) / 2.0 * realized_var).exp()
}

#[cfg(test)]
mod tests;
