//! Lever SDK, for wallets, integrators and bots: PDAs, instruction builders, every account and
//! event decoder, quotes, exact units, error names, Pyth accounts and Hermes updates, the
//! [`cluster::Cluster`] interface with its JSON-RPC implementation, and market operations.
//!
//! It holds no bank, no plotting and no command-line parsing: the in-process chain is
//! `lever-testkit`, the simulator `lever-sim`, the keeper `lever-keeper`, the CLI `lever-cli`.
//!
//! The pool math is not re-implemented here: quotes call the program's own `*_books` functions
//! and `lever::math`, so a quote equals what the program does to the unit.

pub mod accounts;
pub mod cluster;
pub mod data;
pub mod errors;
pub mod events;
pub mod hermes;
pub mod ix;
pub mod ops;
pub mod pda;
pub mod pyth;
pub mod quote;
pub mod units;

pub use lever;
