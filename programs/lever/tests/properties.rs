//! Property tests (proptest) over the program's pure math, `lever::math`.
//!
//! Pool states are reachable ones: each run starts where `create_market` leaves a market (the seed
//! units idle, their FT locked forever) and plays a random sequence of user instructions, keeper
//! rebalances, stale exits, holders burning their own LT outside the program, price moves and
//! elapsed time. Each step is applied the way the instructions apply it: `mint_lt` and `redeem_lt`
//! first bring the recorded LT supply down to the mint's (`sync_supply`; no other instruction
//! does), then [`Market::refresh`] does what `state::Market::refresh` does (accrue funding at the
//! mid, then the program's own `refresh_pool`: close a position left with no LT holders into idle,
//! rebalance or wipe when out of band or insolvent), then the operation runs at the end of the
//! confidence band that gives the user less; a step that fails reverts everything, as a failed
//! transaction does. Errors are fine (overflow, idle short, zero shares...): they must be clean
//! `Err`s, never panics, and every `Ok` must satisfy the property. The model calls the program's own
//! functions (`lever::math::*`, including `wipe` and `refresh_pool`) and re-implements only the glue
//! of the instruction handlers.
//!
//! FINDINGS 1 to 6 (end of the file) were found by these properties and are fixed: each
//! `finding_n_*` test now pins the fixed behaviour on the minimal case that showed the bug, and the
//! properties hold without the slack they once allowed. So is FINDING 7 (`reopen_market` now syncs
//! the LT supply with the mint).
//!
//! Exact values are computed in 512 bits: a price `P` is value units per raw unit times
//! `PRICE_SCALE`, so `N*P - D*PRICE_SCALE` is the leveraged pool's equity times `PRICE_SCALE`,
//! exactly, and every rounding is checked by cross-multiplication.
//!
//! The number of cases is proptest's default (256) or `PROPTEST_CASES`.

