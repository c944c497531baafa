//! One file per instruction, grouped by role. Each handler reads and checks, lets `state`/`math`
//! decide the numbers, then moves tokens, reconciles the vault and emits events.
//!
//! Beside the instruction modules, the helpers the handlers share, one module per concern:
//! [`signer`] (the market's CPI signer seeds), [`token`] (token CPIs), [`reconcile`] (the books
//! against the vault and the share mints), [`emit`] (events), [`create`] (accounts created at PDAs anyone may
//! have pre-funded), [`begin`] (what every instruction does first) and [`return_data`]. All of it is re-exported here, so `lever::instructions::*`
//! names every instruction's accounts, arguments, outcomes and books function and every helper.

pub mod admin;
pub mod begin;
pub mod create;
pub mod emit;
pub mod keeper;
pub mod reconcile;
pub mod return_data;
pub mod signer;
pub mod token;
pub mod user;

pub use admin::*;
pub use begin::*;
pub use create::*;
pub use emit::*;
pub use keeper::*;
pub use reconcile::*;
pub use return_data::*;
pub use signer::*;
pub use token::*;
pub use user::*;

pub use crate::oracle::{Now, Pricing};
