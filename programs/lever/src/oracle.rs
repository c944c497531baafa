//! Pyth `PriceUpdateV2` -> a validated [`PriceBand`], under one of three rules.
//!
//! Anchor's `Account<PriceUpdateV2>` has already checked the owner (the Pyth receiver program) and
//! the discriminator (so a `TwapUpdate` or any other account is refused). Every rule checks Full
//! verification, the pinned feed id, price > 0, the confidence limit and the exponent. Then:
//! [`read_price`] (rebalance: the maximum age, not older than the last price, one price per slot);
//! [`read_instant_price`] (the instant user path: a short age, not older than the last price, a
//! tighter confidence limit); [`read_settlement_price`] (a two-step request: the one update
//! covering its target time).

use anchor_lang::prelude::*;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

use crate::error::LeverError;
use crate::math::{price_band, PriceBand};
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
    /// Too old (or older than the books' last price) to move value between the pools: the
    /// instruction converts at it but does not rebalance (a late or outage settlement).
    pub stale: bool,
    /// The caller picked this update among the valid ones (a rebalance, the instant path): it
    /// pins the slot to its price ([`Market::last_price_slot`]). A settlement's update is the
    /// one covering its target, nobody's choice: it neither pins the slot nor is held to the pin.
    pub chosen: bool,
}

/// No limit on conf / price: for what adds no risk at a wide interval (an exit, priced at the
/// interval's adverse end, and a rebalance, which uses the mid). An interval reaching zero is still
/// refused ([`price_band`]).
pub const NO_CONF_LIMIT: u64 = u64::MAX;

/// How a user operation is priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    /// One transaction with an update the caller brings ([`read_instant_price`]).
    Instant,
    /// A two-step request settled at the one update covering `tau` ([`read_settlement_price`]).
    /// `entry`: a mint or a deposit, which adds risk and so keeps the market's confidence limit;
    /// an exit (redeem, withdraw) has none.
    Settlement { tau: i64, entry: bool },
}

/// The checks every update passes: Full verification and the market's pinned feed.
fn checked_message<'a>(update: &'a PriceUpdateV2, market: &Market) -> Result<&'a PriceFeedMessage> {
    require!(
        update.verification_level == VerificationLevel::Full,
        LeverError::PriceNotFullyVerified
    );
    let message = &update.price_message;
    require!(message.feed_id == market.feed_id, LeverError::PriceFeedMismatch);
    Ok(message)
}

/// Age from the publish time; a publish time in the future counts as age 0.
fn age_at(message: &PriceFeedMessage, now: Now) -> u64 {
    u64::try_from(now.unix_timestamp.saturating_sub(message.publish_time)).unwrap_or(0)
}

fn band_of(message: &PriceFeedMessage, market: &Market, max_conf_ppm: u64) -> Result<PriceBand> {
    Ok(price_band(
        message.price,
        message.conf,
        message.exponent,
        market.decimals,
        max_conf_ppm,
        market.params.conf_multiplier_ppm,
    )?)
}

/// One price per slot: once a chosen update pinned the slot, every later chosen update in it (the
/// same transaction included) must be that one, or a caller could mint at one price and redeem at
/// another. A settlement between them may move the books' price (nobody chose it), not the pin: the
/// later chosen update must still be the pinned one, which is then older than the books' price
/// (`PriceOlderThanLast`).
fn same_slot_same_price(
    market: &Market,
    message: &PriceFeedMessage,
    band: &PriceBand,
    now: Now,
) -> Result<()> {
    if now.slot == market.last_price_slot && market.pinned_publish_time != 0 {
        require!(
            message.publish_time == market.pinned_publish_time && band.mid == market.pinned_price.get(),
            LeverError::PriceChangedInSlot
        );
    }
    Ok(())
}

/// A fresh price: at most `max_age` old, not older than the last price the market used, conf /
/// price at most `max_conf_ppm`, one price per slot.
fn read_fresh(
    update: &PriceUpdateV2,
    market: &Market,
    now: Now,
    max_age: u64,
    max_conf_ppm: u64,
) -> Result<ValidPrice> {
    let message = checked_message(update, market)?;
    require!(age_at(message, now) <= max_age, LeverError::PriceTooOld);
    require!(
        message.publish_time >= market.last_publish_time,
        LeverError::PriceOlderThanLast
    );
    let band = band_of(message, market, max_conf_ppm)?;
    same_slot_same_price(market, message, &band, now)?;
    Ok(ValidPrice {
        band,
        publish_time: message.publish_time,
        stale: false,
        chosen: true,
    })
}

