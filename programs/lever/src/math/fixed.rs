//! Checked fixed-point helpers with 256-bit intermediates.

use core::panic::Location;

use super::safe::{checked, fail};
use super::{MathResult, SafeCast, SafeMath};
use crate::constants::PPM;
use crate::error::LeverError;

#[allow(clippy::manual_div_ceil, clippy::assign_op_pattern)]
mod wide {
    uint::construct_uint! {
        /// 256-bit unsigned integer for products of two u128 values.
        pub struct U256(4);
    }
}
pub use wide::U256;

/// Direction of a division's rounding. Each call site names the one that favours the pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
}

/// `a * b / c` computed exactly in 256 bits, rounded as asked; errors if the result exceeds u128.
#[track_caller]
pub fn mul_div(a: u128, b: u128, c: u128, rounding: Rounding) -> MathResult<u128> {
    let caller = Location::caller();
    if c == 0 {
        return Err(fail(LeverError::DivisionByZero, caller));
    }
    let product = checked(
        U256::from(a).checked_mul(U256::from(b)),
        LeverError::MathOverflow,
        caller,
    )?;
    let divisor = U256::from(c);
    let (quotient, remainder) = product.div_mod(divisor);
    let quotient = if rounding == Rounding::Up && !remainder.is_zero() {
        checked(
            quotient.checked_add(U256::one()),
            LeverError::MathOverflow,
            caller,
        )?
    } else {
        quotient
    };
    if quotient.bits() > 128 {
        return Err(fail(LeverError::MathOverflow, caller));
    }
    Ok(quotient.as_u128())
}

/// Narrow a u128 to u64, refusing (never truncating) values that do not fit.
#[track_caller]
pub fn to_u64(x: u128) -> MathResult<u64> {
    x.safe_cast()
}

/// Narrow a u128 to i128, refusing values that do not fit.
#[track_caller]
pub fn to_i128(x: u128) -> MathResult<i128> {
    x.safe_cast()
}

/// `amount * ppm / 1e6` for a fee: rounds UP (fees favour the pools).
#[track_caller]
pub fn fee_up(amount: u64, fee_ppm: u64) -> MathResult<u64> {
    to_u64(mul_div(
        u128::from(amount),
        u128::from(fee_ppm),
        u128::from(PPM),
        Rounding::Up,
    )?)
}

#[track_caller]
pub fn add_u64(a: u64, b: u64) -> MathResult<u64> {
    a.safe_add(b)
}

#[track_caller]
pub fn sub_u64(a: u64, b: u64) -> MathResult<u64> {
    a.safe_sub(b)
}

#[track_caller]
pub fn add_u128(a: u128, b: u128) -> MathResult<u128> {
    a.safe_add(b)
}

#[track_caller]
pub fn sub_u128(a: u128, b: u128) -> MathResult<u128> {
    a.safe_sub(b)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_rounds_as_named() {
        assert_eq!(mul_div(10, 10, 3, Rounding::Down), Ok(33));
        assert_eq!(mul_div(10, 10, 3, Rounding::Up), Ok(34));
        assert_eq!(mul_div(9, 10, 3, Rounding::Up), Ok(30));
        assert_eq!(mul_div(1, 1, 0, Rounding::Up), Err(LeverError::DivisionByZero));
    }

    #[test]
    fn mul_div_uses_wide_intermediates() {
        let big = u128::MAX / 3;
        assert_eq!(mul_div(big, 1 << 64, 1 << 64, Rounding::Down), Ok(big));
        assert_eq!(
            mul_div(u128::MAX, 2, 1, Rounding::Down),
            Err(LeverError::MathOverflow)
        );
        assert_eq!(
            mul_div(u128::MAX, u128::MAX, u128::MAX, Rounding::Up),
            Ok(u128::MAX)
        );
    }

    #[test]
    fn fee_rounds_up() {
        assert_eq!(fee_up(1, 1), Ok(1));
        assert_eq!(fee_up(1_000_000, 1_000), Ok(1_000));
        assert_eq!(fee_up(1_000_001, 1_000), Ok(1_001));
        assert_eq!(fee_up(0, 1_000), Ok(0));
    }
}
