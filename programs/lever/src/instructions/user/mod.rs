//! Instructions any holder signs: mint and redeem LT, deposit and withdraw funding, on the instant
//! path (one transaction, `read_instant_price`) or in two steps (`request_*`, then anyone's
//! `settle_request` at the one update covering the request's target time, or `cancel_request` after
//! its window). Each priced operation runs the common refresh (`begin_priced`), prices the
//! conversion at the end of the confidence interval that gives the user less, and takes a minimum out.
//! `convert_retired_lt` exchanges LT a re-base retired for the current LT (no price).

pub mod cancel_request;
pub mod convert_retired_lt;
pub mod deposit_funding;
pub mod mint_lt;
pub mod redeem_lt;
pub mod request;
pub mod settle_request;
pub mod withdraw_funding;

pub use cancel_request::*;
pub use convert_retired_lt::*;
pub use deposit_funding::*;
pub use mint_lt::*;
pub use redeem_lt::*;
pub use request::*;
pub use settle_request::*;
pub use withdraw_funding::*;
