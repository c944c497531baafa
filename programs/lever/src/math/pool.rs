//! The two pools and every operation on them, as pure functions from one state to the next.
//!
//! Notation (docs/MECHANISM.md): `N` exposure units, `D` debt (value units), `I` idle units,
//! `E = N*P - D`, leverage `N*P / E`, funding value `F = min(D, N*P) + I*P`.
//! Conservation by construction: every function moves units between `N`, `I` and fee units,
//! or in/out of the vault by exactly the amount it reports.

use super::{
    add_u128, add_u64, fee_up, mul_div, sub_u128, sub_u64, to_i128, units_for_value, utilization_ppm,
    value_of, FundingCurve, MathResult, Rounding, SafeMath,
};
use crate::constants::{PPM, PRICE_SCALE};
use crate::error::LeverError;

/// The books of one market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    /// `N`: underlying units held by the leveraged pool (raw units).
    pub exposure: u64,
    /// `D`: what the leveraged pool owes the funding pool (value units, 1e-18 USD).
    pub debt: u128,
    /// `I`: funding units not lent (raw units).
    pub idle: u64,
    /// Protocol fees held in the vault (raw units).
    pub fee_units: u64,
    /// LT supply (raw share units, the LT mint's decimals equal the underlying's).
    pub lt_supply: u64,
    /// FT supply, including the locked seed shares.
    pub ft_supply: u64,
}

/// The market parameters the math reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskParams {
    pub target_leverage_ppm: u64,
    pub band_ppm: u64,
    pub mint_fee_ppm: u64,
    pub redeem_fee_ppm: u64,
    pub deposit_fee_ppm: u64,
    pub withdraw_fee_ppm: u64,
    /// Maximum `N` after a mint (raw units).
    pub exposure_cap: u64,
    /// Maximum utilization after a mint (PPM).
    pub max_utilization_ppm: u64,
    pub curve: FundingCurve,
}

impl PoolState {
    /// Units the vault must hold for these books: `N + I + fee units`.
    pub fn units_owed(&self) -> MathResult<u64> {
        add_u64(add_u64(self.exposure, self.idle)?, self.fee_units)
    }

    /// `E = N*P - D` (signed, value units); `N*P` rounds down.
    pub fn equity(&self, price: u128) -> MathResult<i128> {
        self.equity_rounded(price, Rounding::Down)
    }

    /// `E` with `N*P` rounded as asked (up where `E` divides a newcomer's share: fewer shares).
    pub fn equity_rounded(&self, price: u128, rounding: Rounding) -> MathResult<i128> {
        let exposure_value = to_i128(value_of(self.exposure, price, rounding)?)?;
        exposure_value.safe_sub(to_i128(self.debt)?)
    }

    /// `F = min(D, N*P) + I*P` (value units); the products round down. The debt counts at most
    /// at what the exposure backing it is worth: only an insolvent pool (seen by a stale settlement,
    /// which does not wipe) has `D > N*P`, and its shortfall is the funding pool's loss, not
    /// something the first FT holders out can be paid for.
    pub fn funding_value(&self, price: u128) -> MathResult<u128> {
        self.funding_value_rounded(price, Rounding::Down)
    }

    /// `F` with the products rounded as asked (up where `F` divides a depositor's share).
    pub fn funding_value_rounded(&self, price: u128, rounding: Rounding) -> MathResult<u128> {
        let backed = self.debt.min(value_of(self.exposure, price, rounding)?);
        add_u128(backed, value_of(self.idle, price, rounding)?)
    }

    /// Leverage `N*P / E` in PPM, or `None` when `E <= 0` (or the pool is empty).
    pub fn leverage_ppm(&self, price: u128) -> MathResult<Option<u128>> {
        let equity = self.equity(price)?;
        if equity <= 0 {
            return Ok(None);
        }
        let exposure_value = value_of(self.exposure, price, Rounding::Down)?;
        Ok(Some(mul_div(
            exposure_value,
            u128::from(PPM),
            equity.unsigned_abs(),
            Rounding::Down,
        )?))
    }

