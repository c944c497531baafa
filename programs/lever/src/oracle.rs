//! Pyth `PriceUpdateV2` -> a validated [`PriceBand`].
//!
//! Anchor's `Account<PriceUpdateV2>` has already checked the owner (the Pyth receiver program) and
//! the discriminator (so a `TwapUpdate` or any other account is refused). Here: Full verification,
//! the pinned feed id, the maximum age, price > 0, the confidence limit, the exponent, and that the
//! update is not older than the last one the market used.

use anchor_lang::prelude::*;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::error::LeverError;
use crate::math::{price_band, PriceBand};
use crate::state::Market;

/// A price the market may use.
#[derive(Clone, Copy, Debug)]
pub struct ValidPrice {
    pub band: PriceBand,
    pub publish_time: i64,
}

pub fn read_price(update: &PriceUpdateV2, market: &Market, now: i64) -> Result<ValidPrice> {
    require!(
        update.verification_level == VerificationLevel::Full,
        LeverError::PriceNotFullyVerified
    );
    let message = &update.price_message;
    require!(message.feed_id == market.feed_id, LeverError::PriceFeedMismatch);
    // Age from the publish time; a publish time in the future counts as age 0.
    let age = now.saturating_sub(message.publish_time);
    require!(
        age <= i64::try_from(market.max_price_age_secs).unwrap_or(i64::MAX),
        LeverError::PriceTooOld
    );
    require!(
        message.publish_time >= market.last_publish_time,
        LeverError::PriceOlderThanLast
    );
    let band = price_band(
        message.price,
        message.conf,
        message.exponent,
        market.decimals,
        market.max_conf_ppm,
        market.conf_multiplier_ppm,
    )?;
    Ok(ValidPrice {
        band,
        publish_time: message.publish_time,
    })
}
