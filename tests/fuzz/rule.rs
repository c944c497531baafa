//! The end-of-sequence rule: after the unwind, which users may hold more underlying units than they
//! put in, and by how much.
//!
//! Every user has one role: an **LT holder** only mints and redeems LT, a **funding provider** only
//! deposits and withdraws funding. `in` is every unit the user sent to the program (mints or
//! deposits, fees included); `out` is every unit the program paid back (redeems or withdrawals,
//! including the unwind); units a user donated to the vault count in neither. With
//!
//! - `dust`, the rounding allowance of the sequence: for every landed transaction, `max_share + 3`
//!   raw units (`max_share` is the most a raw LT or FT share was ever worth, in raw units, at any
//!   step of the sequence: one raw share or unit of pool-favouring rounding per operation can go
//!   to the other holders);
//! - `spread`: for every landed user instruction, `min(ceil(moved * (upper - lower) / lower),
//!   3 * moved) + 1` units, the most the confidence interval (and a stale exit's band haircut) can
//!   shift from the caller to the funding pool (`moved`: mint `units_in + from_idle`, redeem
//!   `exposure_removed`, deposit `units_in`, withdraw `units_out + fee`). It never reaches LT
//!   holders: a mint or redeem at either end of the interval scales `N`, `D` and the LT supply by
//!   the same factor, so a share's `N/S` and `D/S` do not move (the interval's cost is in the units
//!   lent or repaid, i.e. it goes to idle);
//! - `up`, the product over every published price step taken while the user held LT of
//!   `max(P_new / P_old, 1)`, and `down`, the same for funding holders of `max(P_old / P_new, 1)`;
//! - `lambda_max = max_history(L * (1 + band)) + 0.5`, the most leverage any pool can restart from
//!   after an instruction that could rebalance (targets and bands the admin set included);
//! - `r_max = max_history(base + slope1 + slope2)`, the funding curve's largest annual rate, and `T`
//!   the clock seconds the user held FT,
//!
//! the rule is
//!
//! - LT holder: `out <= (in + dust) * up^(lambda_max - 1)`. Between two rebalances a share's unit value
//!   `N/S - D/(S P)` moves by `f(t) = lambda - (lambda - 1)/t` for a price ratio `t`, and
//!   `f(t) <= t^(lambda - 1)` for all `t > 0` (equality only at `t = 1`); a rebalance, funding and
//!   other users' mints and redeems never raise it beyond rounding. So an LT holder can only profit
//!   if the price rose while they held, and only by a leveraged multiple of that rise.
//! - Funding provider: `out <= (in + dust + spread) * down * exp(r_max * T / year)`. A share's unit value
//!   `I/S + D/(S P)` rises with a price fall by at most the fall, and with funding by at most
//!   `r_max` per year of holding (interest compounds at touches: `prod(1 + r dt) <= exp(r T)`); a
//!   wipe-out only lowers it.
//! - In a **quiet** sequence (no price move, zero confidence, no time jump) `up = down = 1`, `T = 0`:
//!   nobody ends with more than they put in, beyond the allowances; and the locked seed's claim never shrinks
//!   (after the unwind the idle units are at least the seed deposit).
//!
//! The rule is sound for the mechanism (a correct program never breaks it) and tight enough to fail:
//! in a quiet sequence one raw unit over the allowance is a violation, and an LT holder's allowance
//! is rounding only, whatever the confidence interval.

pub const YEAR_SECS: f64 = 31_536_000.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Lt,
    Ft,
}

#[derive(Clone, Debug)]
pub struct Ledger {
    pub role: Role,
    /// Underlying units at the start.
    pub start: u64,
    pub paid_in: u64,
    pub got_out: u64,
    pub donated: u64,
    /// Sum of `ln max(P_new/P_old, 1)` over price steps while holding LT.
    pub up_log: f64,
    /// Sum of `ln max(P_old/P_new, 1)` over price steps while holding FT.
    pub down_log: f64,
    /// Clock seconds while holding FT.
    pub held_secs: u64,
}