// Test code: the model computes exact values with bare arithmetic and narrows with `as` where it
// has bounded the value itself (the program's checked-math lints are for the program).
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use lever::constants::{
    MAX_BAND_PPM, MAX_BASE_RATE_PPM, MAX_FEE_PPM, MAX_KINK_PPM, MAX_LEVERAGE_PPM, MAX_SLOPE_PPM,
    MIN_BAND_PPM, MIN_KINK_PPM, MIN_LEVERAGE_PPM, MIN_MAX_UTILIZATION_PPM, MIN_SEED_UNITS, PPM, PRICE_SCALE,
    SECONDS_PER_YEAR,
};
use lever::error::LeverError;
use lever::math::{
    accrue_funding, band_status, deposit_funding, mint_lt, mul_div, price_band, rebalance, redeem_lt,
    refresh_pool, scale_mantissa, units_for_value, utilization_ppm, value_of, withdraw_funding, Accrual,
    BandStatus, DepositQuote, FundingCurve, MathResult, MintLtQuote, PoolState, PriceBand, RebalanceResult,
    RedeemLtQuote, RiskParams, Rounding, WithdrawQuote,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

#[allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]
mod wide {
    uint::construct_uint! {
        /// 512-bit unsigned integer: exact products of up to four u128 values.
        pub struct U512(8);
    }
}
use wide::U512;

// ---------------------------------------------------------------------------------------------
// Exact arithmetic

fn x(v: impl Into<u128>) -> U512 {
    U512::from(v.into())
}

fn ps() -> U512 {
    x(PRICE_SCALE)
}

/// `N*P - D*PRICE_SCALE`: the leveraged pool's equity at `p` times PRICE_SCALE, exactly (None if < 0).
fn equity_x(pool: &PoolState, p: u128) -> Option<U512> {
    let assets = x(pool.exposure) * x(p);
    let debt = x(pool.debt) * ps();
    (assets >= debt).then(|| assets - debt)
}

/// `min(D*PRICE_SCALE, N*P) + I*P`: the funding pool's value at `p` times PRICE_SCALE, exactly
/// (the debt counts at most at what the exposure backing it is worth, as in `funding_value`).
fn funding_x(pool: &PoolState, p: u128) -> U512 {
    (x(pool.debt) * ps()).min(x(pool.exposure) * x(p)) + x(pool.idle) * x(p)
}

/// `a/b >= c/d` for positive denominators, exactly.
fn ratio_ge(a: U512, b: U512, c: U512, d: U512) -> bool {
    a * d >= c * b
}

/// A fee rounded up: `fee = ceil(amount * ppm / 1e6)`.
fn assert_fee_up(fee: u64, amount: u64, ppm: u64) -> Result<(), TestCaseError> {
    let exact = x(amount) * x(ppm);
    prop_assert!(x(fee) * x(PPM) >= exact, "fee {fee} below {amount}*{ppm}/1e6");
    prop_assert!(
        fee == 0 || x(fee - 1) * x(PPM) < exact,
        "fee {fee} more than one unit above {amount}*{ppm}/1e6"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The market as the instructions drive it

/// The books and flags of one market, driven as the instructions drive `state::Market`.
#[derive(Clone, Copy, Debug)]
struct Market {
    /// The books; `pool.lt_supply` is the LT supply the market has recorded.
    pool: PoolState,
    params: RiskParams,
    wiped: bool,
    /// FT minted to the locked account at creation: no instruction can move them.
    locked_ft: u64,
    /// The LT mint's supply: the recorded supply less the LT burned outside the program since the
    /// last `sync_supply` (which only `mint_lt` and `redeem_lt` run).
    lt_mint_supply: u64,
    /// `total_funding` and `total_bad_debt`: the program adds to them with `checked_add`.
    total_funding: u128,
    total_bad_debt: u128,
}

/// What the refresh at the top of every priced instruction did (`state::Refresh`, plus the books
/// after the accrual alone).
#[derive(Clone, Copy, Debug)]
struct Refreshed {
    accrual: Accrual,
    /// The books after the accrual, before any settlement.
    accrued: PoolState,
    /// A position left with no LT holders, closed into idle (`Refresh::settled`).
    settled: Option<RebalanceResult>,
    /// `Refresh::pool_after_accrual`: after the accrual and the settlement.
    after_accrual: PoolState,
    rebalance: Option<RebalanceResult>,
    /// `Refresh::pool_after`: the books the operation itself starts from.
    after: PoolState,
}

impl Refreshed {
    /// No refresh ran (a burn outside the program, `reopen_market`).
    fn none(pool: PoolState) -> Self {
        Refreshed {
            accrual: Accrual::default(),
            accrued: pool,
            settled: None,
            after_accrual: pool,
            rebalance: None,
            after: pool,
        }
    }
}

fn add_total(total: &mut u128, amount: u128) -> MathResult<()> {
    *total = total.checked_add(amount).ok_or(LeverError::MathOverflow)?;
    Ok(())
}

impl Market {
    /// `create_market`: the seed deposit sits idle and its FT are locked.
    fn create(params: RiskParams, seed: u64) -> Self {
        Market {
            pool: PoolState {
                idle: seed,
                ft_supply: seed,
                ..PoolState::default()
            },
            params,
            wiped: false,
            locked_ft: seed,
            lt_mint_supply: 0,
            total_funding: 0,
            total_bad_debt: 0,
        }
    }

    /// `sync_supply` on the LT mint (`mint_lt` and `redeem_lt`, before anything else).
    fn sync_lt(&mut self) {
        debug_assert!(self.lt_mint_supply <= self.pool.lt_supply);
        self.pool.lt_supply = self.lt_mint_supply;
    }

    /// `Market::accrue`: funding accrued at the mid, and its total.
    fn accrue(&mut self, mid: u128, elapsed: u64) -> MathResult<Accrual> {
        let (pool, accrual) = accrue_funding(&self.pool, &self.params.curve, mid, elapsed)?;
        self.pool = pool;
        add_total(&mut self.total_funding, accrual.interest)?;
        Ok(accrual)
    }

    /// `state::Market::refresh`: accrue at the mid, close a position with no LT holders into idle,
    /// then rebalance (or wipe) when out of band or insolvent.
    fn refresh(&mut self, mid: u128, elapsed: u64) -> MathResult<Refreshed> {
        self.refresh_with(mid, elapsed, true)
    }

    /// `state::Market::refresh` with its `rebalance` flag (false on a stale exit): the accrual, then
    /// the program's own decision, `lever::math::refresh_pool` (close a position with no LT holders
    /// into idle, the market not flagged wiped; rebalance or wipe when out of band or insolvent).
    fn refresh_with(&mut self, mid: u128, elapsed: u64, rebalance: bool) -> MathResult<Refreshed> {
        let accrual = self.accrue(mid, elapsed)?;
        let accrued = self.pool;
        let decided = refresh_pool(&accrued, &self.params, mid, rebalance, self.total_bad_debt)?;
        self.pool = decided.pool_after;
        self.total_bad_debt = decided.total_bad_debt;
        if decided.wiped() {
            self.wiped = true;
        }
        Ok(Refreshed {
            accrual,
            accrued,
            settled: decided.settled,
            after_accrual: decided.pool_after_accrual,
            rebalance: decided.rebalance,
            after: decided.pool_after,
        })
    }

    /// `state::Market::rebalance`: the books, and the wiped flag and bad debt on a wipe-out.
    fn rebalance(&mut self, mid: u128) -> MathResult<RebalanceResult> {
        let (pool, result) = rebalance(&self.pool, &self.params, mid)?;
        self.pool = pool;
        if result.wiped {
            self.wiped = true;
            add_total(&mut self.total_bad_debt, result.bad_debt)?;
        }
        Ok(result)
    }

    /// The market as an instruction's own math finds it after `elapsed` seconds at `mid`: the LT
    /// supply synced (for `mint_lt`, `redeem_lt`: `lt`), then refreshed (None if that errs).
    fn prepared(mut self, lt: bool, mid: u128, elapsed: u64) -> Option<Self> {
        if lt {
            self.sync_lt();
        }
        self.refresh(mid, elapsed).ok()?;
        Some(self)
    }

    /// Apply `op` at `band` after `elapsed` seconds; on error the market is left unchanged.
    fn apply(&mut self, op: Op, band: Option<PriceBand>, elapsed: u64) -> MathResult<(Refreshed, Done)> {
        let mut next = *self;
        let out = next.apply_inner(op, band, elapsed)?;
        // `reconcile_vault`: the vault (a u64 token amount) must hold N + I + fee units.
        next.pool.units_owed()?;
        *self = next;
        Ok(out)
    }

    fn apply_inner(
        &mut self,
        op: Op,
        band: Option<PriceBand>,
        elapsed: u64,
    ) -> MathResult<(Refreshed, Done)> {
        match op {
            // Outside the program: a holder burns their own LT with the token program. Only the mint's
            // supply drops; the books follow at the next `mint_lt` or `redeem_lt`.
            Op::BurnLt(frac) => {
                let shares = part(self.lt_mint_supply, frac);
                if shares == 0 {
                    return Err(LeverError::ZeroAmount);
                }
                self.lt_mint_supply -= shares;
                return Ok((Refreshed::none(self.pool), Done::Burned(shares)));
            }
            // `reopen_books` (no supply sync: it reads the recorded supply).
            // `reopen_market` syncs the LT supply with the mint first (FINDING 7's fix).
            Op::Reopen => {
                self.sync_lt();
                if !self.wiped {
                    return Err(LeverError::MarketNotWiped);
                }
                if self.pool.lt_supply != 0 {
                    return Err(LeverError::LtSupplyOutstanding);
                }
                if self.pool.exposure != 0 || self.pool.debt != 0 {
                    return Err(LeverError::InvalidPoolState);
                }
                self.wiped = false;
                return Ok((Refreshed::none(self.pool), Done::Reopened));
            }
            // `sync_supply`, then `mint_lt_books` refuses a wiped market before reading the price.
            Op::Mint(_) | Op::Redeem(..) => {
                self.sync_lt();
                if matches!(op, Op::Mint(_)) && self.wiped {
                    return Err(LeverError::MarketWiped);
                }
            }
            _ => {}
        }
        // A price the oracle would refuse (lower end not positive, upper end past u128).
        let band = band.ok_or(LeverError::PriceOutOfRange)?;
        if let Op::Keeper = op {
            // `rebalance_books`: accrue, then rebalance or refuse (WithinBand, NothingToRebalance);
            // no supply sync and no settlement.
            let accrual = self.accrue(band.mid, elapsed)?;
            let accrued = self.pool;
            let result = self.rebalance(band.mid)?;
            let refreshed = Refreshed {
                accrual,
                accrued,
                settled: None,
                after_accrual: accrued,
                rebalance: Some(result),
                after: self.pool,
            };
            return Ok((refreshed, Done::Rebalanced(result)));
        }
        // A stale exit (`oracle::read_price` with `exit`): the interval widened by the band on each
        // side, and no rebalance.
        let stale = matches!(op, Op::Redeem(_, true) | Op::Withdraw(_, true));
        let band = if stale {
            stale_band(band, self.params.band_ppm)?
        } else {
            band
        };
        let refreshed = self.refresh_with(band.mid, elapsed, !stale)?;
        let pool = self.pool;
        let params = self.params;
        let done = match op {
            Op::Mint(size) => {
                // The refresh itself may have wiped the pool.
                if self.wiped {
                    return Err(LeverError::MarketWiped);
                }
                let units = size.resolve(pool.idle, params.target_leverage_ppm);
                let (next, quote) = mint_lt(&pool, &params, band.upper, band.mid, units)?;
                self.pool = next;
                self.lt_mint_supply = next.lt_supply;
                Done::Minted(quote)
            }
            Op::Redeem(frac, _) => {
                let shares = part(pool.lt_supply, frac);
                let (next, quote) = redeem_lt(&pool, &params, band.lower, shares, self.wiped)?;
                self.pool = next;
                self.lt_mint_supply = next.lt_supply;
                Done::Redeemed(quote)
            }
            Op::Deposit(size) => {
                let units = size.resolve(pool.idle, PPM);
                let (next, quote) = deposit_funding(&pool, &params, band.lower, units)?;
                self.pool = next;
                Done::Deposited(quote)
            }
            Op::Withdraw(frac, _) => {
                // Only the FT outside the locked account can be presented.
                let shares = part(pool.ft_supply - self.locked_ft, frac);
                let (next, quote) = withdraw_funding(&pool, &params, band.upper, shares)?;
                self.pool = next;
                Done::Withdrawn(quote)
            }
            Op::Keeper | Op::BurnLt(_) | Op::Reopen => unreachable!("handled above"),
        };
        Ok((refreshed, done))
    }
}

/// `total * frac / 1e6`, at least 1 when `total > 0` (a holder presents some shares).
fn part(total: u64, frac_ppm: u32) -> u64 {
    let shares = (u128::from(total) * u128::from(frac_ppm) / u128::from(PPM)) as u64;
    if total > 0 {
        shares.max(1)
    } else {
        0
    }
}

/// An amount of units: absolute (any u64), or a fraction of what the pool can take.
#[derive(Clone, Copy, Debug)]
enum Size {
    Units(u64),
    /// ppm of `idle * PPM / leverage_ppm` (for a mint: about the most the idle units can lend to).
    OfIdle(u32),
}

impl Size {
    fn resolve(self, idle: u64, leverage_ppm: u64) -> u64 {
        match self {
            Size::Units(units) => units,
            Size::OfIdle(frac) => {
                let room = u128::from(idle) * u128::from(PPM) / u128::from(leverage_ppm.max(1));
                ((room * u128::from(frac) / u128::from(PPM)) as u64).max(1)
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Mint(Size),
    /// Redeem this fraction (ppm) of the LT supply; `true`: a stale exit.
    Redeem(u32, bool),
    Deposit(Size),
    /// Withdraw this fraction (ppm) of the FT outside the locked account; `true`: a stale exit.
    Withdraw(u32, bool),
    /// A keeper's `rebalance`.
    Keeper,
    /// A holder burns this fraction (ppm) of the LT supply with the token program directly.
    BurnLt(u32),
    /// The admin's `reopen_market`.
    Reopen,
}

#[derive(Clone, Copy, Debug)]
enum Done {
    Minted(MintLtQuote),
    Redeemed(RedeemLtQuote),
    Deposited(DepositQuote),
    Withdrawn(WithdrawQuote),
    Rebalanced(RebalanceResult),
    Burned(u64),
    Reopened,
}

/// One step of a scenario: the mid moves by `move_ppm`, `elapsed` seconds pass, then `op`.
#[derive(Clone, Copy, Debug)]
struct Step {
    op: Op,
    move_ppm: i64,
    elapsed: u64,
}

#[derive(Clone, Debug)]
struct Scenario {
    params: RiskParams,
    seed: u64,
    start_price: u128,
    /// Half-width of the (widened) confidence interval, ppm of the mid.
    conf_ppm: u64,
    steps: Vec<Step>,
}

/// The band the oracle hands out for `mid` with a half-width of `conf_ppm` (None if refused).
fn band_at(mid: u128, conf_ppm: u64) -> Option<PriceBand> {
    let half = mul_div(mid, u128::from(conf_ppm), u128::from(PPM), Rounding::Up).ok()?;
    (half < mid).then_some(())?;
    Some(PriceBand {
        mid,
        lower: mid - half,
        upper: mid.checked_add(half)?,
    })
}

/// `oracle::read_price` for a stale exit: the band widened by `band_ppm` of the mid on each side.
fn stale_band(band: PriceBand, band_ppm: u64) -> MathResult<PriceBand> {
    let haircut = mul_div(band.mid, u128::from(band_ppm), u128::from(PPM), Rounding::Up)?;
    Ok(PriceBand {
        mid: band.mid,
        lower: band.lower.saturating_sub(haircut).max(1),
        upper: band.upper.checked_add(haircut).ok_or(LeverError::MathOverflow)?,
    })
}

fn moved(mid: u128, move_ppm: i64) -> u128 {
    let factor = (i128::from(PPM) + i128::from(move_ppm)).max(1) as u128;
    mul_div(mid, factor, u128::from(PPM), Rounding::Down)
        .unwrap_or(mid)
        .max(1)
}

/// One applied step, with the market before and after (equal when the step failed).
#[derive(Clone, Debug)]
struct Transition {
    before: Market,
    band: Option<PriceBand>,
    elapsed: u64,
    op: Op,
    result: MathResult<(Refreshed, Done)>,
    after: Market,
}

/// Where a scenario ends: the market, the last mid, and every step on the way.
#[derive(Clone, Debug)]
struct Played {
    market: Market,
    mid: u128,
    conf_ppm: u64,
    /// Seconds since the last successful instruction (funding not yet accrued).
    pending: u64,
    transitions: Vec<Transition>,
}

fn play(s: &Scenario) -> Played {
    let mut market = Market::create(s.params, s.seed);
    let mut mid = s.start_price;
    let mut pending = 0u64;
    let mut transitions = Vec::with_capacity(s.steps.len());
    for step in &s.steps {
        mid = moved(mid, step.move_ppm);
        pending = pending.saturating_add(step.elapsed);
        let band = band_at(mid, s.conf_ppm);
        let before = market;
        let result = market.apply(step.op, band, pending);
        if result.is_ok() && !matches!(step.op, Op::BurnLt(_) | Op::Reopen) {
            pending = 0;
        }
        transitions.push(Transition {
            before,
            band,
            elapsed: pending,
            op: step.op,
            result,
            after: market,
        });
    }
    Played {
        market,
        mid,
        conf_ppm: s.conf_ppm,
        pending,
        transitions,
    }
}

impl Played {
    /// The market as the next instruction's own math finds it at the last mid: the LT supply synced
    /// when that instruction is `mint_lt` or `redeem_lt` (`lt`), then refreshed (accrual,
    /// settlement, rebalance). None if that refresh errs.
    fn prepared(&self, lt: bool) -> Option<Market> {
        self.market.prepared(lt, self.mid, self.pending)
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Any u64, log-uniform (every bit length about equally likely), with small values and the top.
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => (0u32..64, any::<u64>()).prop_map(|(shift, v)| (v >> shift).max(1)),
        2 => 1u64..=1_000,
        1 => Just(u64::MAX),
    ]
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        amount().prop_map(Size::Units),
        (1u32..=1_000_000).prop_map(Size::OfIdle),
    ]
}

fn fraction() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1_000_000u32), 1u32..=1_000_000, 1u32..=1_000]
}

/// A price: a Pyth mantissa and exponent scaled for a token with 0..=9 decimals (mantissas that
/// would not fit are scaled down to fit), or a q anywhere from 1e9 (1e-27 USD a raw unit) to
/// 1e38 ($100 a raw unit), log-uniform.
fn price() -> impl Strategy<Value = u128> {
    prop_oneof![
        (0u32..63, any::<u64>(), -12i32..=-2, 0u8..=9).prop_map(|(shift, m, expo, decimals)| {
            let mantissa = u128::from((m >> shift) & (i64::MAX as u64)).max(1);
            let factor = 10u128.pow((expo + 36 - i32::from(decimals)) as u32);
            let mantissa = mantissa.min(u128::MAX / factor);
            scale_mantissa(mantissa, expo, decimals, Rounding::Down).expect("scaled to fit")
        }),
        (9u32..=37, 1_000u128..=9_999).prop_map(|(e, m)| m * 10u128.pow(e - 3)),
    ]
}

fn fee() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 0..=MAX_FEE_PPM, Just(MAX_FEE_PPM)]
}

fn params() -> impl Strategy<Value = RiskParams> {
    (
        prop_oneof![
            MIN_LEVERAGE_PPM..=MAX_LEVERAGE_PPM,
            Just(MIN_LEVERAGE_PPM),
            Just(MAX_LEVERAGE_PPM)
        ],
        prop_oneof![MIN_BAND_PPM..=MAX_BAND_PPM, Just(MIN_BAND_PPM)],
        (fee(), fee(), fee(), fee()),
        prop_oneof![3 => Just(u64::MAX), 1 => amount()],
        prop_oneof![Just(PPM), MIN_MAX_UTILIZATION_PPM..=PPM],
        (
            0..=MAX_BASE_RATE_PPM,
            MIN_KINK_PPM..=MAX_KINK_PPM,
            0..=MAX_SLOPE_PPM,
            0..=MAX_SLOPE_PPM,
        ),
    )
        .prop_map(|(lev, band, fees, cap, max_util, curve)| RiskParams {
            target_leverage_ppm: lev,
            band_ppm: band,
            mint_fee_ppm: fees.0,
            redeem_fee_ppm: fees.1,
            deposit_fee_ppm: fees.2,
            withdraw_fee_ppm: fees.3,
            exposure_cap: cap,
            max_utilization_ppm: max_util,
            curve: FundingCurve {
                base_rate_ppm: curve.0,
                kink_ppm: curve.1,
                slope1_ppm: curve.2,
                slope2_ppm: curve.3,
            },
        })
}

