//! Checked arithmetic for every operation the program does on numbers (drift's `SafeMath`).
//!
//! The workspace denies `clippy::arithmetic_side_effects` and truncating casts in the program
//! crates, so `+ - * /` and narrowing `as` only appear in tests; program code goes through these
//! methods instead. Each method is `#[track_caller]`: a failure returns the error (never panics)
//! and, on chain, logs the file and line of the call that failed, so a `MathOverflow` in a
//! transaction's logs names its site.
//!
//! Off chain (the SDK, the simulator, native tests) nothing is logged: there `msg!` prints to
//! standard output, which is the clients' output channel, and the math must stay free of I/O.

use core::panic::Location;

use super::MathResult;
use crate::error::LeverError;

/// `error`, after logging where the failing call was made (on chain only, see the module docs).
/// For the other checked helpers of the math layer ([`super::mul_div`]) to report the same way.
#[cold]
pub(crate) fn fail(error: LeverError, caller: &'static Location<'static>) -> LeverError {
    if cfg!(target_os = "solana") {
        anchor_lang::prelude::msg!("Math error {:?} at {}:{}", error, caller.file(), caller.line());
    }
    error
}

/// `value`, or `error` logged at `caller` when the checked operation gave `None`.
#[inline(always)]
pub(crate) fn checked<T>(
    value: Option<T>,
    error: LeverError,
    caller: &'static Location<'static>,
) -> MathResult<T> {
    match value {
        Some(v) => Ok(v),
        None => Err(fail(error, caller)),
    }
}

/// Checked `+ - * /` that return [`LeverError::MathOverflow`] (division by zero:
/// [`LeverError::DivisionByZero`]) instead of wrapping or panicking.
pub trait SafeMath: Sized {
    fn safe_add(self, rhs: Self) -> MathResult<Self>;
    fn safe_sub(self, rhs: Self) -> MathResult<Self>;
    fn safe_mul(self, rhs: Self) -> MathResult<Self>;
    /// Rounds toward zero, as `/` does; name a rounding with [`super::mul_div`] instead where it
    /// matters.
    fn safe_div(self, rhs: Self) -> MathResult<Self>;
    /// Negation (`-x`); only signed types can fail (`MIN`).
    fn safe_neg(self) -> MathResult<Self>;
}

macro_rules! impl_safe_math {
    ($($t:ty),* $(,)?) => {$(
        impl SafeMath for $t {
            #[track_caller]
            #[inline(always)]
            fn safe_add(self, rhs: Self) -> MathResult<Self> {
                checked(self.checked_add(rhs), LeverError::MathOverflow, Location::caller())
            }

            #[track_caller]
            #[inline(always)]
            fn safe_sub(self, rhs: Self) -> MathResult<Self> {
                checked(self.checked_sub(rhs), LeverError::MathOverflow, Location::caller())
            }

            #[track_caller]
            #[inline(always)]
            fn safe_mul(self, rhs: Self) -> MathResult<Self> {
                checked(self.checked_mul(rhs), LeverError::MathOverflow, Location::caller())
            }

            #[track_caller]
            #[inline(always)]
            fn safe_div(self, rhs: Self) -> MathResult<Self> {
                let caller = Location::caller();
                if rhs == 0 {
                    return Err(fail(LeverError::DivisionByZero, caller));
                }
                // Only a signed MIN / -1 is left to fail.
                checked(self.checked_div(rhs), LeverError::MathOverflow, caller)
            }

            #[track_caller]
            #[inline(always)]
            fn safe_neg(self) -> MathResult<Self> {
                checked(self.checked_neg(), LeverError::MathOverflow, Location::caller())
            }
        }
    )*};
}

impl_safe_math!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128);

/// A conversion between integer types that refuses (never truncates, never wraps) a value the
/// target cannot hold, with [`LeverError::MathOverflow`] (drift's `Cast`).
pub trait SafeCast: Sized {
    #[track_caller]
    #[inline(always)]
    fn safe_cast<T: TryFrom<Self>>(self) -> MathResult<T> {
        let caller = Location::caller();
        T::try_from(self).map_err(|_| fail(LeverError::MathOverflow, caller))
    }
}

impl SafeCast for u8 {}
impl SafeCast for u16 {}
impl SafeCast for u32 {}
impl SafeCast for u64 {}
impl SafeCast for u128 {}
impl SafeCast for usize {}
impl SafeCast for i8 {}
impl SafeCast for i16 {}
impl SafeCast for i32 {}
impl SafeCast for i64 {}
impl SafeCast for i128 {}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn ok_path_returns_the_value() {
        assert_eq!(2u64.safe_add(3), Ok(5));
        assert_eq!(5u64.safe_sub(3), Ok(2));
        assert_eq!(4u128.safe_mul(5), Ok(20));
        assert_eq!(7u64.safe_div(2), Ok(3));
        assert_eq!((-7i64).safe_div(2), Ok(-3));
        assert_eq!(5i64.safe_neg(), Ok(-5));
        assert_eq!(0u64.safe_neg(), Ok(0));
        assert_eq!(u64::MAX.safe_add(0), Ok(u64::MAX));
        assert_eq!(usize::MAX.safe_sub(usize::MAX), Ok(0));
    }

    #[test]
    fn overflow_returns_the_error() {
        assert_eq!(u64::MAX.safe_add(1), Err(LeverError::MathOverflow));
        assert_eq!(0u64.safe_sub(1), Err(LeverError::MathOverflow));
        assert_eq!(u128::MAX.safe_mul(2), Err(LeverError::MathOverflow));
        assert_eq!(i64::MIN.safe_sub(1), Err(LeverError::MathOverflow));
        assert_eq!(i64::MAX.safe_add(1), Err(LeverError::MathOverflow));
        assert_eq!(i128::MIN.safe_div(-1), Err(LeverError::MathOverflow));
        assert_eq!(i64::MIN.safe_neg(), Err(LeverError::MathOverflow));
        assert_eq!(1u64.safe_neg(), Err(LeverError::MathOverflow));
        assert_eq!(usize::MAX.safe_add(1), Err(LeverError::MathOverflow));
    }

    #[test]
    fn division_by_zero_has_its_own_error() {
        assert_eq!(1u64.safe_div(0), Err(LeverError::DivisionByZero));
        assert_eq!(0i128.safe_div(0), Err(LeverError::DivisionByZero));
    }

    #[test]
    fn casts_refuse_what_does_not_fit() {
        assert_eq!(u128::from(u64::MAX).safe_cast::<u64>(), Ok(u64::MAX));
        assert_eq!(
            (u128::from(u64::MAX) + 1).safe_cast::<u64>(),
            Err(LeverError::MathOverflow)
        );
        assert_eq!(u128::MAX.safe_cast::<i128>(), Err(LeverError::MathOverflow));
        assert_eq!((-1i64).safe_cast::<u64>(), Err(LeverError::MathOverflow));
        assert_eq!(i64::MAX.safe_cast::<u64>(), Ok(9_223_372_036_854_775_807));
        assert_eq!(usize::MAX.safe_cast::<u128>().map(|v| v > 0), Ok(true));
        assert_eq!(7u8.safe_cast::<i8>(), Ok(7));
    }

    #[test]
    fn errors_convert_into_anchor_errors() {
        // The handlers use `?` on these: the code is the program's `MathOverflow`.
        let err: anchor_lang::error::Error = u64::MAX.safe_add(1).unwrap_err().into();
        assert_eq!(err, anchor_lang::error::Error::from(LeverError::MathOverflow));
    }
}
