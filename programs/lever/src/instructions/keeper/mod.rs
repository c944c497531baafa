pub mod rebalance;

pub use rebalance::*;
