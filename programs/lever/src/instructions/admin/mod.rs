//! Instructions signed by the config's admin (and `set_pause`, also open to the pause authority):
//! the config and its roles, market creation and parameters, pausing, re-opening a wiped market (with a
//! fresh LT mint when old LT is still held), re-basing a decayed LT, the share mints' token metadata and fee withdrawal.

pub mod accept_admin;
pub mod create_market;
pub mod initialize_config;
pub mod rebase_lt;
pub mod reopen_market;
pub mod set_pause;
pub mod start_lt_epoch;
pub mod transfer_admin;
pub mod update_config;
pub mod update_market;
pub mod update_share_metadata;
pub mod withdraw_fees;

pub use accept_admin::*;
pub use create_market::*;
pub use initialize_config::*;
pub use rebase_lt::*;
pub use reopen_market::*;
pub use set_pause::*;
pub use start_lt_epoch::*;
pub use transfer_admin::*;
pub use update_config::*;
pub use update_market::*;
pub use update_share_metadata::*;
pub use withdraw_fees::*;