/// Half-width of the confidence interval (ppm of the price): none, typical, or up to the widest
/// the program accepts (10% conf widened 10x, just under the price itself).
fn conf() -> impl Strategy<Value = u64> {
    prop_oneof![2 => Just(0u64), 2 => 0u64..=20_000, 1 => 0u64..1_000_000]
}

/// An exit priced with a stale update (older than the market's maximum age, within the exit limit).
fn stale() -> impl Strategy<Value = bool> {
    prop_oneof![4 => Just(false), 1 => Just(true)]
}

fn op(burns: bool) -> BoxedStrategy<Op> {
    let ops = prop_oneof![
        4 => size().prop_map(Op::Mint),
        2 => (fraction(), stale()).prop_map(|(f, stale)| Op::Redeem(f, stale)),
        4 => size().prop_map(Op::Deposit),
        2 => (fraction(), stale()).prop_map(|(f, stale)| Op::Withdraw(f, stale)),
        1 => Just(Op::Keeper),
        1 => Just(Op::Reopen),
    ];
    if burns {
        prop_oneof![14 => ops, 1 => fraction().prop_map(Op::BurnLt)].boxed()
    } else {
        ops.boxed()
    }
}

fn step(burns: bool) -> impl Strategy<Value = Step> {
    (
        op(burns),
        prop_oneof![
            4 => Just(0i64),
            4 => -30_000i64..=30_000,
            1 => -999_000i64..=3_000_000,
        ],
        prop_oneof![Just(0u64), 0u64..=3_600, 0u64..=30 * 86_400],
    )
        .prop_map(|(op, move_ppm, elapsed)| Step {
            op,
            move_ppm,
            elapsed,
        })
}

/// A reachable market: creation with a seed deposit, then up to `len` random steps.
fn scenario_with(burns: bool, len: usize) -> impl Strategy<Value = Scenario> {
    (
        params(),
        prop_oneof![Just(MIN_SEED_UNITS), amount().prop_map(|a| a.max(MIN_SEED_UNITS))],
        price(),
        conf(),
        prop::collection::vec(step(burns), 0..len),
    )
        .prop_map(|(params, seed, start_price, conf_ppm, steps)| Scenario {
            params,
            seed,
            start_price,
            conf_ppm,
            steps,
        })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    scenario_with(true, 24)
}

