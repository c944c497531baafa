//! Pyth `PriceUpdateV2` -> a validated [`PriceBand`].
//!
//! Anchor's `Account<PriceUpdateV2>` has already checked the owner (the Pyth receiver program) and
//! the discriminator (so a `TwapUpdate` or any other account is refused). Here: Full verification,
//! the pinned feed id, the maximum age, price > 0, the confidence limit, the exponent, and that the
//! update is not older than the last one the market used, and that within one slot every
//! instruction uses the same price.

use anchor_lang::prelude::*;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::constants::{PPM, STALE_EXIT_AGE_FACTOR};
use crate::error::LeverError;
use crate::math::{mul_div, price_band, PriceBand, Rounding, SafeMath};
use crate::state::Market;

/// The clock as the books see it: unix time for ages and funding, the slot for the one-price-per-slot
/// rule. Handlers read it from the Clock sysvar (by syscall, so no sysvar account can be spoofed);
/// the SDK passes the chain's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub unix_timestamp: i64,
    pub slot: u64,
}

impl Now {
    pub fn get() -> Result<Self> {
        let clock = Clock::get()?;
        Ok(Self {
            unix_timestamp: clock.unix_timestamp,
            slot: clock.slot,
        })
    }
}

/// A price the market may use.
#[derive(Clone, Copy, Debug)]
pub struct ValidPrice {
    pub band: PriceBand,
    pub publish_time: i64,
    /// Older than the market's maximum age, accepted for an exit only (see [`read_price`]).
    pub stale: bool,
}

/// Validate `update` for `market` at `now`. `exit` (redeem, withdraw) accepts a price up to
/// [`STALE_EXIT_AGE_FACTOR`] times the maximum age: mints and deposits add risk and need a fresh
/// price, but an oracle outage must not lock holders in. A stale exit's interval is widened by the
/// band (`band_ppm` of the mid) on each side, so the exiting holder, never the pools, bears what the
/// price may have moved since.
pub fn read_price(update: &PriceUpdateV2, market: &Market, now: Now, exit: bool) -> Result<ValidPrice> {
    require!(
        update.verification_level == VerificationLevel::Full,
        LeverError::PriceNotFullyVerified
    );
    let message = &update.price_message;
    require!(message.feed_id == market.feed_id, LeverError::PriceFeedMismatch);
    // Age from the publish time; a publish time in the future counts as age 0.
    let age = u64::try_from(now.unix_timestamp.saturating_sub(message.publish_time)).unwrap_or(0);
    let stale = age > market.max_price_age_secs;
    let exit_limit = market.max_price_age_secs.saturating_mul(STALE_EXIT_AGE_FACTOR);
    require!(!stale || (exit && age <= exit_limit), LeverError::PriceTooOld);
    require!(
        message.publish_time >= market.last_publish_time,
        LeverError::PriceOlderThanLast
    );
    let mut band = price_band(
        message.price,
        message.conf,
        message.exponent,
        market.decimals,
        market.max_conf_ppm,
        market.conf_multiplier_ppm,
    )?;
    if stale {
        // Rounded up: the interval only ever gets wider. The lower end stays a positive price.
        let haircut = mul_div(
            band.mid,
            u128::from(market.band_ppm),
            u128::from(PPM),
            Rounding::Up,
        )?;
        band.lower = band.lower.saturating_sub(haircut).max(1);
        band.upper = band.upper.safe_add(haircut)?;
    }
    // One price per slot: a second update in the same slot (the same transaction included) must be
    // the one already used, or a caller could mint at one price and redeem at another.
    if now.slot == market.last_price_slot && market.last_publish_time != 0 {
        require!(
            message.publish_time == market.last_publish_time && band.mid == market.last_price.get(),
            LeverError::PriceChangedInSlot
        );
    }
    Ok(ValidPrice {
        band,
        publish_time: message.publish_time,
        stale,
    })
}
