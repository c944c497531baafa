//! Real-layout Pyth `PriceUpdateV2` accounts: build the bytes the receiver program writes, and
//! decode them.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, AccountSerialize};
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

/// Pyth's SOL/USD feed id (0xef0d8b6f…b56d), the one the bundled mainnet account carries.
pub const SOL_USD_FEED_ID: [u8; 32] = [
    0xef, 0x0d, 0x8b, 0x6f, 0xda, 0x2c, 0xeb, 0xa4, 0x1d, 0xa1, 0x5d, 0x40, 0x95, 0xd1, 0xda, 0x39, 0x2a,
    0x0d, 0x2f, 0x8e, 0xd0, 0xc6, 0xc7, 0xbc, 0x0f, 0x4c, 0xfa, 0xc8, 0xc2, 0x80, 0xb5, 0x6d,
];

/// Fields of a price update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceInput {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub exponent: i32,
    pub publish_time: i64,
    /// The publish time of the feed's previous update: `(prev_publish_time, publish_time]` is the
    /// interval this update covers for a two-step settlement (Pyth's unique-update rule).
    pub prev_publish_time: i64,
    /// Full verification (the only level the program accepts) or partial with N signatures.
    pub verification: Verification,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    Full,
    Partial(u8),
}

impl PriceInput {
    /// A fully verified price with exponent -8 (the usual one for USD feeds).
    pub fn usd(feed_id: [u8; 32], price: f64, conf_ratio: f64, publish_time: i64) -> Self {
        let mantissa = (price * 1e8).round() as i64;
        Self {
            feed_id,
            price: mantissa,
            conf: ((mantissa as f64) * conf_ratio).round() as u64,
            exponent: -8,
            publish_time,
            prev_publish_time: publish_time.saturating_sub(1),
            verification: Verification::Full,
        }
    }

    /// The same update, covering `(prev_publish_time, publish_time]`.
    pub fn after(self, prev_publish_time: i64) -> Self {
        Self {
            prev_publish_time,
            ..self
        }
    }
}

/// The account the Pyth receiver would hold for this update.
pub fn price_update(input: &PriceInput) -> PriceUpdateV2 {
    PriceUpdateV2 {
        write_authority: anchor_lang::prelude::Pubkey::new_from_array([7; 32]),
        verification_level: match input.verification {
            Verification::Full => VerificationLevel::Full,
            Verification::Partial(n) => VerificationLevel::Partial { num_signatures: n },
        },
        price_message: PriceFeedMessage {
            feed_id: input.feed_id,
            price: input.price,
            conf: input.conf,
            exponent: input.exponent,
            publish_time: input.publish_time,
            prev_publish_time: input.prev_publish_time,
            ema_price: input.price,
            ema_conf: input.conf,
        },
        posted_slot: 0,
    }
}

/// The account data the Pyth receiver writes for this update (134 bytes, discriminator first).
pub fn price_update_data(input: &PriceInput) -> Vec<u8> {
    let update = price_update(input);
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    // Serializing a plain struct into a Vec cannot fail.
    let _ = update.try_serialize(&mut data);
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

/// Decode account data as a `PriceUpdateV2` (discriminator checked).
pub fn decode_price_update(data: &[u8]) -> anchor_lang::Result<PriceUpdateV2> {
    PriceUpdateV2::try_deserialize(&mut &data[..])
}

/// Parse a 64-hex-digit feed id (with or without 0x).
pub fn feed_id_from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Bytes as lowercase hex (feed ids, message hashes), without 0x.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `mantissa · 10^exponent` as a float, for display (divided by an exact power of ten when the
/// exponent is negative, so $110 at exponent -8 is exactly 110.0).
pub fn scaled(mantissa: i64, exponent: i32) -> f64 {
    if exponent < 0 {
        mantissa as f64 / 10f64.powi(-exponent)
    } else {
        mantissa as f64 * 10f64.powi(exponent)
    }
}

/// The address of Pyth's push-feed `PriceUpdateV2` account for `feed_id` on `shard_id` (0 is the
/// shard Pyth sponsors): PDA `[shard_id u16 LE, feed_id]` of the push oracle program.
pub fn sponsored_feed_address(shard_id: u16, feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(
        &[&shard_id.to_le_bytes(), feed_id],
        &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID,
    )
    .0
}

/// The price update as the SDK's quotes take it.
pub fn price_input(update: &PriceUpdateV2) -> PriceInput {
    let m = &update.price_message;
    PriceInput {
        feed_id: m.feed_id,
        price: m.price,
        conf: m.conf,
        exponent: m.exponent,
        publish_time: m.publish_time,
        prev_publish_time: m.prev_publish_time,
        verification: match update.verification_level {
            VerificationLevel::Full => Verification::Full,
            VerificationLevel::Partial { num_signatures } => Verification::Partial(num_signatures),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sponsored_feed_address_is_a_push_oracle_pda() {
        // Pyth's sponsored SOL/USD account on mainnet and devnet (shard 0).
        let sol = sponsored_feed_address(0, &SOL_USD_FEED_ID);
        assert_eq!(sol.to_string(), "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE");
        assert_ne!(sponsored_feed_address(1, &SOL_USD_FEED_ID), sol);
    }
}