    /// LT NAV: value units per 1e9 raw LT units (0 when wiped or no supply). For display.
    pub fn lt_nav(&self, price: u128) -> MathResult<u128> {
        let equity = self.equity(price)?;
        if equity <= 0 || self.lt_supply == 0 {
            return Ok(0);
        }
        mul_div(
            equity.unsigned_abs(),
            1_000_000_000,
            u128::from(self.lt_supply),
            Rounding::Down,
        )
    }

    /// FT NAV: value units per 1e9 raw FT units. For display.
    pub fn ft_nav(&self, price: u128) -> MathResult<u128> {
        if self.ft_supply == 0 {
            return Ok(0);
        }
        mul_div(
            self.funding_value(price)?,
            1_000_000_000,
            u128::from(self.ft_supply),
            Rounding::Down,
        )
    }
}

/// Where the leverage stands against the band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandStatus {
    /// No exposure and no debt.
    Empty,
    /// `|lambda - L| <= b*L`.
    Within { leverage_ppm: u128 },
    /// Out of band with positive equity.
    Out { leverage_ppm: u128 },
    /// `E <= 0`: the leveraged pool must be wiped.
    Insolvent,
}

pub fn band_status(pool: &PoolState, params: &RiskParams, price: u128) -> MathResult<BandStatus> {
    if pool.exposure == 0 && pool.debt == 0 {
        return Ok(BandStatus::Empty);
    }
    let Some(leverage) = pool.leverage_ppm(price)? else {
        return Ok(BandStatus::Insolvent);
    };
    let target = u128::from(params.target_leverage_ppm);
    let tolerance = mul_div(
        target,
        u128::from(params.band_ppm),
        u128::from(PPM),
        Rounding::Down,
    )?;
    if leverage.abs_diff(target) <= tolerance {
        Ok(BandStatus::Within {
            leverage_ppm: leverage,
        })
    } else {
        Ok(BandStatus::Out {
            leverage_ppm: leverage,
        })
    }
}

/// What a rebalance did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RebalanceResult {
    /// Leverage before (PPM); 0 when the pool was insolvent.
    pub leverage_before_ppm: u128,
    /// Leverage after (PPM); 0 after a wipe-out.
    pub leverage_after_ppm: u128,
    /// Units moved from idle into the leveraged pool (levering up).
    pub units_to_pool: u64,
    /// Units moved from the leveraged pool to idle (delevering, or a wipe-out).
    pub units_to_idle: u64,
    /// The move up was cut short by the idle units: leverage stays below target.
    pub bounded: bool,
    /// The leveraged pool was wiped out (`E <= 0`).
    pub wiped: bool,
    /// Debt the funding pool lost in a wipe-out (value units).
    pub bad_debt: u128,
}