impl Ledger {
    pub fn new(role: Role, start: u64) -> Self {
        Self {
            role,
            start,
            paid_in: 0,
            got_out: 0,
            donated: 0,
            up_log: 0.0,
            down_log: 0.0,
            held_secs: 0,
        }
    }
}

/// What the whole sequence contributes to every user's bound.
#[derive(Clone, Copy, Debug)]
pub struct RuleParams {
    /// Rounding allowance (both roles).
    pub dust: f64,
    /// Confidence-interval allowance (funding providers only).
    pub spread: f64,
    pub lambda_max: f64,
    pub rate_max_ppm: u64,
}

/// The most `out` may be.
pub fn bound(l: &Ledger, p: &RuleParams) -> f64 {
    let base = l.paid_in as f64
        + p.dust
        + match l.role {
            Role::Lt => 0.0,
            Role::Ft => p.spread,
        };
    let factor = match l.role {
        Role::Lt => (l.up_log * (p.lambda_max - 1.0).max(0.0)).exp(),
        Role::Ft => (l.down_log + p.rate_max_ppm as f64 / 1e6 * l.held_secs as f64 / YEAR_SECS).exp(),
    };
    base * factor
}

/// `Err` with the numbers when the user took out more than the rule allows.
pub fn check(l: &Ledger, p: &RuleParams) -> Result<(), String> {
    let b = bound(l, p);
    // 1e-12 relative slack for the f64 evaluation of the bound only.
    if (l.got_out as f64) <= b * (1.0 + 1e-12) {
        Ok(())
    } else {
        Err(format!(
            "{:?} user took out {} units for {} in (gain {}), bound {:.1} (dust {:.0}, spread {:.0}, \
             up_log {:.6}, down_log {:.6}, held {} s, lambda_max {:.3}, r_max {} ppm)",
            l.role,
            l.got_out,
            l.paid_in,
            l.got_out as i128 - l.paid_in as i128,
            b,
            p.dust,
            p.spread,
            l.up_log,
            l.down_log,
            l.held_secs,
            p.lambda_max,
            p.rate_max_ppm
        ))
    }
}

#[test]
fn rule_flags_a_quiet_gain_and_allows_directional_ones() {
    let p = RuleParams {
        dust: 10.0,
        spread: 0.0,
        lambda_max: 3.65,
        rate_max_ppm: 1_100_000,
    };
    let mut lt = Ledger::new(Role::Lt, 5_000);
    lt.paid_in = 1_000;
    lt.got_out = 1_010;
    assert!(check(&lt, &p).is_ok());
    lt.got_out = 1_011;
    assert!(
        check(&lt, &p).is_err(),
        "one unit over the allowance in a quiet sequence"
    );
    // +10% while holding: up to 1.1^2.65 of (in + A).
    lt.up_log = 1.1f64.ln();
    lt.got_out = 1_300;
    assert!(check(&lt, &p).is_ok());
    lt.got_out = 1_300 + 20;
    assert!(check(&lt, &p).is_err());
    // A price fall does nothing for LT; a fall and a year of funding help FT.
    let mut ft = Ledger::new(Role::Ft, 5_000);
    ft.paid_in = 1_000;
    ft.got_out = 1_200;
    assert!(check(&ft, &p).is_err());
    ft.down_log = (1.0f64 / 0.9).ln();
    assert!(check(&ft, &p).is_err(), "1/0.9 of 1010 is 1122");
    ft.held_secs = 31_536_000 / 10;
    assert!(check(&ft, &p).is_ok(), "a tenth of a year at 110% adds 11.6%");
    // The confidence allowance is the funding pool's only.
    let wide = RuleParams { spread: 1_000.0, ..p };
    lt.up_log = 0.0;
    lt.got_out = 1_011;
    assert!(check(&lt, &wide).is_err());
    ft.down_log = 0.0;
    ft.held_secs = 0;
    ft.got_out = 2_010;
    assert!(check(&ft, &wide).is_ok());
}
