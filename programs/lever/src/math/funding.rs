//! The funding rate: a kinked utilization curve, accrued per second as simple interest on `D`
//! between two touches of the market (so it compounds at every touch).

use super::{mul_div, value_of, MathResult, PoolState, Rounding, SafeCast, SafeMath};
use crate::constants::{PPM, SECONDS_PER_YEAR};

/// Annual funding rate curve, all in PPM: `base` at zero utilization, rising by `slope1` up to
/// `kink`, then by `slope2` more up to 100% utilization.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundingCurve {
    pub base_rate_ppm: u64,
    pub kink_ppm: u64,
    pub slope1_ppm: u64,
    pub slope2_ppm: u64,
}

impl FundingCurve {
    /// Annual rate (PPM) at `utilization_ppm` (clamped to 100%). Rounds down.
    pub fn rate_ppm(&self, utilization_ppm: u64) -> MathResult<u64> {
        let u = utilization_ppm.min(PPM);
        let kink = self.kink_ppm.clamp(1, PPM - 1);
        let rate = if u <= kink {
            u128::from(self.base_rate_ppm).safe_add(mul_div(
                u128::from(self.slope1_ppm),
                u128::from(u),
                u128::from(kink),
                Rounding::Down,
            )?)?
        } else {
            u128::from(self.base_rate_ppm)
                .safe_add(u128::from(self.slope1_ppm))?
                .safe_add(mul_div(
                    u128::from(self.slope2_ppm),
                    u128::from(u.safe_sub(kink)?),
                    u128::from(PPM.safe_sub(kink)?),
                    Rounding::Down,
                )?)?
        };
        rate.safe_cast()
    }
}

/// What one accrual did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accrual {
    /// Interest added to the debt (value units, rounded up).
    pub interest: u128,
    /// Annual rate applied (PPM).
    pub rate_ppm: u64,
    /// Utilization the rate was read at (PPM).
    pub utilization_ppm: u64,
    /// Seconds accrued.
    pub elapsed: u64,
}

/// Utilization `D / (D + I*P)` in PPM, rounded up; 0 when the funding pool is empty.
pub fn utilization_ppm(pool: &PoolState, price: u128) -> MathResult<u64> {
    let value = pool.funding_value(price)?;
    if value == 0 {
        return Ok(0);
    }
    let u = mul_div(pool.debt, u128::from(PPM), value, Rounding::Up)?;
    Ok(u64::try_from(u.min(u128::from(PPM))).unwrap_or(PPM))
}

/// Accrue `elapsed` seconds of funding at `price` (mid). Debt rounds up.
pub fn accrue_funding(
    pool: &PoolState,
    curve: &FundingCurve,
    price: u128,
    elapsed: u64,
) -> MathResult<(PoolState, Accrual)> {
    let mut next = *pool;
    if pool.debt == 0 || elapsed == 0 {
        return Ok((
            next,
            Accrual {
                elapsed,
                ..Accrual::default()
            },
        ));
    }
    let utilization = utilization_ppm(pool, price)?;
    let rate = curve.rate_ppm(utilization)?;
    let rate_time = u128::from(rate).safe_mul(u128::from(elapsed))?;
    let interest = mul_div(
        pool.debt,
        rate_time,
        u128::from(PPM).safe_mul(u128::from(SECONDS_PER_YEAR))?,
        Rounding::Up,
    )?;
    next.debt = pool.debt.safe_add(interest)?;
    // Keep the value of the idle side in range too (it is read right after).
    value_of(next.idle, price, Rounding::Down)?;
    Ok((
        next,
        Accrual {
            interest,
            rate_ppm: rate,
            utilization_ppm: utilization,
            elapsed,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn curve() -> FundingCurve {
        FundingCurve {
            base_rate_ppm: 20_000,
            kink_ppm: 800_000,
            slope1_ppm: 80_000,
            slope2_ppm: 1_000_000,
        }
    }

    #[test]
    fn kinked_curve() {
        let c = curve();
        assert_eq!(c.rate_ppm(0), Ok(20_000));
        assert_eq!(c.rate_ppm(400_000), Ok(60_000));
        assert_eq!(c.rate_ppm(800_000), Ok(100_000));
        assert_eq!(c.rate_ppm(900_000), Ok(600_000));
        assert_eq!(c.rate_ppm(PPM), Ok(1_100_000));
        assert_eq!(c.rate_ppm(2 * PPM), Ok(1_100_000));
    }

    #[test]
    fn accrual_rounds_debt_up() {
        // Fully lent: the debt is backed by 2,000 units at one value unit each.
        let pool = PoolState {
            exposure: 2_000,
            debt: 1_000,
            idle: 0,
            ..PoolState::default()
        };
        let (next, a) = accrue_funding(&pool, &curve(), crate::constants::PRICE_SCALE, 1).unwrap();
        assert_eq!(a.utilization_ppm, PPM);
        assert_eq!(next.debt, 1_001);
    }
}
