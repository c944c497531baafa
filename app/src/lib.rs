//! Lever SDK: PDAs, instruction builders, Pyth account bytes, quotes, an embedded in-process
//! chain with ready-made markets, and the simulator behind `lever sim`.
//!
//! The pool math is not re-implemented here: quotes call the program's own `*_books` functions
//! and `lever::math`, so a quote equals what the program does to the unit.

pub mod chain;
pub mod cluster;
pub mod deploy;
pub mod errors;
pub mod events;
pub mod hermes;
pub mod ix;
pub mod keeper;
pub mod local;
pub mod localnet;
pub mod ops;
pub mod pda;
pub mod pyth;
pub mod quote;
pub mod sim;
pub mod units;

pub use lever;