/// Reset to target: `N' = L*E/P`, `D' = N'*P - E` (debt rounds up), moving `N' - N` units between
/// the pool and idle; the move up is bounded by `I`. Wipes the pool when `E <= 0`.
pub fn rebalance(
    pool: &PoolState,
    params: &RiskParams,
    price: u128,
) -> MathResult<(PoolState, RebalanceResult)> {
    let leverage_before = match band_status(pool, params, price)? {
        BandStatus::Empty => return Err(LeverError::NothingToRebalance),
        BandStatus::Within { .. } => return Err(LeverError::WithinBand),
        BandStatus::Insolvent => return wipe(pool, price),
        BandStatus::Out { leverage_ppm } => leverage_ppm,
    };
    let equity = pool.equity(price)?.unsigned_abs();
    let target_exposure_value = mul_div(
        equity,
        u128::from(params.target_leverage_ppm),
        u128::from(PPM),
        Rounding::Down,
    )?;
    // Fewer exposure units when rounding: leverage never overshoots the target. A target beyond
    // u64 units is cut to u64::MAX; the move up is bounded by the idle units anyway.
    let target_units = mul_div(target_exposure_value, PRICE_SCALE, price, Rounding::Down)?;
    let clamped = target_units > u128::from(u64::MAX);
    let mut target_exposure = u64::try_from(target_units).unwrap_or(u64::MAX);
    if target_exposure == 0 {
        // The equity is worth less than one unit at target: no position can hold it, and
        // leaving LT outstanding over an empty pool would lock the market. Wipe the dust.
        return wipe(pool, price);
    }
    let mut next = *pool;
    let mut result = RebalanceResult {
        leverage_before_ppm: leverage_before,
        bounded: clamped,
        ..RebalanceResult::default()
    };
    if target_exposure >= pool.exposure {
        let mut up = sub_u64(target_exposure, pool.exposure)?;
        if up > pool.idle {
            up = pool.idle;
            result.bounded = true;
            target_exposure = add_u64(pool.exposure, up)?;
        }
        next.idle = sub_u64(pool.idle, up)?;
        result.units_to_pool = up;
    } else {
        let down = sub_u64(pool.exposure, target_exposure)?;
        next.idle = add_u64(pool.idle, down)?;
        result.units_to_idle = down;
    }
    next.exposure = target_exposure;
    // D' = N'*P - E with N'*P rounded up: the funding pool's claim rounds up.
    let exposure_value = value_of(target_exposure, price, Rounding::Up)?;
    next.debt = exposure_value.saturating_sub(equity);
    result.leverage_after_ppm = next.leverage_ppm(price)?.unwrap_or(0);
    Ok((next, result))
}

/// `E <= 0`: every unit of the leveraged pool goes to idle, the debt is written off. Also how a
/// position left with no LT holders (every LT burned outside the program) is closed: its units go
/// to the funding pool, which is owed them.
pub fn wipe(pool: &PoolState, price: u128) -> MathResult<(PoolState, RebalanceResult)> {
    let exposure_value = value_of(pool.exposure, price, Rounding::Down)?;
    let mut next = *pool;
    next.idle = add_u64(pool.idle, pool.exposure)?;
    next.exposure = 0;
    next.debt = 0;
    Ok((
        next,
        RebalanceResult {
            units_to_idle: pool.exposure,
            wiped: true,
            bad_debt: pool.debt.saturating_sub(exposure_value),
            ..RebalanceResult::default()
        },
    ))
}

/// What a mint of LT does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MintLtQuote {
    pub units_in: u64,
    pub fee_units: u64,
    pub shares_out: u64,
    /// Units lent by the funding pool into the leveraged pool.
    pub from_idle: u64,
    /// Debt added (value units).
    pub debt_added: u128,
}

