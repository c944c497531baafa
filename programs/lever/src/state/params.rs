//! A market's tunable parameters, declared once. [`market_params!`] turns the one list below into
//! the three forms the program needs: [`MarketParams`] (Borsh: what `create_market` takes and
//! events carry), [`StoredMarketParams`] (zero-copy: what [`super::Market`] embeds) and
//! [`UpdateMarketParams`] (each field optional: what `update_market` takes), with the conversions
//! and [`MarketParams::apply`] between them. Anchor's tooling needs two types for one set of
//! fields: a zero-copy account may only embed zero-copy types, and `declare_program!` gives those
//! no Borsh encoding for instruction arguments. Every field is a `u64`, so the two encodings
//! have the same bytes. Then the rules on a set of parameters: the hard and the config's bounds
//! ([`MarketParams::validate`]) and what counts as loosening ([`MarketParams::loosening`]).

use anchor_lang::prelude::*;

use super::Config;
use crate::constants::*;
use crate::error::LeverError;
use crate::math::SafeMath;

/// Declares the parameter structs from one list of `u64` fields (doc comments kept on each).
macro_rules! market_params {
    ($( $(#[doc = $doc:literal])* $name:ident, )*) => {
        /// Every tunable parameter of a market (PPM unless named otherwise), as instructions take
        /// them and events carry them.
        #[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
        pub struct MarketParams {
            $( $(#[doc = $doc])* pub $name: u64, )*
        }

        /// [`MarketParams`] as [`super::Market`] stores them: the same fields in the same order.
        #[zero_copy]
        #[derive(Debug, PartialEq, Eq)]
        pub struct StoredMarketParams {
            $( $(#[doc = $doc])* pub $name: u64, )*
        }

        /// A parameter update: each field set is changed (and checked), each `None` is kept.
        #[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct UpdateMarketParams {
            $( $(#[doc = $doc])* pub $name: Option<u64>, )*
        }

        impl MarketParams {
            /// The fields' names, in their order on chain and on the wire.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Apply the fields that are set in `u`.
            pub fn apply(&self, u: &UpdateMarketParams) -> MarketParams {
                MarketParams { $( $name: u.$name.unwrap_or(self.$name), )* }
            }

            /// The field named `name` (one of [`MarketParams::FIELDS`]).
            pub fn field(&self, name: &str) -> Option<u64> {
                match name {
                    $( stringify!($name) => Some(self.$name), )*
                    _ => None,
                }
            }
        }

        impl UpdateMarketParams {
            /// Set the field named `name` (one of [`MarketParams::FIELDS`]); false for no such field.
            pub fn set(&mut self, name: &str, value: u64) -> bool {
                match name {
                    $( stringify!($name) => { self.$name = Some(value); true } )*
                    _ => false,
                }
            }
        }

        impl UpdateMarketParams {
            /// The full set, if every field is set.
            pub fn complete(&self) -> Option<MarketParams> {
                Some(MarketParams { $( $name: self.$name?, )* })
            }
        }

        impl From<StoredMarketParams> for MarketParams {
            fn from(p: StoredMarketParams) -> Self {
                MarketParams { $( $name: p.$name, )* }
            }
        }

        impl From<MarketParams> for StoredMarketParams {
            fn from(p: MarketParams) -> Self {
                StoredMarketParams { $( $name: p.$name, )* }
            }
        }
    };
}

market_params! {
    /// Target leverage L (3x = 3_000_000).
    target_leverage_ppm,
    /// Band half-width as a fraction of L (5% = 50_000).
    band_ppm,
    mint_fee_ppm,
    redeem_fee_ppm,
    deposit_fee_ppm,
    withdraw_fee_ppm,
    /// Largest age of an update `rebalance` accepts, and of a settlement's update that may still
    /// rebalance (seconds; a settlement converts at its update whatever the age).
    max_price_age_secs,
    /// Largest accepted conf / price.
    max_conf_ppm,
    /// The confidence interval used for conversions is conf * this / PPM (1x = 1_000_000).
    conf_multiplier_ppm,
    /// Maximum exposure `N` after a mint (raw units; u64::MAX for none).
    exposure_cap,
    max_utilization_ppm,
    /// Funding curve (annual rates).
    base_rate_ppm,
    kink_ppm,
    slope1_ppm,
    slope2_ppm,
    /// Seconds from a request to its settlement target `tau` (allow for the chain's clock lag).
    settle_delay_secs,
    /// Seconds after `tau` a request may still be settled; then anyone may cancel it.
    settle_window_secs,
    /// Smallest settlement tip a request must prepay (lamports).
    min_settle_tip_lamports,
    /// Largest age of an update the instant path accepts (seconds); 0 turns the instant path off.
    instant_max_age_secs,
    /// Fee every instant operation pays at least; at least [`MarketParams::instant_fee_floor_ppm`].
    instant_fee_ppm,
    /// Largest conf / price the instant path accepts.
    instant_max_conf_ppm,
    /// Most units instant operations may move in one slot (raw units; u64::MAX for none).
    instant_slot_cap,
}

const _: () = assert!(core::mem::size_of::<StoredMarketParams>() == 8 * MarketParams::FIELDS.len());

/// The smallest instant fee a market at `target_leverage_ppm` with instant age `instant_max_age_secs`
/// may charge: leverage (x) * age (s) * [`INSTANT_FEE_FLOOR_PPM_PER_LEVERAGE_SECOND`], rounded up
/// (against the user; 0 when the instant path is off).
pub fn instant_fee_floor_ppm(target_leverage_ppm: u64, instant_max_age_secs: u64) -> Result<u64> {
    let per_second = crate::math::mul_div(
        u128::from(target_leverage_ppm),
        u128::from(INSTANT_FEE_FLOOR_PPM_PER_LEVERAGE_SECOND),
        u128::from(PPM),
        crate::math::Rounding::Up,
    )?;
    let floor = per_second.safe_mul(u128::from(instant_max_age_secs))?;
    Ok(u64::try_from(floor).unwrap_or(u64::MAX))
}

impl MarketParams {
    /// [`instant_fee_floor_ppm`] of these parameters.
    pub fn instant_fee_floor_ppm(&self) -> Result<u64> {
        instant_fee_floor_ppm(self.target_leverage_ppm, self.instant_max_age_secs)
    }

    /// Each field against the program's hard bounds and the config's bounds, with its own error.
    pub fn validate(&self, config: &Config) -> Result<()> {
        require!(
            self.target_leverage_ppm >= config.min_leverage_ppm.max(MIN_LEVERAGE_PPM)
                && self.target_leverage_ppm <= config.max_leverage_ppm.min(MAX_LEVERAGE_PPM),
            LeverError::LeverageOutOfBounds
        );
        require!(
            (MIN_BAND_PPM..=MAX_BAND_PPM).contains(&self.band_ppm),
            LeverError::BandOutOfBounds
        );
        let max_fee = config.max_fee_ppm.min(MAX_FEE_PPM);
        for fee in [
            self.mint_fee_ppm,
            self.redeem_fee_ppm,
            self.deposit_fee_ppm,
            self.withdraw_fee_ppm,
        ] {
            require!(fee <= max_fee, LeverError::FeeOutOfBounds);
        }
        require!(
            self.max_price_age_secs >= 1
                && self.max_price_age_secs <= config.max_price_age_secs.min(MAX_PRICE_AGE_SECS),
            LeverError::PriceAgeOutOfBounds
        );
        require!(
            self.max_conf_ppm >= 1 && self.max_conf_ppm <= config.max_conf_ppm.min(MAX_CONF_PPM),
            LeverError::ConfidenceLimitOutOfBounds
        );
        require!(
            (MIN_CONF_MULTIPLIER_PPM..=MAX_CONF_MULTIPLIER_PPM).contains(&self.conf_multiplier_ppm),
            LeverError::ConfMultiplierOutOfBounds
        );
        require!(
            (MIN_MAX_UTILIZATION_PPM..=PPM).contains(&self.max_utilization_ppm),
            LeverError::UtilizationCapOutOfBounds
        );
        require!(
            self.base_rate_ppm <= MAX_BASE_RATE_PPM
                && (MIN_KINK_PPM..=MAX_KINK_PPM).contains(&self.kink_ppm)
                && self.slope1_ppm <= MAX_SLOPE_PPM
                && self.slope2_ppm <= MAX_SLOPE_PPM,
            LeverError::FundingCurveOutOfBounds
        );
        require!(
            (MIN_SETTLE_DELAY_SECS..=MAX_SETTLE_DELAY_SECS).contains(&self.settle_delay_secs),
            LeverError::SettleDelayOutOfBounds
        );
        require!(
            (MIN_SETTLE_WINDOW_SECS..=MAX_SETTLE_WINDOW_SECS).contains(&self.settle_window_secs),
            LeverError::SettleWindowOutOfBounds
        );
        require!(
            self.min_settle_tip_lamports <= MAX_MIN_SETTLE_TIP_LAMPORTS,
            LeverError::SettleTipOutOfBounds
        );
        if self.instant_max_age_secs != 0 {
            require!(
                self.instant_max_age_secs <= MAX_INSTANT_AGE_SECS.min(self.max_price_age_secs)
                    && self.instant_fee_ppm >= self.instant_fee_floor_ppm()?
                    && self.instant_fee_ppm <= max_fee
                    && self.instant_max_conf_ppm >= 1
                    && self.instant_max_conf_ppm <= self.max_conf_ppm
                    && self.instant_slot_cap > 0,
                LeverError::InstantParamsOutOfBounds
            );
        }
        Ok(())
    }

    /// Whether `after` loosens a risk parameter of `self` (README, "Parameter changes"); a
    /// loosening step larger than [`LOOSEN_MAX_FACTOR`] is refused with `LooseningTooLarge`.
    /// Loosening: a longer price age, instant age or settle window, a wider confidence limit
    /// (market or instant) or band, a higher leverage, exposure cap, utilization cap or instant
    /// slot cap; a shorter settle delay, a smaller confidence multiplier or instant fee. The
    /// instant fee, confidence and cap count only while the instant path stays on (switching it on
    /// is the instant age's step from 0). Neutral: the four ordinary fees (revenue: the two-step
    /// path needs none), the funding curve (it moves value between the pools, within hard bounds)
    /// and the minimum tip.
    pub fn loosening(&self, after: &MarketParams) -> Result<bool> {
        let up = |old: u64, new: u64, floor: u64| -> Result<bool> {
            if new <= old {
                return Ok(false);
            }
            let limit = old.saturating_mul(LOOSEN_MAX_FACTOR).max(floor);
            require!(new <= limit, LeverError::LooseningTooLarge);
            Ok(true)
        };
        let down = |old: u64, new: u64| -> Result<bool> {
            if new >= old {
                return Ok(false);
            }
            require!(
                new.saturating_mul(LOOSEN_MAX_FACTOR) >= old,
                LeverError::LooseningTooLarge
            );
            Ok(true)
        };
        let (b, a) = (self, after);
        let mut loosened = [
            up(b.target_leverage_ppm, a.target_leverage_ppm, 0)?,
            up(b.band_ppm, a.band_ppm, 0)?,
            up(
                b.max_price_age_secs,
                a.max_price_age_secs,
                LOOSEN_FLOOR_PRICE_AGE_SECS,
            )?,
            up(b.max_conf_ppm, a.max_conf_ppm, LOOSEN_FLOOR_CONF_PPM)?,
            down(b.conf_multiplier_ppm, a.conf_multiplier_ppm)?,
            up(b.exposure_cap, a.exposure_cap, LOOSEN_FLOOR_CAP_UNITS)?,
            up(b.max_utilization_ppm, a.max_utilization_ppm, 0)?,
            down(b.settle_delay_secs, a.settle_delay_secs)?,
            up(b.settle_window_secs, a.settle_window_secs, 0)?,
            up(
                b.instant_max_age_secs,
                a.instant_max_age_secs,
                LOOSEN_FLOOR_INSTANT_AGE_SECS,
            )?,
        ]
        .contains(&true);
        if b.instant_max_age_secs != 0 && a.instant_max_age_secs != 0 {
            loosened |= [
                down(b.instant_fee_ppm, a.instant_fee_ppm)?,
                up(
                    b.instant_max_conf_ppm,
                    a.instant_max_conf_ppm,
                    LOOSEN_FLOOR_CONF_PPM,
                )?,
                up(b.instant_slot_cap, a.instant_slot_cap, LOOSEN_FLOOR_CAP_UNITS)?,
            ]
            .contains(&true);
        }
        Ok(loosened)
    }
}
