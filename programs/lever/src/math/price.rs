//! Prices: from a Pyth mantissa/exponent to the program's fixed point, and value <-> units.
//!
//! A price `q` is "value units (1e-18 USD) per raw token unit", scaled by [`PRICE_SCALE`]. For SOL
//! (9 decimals) at $150, q = 150 * 1e18 / 1e9 * 1e18 = 1.5e29. Any Pyth exponent converts exactly
//! while `expo + 36 - decimals >= 0`; below that the division rounds in the direction named by the
//! caller (the interval's lower end down, its upper end up), and a price that rounds to zero is refused.

use super::{mul_div, to_u64, MathResult, Rounding, SafeMath};
use crate::constants::{PPM, PRICE_EXPONENT_OFFSET, PRICE_SCALE};
use crate::error::LeverError;

/// A validated price: the mid and the two ends of the (possibly widened) confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceBand {
    pub mid: u128,
    pub lower: u128,
    pub upper: u128,
}

/// Scale a positive mantissa by 10^(expo + 36 - decimals), rounding as asked when it divides.
pub fn scale_mantissa(mantissa: u128, expo: i32, decimals: u8, rounding: Rounding) -> MathResult<u128> {
    let shift = i64::from(expo)
        .safe_add(i64::from(PRICE_EXPONENT_OFFSET))?
        .safe_sub(i64::from(decimals))?;
    let q = if shift >= 0 {
        let factor = pow10(shift)?;
        mantissa.checked_mul(factor).ok_or(LeverError::PriceOutOfRange)?
    } else {
        match pow10(shift.safe_neg()?) {
            Ok(divisor) => mul_div(mantissa, 1, divisor, rounding)?,
            // 10^39 and beyond exceed any u128 mantissa: the quotient is 0 (or 1 rounding up).
            Err(_) => u128::from(rounding == Rounding::Up),
        }
    };
    if q == 0 {
        return Err(LeverError::PriceOutOfRange);
    }
    Ok(q)
}

fn pow10(exp: i64) -> MathResult<u128> {
    let exp = u32::try_from(exp).map_err(|_| LeverError::PriceOutOfRange)?;
    10u128.checked_pow(exp).ok_or(LeverError::PriceOutOfRange)
}

/// Turn a Pyth (price, conf, exponent) into a [`PriceBand`] for a token with `decimals`.
///
/// Checks: price > 0; conf / price <= `max_conf_ppm`; the interval widened by
/// `conf_multiplier_ppm` (1x = PPM) keeps a positive lower end.
pub fn price_band(
    price: i64,
    conf: u64,
    expo: i32,
    decimals: u8,
    max_conf_ppm: u64,
    conf_multiplier_ppm: u64,
) -> MathResult<PriceBand> {
    if price <= 0 {
        return Err(LeverError::PriceNotPositive);
    }
    let mantissa = u128::from(price.unsigned_abs());
    // conf * 1e6 <= max_conf_ppm * price, compared exactly in u128.
    let conf_scaled = u128::from(conf)
        .checked_mul(u128::from(PPM))
        .ok_or(LeverError::MathOverflow)?;
    let limit = mantissa
        .checked_mul(u128::from(max_conf_ppm))
        .ok_or(LeverError::MathOverflow)?;
    if conf_scaled > limit {
        return Err(LeverError::PriceConfidenceTooWide);
    }
    // Widening rounds up: the interval only ever gets wider.
    let widened = mul_div(
        u128::from(conf),
        u128::from(conf_multiplier_ppm),
        u128::from(PPM),
        Rounding::Up,
    )?;
    if widened >= mantissa {
        return Err(LeverError::PriceConfidenceTooWide);
    }
    let lower_m = mantissa.safe_sub(widened)?;
    let upper_m = mantissa.safe_add(widened)?;
    Ok(PriceBand {
        mid: scale_mantissa(mantissa, expo, decimals, Rounding::Down)?,
        lower: scale_mantissa(lower_m, expo, decimals, Rounding::Down)?,
        upper: scale_mantissa(upper_m, expo, decimals, Rounding::Up)?,
    })
}

/// Value (1e-18 USD) of `units` raw units at price `q`.
#[track_caller]
pub fn value_of(units: u64, q: u128, rounding: Rounding) -> MathResult<u128> {
    mul_div(u128::from(units), q, PRICE_SCALE, rounding)
}

/// Raw units worth `value` at price `q`.
#[track_caller]
pub fn units_for_value(value: u128, q: u128, rounding: Rounding) -> MathResult<u64> {
    to_u64(mul_div(value, PRICE_SCALE, q, rounding)?)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn sol_price_scales_exactly() {
        // 150.00000000 USD, expo -8, 9 decimals: 1 SOL (1e9 units) is worth 150e18 value units.
        let band = price_band(15_000_000_000, 0, -8, 9, 10_000, PPM).unwrap();
        assert_eq!(band.mid, 150 * 10u128.pow(27));
        assert_eq!(
            value_of(1_000_000_000, band.mid, Rounding::Down),
            Ok(150 * 10u128.pow(18))
        );
        assert_eq!(band.lower, band.mid);
        assert_eq!(band.upper, band.mid);
    }

    #[test]
    fn exponents_agree() {
        let a = price_band(15_000_000_000, 0, -8, 9, 10_000, PPM).unwrap();
        let b = price_band(150, 0, 0, 9, 10_000, PPM).unwrap();
        let c = price_band(15, 0, 1, 9, 10_000, PPM).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn confidence_is_checked_and_widened() {
        // conf 1% with a 1% limit passes; 1.0000001% fails.
        assert!(price_band(100_000_000, 1_000_000, -8, 6, 10_000, PPM).is_ok());
        assert_eq!(
            price_band(100_000_000, 1_000_001, -8, 6, 10_000, PPM),
            Err(LeverError::PriceConfidenceTooWide)
        );
        let band = price_band(100_000_000, 1_000_000, -8, 6, 10_000, 2 * PPM).unwrap();
        assert_eq!(band.mid - band.lower, band.upper - band.mid);
        assert_eq!(
            band.upper,
            scale_mantissa(102_000_000, -8, 6, Rounding::Up).unwrap()
        );
    }

    #[test]
    fn bad_prices_are_refused() {
        assert_eq!(
            price_band(0, 0, -8, 9, 10_000, PPM),
            Err(LeverError::PriceNotPositive)
        );
        assert_eq!(
            price_band(-5, 0, -8, 9, 10_000, PPM),
            Err(LeverError::PriceNotPositive)
        );
        assert_eq!(
            price_band(1, 0, -60, 9, 10_000, PPM),
            Err(LeverError::PriceOutOfRange)
        );
        assert_eq!(
            price_band(i64::MAX, 0, 30, 0, 10_000, PPM),
            Err(LeverError::PriceOutOfRange)
        );
    }
}