/// The price of a keeper's `rebalance`: at most the market's maximum age, not older than the last
/// price used, one price per slot. A rebalance is value-neutral at its price, so the caller's
/// choice among valid updates moves no value to the caller (SECURITY.md). It uses the mid only, so
/// no confidence limit applies: in a volatility spike the keeper can still delever or wipe.
pub fn read_price(update: &PriceUpdateV2, market: &Market, now: Now) -> Result<ValidPrice> {
    read_fresh(
        update,
        market,
        now,
        market.params.max_price_age_secs,
        NO_CONF_LIMIT,
    )
}

/// The price of an instant user operation, where the caller picks the update. What keeps that
/// choice from paying (SECURITY.md, "Prices nobody can choose"): the path must be on; the update at
/// most `instant_max_age_secs` old (a short window), not older than the last one the market used,
/// one price per slot; conf / price within the tighter `instant_max_conf_ppm`; and, in the books,
/// the instant fee (at least the leverage-and-age floor) and the per-slot cap. No stale exits: an
/// exit during an oracle outage is a two-step request, settled at the first update after it.
pub fn read_instant_price(update: &PriceUpdateV2, market: &Market, now: Now) -> Result<ValidPrice> {
    require!(
        market.params.instant_max_age_secs != 0,
        LeverError::InstantPathDisabled
    );
    let max_conf = market.params.max_conf_ppm.min(market.params.instant_max_conf_ppm);
    read_fresh(update, market, now, market.params.instant_max_age_secs, max_conf)
}

/// Which update settles a request with target `tau`: Pyth's unique-update rule,
/// `prev_publish_time < tau <= publish_time`. Consecutive updates of a feed chain their publish
/// times (each one's `prev_publish_time` is the previous one's `publish_time`), so these half-open
/// intervals tile the time line and exactly one update covers any `tau`. An update with
/// `prev_publish_time == publish_time` covers an empty interval and is refused: otherwise it and
/// the update before it would both cover `tau == publish_time`. Only these checks are hard
/// failures; the price itself ([`settlement_band`]) may still refund the request.
pub fn check_settlement_update(update: &PriceUpdateV2, market: &Market, tau: i64) -> Result<()> {
    let message = checked_message(update, market)?;
    require!(
        message.prev_publish_time != message.publish_time,
        LeverError::PriceUpdateNotUnique
    );
    require!(
        message.prev_publish_time < tau && tau <= message.publish_time,
        LeverError::PriceUpdateNotForTarget
    );
    Ok(())
}

/// The price of a settlement at `tau` (after [`check_settlement_update`]). Nobody chose it, so it is
/// used whatever its age; it moves value between the pools (a rebalance) only when it is fresh
/// (within the maximum age) and not older than the price the books last used (`stale`). An entry
/// keeps the market's confidence limit (a refund past it); an exit has none.
pub fn read_settlement_price(
    update: &PriceUpdateV2,
    market: &Market,
    now: Now,
    tau: i64,
    entry: bool,
) -> Result<ValidPrice> {
    check_settlement_update(update, market, tau)?;
    let message = &update.price_message;
    let max_conf = if entry {
        market.params.max_conf_ppm
    } else {
        NO_CONF_LIMIT
    };
    let mut band = band_of(message, market, max_conf)?;
    if message.publish_time < market.last_publish_time {
        // A late settlement: the books already moved on at a newer price (a request with a later
        // target settled first, or a rebalance). Converting at this update alone would let whoever
        // orders the settlements give a request the better of two known prices, taken from the
        // pools; so it gets the worse of the two: the band widens to the books' price, and the mid
        // (where a first mint books its debt) is the higher one.
        let last = market.last_price.get();
        band = PriceBand {
            lower: band.lower.min(last),
            upper: band.upper.max(last),
            mid: band.mid.max(last),
        };
    }
    let stale = age_at(message, now) > market.params.max_price_age_secs
        || message.publish_time < market.last_publish_time;
    Ok(ValidPrice {
        band,
        publish_time: message.publish_time,
        stale,
        chosen: false,
    })
}

/// The price of a user operation under `pricing`.
pub fn read_user_price(
    update: &PriceUpdateV2,
    market: &Market,
    now: Now,
    pricing: Pricing,
) -> Result<ValidPrice> {
    match pricing {
        Pricing::Instant => read_instant_price(update, market, now),
        Pricing::Settlement { tau, entry } => read_settlement_price(update, market, now, tau, entry),
    }
}
