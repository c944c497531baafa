//! The program's accounts, one file each: [`Config`] (protocol-wide roles and bounds) and
//! [`Market`] (one market's parameters and books), [`Request`] (a two-step request), plus [`WideU128`], how a u128 is stored in them.

pub mod config;
pub mod market;
pub mod params;
pub mod request;

pub use config::*;
pub use market::*;
pub use params::*;
pub use request::*;

use anchor_lang::prelude::*;

/// A u128 stored as two little-endian u64 halves, so zero-copy accounts stay 8-byte aligned on
/// every target (a bare u128 is 16-aligned on x86_64 but not in account data).
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct WideU128 {
    pub lo: u64,
    pub hi: u64,
}

/// The low 64 bits of a u128.
const LOW_HALF: u128 = u64::MAX as u128;

impl WideU128 {
    pub fn get(&self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.lo)
    }

    pub fn set(&mut self, value: u128) {
        // Each half is masked or shifted into 64 bits first: the narrowing is exact, and the
        // truncation lint (denied in this crate) checks that it is.
        self.lo = (value & LOW_HALF) as u64;
        self.hi = (value >> 64) as u64;
    }

    pub fn new(value: u128) -> Self {
        let mut w = Self::default();
        w.set(value);
        w
    }
}
