//! Pure arithmetic: no accounts, no syscalls. The program, the SDK and the simulator all run
//! this same code, so a quote off chain equals what the program does, to the unit.
//!
//! Every rounding is named at the call site with [`Rounding`]; the rule is that it favours the
//! pools: shares minted and units paid round down, fees and debt round up. Every other operation
//! is checked through [`SafeMath`] and [`SafeCast`] (the lints deny bare arithmetic here).

pub mod fixed;
pub mod funding;
pub mod pool;
pub mod price;
pub mod refresh;
pub mod safe;

pub use fixed::*;
pub use funding::*;
pub use pool::*;
pub use price::*;
pub use refresh::*;
pub use safe::{SafeCast, SafeMath};

/// Result of the math layer; the error converts into an Anchor error with `?`.
pub type MathResult<T> = core::result::Result<T, crate::error::LeverError>;