/// A reachable market as the next instruction (an LT one if `lt`) finds it at its last mid, with
/// the oracle's band there.
fn settled(s: &Scenario, lt: bool) -> Option<(Market, PriceBand)> {
    let played = play(s);
    let market = played.prepared(lt)?;
    Some((market, band_at(played.mid, played.conf_ppm)?))
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // An integration test has no lib.rs beside it for proptest's default regression path:
        // failing seeds go to programs/lever/proptest-regressions/ (cargo runs tests from there).
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Round trips never profit

proptest! {
    #![proptest_config(config())]

    /// Mint LT for `k` units, then redeem every LT received, at the same oracle band (mint at its
    /// upper end, redeem at its lower end; conf 0 makes them one price): never a single unit more
    /// than `k` back. The market around already has other LT and FT holders. (Before FINDING 4
    /// was fixed, up to units worth one value unit.)
    #[test]
    fn round_trip_mint_then_redeem_never_profits(s in scenario(), k in size()) {
        check_round_trip_lt(&s, k)?;
    }

    /// Deposit `k` units into the funding pool, then withdraw every FT received, at the same band:
    /// never a single unit more than `k` back (FINDING 4, fixed).
    #[test]
    fn round_trip_deposit_then_withdraw_never_profits(s in scenario(), k in size()) {
        check_round_trip_ft(&s, k)?;
    }
}

fn assert_no_profit(paid: u64, got: u64) -> Result<(), TestCaseError> {
    prop_assert!(got <= paid, "paid {paid} units, got {got} back");
    Ok(())
}

fn check_round_trip_lt(s: &Scenario, k: Size) -> Result<(), TestCaseError> {
    let Some((market, band)) = settled(s, true) else {
        return Ok(());
    };
    let mut m = market;
    let Ok((_, Done::Minted(minted))) = m.apply(Op::Mint(k), Some(band), 0) else {
        return Ok(());
    };
    let Ok((next, redeemed)) = redeem_lt(&m.pool, &m.params, band.lower, minted.shares_out, m.wiped) else {
        return Ok(());
    };
    assert_no_profit(minted.units_in, redeemed.units_out)?;
    // The shares came back: the LT supply is where it was.
    prop_assert_eq!(next.lt_supply, market.pool.lt_supply);
    Ok(())
}

fn check_round_trip_ft(s: &Scenario, k: Size) -> Result<(), TestCaseError> {
    let Some((market, band)) = settled(s, false) else {
        return Ok(());
    };
    let mut m = market;
    let Ok((_, Done::Deposited(deposited))) = m.apply(Op::Deposit(k), Some(band), 0) else {
        return Ok(());
    };
    let Ok((next, withdrawn)) = withdraw_funding(&m.pool, &m.params, band.upper, deposited.shares_out) else {
        return Ok(());
    };
    assert_no_profit(deposited.units_in, withdrawn.units_out)?;
    prop_assert_eq!(next.ft_supply, market.pool.ft_supply);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. Every rounding favours the pools
//
// Exact bounds, with no slack. Two roundings once fell short (FINDINGS 3 and 4, fixed): the share
// price of a mint or a deposit divided by the pool's value rounded down (`floor(N*P) - D`,
// `D + floor(I*P)`), and a mint priced the minter's shares off `net * P` while lending only
// `floor(debt_added / P)` units, so the existing LT holders paid for the rounded-off part.

proptest! {
    #![proptest_config(config())]

    /// A mint at the band's upper end: fee >= exact (and < exact + 1); shares <= `S * dE / E`
    /// with E the exact equity and dE the exact equity the mint adds, itself at most `net * P`; the
    /// debt the minter takes on is at least their share of the debt; the units lent from idle are
    /// at most the debt added at the price. A first mint opens at target: shares 1:1, exposure
    /// floor(L*k), debt >= the lent units' value.
    #[test]
    fn mint_rounding_favours_the_pools(s in scenario(), k in size()) {
        check_mint_rounding(&s, k)?;
    }

    /// A redeem at the band's lower end: exposure leaves rounded down, debt leaves rounded up, the
    /// repaid units cover the debt removed at that price, the fee rounds up, and the units paid are
    /// at most the exact `(E * s / P) * (1 - fee)`. The units split exactly into paid + fee + repaid.
    #[test]
    fn redeem_rounding_favours_the_pools(s in scenario(), frac in fraction()) {
        let Some((market, band)) = settled(&s, true) else { return Ok(()) };
        let (pool, params, p) = (market.pool, market.params, band.lower);
        let shares = part(pool.lt_supply, frac);
        let Ok((_, q)) = redeem_lt(&pool, &params, p, shares, market.wiped) else { return Ok(()) };
        let (sh, supply) = (x(shares), x(pool.lt_supply));
        prop_assert!(x(q.exposure_removed) * supply <= x(pool.exposure) * sh);
        prop_assert!(x(q.debt_removed) * supply >= x(pool.debt) * sh);
        prop_assert_eq!(q.units_out + q.fee_units + q.to_idle, q.exposure_removed);
        let gross = q.units_out + q.fee_units;
        assert_fee_up(q.fee_units, gross, params.redeem_fee_ppm)?;
        if gross > 0 {
            prop_assert!(x(q.to_idle) * x(p) >= x(q.debt_removed) * ps(), "repaid units short of the debt");
        }
        match equity_x(&pool, p) {
            // units_out * 1e6 * S * P <= (1e6 - fee) * shares * (N*P - D*PS)
            Some(equity) => prop_assert!(
                x(q.units_out) * x(PPM) * supply * x(p) <= x(PPM - params.redeem_fee_ppm) * sh * equity,
                "paid {} above the exact claim", q.units_out
            ),
            None => prop_assert_eq!(q.units_out, 0),
        }
    }

    /// Funding deposit at the lower end and withdrawal at the upper end: fees round up, FT minted
    /// <= `FS * (net*P) / F` with F the exact value, units paid <= the exact
    /// `(F * s / P) * (1 - fee)`, and a withdrawal takes only idle units.
    #[test]
    fn funding_rounding_favours_the_pools(s in scenario(), k in size(), frac in fraction()) {
        check_funding_rounding(&s, k, frac)?;
    }

    /// At one fixed price (no confidence interval), another user's mint, redeem, deposit or
    /// withdrawal never lowers the exact NAV (E/S, F/FS) of the holders who stay, to the last
    /// 1e-18 USD. (Before FINDINGS 3 and 4 were fixed: up to one value unit on the pool's valuation
    /// and, for LT holders facing a mint, one raw unit's value more.)
    #[test]
    fn other_users_never_lower_existing_holders_nav(
        s in scenario(),
        which in 0u8..4,
        k in size(),
        frac in fraction(),
    ) {
        check_nav_kept(&s, which, k, frac)?;
    }

    /// The mint case of the property above on every case: a mint never lowers the exact LT NAV
    /// of the existing holders, not even by a value unit (FINDINGS 3 and 4, fixed).
    #[test]
    fn mint_never_dilutes_existing_lt_holders(s in scenario(), k in size()) {
        check_nav_kept(&s, 0, k, 0)?;
    }

    /// A stale exit (redeem or withdrawal priced with an old update: the band widened by the band
    /// on each side, no rebalance) after a gap of up to -99.9% that nobody processed while it was
    /// fresh, from a solvent or an insolvent pool: the holders who stay, valued as a refresh at that
    /// mid would leave them (the debt counted at most at the exposure's value, LT equity at least
    /// 0), lose nothing. (FINDING 6, fixed, was the insolvent case.)
    #[test]
    fn stale_exits_never_lower_remaining_holders_nav(
        s in scenario(),
        gap_ppm in prop_oneof![1_000u64..=1_000_000, 500_000u64..=1_000_000],
        redeem in any::<bool>(),
        frac in fraction(),
    ) {
        check_stale_exit(&s, gap_ppm, redeem, frac)?;
    }
}

fn check_mint_rounding(s: &Scenario, k: Size) -> Result<(), TestCaseError> {
    let Some((market, band)) = settled(s, true) else {
        return Ok(());
    };
    if market.wiped {
        return Ok(());
    }
    let (pool, params, p) = (market.pool, market.params, band.upper);
    let units = k.resolve(pool.idle, params.target_leverage_ppm);
    let Ok((next, q)) = mint_lt(&pool, &params, p, band.mid, units) else {
        return Ok(());
    };
    assert_fee_up(q.fee_units, units, params.mint_fee_ppm)?;
    let net = units - q.fee_units;
    // Units lent round down: from_idle <= debt_added / P (the first mint books its debt at the mid:
    // the fuzzer's FINDING, a first mint at the upper end opened the pool above its band).
    let p_debt = if pool.lt_supply == 0 { band.mid } else { p };
    prop_assert!(x(q.from_idle) * x(p_debt) <= x(q.debt_added) * ps());
    if pool.lt_supply == 0 {
        prop_assert_eq!(q.shares_out, net);
        let exposure = x(net) * x(params.target_leverage_ppm) / x(PPM);
        prop_assert_eq!(x(next.exposure), exposure);
        prop_assert!(
            x(q.debt_added) * ps() >= x(q.from_idle) * x(band.mid),
            "debt rounds up"
        );
        // Opened at the mid: the debt is the lent units' mid value rounded up, to the value unit.
        prop_assert!(
            x(q.debt_added) * ps() < x(q.from_idle) * x(band.mid) + ps(),
            "debt at the mid"
        );
    } else {
        let equity = equity_x(&pool, p).expect("a mint needs positive equity");
        // The equity the pool gained, exactly: (net + from_idle) * P - debt_added * PS <= net * P.
        let added = ((x(net) + x(q.from_idle)) * x(p)).saturating_sub(x(q.debt_added) * ps());
        prop_assert!(added <= x(net) * x(p));
        // shares <= S * dE / E
        prop_assert!(
            x(q.shares_out) * equity <= x(pool.lt_supply) * added,
            "shares {} above S*dE/E: {pool:?} {q:?} at {p}",
            q.shares_out
        );
        // debt_added / D >= shares / S
        prop_assert!(x(q.debt_added) * x(pool.lt_supply) >= x(pool.debt) * x(q.shares_out));
    }
    Ok(())
}

fn check_funding_rounding(s: &Scenario, k: Size, frac: u32) -> Result<(), TestCaseError> {
    let Some((market, band)) = settled(s, false) else {
        return Ok(());
    };
    let (pool, params) = (market.pool, market.params);
    let units = k.resolve(pool.idle, PPM);
    if let Ok((_, q)) = deposit_funding(&pool, &params, band.lower, units) {
        assert_fee_up(q.fee_units, units, params.deposit_fee_ppm)?;
        let net = units - q.fee_units;
        prop_assert!(
            x(q.shares_out) * funding_x(&pool, band.lower) <= x(pool.ft_supply) * x(net) * x(band.lower),
            "FT {} above FS*dF/F: {pool:?} {q:?} at {}",
            q.shares_out,
            band.lower
        );
    }
    let shares = part(pool.ft_supply - market.locked_ft, frac);
    if let Ok((next, q)) = withdraw_funding(&pool, &params, band.upper, shares) {
        let gross = q.units_out + q.fee_units;
        assert_fee_up(q.fee_units, gross, params.withdraw_fee_ppm)?;
        prop_assert!(gross <= pool.idle);
        prop_assert_eq!(next.idle, pool.idle - gross);
        // units_out * 1e6 * FS * P <= (1e6 - fee) * shares * (min(D*PS, N*P) + I*P)
        prop_assert!(
            x(q.units_out) * x(PPM) * x(pool.ft_supply) * x(band.upper)
                <= x(PPM - params.withdraw_fee_ppm) * x(shares) * funding_x(&pool, band.upper),
            "paid {} above the exact claim",
            q.units_out
        );
    }
    Ok(())
}

/// Another user's operation `which` (0 mint, 1 redeem, 2 deposit, 3 withdraw) at one price.
fn check_nav_kept(s: &Scenario, which: u8, k: Size, frac: u32) -> Result<(), TestCaseError> {
    let played = play(s);
    let Some(market) = played.prepared(which < 2) else {
        return Ok(());
    };
    let p = played.mid;
    let (pool, params) = (market.pool, market.params);
    let result = match which {
        0 if !market.wiped => {
            let units = k.resolve(pool.idle, params.target_leverage_ppm);
            mint_lt(&pool, &params, p, p, units).map(|r| r.0)
        }
        1 => redeem_lt(&pool, &params, p, part(pool.lt_supply, frac), market.wiped).map(|r| r.0),
        2 => deposit_funding(&pool, &params, p, k.resolve(pool.idle, PPM)).map(|r| r.0),
        3 => withdraw_funding(&pool, &params, p, part(pool.ft_supply - market.locked_ft, frac)).map(|r| r.0),
        _ => return Ok(()),
    };
    let Ok(next) = result else { return Ok(()) };
    assert_nav_kept(&pool, &next, p)
}

fn check_stale_exit(s: &Scenario, gap_ppm: u64, redeem: bool, frac: u32) -> Result<(), TestCaseError> {
    let played = play(s);
    let p = mul_div(played.mid, u128::from(gap_ppm), u128::from(PPM), Rounding::Down)
        .unwrap()
        .max(1);
    let mut market = played.market;
    let op = if redeem {
        Op::Redeem(frac, true)
    } else {
        Op::Withdraw(frac, true)
    };
    let Ok((refreshed, _)) = market.apply(op, band_at(p, played.conf_ppm), played.pending) else {
        return Ok(());
    };
    prop_assert!(refreshed.rebalance.is_none(), "a stale exit rebalanced");
    // The pool as the exit finds it: funding accrued (and an orphaned position settled), not
    // rebalanced; insolvent or not.
    assert_fair_nav_kept(&refreshed.after, &market.pool, p)
}

/// What the holders own at `p` once the pool is settled: LT `max(N*P - D, 0)`, FT
/// `min(D, N*P) + I*P` (a wipe-out writes off the debt the exposure does not cover), exactly.
fn fair_values(pool: &PoolState, p: u128) -> (U512, U512) {
    let assets = x(pool.exposure) * x(p);
    let lt = assets.saturating_sub(x(pool.debt) * ps());
    (lt, funding_x(pool, p))
}

fn assert_fair_nav_kept(before: &PoolState, after: &PoolState, p: u128) -> Result<(), TestCaseError> {
    let (lt0, ft0) = fair_values(before, p);
    let (lt1, ft1) = fair_values(after, p);
    if before.lt_supply > 0 && after.lt_supply > 0 {
        prop_assert!(
            ratio_ge(lt1, x(after.lt_supply), lt0, x(before.lt_supply)),
            "LT NAV of those who stay fell: {before:?} -> {after:?} at {p}"
        );
    }
    if before.ft_supply > 0 && after.ft_supply > 0 {
        prop_assert!(
            ratio_ge(ft1, x(after.ft_supply), ft0, x(before.ft_supply)),
            "FT NAV of those who stay fell: {before:?} -> {after:?} at {p}"
        );
    }
    Ok(())
}

/// LT NAV and FT NAV (exact, at `p`) of the holders present before and after are not lower after:
/// shares are priced off the pool's value rounded against the newcomer and paid off it rounded
/// against the leaver, so not even a value unit leaks.
fn assert_nav_kept(before: &PoolState, after: &PoolState, p: u128) -> Result<(), TestCaseError> {
    if before.lt_supply > 0 && after.lt_supply > 0 {
        let e0 = equity_x(before, p).unwrap_or_default();
        let e1 = equity_x(after, p).unwrap_or_default();
        prop_assert!(
            ratio_ge(e1, x(after.lt_supply), e0, x(before.lt_supply)),
            "LT NAV fell: {before:?} -> {after:?} at {p}"
        );
    }
    if before.ft_supply > 0 && after.ft_supply > 0 {
        prop_assert!(
            ratio_ge(
                funding_x(after, p),
                x(after.ft_supply),
                funding_x(before, p),
                x(before.ft_supply)
            ),
            "FT NAV fell: {before:?} -> {after:?} at {p}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. NAVs after a gap down

proptest! {
    #![proptest_config(config())]

    /// A reachable market whose vault is worth at most ~$1.7e17 gaps down by up to -99.9% and is
    /// refreshed by the next instruction (`lt`: a mint or redeem, which syncs the LT supply first):
    /// funding accrued, a position left with no LT holders closed into idle, then rebalanced or
    /// wiped. The refresh never errs (FINDING 5, fixed: a lever-up target above u64::MAX units made
    /// it err). Afterwards the equity is >= 0, the NAVs, leverage and utilization are defined, the
    /// pools together are worth no more than the vault's units, an open market with LT outstanding
    /// holds exposure (FINDING 1, fixed), and a wipe-out (only at E <= 0, or when the target rounds
    /// to 0 units) moved every unit to idle, wrote the debt off exactly, and still lets every LT be
    /// redeemed (for 0) and every free FT withdrawn. A settlement (FINDING 2, fixed) did the same
    /// without flagging the market wiped.
    #[test]
    fn gap_down_then_refresh_keeps_navs_defined(
        s in scenario(),
        gap_ppm in prop_oneof![1_000u64..=1_000_000, 1_000u64..=10_000],
        elapsed in 0u64..=7 * 86_400,
        lt in any::<bool>(),
    ) {
        check_gap(&s, gap_ppm, elapsed, lt)?;
    }
}

fn check_gap(s: &Scenario, gap_ppm: u64, elapsed: u64, lt: bool) -> Result<(), TestCaseError> {
    let played = play(s);
    let mut start = played.market;
    if lt {
        start.sync_lt();
    }
    let before_value = value_of(
        start.pool.units_owed().expect("books fit"),
        played.mid,
        Rounding::Down,
    );
    if !matches!(before_value, Ok(v) if v <= i128::MAX as u128 / 1_000) {
        return Ok(());
    }
    let p = mul_div(played.mid, u128::from(gap_ppm), u128::from(PPM), Rounding::Down)
        .unwrap()
        .max(1);
    let before = start.pool;
    let elapsed_total = played.pending.saturating_add(elapsed);
    let mut market = start;
    let refreshed = match market.refresh(p, elapsed_total) {
        Ok(r) => r,
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "refresh erred: {e:?} on {before:?} at {p}"
            )))
        }
    };
    let pool = market.pool;
    prop_assert_eq!(pool.units_owed(), before.units_owed());
    let equity = pool.equity(p).expect("equity defined");
    prop_assert!(equity >= 0, "negative equity after refresh: {pool:?}");
    prop_assert!(pool.lt_nav(p).is_ok() || lt_nav_overflows(&pool, p));
    prop_assert!(pool.ft_nav(p).is_ok());
    prop_assert!(pool.leverage_ppm(p).is_ok());
    let u = utilization_ppm(&pool, p).expect("utilization defined");
    prop_assert!(u <= PPM);
    // E + F <= value of the units the vault holds.
    let total = pool.funding_value(p).unwrap() + equity.unsigned_abs();
    prop_assert!(total <= value_of(pool.units_owed().unwrap(), p, Rounding::Down).unwrap());
    if !market.wiped && pool.lt_supply > 0 {
        prop_assert!(
            pool.exposure > 0,
            "open market with LT outstanding and no exposure: {pool:?}"
        );
    }
    let accrued = refreshed.accrued;
    let after_accrual = refreshed.after_accrual;
    if let Some(r) = refreshed.settled {
        prop_assert_eq!(accrued.lt_supply, 0);
        prop_assert!(accrued.exposure > 0 || accrued.debt > 0);
        prop_assert_eq!(
            (after_accrual.exposure, after_accrual.debt, after_accrual.idle),
            (0, 0, accrued.idle + accrued.exposure)
        );
        let assets = value_of(accrued.exposure, p, Rounding::Down).unwrap();
        prop_assert_eq!(r.bad_debt, accrued.debt.saturating_sub(assets));
        prop_assert_eq!(market.total_bad_debt, start.total_bad_debt + r.bad_debt);
        prop_assert_eq!(market.wiped, start.wiped, "a settlement changed the wiped flag");
        prop_assert!(refreshed.rebalance.is_none());
    } else {
        prop_assert_eq!(after_accrual, accrued);
        prop_assert!(accrued.lt_supply > 0 || (accrued.exposure == 0 && accrued.debt == 0));
    }
    if let Some(r) = refreshed.rebalance.filter(|r| r.wiped) {
        prop_assert!(
            after_accrual.equity(p).unwrap() <= 0
                || target_units(&after_accrual, &market.params, p).is_zero(),
            "wiped a solvent pool with a target of at least one unit"
        );
        prop_assert_eq!(pool.exposure, 0);
        prop_assert_eq!(pool.debt, 0);
        prop_assert_eq!(pool.idle, after_accrual.idle + after_accrual.exposure);
        let assets = value_of(after_accrual.exposure, p, Rounding::Down).unwrap();
        prop_assert_eq!(r.bad_debt, after_accrual.debt.saturating_sub(assets));
        prop_assert!(market.wiped);
        if pool.lt_supply > 0 {
            let (after, q) =
                redeem_lt(&pool, &market.params, p, pool.lt_supply, true).expect("burn wiped LT");
            prop_assert_eq!(q.units_out, 0);
            prop_assert_eq!(after.lt_supply, 0);
        }
        let free = pool.ft_supply - market.locked_ft;
        if free > 0 {
            match withdraw_funding(&pool, &market.params, p, free) {
                Ok(_) | Err(LeverError::ZeroPayout) => {}
                Err(e) => return Err(TestCaseError::fail(format!("withdrawal after wipe-out: {e:?}"))),
            }
        }
    } else if after_accrual.exposure > 0 || after_accrual.debt > 0 {
        prop_assert!(after_accrual.equity(p).unwrap() > 0);
    }
    Ok(())
}

/// `rebalance`'s target, `floor(floor(E * L) * PRICE_SCALE / P)` raw units, exactly and not
/// saturated (0 when E <= 0).
fn target_units(pool: &PoolState, params: &RiskParams, p: u128) -> U512 {
    let equity = equity_x(pool, p).unwrap_or_default() / ps();
    equity * x(params.target_leverage_ppm) / x(PPM) * ps() / x(p)
}

/// `lt_nav` is E * 1e9 / S: it may only fail when that quotient itself exceeds u128.
fn lt_nav_overflows(pool: &PoolState, p: u128) -> bool {
    let equity = pool.equity(p).unwrap_or(0).max(0).unsigned_abs();
    x(equity) * x(1_000_000_000u64) / x(pool.lt_supply.max(1)) > x(u128::MAX)
}

// ---------------------------------------------------------------------------------------------
// 4. Rebalance lands on target

proptest! {
    #![proptest_config(config())]

    /// Rebalance an out-of-band reachable market at its mid P (E its equity before, E' after, L the
    /// target, all program values in value units). Units only move between N and I; E' <= E; and:
    /// - unbounded: N' = floor(floor(L*E)/P) and D' = ceil(N'*P) - E (so E' = E or E - 1), hence
    ///   lev' * E' <= L * E (never above target unless the debt's round-up took a value unit) and
    ///   (lev' + 1) * E' + 1e6 * (2 + P/1e18) > L * E: below target by at most
    ///   1e6 * (P/1e18 + 2) / E PPM, i.e. 1 PPM once E is worth 1e6 raw units plus 2e6 value units;
    /// - bounded (lever-up cut short, or a target above u64::MAX units cut to it): every idle unit
    ///   moved in and lev' >= lev, lev' * E' <= L * E;
    /// - wiped: only when E <= 0, or when the target rounds to 0 units (FINDING 1, fixed).
    /// Within band it refuses with WithinBand and an empty pool with NothingToRebalance; on a vault
    /// worth at most ~$1.7e17 it never errs otherwise (FINDING 5, fixed: a lever-up target above
    /// u64::MAX units erred).
    #[test]
    fn rebalance_lands_on_target(
        s in scenario(),
        move_ppm in prop_oneof![-600_000i64..=2_000_000, -60_000i64..=60_000],
    ) {
        let played = play(&s);
        let mut market = played.market;
        let p = moved(played.mid, move_ppm);
        let Ok((pool, _)) = accrue_funding(&market.pool, &market.params.curve, p, played.pending) else {
            return Ok(())
        };
        market.pool = pool;
        let params = market.params;
        let Ok(status) = band_status(&pool, &params, p) else { return Ok(()) };
        let result = rebalance(&pool, &params, p);
        let (next, r) = match (status, result) {
            (BandStatus::Within { .. }, res) => {
                prop_assert_eq!(res, Err(LeverError::WithinBand));
                return Ok(());
            }
            (BandStatus::Empty, res) => {
                prop_assert_eq!(res, Err(LeverError::NothingToRebalance));
                return Ok(());
            }
            // Only values past u128 (never FINDING 5's target above u64::MAX units).
            (_, Err(e)) => {
                prop_assert_eq!(e, LeverError::MathOverflow);
                let value = value_of(pool.units_owed().unwrap(), p, Rounding::Down);
                prop_assert!(
                    !matches!(value, Ok(v) if v <= i128::MAX as u128 / 1_000),
                    "rebalance erred on {pool:?} at {p}"
                );
                return Ok(());
            }
            (_, Ok(out)) => out,
        };
        prop_assert_eq!(next.units_owed(), pool.units_owed());
        prop_assert_eq!(
            (next.lt_supply, next.ft_supply, next.fee_units),
            (pool.lt_supply, pool.ft_supply, pool.fee_units)
        );
        prop_assert_eq!(
            i128::from(next.exposure) - i128::from(pool.exposure),
            i128::from(r.units_to_pool) - i128::from(r.units_to_idle)
        );
        let equity = pool.equity(p).unwrap();
        if r.wiped {
            prop_assert_eq!((next.exposure, next.debt), (0, 0));
            prop_assert_eq!(r.bad_debt, pool.debt.saturating_sub(value_of(pool.exposure, p, Rounding::Down).unwrap()));
            if equity > 0 {
                // The dust case: E is worth less than a raw unit at target.
                prop_assert!(target_units(&pool, &params, p).is_zero());
                prop_assert_eq!(r.bad_debt, 0);
            } else {
                prop_assert_eq!(status, BandStatus::Insolvent);
            }
            return Ok(());
        }
        prop_assert!(!target_units(&pool, &params, p).is_zero());
        prop_assert!(equity > 0);
        let e = x(equity.unsigned_abs());
        let e_after = next.equity(p).unwrap();
        prop_assert!(e_after <= equity, "rebalance raised LT equity");
        let e1 = x(e_after.max(0).unsigned_abs());
        let lev = x(r.leverage_after_ppm);
        let target = x(params.target_leverage_ppm);
        prop_assert_eq!(r.leverage_after_ppm, next.leverage_ppm(p).unwrap().unwrap_or(0));
        prop_assert!(
            lev * e1 <= target * e,
            "leverage {} above target {} * E/E'",
            r.leverage_after_ppm,
            params.target_leverage_ppm
        );
        prop_assert_eq!(
            r.bounded,
            target_units(&pool, &params, p) > x(pool.exposure) + x(pool.idle),
            "bounded iff the target is beyond N + I"
        );
        if r.bounded {
            prop_assert_eq!(next.idle, 0);
            prop_assert_eq!(r.units_to_pool, pool.idle);
            // (E' = 0 only when E was a single value unit: leverage undefined, reported as 0.)
            prop_assert!(e1.is_zero() || r.leverage_after_ppm >= r.leverage_before_ppm);
        } else {
            let target_ppm = u128::from(params.target_leverage_ppm);
            let target_value =
                mul_div(equity.unsigned_abs(), target_ppm, u128::from(PPM), Rounding::Down).unwrap();
            prop_assert_eq!(next.exposure, units_for_value(target_value, p, Rounding::Down).unwrap());
            let exposure_value = value_of(next.exposure, p, Rounding::Up).unwrap();
            prop_assert_eq!(next.debt, exposure_value.saturating_sub(equity.unsigned_abs()));
            // (E' = 0 only when E was one value unit: the leverage is undefined and reported as 0.)
            prop_assert!(
                e1.is_zero() || (lev + 1) * e1 * ps() + x(PPM) * (ps() * 2 + x(p)) > target * e * ps(),
                "leverage {} too far below target {} for E = {}",
                r.leverage_after_ppm,
                params.target_leverage_ppm,
                equity
            );
            if r.units_to_pool > 0 {
                prop_assert!(e1.is_zero() || r.leverage_after_ppm >= r.leverage_before_ppm);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Conservation

proptest! {
    #![proptest_config(config())]

    /// After every step of a reachable scenario, `units_owed() == N + I + fee units` and it moved by
    /// exactly the units the step transferred: +units_in for a mint or deposit, -units_out for a
    /// redeem or withdrawal, 0 for a refresh, a settlement, a keeper rebalance, a burn or a re-open.
    /// Fee units grow by exactly the quoted fee; each quote's fields match the change of the books;
    /// the refresh only adds the interest to the debt and moves units between N and I; a failed
    /// step changes nothing; a burn outside the program changes only the LT mint's supply, which
    /// never exceeds the recorded one and equals it after every mint and redeem.
    #[test]
    fn conservation_every_operation(s in scenario_with(true, 40)) {
        for t in play(&s).transitions {
            let (b, a) = (t.before.pool, t.after.pool);
            let owed_b = u128::from(b.units_owed().expect("books fit"));
            let owed_a = u128::from(a.units_owed().expect("books fit"));
            prop_assert_eq!(owed_a, u128::from(a.exposure) + u128::from(a.idle) + u128::from(a.fee_units));
            prop_assert!(t.after.lt_mint_supply <= a.lt_supply);
            let Ok((refreshed, done)) = t.result else {
                prop_assert_eq!(a, b, "a failed step changed the books");
                prop_assert_eq!(t.after.wiped, t.before.wiped);
                prop_assert_eq!(t.after.lt_mint_supply, t.before.lt_mint_supply);
                continue;
            };
            // The accrual adds the interest to the debt and nothing else (a mint or redeem has synced
            // the LT supply first).
            let r = refreshed.accrued;
            prop_assert_eq!(
                (r.exposure, r.idle, r.fee_units, r.ft_supply),
                (b.exposure, b.idle, b.fee_units, b.ft_supply)
            );
            prop_assert_eq!(r.debt, b.debt + refreshed.accrual.interest);
            // A settlement closes the position into idle; a rebalance moves units between N and I.
            let s = refreshed.after_accrual;
            match refreshed.settled {
                Some(w) => {
                    prop_assert_eq!(r.lt_supply, 0);
                    prop_assert_eq!((s.exposure, s.debt, s.idle), (0, 0, r.idle + r.exposure));
                    prop_assert_eq!(w.units_to_idle, r.exposure);
                    let assets = value_of(r.exposure, t.band.unwrap().mid, Rounding::Down).unwrap();
                    prop_assert_eq!(w.bad_debt, r.debt.saturating_sub(assets));
                }
                None => prop_assert_eq!(s, r),
            }
            // `m` is the pool the operation itself started from.
            let m = refreshed.after;
            prop_assert_eq!(m.units_owed().unwrap(), b.units_owed().unwrap());
            prop_assert_eq!((m.lt_supply, m.ft_supply, m.fee_units), (s.lt_supply, s.ft_supply, s.fee_units));
            match refreshed.rebalance {
                Some(rb) => prop_assert_eq!(
                    i128::from(m.exposure) - i128::from(s.exposure),
                    i128::from(rb.units_to_pool) - i128::from(rb.units_to_idle)
                ),
                None => prop_assert_eq!(m, s),
            }
            match done {
                Done::Minted(q) => {
                    prop_assert_eq!(owed_a, owed_b + u128::from(q.units_in));
                    prop_assert_eq!(a.fee_units, m.fee_units + q.fee_units);
                    prop_assert_eq!(a.exposure, m.exposure + (q.units_in - q.fee_units) + q.from_idle);
                    prop_assert_eq!(a.idle, m.idle - q.from_idle);
                    prop_assert_eq!(a.debt, m.debt + q.debt_added);
                    prop_assert_eq!(a.lt_supply, m.lt_supply + q.shares_out);
                    prop_assert_eq!(m.lt_supply, t.before.lt_mint_supply, "synced before the mint");
                    prop_assert_eq!(t.after.lt_mint_supply, a.lt_supply);
                    prop_assert!(a.exposure <= t.before.params.exposure_cap);
                }
                Done::Redeemed(q) => {
                    prop_assert_eq!(owed_a + u128::from(q.units_out), owed_b);
                    prop_assert_eq!(a.fee_units, m.fee_units + q.fee_units);
                    prop_assert_eq!(a.exposure, m.exposure - q.exposure_removed);
                    prop_assert_eq!(a.idle, m.idle + q.to_idle);
                    prop_assert_eq!(a.debt, m.debt - q.debt_removed);
                    prop_assert_eq!(a.lt_supply, m.lt_supply - q.shares_in);
                    prop_assert_eq!(m.lt_supply, t.before.lt_mint_supply, "synced before the redeem");
                    prop_assert_eq!(t.after.lt_mint_supply, a.lt_supply);
                }
                Done::Deposited(q) => {
                    prop_assert_eq!(owed_a, owed_b + u128::from(q.units_in));
                    prop_assert_eq!(a.fee_units, m.fee_units + q.fee_units);
                    prop_assert_eq!(a.idle, m.idle + q.units_in - q.fee_units);
                    prop_assert_eq!(a.ft_supply, m.ft_supply + q.shares_out);
                }
                Done::Withdrawn(q) => {
                    prop_assert_eq!(owed_a + u128::from(q.units_out), owed_b);
                    prop_assert_eq!(a.fee_units, m.fee_units + q.fee_units);
                    prop_assert_eq!(a.idle + q.units_out + q.fee_units, m.idle);
                    prop_assert_eq!(a.ft_supply, m.ft_supply - q.shares_in);
                    prop_assert!(a.ft_supply >= t.after.locked_ft);
                }
                Done::Burned(shares) => {
                    prop_assert_eq!(a, b);
                    prop_assert_eq!(t.after.lt_mint_supply, t.before.lt_mint_supply - shares);
                }
                Done::Rebalanced(_) | Done::Reopened => {
                    prop_assert_eq!(owed_a, owed_b);
                    prop_assert_eq!(a.fee_units, b.fee_units);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Other properties the code suggests

proptest! {
    #![proptest_config(config())]

    /// `band_status` agrees with `equity` and `leverage_ppm` at any price: Empty iff N = D = 0,
    /// Insolvent iff E <= 0 otherwise, and Within iff |lev - L| <= floor(L * band); the leverage is
    /// floor(floor(N*P) * 1e6 / E).
    #[test]
    fn band_status_matches_leverage(s in scenario(), p in price()) {
        let played = play(&s);
        let (pool, params) = (played.market.pool, played.market.params);
        for p in [p, played.mid] {
            let Ok(status) = band_status(&pool, &params, p) else { continue };
            if pool.exposure == 0 && pool.debt == 0 {
                prop_assert_eq!(status, BandStatus::Empty);
                continue;
            }
            let equity = pool.equity(p).expect("band_status computed it");
            let leverage = pool.leverage_ppm(p).expect("band_status computed it");
            if equity <= 0 {
                prop_assert_eq!(status, BandStatus::Insolvent);
                prop_assert_eq!(leverage, None);
                continue;
            }
            let lev = leverage.expect("positive equity");
            let value = value_of(pool.exposure, p, Rounding::Down).unwrap();
            prop_assert!(x(lev) * x(equity.unsigned_abs()) <= x(value) * x(PPM));
            prop_assert!(x(lev + 1) * x(equity.unsigned_abs()) > x(value) * x(PPM));
            let target = u128::from(params.target_leverage_ppm);
            let tolerance = target * u128::from(params.band_ppm) / u128::from(PPM);
            if lev.abs_diff(target) <= tolerance {
                prop_assert_eq!(status, BandStatus::Within { leverage_ppm: lev });
            } else {
                prop_assert_eq!(status, BandStatus::Out { leverage_ppm: lev });
            }
        }
    }

    /// Funding accrual on a reachable market: no unit and no share moves; the debt grows by
    /// interest = ceil(D * rate * t / (1e6 * year)) at rate = curve(utilization); that interest is
    /// taken from LT equity and added to the funding pool's value, to the value unit, as far as
    /// the exposure covers the debt (F counts D at most at N*P, FINDING 6).
    #[test]
    fn funding_accrual_moves_value_from_lt_to_ft(
        s in scenario(),
        elapsed in prop_oneof![0u64..=86_400, 0u64..=SECONDS_PER_YEAR],
    ) {
        let played = play(&s);
        let (pool, curve, p) = (played.market.pool, played.market.params.curve, played.mid);
        let Ok((next, a)) = accrue_funding(&pool, &curve, p, elapsed) else { return Ok(()) };
        prop_assert_eq!(next.debt, pool.debt + a.interest);
        prop_assert_eq!(PoolState { debt: pool.debt, ..next }, pool);
        if pool.debt == 0 || elapsed == 0 {
            prop_assert_eq!(a.interest, 0);
            return Ok(());
        }
        prop_assert_eq!(a.utilization_ppm, utilization_ppm(&pool, p).unwrap());
        prop_assert_eq!(a.rate_ppm, curve.rate_ppm(a.utilization_ppm).unwrap());
        let exact = x(pool.debt) * x(a.rate_ppm) * x(elapsed);
        let year = x(PPM) * x(SECONDS_PER_YEAR);
        prop_assert!(x(a.interest) * year >= exact);
        prop_assert!(a.interest == 0 || x(a.interest - 1) * year < exact);
        if let (Ok(e0), Ok(e1)) = (pool.equity(p), next.equity(p)) {
            prop_assert_eq!(e0 - e1, a.interest as i128);
        }
        if let (Ok(f0), Ok(f1)) = (pool.funding_value(p), next.funding_value(p)) {
            let assets = value_of(pool.exposure, p, Rounding::Down).unwrap();
            prop_assert_eq!(f1 - f0, next.debt.min(assets) - pool.debt.min(assets));
            if next.debt <= assets {
                prop_assert_eq!(f1 - f0, a.interest);
            }
        }
    }

    /// Utilization is in [0, 1e6] and is D/F rounded up, exactly (1e6 when D > F: an insolvent
    /// pool's debt is counted in F only up to N*P); the curve's rate is
    /// non-decreasing in utilization, equals the base at 0 and base + slope1 at the kink, and is
    /// capped at base + slope1 + slope2.
    #[test]
    fn utilization_and_rate_curve(s in scenario(), p in price(), u1 in 0u64..=2 * PPM, u2 in 0u64..=2 * PPM) {
        let played = play(&s);
        let (pool, curve) = (played.market.pool, played.market.params.curve);
        for p in [p, played.mid] {
            let Ok(u) = utilization_ppm(&pool, p) else { continue };
            prop_assert!(u <= PPM);
            let f = pool.funding_value(p).unwrap();
            if f == 0 {
                prop_assert_eq!(u, 0);
            } else if pool.debt >= f {
                prop_assert_eq!(u, PPM);
            } else {
                prop_assert!(x(u) * x(f) >= x(pool.debt) * x(PPM));
                prop_assert!(u == 0 || x(u - 1) * x(f) < x(pool.debt) * x(PPM));
            }
        }
        let (lo, hi) = (u1.min(u2), u1.max(u2));
        let (r_lo, r_hi) = (curve.rate_ppm(lo).unwrap(), curve.rate_ppm(hi).unwrap());
        prop_assert!(r_lo <= r_hi);
        prop_assert!(r_hi <= curve.base_rate_ppm + curve.slope1_ppm + curve.slope2_ppm);
        prop_assert_eq!(curve.rate_ppm(0).unwrap(), curve.base_rate_ppm);
        prop_assert_eq!(curve.rate_ppm(curve.kink_ppm).unwrap(), curve.base_rate_ppm + curve.slope1_ppm);
        let top = curve.base_rate_ppm + curve.slope1_ppm + curve.slope2_ppm;
        prop_assert_eq!(curve.rate_ppm(PPM).unwrap(), top);
    }

    /// `scale_mantissa` is exact when the shift is >= 0 and rounds as named (within 1) below; it
    /// errs (never wraps) past u128 or at 0. `price_band` orders lower <= mid <= upper, refuses a
    /// confidence above the limit, and with zero confidence gives one price.
    #[test]
    fn price_scaling_and_band(
        m in prop_oneof![1u128..=1_000, (0u32..127, any::<u128>()).prop_map(|(s, v)| (v >> s).max(1))],
        expo in -60i32..=40,
        decimals in 0u8..=12,
        price in 1i64..=i64::MAX,
        conf_ppm in 0u64..=200_000,
        max_conf in 1u64..=100_000,
        mult in 1_000_000u64..=10_000_000,
    ) {
        let shift = i64::from(expo) + 36 - i64::from(decimals);
        let down = scale_mantissa(m, expo, decimals, Rounding::Down);
        let up = scale_mantissa(m, expo, decimals, Rounding::Up);
        if shift >= 0 {
            let exact = x(m) * U512::from(10u8).pow(U512::from(shift as u64));
            if exact > x(u128::MAX) {
                prop_assert!(down.is_err() && up.is_err());
            } else {
                prop_assert_eq!(x(down.unwrap()), exact);
                prop_assert_eq!(up, down);
            }
        } else {
            let divisor = U512::from(10u8).pow(U512::from((-shift) as u64));
            let floor = x(m) / divisor;
            let ceil = (x(m) + divisor - 1) / divisor;
            match down {
                Ok(q) => prop_assert_eq!(x(q), floor),
                Err(e) => {
                    prop_assert_eq!(e, LeverError::PriceOutOfRange);
                    prop_assert!(floor.is_zero());
                }
            }
            prop_assert_eq!(x(up.expect("a positive mantissa rounds up to >= 1")), ceil);
        }
        let conf = (u128::from(price.unsigned_abs()) * u128::from(conf_ppm) / u128::from(PPM)) as u64;
        let band = price_band(price, conf, -8, 9, max_conf, mult);
        if u128::from(conf) * u128::from(PPM) > u128::from(price.unsigned_abs()) * u128::from(max_conf) {
            prop_assert_eq!(band, Err(LeverError::PriceConfidenceTooWide));
        } else if let Ok(b) = band {
            prop_assert!(b.lower <= b.mid && b.mid <= b.upper);
            prop_assert!(b.lower > 0);
            if conf == 0 {
                prop_assert!(b.lower == b.mid && b.mid == b.upper);
            }
        }
    }

    /// `mul_div` equals floor/ceil of the exact a*b/c, and errs exactly when c = 0 or the result
    /// exceeds u128; `value_of`/`units_for_value` round trips never create units or value.
    #[test]
    fn mul_div_and_conversions_are_exact(
        a in (0u32..128, any::<u128>()).prop_map(|(s, v)| v >> s),
        b in (0u32..128, any::<u128>()).prop_map(|(s, v)| v >> s),
        c in (0u32..128, any::<u128>()).prop_map(|(s, v)| v >> s),
        units in amount(),
        p in price(),
    ) {
        for rounding in [Rounding::Down, Rounding::Up] {
            let got = mul_div(a, b, c, rounding);
            if c == 0 {
                prop_assert_eq!(got, Err(LeverError::DivisionByZero));
                continue;
            }
            let (q, r) = (x(a) * x(b) / x(c), x(a) * x(b) % x(c));
            let exact = if rounding == Rounding::Up && !r.is_zero() { q + 1 } else { q };
            if exact > x(u128::MAX) {
                prop_assert_eq!(got, Err(LeverError::MathOverflow));
            } else {
                prop_assert_eq!(x(got.unwrap()), exact);
            }
        }
        if let Ok(v) = value_of(units, p, Rounding::Down) {
            if let Ok(back) = units_for_value(v, p, Rounding::Down) {
                prop_assert!(back <= units);
            }
            let v_up = value_of(units, p, Rounding::Up).unwrap();
            prop_assert!(v_up >= v && v_up - v <= 1);
            if let Ok(back_up) = units_for_value(v_up, p, Rounding::Up) {
                prop_assert!(back_up >= units);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Liveness: an open market always takes an LT mint; a wiped one re-opens

proptest! {
    #![proptest_config(config())]

    /// On every step of a reachable scenario without outside burns, an LT mint refused with
    /// `MarketWiped` comes from a market that is flagged wiped (so redeeming and re-opening work),
    /// and none is refused with `InvalidPoolState`. (FINDING 1, fixed, broke this.)
    #[test]
    fn open_market_never_refuses_lt_mints_as_wiped(s in scenario_with(false, 24)) {
        assert_mints_not_locked_out(&s)?;
    }

    /// The same with holders burning their own LT outside the program (a path the README supports).
    /// (FINDING 2, fixed, broke this.)
    #[test]
    fn open_market_never_refuses_lt_mints_after_outside_burns(s in scenario_with(true, 24)) {
        assert_mints_not_locked_out(&s)?;
    }

    /// After every step of a reachable scenario without outside burns that leaves the market wiped,
    /// the holders redeeming every LT they hold (for 0) lets the admin re-open it.
    #[test]
    fn wiped_market_reopens_once_its_lt_is_redeemed(s in scenario_with(false, 24)) {
        assert_wiped_market_reopens(&s)?;
    }

    /// The same with holders burning their own LT outside the program (FINDING 7, fixed).
    #[test]
    fn wiped_market_reopens_once_its_lt_is_redeemed_after_outside_burns(s in scenario_with(true, 24)) {
        assert_wiped_market_reopens(&s)?;
    }
}

fn assert_mints_not_locked_out(s: &Scenario) -> Result<(), TestCaseError> {
    for t in play(s).transitions {
        let Op::Mint(_) = t.op else { continue };
        match t.result {
            Err(LeverError::InvalidPoolState) => {
                return Err(TestCaseError::fail(format!(
                    "LT mint refused with InvalidPoolState on {:?}",
                    t.before
                )))
            }
            Err(LeverError::MarketWiped) => {
                // The refresh inside the failed mint may have wiped the pool: replay it.
                let mut m = t.before;
                m.sync_lt();
                if let (false, Some(band)) = (m.wiped, t.band) {
                    let _ = m.refresh(band.mid, t.elapsed);
                }
                prop_assert!(m.wiped, "LT mint refused as wiped on an open market: {:?}", m);
            }
            _ => {}
        }
    }
    Ok(())
}

fn assert_wiped_market_reopens(s: &Scenario) -> Result<(), TestCaseError> {
    for t in play(s).transitions {
        let (mut m, Some(band)) = (t.after, t.band) else {
            continue;
        };
        if !m.wiped {
            continue;
        }
        if m.lt_mint_supply > 0 {
            // Together the holders hold the mint's whole supply.
            match m.apply(Op::Redeem(1_000_000, false), Some(band), 0) {
                Ok((_, Done::Redeemed(q))) => prop_assert_eq!(q.units_out, 0),
                other => {
                    return Err(TestCaseError::fail(format!(
                        "redeeming wiped LT: {other:?} on {:?}",
                        t.after
                    )))
                }
            }
        }
        let reopened = m.apply(Op::Reopen, None, 0).map(|_| ());
        prop_assert_eq!(
            reopened,
            Ok(()),
            "re-opening {:?} once every LT held is redeemed",
            m
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FINDINGS: each reproduced by a minimal deterministic case. All seven are fixed and their tests
// pin the fixed behaviour. SOL-like market: 9 decimals, $150 = 1.5e29.

fn sol_usd(cents: u128) -> u128 {
    cents * 10u128.pow(25)
}

fn two_x() -> RiskParams {
    RiskParams {
        target_leverage_ppm: 2 * PPM,
        band_ppm: 50_000,
        exposure_cap: u64::MAX,
        max_utilization_ppm: PPM,
        ..RiskParams::default()
    }
}

/// FINDING 1, fixed. A rebalance whose target exposure rounds to zero units (equity worth less
/// than 1/L of a raw unit) moved every unit to idle and zeroed the debt but did not wipe: the
/// market was left open with N = D = 0 and LT outstanding. Every LT mint then failed with
/// `MarketWiped` (equity 0) although the market was not flagged wiped, redeeming failed with
/// `ZeroPayout`, and `reopen_market` failed with `MarketNotWiped`: LT mints stayed locked until
/// every dust holder burned their LT outside the program. Fix (math/pool.rs `rebalance`): when the
/// target exposure rounds to 0, take the wipe path (its bad debt is 0 since E > 0), so the market
/// is flagged wiped, the dust LT can be redeemed for 0 and the admin can re-open. (The variant at
/// dust prices, a rebalanced debt `ceil(N'*P) - E` leaving E' = 0 with N' > 0, no longer refuses
/// mints: `mint_lt` divides by the equity rounded up, which is E >= 1 there, and the next refresh
/// wipes a pool left at E' = 0.)
#[test]
fn finding_1_dust_rebalance_leaves_an_open_market_without_exposure() {
    let mut m = Market::create(two_x(), 1_000);
    let at = |cents| band_at(sol_usd(cents), 0);
    m.apply(Op::Mint(Size::Units(1)), at(15_000), 0).unwrap();
    // -40%: E = 2 * 90 - 150 = $30 per 1e9 units, 1/3 of a raw unit; L*E/P = 0.67 -> 0 units.
    let (_, done) = m.apply(Op::Keeper, at(9_000), 0).unwrap();
    let Done::Rebalanced(r) = done else { unreachable!() };
    assert!(r.wiped && r.units_to_idle == 2 && r.bad_debt == 0, "{r:?}");
    assert!(m.wiped);
    assert_eq!(
        (m.pool.exposure, m.pool.debt, m.pool.idle, m.pool.lt_supply),
        (0, 0, 1_001, 1)
    );
    // Mints are refused as on any wiped market; the dust LT is redeemed for 0; the admin re-opens;
    // mints work again.
    let mint = m.apply(Op::Mint(Size::Units(1_000)), at(9_000), 0);
    assert_eq!(mint.err(), Some(LeverError::MarketWiped));
    let (_, done) = m.apply(Op::Redeem(1_000_000, false), at(9_000), 0).unwrap();
    assert!(matches!(done, Done::Redeemed(q) if q.shares_in == 1 && q.units_out == 0));
    m.apply(Op::Reopen, None, 0).unwrap();
    let (_, done) = m.apply(Op::Mint(Size::Units(1_000)), at(9_000), 0).unwrap();
    assert!(matches!(done, Done::Minted(q) if q.shares_out == 1_000));
    assert_eq!((m.pool.exposure, m.pool.idle), (2_000, 1));
}

/// FINDING 2, fixed. The README lets a holder burn LT outside the program (`sync_supply` then
/// lowers the recorded supply). If the LT burned was the whole supply (e.g. the only holder of a
/// new market burns one raw unit), the books kept N > 0 and D > 0 with no LT: `mint_lt` took its
/// first-mint branch and refused with `InvalidPoolState`, for every user, until a price gap wiped
/// the pool (a rebalance kept the orphaned N and D). The cost to the griefer was one raw unit.
/// Fix (state/market.rs `Market::refresh`): when the LT supply is 0 and N or D is not, the
/// position is closed into idle before anything else (`wipe`: idle += N, N = D = 0, any shortfall
/// D - N*P recorded as bad debt), without flagging the market wiped: nobody holds LT, and the
/// funding pool that lent the position gets it. The next mint opens a fresh pool.
#[test]
fn finding_2_burning_all_lt_outside_the_program_locks_lt_mints() {
    let at = |cents| band_at(sol_usd(cents), 0);
    // Same price: the position is worth more than its debt, nothing is lost.
    let mut m = Market::create(two_x(), 1_000);
    m.apply(Op::Mint(Size::Units(1)), at(15_000), 0).unwrap();
    m.apply(Op::BurnLt(1_000_000), None, 0).unwrap();
    // The books keep the supply until a mint or redeem syncs it.
    assert_eq!(
        (m.pool.exposure, m.pool.idle, m.pool.lt_supply, m.lt_mint_supply),
        (2, 999, 1, 0)
    );
    let (refreshed, done) = m.apply(Op::Mint(Size::Units(1_000)), at(15_000), 0).unwrap();
    let settled = refreshed.settled.expect("the orphaned position is settled");
    assert!(settled.units_to_idle == 2 && settled.bad_debt == 0, "{settled:?}");
    assert_eq!(
        (
            refreshed.after_accrual.exposure,
            refreshed.after_accrual.debt,
            refreshed.after_accrual.idle
        ),
        (0, 0, 1_001)
    );
    assert!(matches!(done, Done::Minted(q) if q.shares_out == 1_000 && q.from_idle == 1_000));
    assert!(!m.wiped);
    assert_eq!(
        (m.pool.exposure, m.pool.idle, m.pool.lt_supply),
        (2_000, 1, 1_000)
    );
    // After a -60% gap the orphaned position is insolvent: the shortfall is bad debt, and the
    // market still opens a fresh pool (nobody holds wiped LT).
    let mut m = Market::create(two_x(), 1_000);
    m.apply(Op::Mint(Size::Units(1)), at(15_000), 0).unwrap();
    m.apply(Op::BurnLt(1_000_000), None, 0).unwrap();
    let debt = m.pool.debt;
    let (refreshed, done) = m.apply(Op::Mint(Size::Units(1_000)), at(6_000), 0).unwrap();
    let settled = refreshed.settled.expect("the orphaned position is settled");
    // D = $150 per 1e9 units (1.5e11 value units); the 2 units are worth 1.2e11 at $60.
    assert_eq!(debt, 150_000_000_000);
    assert_eq!(settled.bad_debt, 30_000_000_000);
    assert_eq!(m.total_bad_debt, settled.bad_debt);
    assert!(refreshed.rebalance.is_none() && !m.wiped);
    assert!(matches!(done, Done::Minted(q) if q.shares_out == 1_000));
}

/// FINDING 3, fixed. `mint_lt` added `debt_added = ceil(D * dE / E)` to the debt but lent only
/// `from_idle = floor(debt_added / P)` units, while the minter's shares were priced off `net * P`
/// alone. The rounded-off part of a unit (up to one raw unit's value per mint) was taken from the
/// existing LT holders' equity and given to the funding pool. Here a holder of 1 LT lost 1% of
/// their NAV when someone minted 19 units at a fixed price (19 LT for 19 units). Fix (math/pool.rs
/// `mint_lt`): shares price the equity the mint actually adds, `dE' = (net + from_idle) * P (down)
/// - debt_added`, so the minter bears the rounding (18 LT here).
#[test]
fn finding_3_a_mint_dilutes_existing_lt_holders() {
    let mut m = Market::create(two_x(), 1_000_000);
    m.apply(Op::Mint(Size::Units(1)), band_at(sol_usd(15_000), 0), 0)
        .unwrap();
    let p = sol_usd(14_850);
    let before = m.pool;
    let (refreshed, done) = m.apply(Op::Mint(Size::Units(19)), band_at(p, 0), 0).unwrap();
    assert!(refreshed.rebalance.is_none(), "in band at 2.02x");
    let Done::Minted(q) = done else { unreachable!() };
    assert_eq!((q.shares_out, q.from_idle), (18, 19));
    let (e0, e1) = (equity_x(&before, p).unwrap(), equity_x(&m.pool, p).unwrap());
    assert!(
        ratio_ge(e1, x(m.pool.lt_supply), e0, x(before.lt_supply)),
        "LT NAV fell from {} to {} value units per raw LT",
        e0 / ps() / x(before.lt_supply),
        e1 / ps() / x(m.pool.lt_supply)
    );
}

/// FINDING 4, fixed. The share price of a mint or a deposit divided by the pool's value rounded
/// DOWN (`floor(N*P) - D`, `D + floor(I*P)`), so the newcomer got shares as if the pool were worth
/// up to one value unit (1e-18 USD) less: visible when a raw share is worth less than about one
/// value unit. Here, at 0.15 value units per raw unit, a deposit of 1,000 units into a funding pool
/// of 1,001 got 1,001 FT for 1,000 units' worth (exactly 1,000.0; now 994), and a mint of 1,000
/// units into an LT pool of 1,001 LT got 1,007 LT (exactly at most 1,005.7; now 994). Fix (math/pool.rs `mint_lt`,
/// `deposit_funding`): the denominators round up (`equity_rounded`, `funding_value_rounded`).
#[test]
fn finding_4_share_prices_divide_by_the_pool_value_rounded_down() {
    let p = 150_000_000_000_000_000; // 0.15 value units per raw unit.
    let at = band_at(p, 0);
    let mut m = Market::create(two_x(), 1_001);
    let before = m.pool;
    let (_, done) = m.apply(Op::Deposit(Size::Units(1_000)), at, 0).unwrap();
    let Done::Deposited(q) = done else { unreachable!() };
    assert_eq!(q.shares_out, 994);
    // FT <= FS * (net * P) / F, exactly.
    assert!(x(q.shares_out) * funding_x(&before, p) <= x(before.ft_supply) * x(1_000u64) * x(p));
    // A first mint of 1,001 units: N = 2,002, D = ceil(150.15) = 151, E = 149.3 (program: 149 down,
    // 150 up); then 1,000 units more.
    let mut m = Market::create(two_x(), 1_000_000);
    m.apply(Op::Mint(Size::Units(1_001)), at, 0).unwrap();
    let before = m.pool;
    let (_, done) = m.apply(Op::Mint(Size::Units(1_000)), at, 0).unwrap();
    let Done::Minted(q) = done else { unreachable!() };
    // debt_added = ceil(151 * 150 / 150), from_idle = floor(151 / 0.15), dE' = floor(300.9) - 151.
    assert_eq!((q.debt_added, q.from_idle), (151, 1_006));
    assert_eq!(q.shares_out, 994);
    let added = (x(1_000u64) + x(q.from_idle)) * x(p) - x(q.debt_added) * ps();
    assert!(x(q.shares_out) * equity_x(&before, p).unwrap() <= x(before.lt_supply) * added);
}

/// FINDING 5, fixed. `rebalance` converted the lever-up target `L*E/P` to u64 units before bounding
/// the move by the idle units, so when that target exceeded u64::MAX raw units it failed with
/// `MathOverflow`, although the move it would make (at most `I` units) fits. Every instruction
/// refreshes first, so the whole market (mint, redeem, deposit, withdraw, rebalance) was frozen
/// until the price came back. It needs an exposure above u64::MAX / L raw units (e.g. 1.8e18 at
/// 10x): only tokens whose supply is near the u64 limit in raw units. Fix (math/pool.rs
/// `rebalance`): the target saturates at u64::MAX (and the result says `bounded`); the move up is
/// then bounded by `I`.
#[test]
fn finding_5_lever_up_target_above_u64_freezes_the_market() {
    let params = RiskParams {
        target_leverage_ppm: 10 * PPM,
        ..two_x()
    };
    let mut m = Market::create(params, 17_000_000_000_000_000_000);
    // 1e18 units at 10x: N = 1e19, 9e18 lent, idle 8e18.
    m.apply(
        Op::Mint(Size::Units(1_000_000_000_000_000_000)),
        band_at(sol_usd(15_000), 0),
        0,
    )
    .unwrap();
    // +50%: 2.5x, out of band; the target 10 * E / P is 4e19 units, the move is bounded by 8e18.
    let p = sol_usd(22_500);
    assert!(target_units(&m.pool, &m.params, p) > x(u64::MAX));
    let before = m.pool;
    let (_, done) = m.apply(Op::Keeper, band_at(p, 0), 0).unwrap();
    let Done::Rebalanced(r) = done else { unreachable!() };
    assert!(r.bounded && !r.wiped, "{r:?}");
    assert_eq!(r.units_to_pool, 8_000_000_000_000_000_000);
    assert_eq!((m.pool.exposure, m.pool.idle), (18_000_000_000_000_000_000, 0));
    assert_eq!(m.pool.equity(p), before.equity(p));
    assert!(r.leverage_after_ppm > r.leverage_before_ppm && r.leverage_after_ppm < 10 * u128::from(PPM));
    // Every other instruction goes through at that price too.
    m.apply(Op::Redeem(500_000, false), band_at(p, 0), 0).unwrap();
}

/// FINDING 6, fixed (with the stale-exit rule of `oracle::read_price` / `begin_priced`). A stale
/// exit does not rebalance, so after a gap that no fresh instruction has processed (a keeper that
/// missed the update before an oracle outage, or anyone holding a signed update until it is stale)
/// the pool can be insolvent and not wiped. `withdraw_funding` valued FT as `D + I*P` with the
/// debt at face value, so the first FT holders out were paid for debt the leveraged pool cannot
/// cover, in idle units, and the FT holders who stayed bore all of the bad debt (here: 2x SOL,
/// -60%, one of two equal FT holders exited with 1,345 of the 1,500 idle units; settled, each half
/// is worth 1,250 units at $60, and the band's 5% haircut did not cover the difference). Fix
/// (math/pool.rs `funding_value`): `F = min(D, N*P) + I*P`, the debt counted at most at the
/// exposure's value, which changes nothing for a solvent pool. The exit now gets 1,250 units.
#[test]
fn finding_6_stale_fund_exit_from_an_insolvent_pool_takes_the_others_units() {
    let mut m = Market::create(two_x(), 1_000);
    let at = |cents| band_at(sol_usd(cents), 0);
    m.apply(Op::Deposit(Size::Units(1_000)), at(15_000), 0).unwrap();
    m.apply(Op::Mint(Size::Units(500)), at(15_000), 0).unwrap();
    let p = sol_usd(6_000);
    let (refreshed, done) = m.apply(Op::Withdraw(1_000_000, true), at(6_000), 0).unwrap();
    assert!(
        refreshed.rebalance.is_none() && !m.wiped,
        "a stale exit does not wipe"
    );
    let before = refreshed.after;
    assert!(before.equity(p).unwrap() < 0, "insolvent");
    let Done::Withdrawn(q) = done else { unreachable!() };
    assert_eq!(q.units_out, 1_250);
    let (_, ft0) = fair_values(&before, p);
    let (_, ft1) = fair_values(&m.pool, p);
    assert!(
        ratio_ge(ft1, x(m.pool.ft_supply), ft0, x(before.ft_supply)),
        "the {} FT left behind are worth {} units at $60 settled; before the exit, {}",
        m.pool.ft_supply,
        ft1 / x(p),
        ft0 * x(m.pool.ft_supply) / x(before.ft_supply) / x(p)
    );
}

/// FINDING 7, fixed. `reopen_market` requires the recorded LT supply to be 0, but only `mint_lt`
/// and `redeem_lt` bring the recorded supply down to the mint's (`sync_supply`). If the last
/// holders of a wiped market's LT burn them with the token program (wallets offer "burn" for
/// worthless tokens) instead of redeeming them for 0, the recorded supply stays above 0 forever:
/// nobody holds LT to redeem, `mint_lt` syncs but then refuses with `MarketWiped` (and reverts the
/// sync), and `reopen_market` refuses with `LtSupplyOutstanding`. The market's LT side is closed
/// for good (deposits and withdrawals keep working). It needs no attacker: one holder of all the
/// (worthless) LT. Proposed fix (instructions/admin/reopen_market.rs): take the LT mint
/// (`has_one = lt_mint`) and run `sync_supply` before the `lt_supply == 0` check. Done: the
/// market re-opens.
#[test]
fn finding_7_wiped_lt_burned_outside_the_program_blocks_reopening() {
    let mut m = Market::create(two_x(), 1_000);
    let at = |cents| band_at(sol_usd(cents), 0);
    m.apply(Op::Mint(Size::Units(500)), at(15_000), 0).unwrap();
    // -60% at 2x: E < 0, the keeper wipes the pool.
    let (_, done) = m.apply(Op::Keeper, at(6_000), 0).unwrap();
    assert!(matches!(done, Done::Rebalanced(r) if r.wiped));
    // The only holder burns the worthless LT with the token program.
    m.apply(Op::BurnLt(1_000_000), None, 0).unwrap();
    assert_eq!((m.pool.lt_supply, m.lt_mint_supply), (500, 0));
    let redeem = m.apply(Op::Redeem(1_000_000, false), at(6_000), 0).map(|_| ());
    let mint = m.apply(Op::Mint(Size::Units(1_000)), at(6_000), 0).map(|_| ());
    assert_eq!(
        (redeem, mint),
        (Err(LeverError::ZeroAmount), Err(LeverError::MarketWiped))
    );
    let reopen = m.apply(Op::Reopen, None, 0).map(|_| ());
    assert_eq!(reopen, Ok(()), "the wiped market re-opens");
}