/// Mint LT for `units` at `upper` (the interval end that gives fewer LT); caps read at `mid`; the
/// first mint of a pool opens at `mid`.
pub fn mint_lt(
    pool: &PoolState,
    params: &RiskParams,
    upper: u128,
    mid: u128,
    units: u64,
) -> MathResult<(PoolState, MintLtQuote)> {
    if units == 0 {
        return Err(LeverError::ZeroAmount);
    }
    let fee = fee_up(units, params.mint_fee_ppm)?;
    let net = sub_u64(units, fee)?;
    if net == 0 {
        return Err(LeverError::ZeroSharesOut);
    }
    let (shares, from_idle, debt_added) = if pool.lt_supply == 0 {
        // `Market::refresh` settles a position left without holders before any mint.
        if pool.exposure != 0 || pool.debt != 0 {
            return Err(LeverError::InvalidPoolState);
        }
        // First mint opens at target leverage at the mid: N = L*k, D = (L-1)*k*P_mid (the lent units,
        // rounded up). With no LT holders to protect, the interval has no one to charge; booking the
        // debt at the upper end would open the pool above its band (or insolvent) at the mid.
        let exposure = crate::math::to_u64(mul_div(
            u128::from(net),
            u128::from(params.target_leverage_ppm),
            u128::from(PPM),
            Rounding::Down,
        )?)?;
        let from_idle = sub_u64(exposure, net)?;
        (net, from_idle, value_of(from_idle, mid, Rounding::Up)?)
    } else {
        // E rounds up here: as the denominator of the newcomer's share it gives fewer shares.
        let equity = pool.equity_rounded(upper, Rounding::Up)?;
        if equity <= 0 {
            return Err(LeverError::MarketWiped);
        }
        let equity = equity.unsigned_abs();
        let paid_value = value_of(net, upper, Rounding::Down)?;
        // s = dE / E: debt rounds up, units lent round down.
        let debt_added = mul_div(pool.debt, paid_value, equity, Rounding::Up)?;
        let from_idle = units_for_value(debt_added, upper, Rounding::Down)?;
        // Shares price the equity the pool actually gained: the units that entered (paid and lent,
        // valued down) less the debt taken on. Lending rounds down, so this is at most `paid_value`
        // and the existing holders never pay for the rounding.
        let added_equity =
            value_of(add_u64(net, from_idle)?, upper, Rounding::Down)?.saturating_sub(debt_added);
        let shares = crate::math::to_u64(mul_div(
            u128::from(pool.lt_supply),
            added_equity,
            equity,
            Rounding::Down,
        )?)?;
        (shares, from_idle, debt_added)
    };
    if shares == 0 {
        return Err(LeverError::ZeroSharesOut);
    }
    if from_idle > pool.idle {
        return Err(LeverError::IdleInsufficientForMint);
    }
    let next = PoolState {
        exposure: add_u64(add_u64(pool.exposure, net)?, from_idle)?,
        debt: add_u128(pool.debt, debt_added)?,
        idle: sub_u64(pool.idle, from_idle)?,
        fee_units: add_u64(pool.fee_units, fee)?,
        lt_supply: add_u64(pool.lt_supply, shares)?,
        ft_supply: pool.ft_supply,
    };
    if next.exposure > params.exposure_cap {
        return Err(LeverError::ExposureCapExceeded);
    }
    if utilization_ppm(&next, mid)? > params.max_utilization_ppm {
        return Err(LeverError::UtilizationCapExceeded);
    }
    Ok((
        next,
        MintLtQuote {
            units_in: units,
            fee_units: fee,
            shares_out: shares,
            from_idle,
            debt_added,
        },
    ))
}

/// What a redeem of LT does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedeemLtQuote {
    pub shares_in: u64,
    /// Units paid to the user after the fee.
    pub units_out: u64,
    pub fee_units: u64,
    /// Units that repay the debt and return to idle.
    pub to_idle: u64,
    pub exposure_removed: u64,
    pub debt_removed: u128,
}

/// Redeem `shares` LT at `lower` (the interval end that pays fewer units). `N` leaves rounded
/// down, `D` leaves rounded up, and the repaid units are counted at `lower` rounded up, so the
/// leaver never takes more than `E*s/P`. Zero payouts are refused unless the pool was wiped
/// (burning worthless LT is allowed).
pub fn redeem_lt(
    pool: &PoolState,
    params: &RiskParams,
    lower: u128,
    shares: u64,
    wiped: bool,
) -> MathResult<(PoolState, RedeemLtQuote)> {
    if shares == 0 {
        return Err(LeverError::ZeroAmount);
    }
    if shares > pool.lt_supply {
        return Err(LeverError::InsufficientShares);
    }
    let supply = u128::from(pool.lt_supply);
    let exposure_removed = crate::math::to_u64(mul_div(
        u128::from(pool.exposure),
        u128::from(shares),
        supply,
        Rounding::Down,
    )?)?;
    let debt_removed = mul_div(pool.debt, u128::from(shares), supply, Rounding::Up)?;
    let repay = units_for_value(debt_removed, lower, Rounding::Up)?;
    let (gross, to_idle) = if repay >= exposure_removed {
        (0, exposure_removed)
    } else {
        (sub_u64(exposure_removed, repay)?, repay)
    };
    let fee = fee_up(gross, params.redeem_fee_ppm)?;
    let units_out = sub_u64(gross, fee)?;
    if units_out == 0 && !wiped {
        return Err(LeverError::ZeroPayout);
    }
    let next = PoolState {
        exposure: sub_u64(pool.exposure, exposure_removed)?,
        debt: sub_u128(pool.debt, debt_removed)?,
        idle: add_u64(pool.idle, to_idle)?,
        fee_units: add_u64(pool.fee_units, fee)?,
        lt_supply: sub_u64(pool.lt_supply, shares)?,
        ft_supply: pool.ft_supply,
    };
    Ok((
        next,
        RedeemLtQuote {
            shares_in: shares,
            units_out,
            fee_units: fee,
            to_idle,
            exposure_removed,
            debt_removed,
        },
    ))
}

