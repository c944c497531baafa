//! Instructions any holder signs: mint and redeem LT, deposit and withdraw funding. Each reads a
//! price, runs the common refresh (`begin_priced`), prices the conversion at the end of the
//! confidence interval that gives the user less, and takes a minimum out.

pub mod deposit_funding;
pub mod mint_lt;
pub mod redeem_lt;
pub mod withdraw_funding;

pub use deposit_funding::*;
pub use mint_lt::*;
pub use redeem_lt::*;
pub use withdraw_funding::*;
