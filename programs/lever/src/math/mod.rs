//! Pure arithmetic: no accounts, no syscalls. The program, the SDK and the simulator all run
//! this same code, so a quote off chain equals what the program does, to the unit.
//!
//! Every rounding is named at the call site with [`Rounding`]; the rule is that it favours the
//! pools: shares minted and units paid round down, fees and debt round up.

pub mod fixed;
pub mod funding;
pub mod pool;
pub mod price;

pub use fixed::*;
pub use funding::*;
pub use pool::*;
pub use price::*;

/// Result of the math layer; the error converts into an Anchor error with `?`.
pub type MathResult<T> = core::result::Result<T, crate::error::LeverError>;