/// What a funding deposit does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepositQuote {
    pub units_in: u64,
    pub fee_units: u64,
    pub shares_out: u64,
}

/// Deposit `units` into the funding pool at `lower` (the interval end that gives fewer FT).
/// With no FT outstanding (only the creation seed) shares are 1:1 with units.
pub fn deposit_funding(
    pool: &PoolState,
    params: &RiskParams,
    lower: u128,
    units: u64,
) -> MathResult<(PoolState, DepositQuote)> {
    if units == 0 {
        return Err(LeverError::ZeroAmount);
    }
    let fee = fee_up(units, params.deposit_fee_ppm)?;
    let net = sub_u64(units, fee)?;
    let shares = if pool.ft_supply == 0 {
        net
    } else {
        // F rounds up here: as the denominator of the depositor's share it gives fewer shares.
        let value = pool.funding_value_rounded(lower, Rounding::Up)?;
        if value == 0 {
            return Err(LeverError::InvalidPoolState);
        }
        crate::math::to_u64(mul_div(
            u128::from(pool.ft_supply),
            value_of(net, lower, Rounding::Down)?,
            value,
            Rounding::Down,
        )?)?
    };
    if shares == 0 {
        return Err(LeverError::ZeroSharesOut);
    }
    let next = PoolState {
        idle: add_u64(pool.idle, net)?,
        fee_units: add_u64(pool.fee_units, fee)?,
        ft_supply: add_u64(pool.ft_supply, shares)?,
        ..*pool
    };
    Ok((
        next,
        DepositQuote {
            units_in: units,
            fee_units: fee,
            shares_out: shares,
        },
    ))
}

/// What a funding withdrawal does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WithdrawQuote {
    pub shares_in: u64,
    pub units_out: u64,
    pub fee_units: u64,
}

