//! Lever SDK: PDAs, instruction builders, Pyth account bytes, and an embedded in-process chain.
//!
//! The pool math is not re-implemented here: quotes call `lever::math`, the same code the
//! program runs, so a quote equals what the program does to the unit.

pub mod chain;
pub mod ix;
pub mod pda;
pub mod pyth;

pub use lever;
