//! The protocol config account (PDA `[CONFIG_SEED]`, zero-copy): the admin, the pending admin, the
//! pause authority, the fee receiver and the global bounds every market's parameters must sit
//! inside. Versioned, with reserved bytes and a compile-time size check.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::LeverError;

/// Protocol-wide settings: roles and the bounds every market's parameters must sit inside.
/// PDA `[CONFIG_SEED]`.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Config {
    /// May create markets, change parameters, unpause, re-open and withdraw fees.
    pub admin: Pubkey,
    /// Set by `transfer_admin`; becomes admin on `accept_admin`. Default (all zero) when none.
    pub pending_admin: Pubkey,
    /// May only set pause bits.
    pub pause_authority: Pubkey,
    /// Owner of the token accounts protocol fees are withdrawn to.
    pub fee_receiver: Pubkey,
    /// Bounds (PPM unless named otherwise), each inside the program's hard bounds.
    pub min_leverage_ppm: u64,
    pub max_leverage_ppm: u64,
    pub max_fee_ppm: u64,
    pub max_price_age_secs: u64,
    pub max_conf_ppm: u64,
    /// Smallest seed deposit (raw units) a new market must receive.
    pub min_seed_units: u64,
    /// Markets created so far.
    pub market_count: u64,
    pub version: u8,
    pub bump: u8,
    pub _padding: [u8; 6],
    pub _reserved: [u8; 128],
}

impl Config {
    pub const SIZE: usize = 4 * 32 + 7 * 8 + 8 + 128;
    pub const SPACE: usize = 8 + Self::SIZE;

    /// The config's own bounds must sit inside the program's hard bounds.
    pub fn validate_bounds(b: &ConfigBounds) -> Result<()> {
        require!(
            b.min_leverage_ppm >= MIN_LEVERAGE_PPM
                && b.max_leverage_ppm <= MAX_LEVERAGE_PPM
                && b.min_leverage_ppm <= b.max_leverage_ppm
                && b.max_fee_ppm <= MAX_FEE_PPM
                && b.max_price_age_secs >= 1
                && b.max_price_age_secs <= MAX_PRICE_AGE_SECS
                && b.max_conf_ppm >= 1
                && b.max_conf_ppm <= MAX_CONF_PPM
                && b.min_seed_units >= MIN_SEED_UNITS,
            LeverError::ConfigBoundsInvalid
        );
        Ok(())
    }

    pub fn set_bounds(&mut self, b: &ConfigBounds) {
        self.min_leverage_ppm = b.min_leverage_ppm;
        self.max_leverage_ppm = b.max_leverage_ppm;
        self.max_fee_ppm = b.max_fee_ppm;
        self.max_price_age_secs = b.max_price_age_secs;
        self.max_conf_ppm = b.max_conf_ppm;
        self.min_seed_units = b.min_seed_units;
    }

    pub fn bounds(&self) -> ConfigBounds {
        ConfigBounds {
            min_leverage_ppm: self.min_leverage_ppm,
            max_leverage_ppm: self.max_leverage_ppm,
            max_fee_ppm: self.max_fee_ppm,
            max_price_age_secs: self.max_price_age_secs,
            max_conf_ppm: self.max_conf_ppm,
            min_seed_units: self.min_seed_units,
        }
    }
}

const _: () = assert!(core::mem::size_of::<Config>() == Config::SIZE);

/// The global bounds held by the config.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigBounds {
    pub min_leverage_ppm: u64,
    pub max_leverage_ppm: u64,
    pub max_fee_ppm: u64,
    pub max_price_age_secs: u64,
    pub max_conf_ppm: u64,
    pub min_seed_units: u64,
}

impl Default for ConfigBounds {
    /// The program's hard bounds, with a 1,000-unit minimum seed.
    fn default() -> Self {
        Self {
            min_leverage_ppm: MIN_LEVERAGE_PPM,
            max_leverage_ppm: MAX_LEVERAGE_PPM,
            max_fee_ppm: MAX_FEE_PPM,
            max_price_age_secs: MAX_PRICE_AGE_SECS,
            max_conf_ppm: MAX_CONF_PPM,
            min_seed_units: MIN_SEED_UNITS,
        }
    }
}