/// Burn `shares` FT for their value at `upper` (the end that pays fewer units), paid from idle only.
pub fn withdraw_funding(
    pool: &PoolState,
    params: &RiskParams,
    upper: u128,
    shares: u64,
) -> MathResult<(PoolState, WithdrawQuote)> {
    if shares == 0 {
        return Err(LeverError::ZeroAmount);
    }
    if shares > pool.ft_supply {
        return Err(LeverError::InsufficientShares);
    }
    let claim = mul_div(
        pool.funding_value(upper)?,
        u128::from(shares),
        u128::from(pool.ft_supply),
        Rounding::Down,
    )?;
    let gross = units_for_value(claim, upper, Rounding::Down)?;
    if gross > pool.idle {
        return Err(LeverError::IdleInsufficientForWithdrawal);
    }
    let fee = fee_up(gross, params.withdraw_fee_ppm)?;
    let units_out = sub_u64(gross, fee)?;
    if units_out == 0 {
        return Err(LeverError::ZeroPayout);
    }
    let next = PoolState {
        idle: sub_u64(pool.idle, gross)?,
        fee_units: add_u64(pool.fee_units, fee)?,
        ft_supply: sub_u64(pool.ft_supply, shares)?,
        ..*pool
    };
    Ok((
        next,
        WithdrawQuote {
            shares_in: shares,
            units_out,
            fee_units: fee,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
pub(crate) mod tests {
    use super::*;
    use crate::math::price_band;

    const SOL: u64 = 1_000_000_000;

    /// A 3x market with a 5% band, no fees and no caps: the math tests' default.
    pub(crate) fn params() -> RiskParams {
        RiskParams {
            target_leverage_ppm: 3 * PPM,
            band_ppm: 50_000,
            mint_fee_ppm: 0,
            redeem_fee_ppm: 0,
            deposit_fee_ppm: 0,
            withdraw_fee_ppm: 0,
            exposure_cap: u64::MAX,
            max_utilization_ppm: PPM,
            curve: FundingCurve::default(),
        }
    }

    fn price(usd: i64) -> u128 {
        price_band(usd * 100_000_000, 0, -8, 9, 10_000, PPM).unwrap().mid
    }

    fn funded() -> PoolState {
        let (pool, _) = deposit_funding(&PoolState::default(), &params(), price(100), 100 * SOL).unwrap();
        pool
    }

    #[test]
    fn first_mint_opens_at_target() {
        let (pool, q) = mint_lt(&funded(), &params(), price(100), price(100), 10 * SOL).unwrap();
        assert_eq!(q.shares_out, 10 * SOL);
        assert_eq!(pool.exposure, 30 * SOL);
        assert_eq!(pool.idle, 80 * SOL);
        assert_eq!(pool.leverage_ppm(price(100)).unwrap(), Some(3 * PPM as u128));
        assert_eq!(pool.units_owed().unwrap(), 110 * SOL);
    }

    #[test]
    fn mint_keeps_leverage_and_round_trip_never_profits() {
        let (pool, _) = mint_lt(&funded(), &params(), price(100), price(100), 10 * SOL).unwrap();
        let (pool2, q) = mint_lt(&pool, &params(), price(100), price(100), 5 * SOL).unwrap();
        assert_eq!(pool2.leverage_ppm(price(100)).unwrap(), Some(3 * PPM as u128));
        let (_, r) = redeem_lt(&pool2, &params(), price(100), q.shares_out, false).unwrap();
        assert!(r.units_out <= 5 * SOL);
    }

    #[test]
    fn rebalance_up_and_down() {
        let (pool, _) = mint_lt(&funded(), &params(), price(100), price(100), 10 * SOL).unwrap();
        // +10%: N*P = 3300, D = 2000, E = 1300: leverage falls to 3.3/1.3 = 2.538x.
        let lev = pool.leverage_ppm(price(110)).unwrap().unwrap();
        assert_eq!(lev, 3_300_000_000 / 1_300);
        let (up, r) = rebalance(&pool, &params(), price(110)).unwrap();
        // Exposure rounds down to whole units: the target is met within 1 PPM, never exceeded.
        assert!(r.leverage_after_ppm <= 3 * PPM as u128 && r.leverage_after_ppm >= 3 * PPM as u128 - 1);
        assert_eq!(up.units_owed().unwrap(), pool.units_owed().unwrap());
        assert_eq!(up.equity(price(110)).unwrap(), pool.equity(price(110)).unwrap());
        assert_eq!(rebalance(&up, &params(), price(110)), Err(LeverError::WithinBand));
    }

    #[test]
    fn gap_wipes_the_pool() {
        let (pool, _) = mint_lt(&funded(), &params(), price(100), price(100), 10 * SOL).unwrap();
        let (wiped, r) = rebalance(&pool, &params(), price(50)).unwrap();
        assert!(r.wiped);
        assert_eq!(wiped.exposure, 0);
        assert_eq!(wiped.debt, 0);
        assert_eq!(wiped.idle, 110 * SOL);
        // D = 2000 USD, N*P = 1500 USD: 500 USD of bad debt.
        assert_eq!(r.bad_debt, 500 * 10u128.pow(18));
        let (after, q) = redeem_lt(&wiped, &params(), price(50), 10 * SOL, true).unwrap();
        assert_eq!(q.units_out, 0);
        assert_eq!(after.lt_supply, 0);
    }
}
