//! Permissionless instructions that keep markets healthy: anyone may call them.

pub mod rebalance;

pub use rebalance::*;
