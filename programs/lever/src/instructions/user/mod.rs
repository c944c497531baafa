pub mod deposit_funding;
pub mod mint_lt;
pub mod redeem_lt;
pub mod withdraw_funding;

pub use deposit_funding::*;
pub use mint_lt::*;
pub use redeem_lt::*;
pub use withdraw_funding::*;
