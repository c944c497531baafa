//! The market account (zero-copy): its accounts, parameters, books, last price and statistics, and
//! the state changes instructions make on it (accrue, rebalance, refresh), each deciding its
//! numbers through `math` and writing the result back. Versioned, with reserved bytes and a
//! compile-time size check; its PDA signs for the vault and the share mints.

use anchor_lang::prelude::*;

use super::{Config, WideU128};
use crate::constants::*;
use crate::error::LeverError;
use crate::math::{
    accrue_funding, rebalance, refresh_pool, Accrual, FundingCurve, PoolState, RebalanceResult, RiskParams,
    SafeMath,
};
use crate::oracle::Now;

/// One market: one underlying at one target leverage, its two pools and its parameters.
/// PDA `[MARKET_SEED, underlying_mint, id (u32 LE)]`; it is the authority of the vault and of the
/// LT/FT mints.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Market {
    pub config: Pubkey,
    pub underlying_mint: Pubkey,
    /// SPL Token or Token-2022: the program that owns the underlying mint.
    pub underlying_token_program: Pubkey,
    pub vault: Pubkey,
    pub lt_mint: Pubkey,
    pub ft_mint: Pubkey,
    /// Token account (owner: this market) that holds the seed deposit's FT forever.
    pub locked_ft: Pubkey,
    /// Pyth feed id pinned at creation.
    pub feed_id: [u8; 32],

    // --- parameters (PPM unless named otherwise)
    pub target_leverage_ppm: u64,
    /// Band half-width as a fraction of L.
    pub band_ppm: u64,
    pub mint_fee_ppm: u64,
    pub redeem_fee_ppm: u64,
    pub deposit_fee_ppm: u64,
    pub withdraw_fee_ppm: u64,
    pub max_price_age_secs: u64,
    /// Largest accepted conf / price.
    pub max_conf_ppm: u64,
    /// The confidence interval used for conversions is conf * this / PPM.
    pub conf_multiplier_ppm: u64,
    /// Maximum exposure `N` after a mint (raw units).
    pub exposure_cap: u64,
    pub max_utilization_ppm: u64,
    /// Funding curve (annual rates).
    pub base_rate_ppm: u64,
    pub kink_ppm: u64,
    pub slope1_ppm: u64,
    pub slope2_ppm: u64,

    // --- books
    /// `N` (raw units).
    pub exposure: u64,
    /// `D` (value units, 1e-18 USD).
    pub debt: WideU128,
    /// `I` (raw units).
    pub idle: u64,
    /// Protocol fees held in the vault (raw units).
    pub fee_units: u64,
    pub lt_supply: u64,
    pub ft_supply: u64,

    // --- oracle and clock
    /// Last mid price used (price units: 1e-18 USD per raw unit, scaled 1e18).
    pub last_price: WideU128,
    /// Pyth publish time of the last price used; older updates are refused.
    pub last_publish_time: i64,
    /// Unix time funding was last accrued to.
    pub last_accrual_ts: i64,

    // --- statistics
    pub rebalance_count: u64,
    /// Protocol fees ever charged (raw units).
    pub total_fees: u64,
    /// Funding interest ever accrued (value units).
    pub total_funding: WideU128,
    /// Debt written off in wipe-outs (value units).
    pub total_bad_debt: WideU128,
    pub created_at: i64,

    pub id: u32,
    pub version: u8,
    pub bump: u8,
    pub vault_bump: u8,
    /// Decimals of the underlying (and of LT and FT).
    pub decimals: u8,
    /// Status bits ([`STATUS_WIPED`]).
    pub status: u8,
    /// Pause bits ([`crate::constants::pause`]).
    pub paused: u8,
    pub _padding: [u8; 6],
    /// Clock slot of the last price used: within one slot every instruction must use that same
    /// price, so no transaction can act at two prices (mint at one, post another, redeem).
    pub last_price_slot: u64,

    // --- two-step requests and the instant path (carved from the reserved bytes: every field
    // before them keeps its offset; a market created before reads zeros, i.e. the instant path off
    // and requests refused until the admin sets the parameters)
    /// Seconds from a request to its settlement target `tau`.
    pub settle_delay_secs: u64,
    /// Seconds after `tau` a request may still be settled; then anyone may cancel it.
    pub settle_window_secs: u64,
    /// Smallest settlement tip a request must prepay (lamports).
    pub min_settle_tip_lamports: u64,
    /// Largest age of an update the instant path accepts; 0 turns the instant path off.
    pub instant_max_age_secs: u64,
    /// Fee every instant operation pays at least (PPM), checked against the leverage-and-age floor.
    pub instant_fee_ppm: u64,
    /// Largest conf / price the instant path accepts (a confidence spike closes it).
    pub instant_max_conf_ppm: u64,
    /// Most units instant operations may move in one slot (raw units; u64::MAX for none).
    pub instant_slot_cap: u64,
    /// The slot `instant_slot_units` counts.
    pub instant_slot: u64,
    /// Units instant operations moved in `instant_slot`.
    pub instant_slot_units: u64,

    // --- version 2 (carved from the reserved bytes; a version-1 market reads zeros)
    /// Unix time of the last update that loosened a risk parameter (0: never).
    pub last_loosened_at: i64,
    /// Flag bits fixed at creation ([`crate::constants::market_flags`]).
    pub flags: u8,
    pub _padding2: [u8; 3],
    /// LT epoch: 0 at creation, +1 each time `start_lt_epoch` retires a wiped LT mint that holders
    /// could not all burn and opens the market with a fresh one ([`crate::constants::LT_MINT_SEED`]).
    pub lt_epoch: u32,
    pub _reserved: [u8; 160],
}

impl Market {
    pub const SIZE: usize = 7 * 32
        + 32
        + 15 * 8
        + 8
        + 16
        + 4 * 8
        + 16
        + 2 * 8
        + 2 * 8
        + 2 * 16
        + 8
        + 16
        + 8
        + 9 * 8
        + 8
        + 8
        + 160;
    pub const SPACE: usize = 8 + Self::SIZE;

    pub fn pool(&self) -> PoolState {
        PoolState {
            exposure: self.exposure,
            debt: self.debt.get(),
            idle: self.idle,
            fee_units: self.fee_units,
            lt_supply: self.lt_supply,
            ft_supply: self.ft_supply,
        }
    }

    pub fn set_pool(&mut self, pool: &PoolState) {
        self.exposure = pool.exposure;
        self.debt.set(pool.debt);
        self.idle = pool.idle;
        self.fee_units = pool.fee_units;
        self.lt_supply = pool.lt_supply;
        self.ft_supply = pool.ft_supply;
    }

    pub fn risk_params(&self) -> RiskParams {
        RiskParams {
            target_leverage_ppm: self.target_leverage_ppm,
            band_ppm: self.band_ppm,
            mint_fee_ppm: self.mint_fee_ppm,
            redeem_fee_ppm: self.redeem_fee_ppm,
            deposit_fee_ppm: self.deposit_fee_ppm,
            withdraw_fee_ppm: self.withdraw_fee_ppm,
            exposure_cap: self.exposure_cap,
            max_utilization_ppm: self.max_utilization_ppm,
            curve: FundingCurve {
                base_rate_ppm: self.base_rate_ppm,
                kink_ppm: self.kink_ppm,
                slope1_ppm: self.slope1_ppm,
                slope2_ppm: self.slope2_ppm,
            },
        }
    }

    pub fn params(&self) -> MarketParams {
        MarketParams {
            target_leverage_ppm: self.target_leverage_ppm,
            band_ppm: self.band_ppm,
            mint_fee_ppm: self.mint_fee_ppm,
            redeem_fee_ppm: self.redeem_fee_ppm,
            deposit_fee_ppm: self.deposit_fee_ppm,
            withdraw_fee_ppm: self.withdraw_fee_ppm,
            max_price_age_secs: self.max_price_age_secs,
            max_conf_ppm: self.max_conf_ppm,
            conf_multiplier_ppm: self.conf_multiplier_ppm,
            exposure_cap: self.exposure_cap,
            max_utilization_ppm: self.max_utilization_ppm,
            base_rate_ppm: self.base_rate_ppm,
            kink_ppm: self.kink_ppm,
            slope1_ppm: self.slope1_ppm,
            slope2_ppm: self.slope2_ppm,
            settle_delay_secs: self.settle_delay_secs,
            settle_window_secs: self.settle_window_secs,
            min_settle_tip_lamports: self.min_settle_tip_lamports,
            instant_max_age_secs: self.instant_max_age_secs,
            instant_fee_ppm: self.instant_fee_ppm,
            instant_max_conf_ppm: self.instant_max_conf_ppm,
            instant_slot_cap: self.instant_slot_cap,
        }
    }

    /// `update_market`'s change: the new set against the config's bounds, then the loosening
    /// limits ([`MarketParams::loosening`]); stores it, and the time when it loosens. Returns the
    /// parameters before and after.
    pub fn apply_update(
        &mut self,
        update: &UpdateMarketParams,
        config: &Config,
        now: i64,
    ) -> Result<(MarketParams, MarketParams)> {
        let before = self.params();
        let after = before.apply(update);
        after.validate(config)?;
        if before.loosening(&after)? {
            require!(
                self.last_loosened_at == 0
                    || now >= self.last_loosened_at.saturating_add(LOOSEN_INTERVAL_SECS),
                LeverError::LooseningTooFast
            );
            self.last_loosened_at = now;
        }
        self.store_params(&after);
        Ok((before, after))
    }

    pub fn underlying_freezable(&self) -> bool {
        self.flags & market_flags::UNDERLYING_FREEZABLE != 0
    }

    /// Store parameters that have already passed [`MarketParams::validate`].
    pub fn store_params(&mut self, p: &MarketParams) {
        self.target_leverage_ppm = p.target_leverage_ppm;
        self.band_ppm = p.band_ppm;
        self.mint_fee_ppm = p.mint_fee_ppm;
        self.redeem_fee_ppm = p.redeem_fee_ppm;
        self.deposit_fee_ppm = p.deposit_fee_ppm;
        self.withdraw_fee_ppm = p.withdraw_fee_ppm;
        self.max_price_age_secs = p.max_price_age_secs;
        self.max_conf_ppm = p.max_conf_ppm;
        self.conf_multiplier_ppm = p.conf_multiplier_ppm;
        self.exposure_cap = p.exposure_cap;
        self.max_utilization_ppm = p.max_utilization_ppm;
        self.base_rate_ppm = p.base_rate_ppm;
        self.kink_ppm = p.kink_ppm;
        self.slope1_ppm = p.slope1_ppm;
        self.slope2_ppm = p.slope2_ppm;
        self.settle_delay_secs = p.settle_delay_secs;
        self.settle_window_secs = p.settle_window_secs;
        self.min_settle_tip_lamports = p.min_settle_tip_lamports;
        self.instant_max_age_secs = p.instant_max_age_secs;
        self.instant_fee_ppm = p.instant_fee_ppm;
        self.instant_max_conf_ppm = p.instant_max_conf_ppm;
        self.instant_slot_cap = p.instant_slot_cap;
    }

    /// The parameters the math reads for an operation on the instant path: every fee at least the
    /// instant fee.
    pub fn instant_risk_params(&self) -> RiskParams {
        let mut p = self.risk_params();
        p.mint_fee_ppm = p.mint_fee_ppm.max(self.instant_fee_ppm);
        p.redeem_fee_ppm = p.redeem_fee_ppm.max(self.instant_fee_ppm);
        p.deposit_fee_ppm = p.deposit_fee_ppm.max(self.instant_fee_ppm);
        p.withdraw_fee_ppm = p.withdraw_fee_ppm.max(self.instant_fee_ppm);
        p
    }

    /// Count `units` against the instant path's per-slot cap.
    pub fn use_instant_capacity(&mut self, slot: u64, units: u64) -> Result<()> {
        if self.instant_slot != slot {
            self.instant_slot = slot;
            self.instant_slot_units = 0;
        }
        let used = self.instant_slot_units.safe_add(units)?;
        require!(used <= self.instant_slot_cap, LeverError::InstantSlotCapExceeded);
        self.instant_slot_units = used;
        Ok(())
    }

    pub fn is_wiped(&self) -> bool {
        self.status & STATUS_WIPED != 0
    }

    /// Refuse `op` (one of [`crate::constants::pause`]) while its pause bit is set.
    pub fn require_not_paused(&self, op: u8) -> Result<()> {
        require!(self.paused & op == 0, LeverError::OperationPaused);
        Ok(())
    }

    /// Accrue funding from `last_accrual_ts` to `now` at `price` (mid).
    pub fn accrue(&mut self, price: u128, now: i64) -> Result<Accrual> {
        let elapsed = u64::try_from(now.saturating_sub(self.last_accrual_ts)).unwrap_or(0);
        let (pool, accrual) = accrue_funding(&self.pool(), &self.risk_params().curve, price, elapsed)?;
        self.set_pool(&pool);
        if now > self.last_accrual_ts {
            self.last_accrual_ts = now;
        }
        let total = self.total_funding.get().safe_add(accrual.interest)?;
        self.total_funding.set(total);
        Ok(accrual)
    }

    /// Rebalance (or wipe) at `price` (mid), updating books and statistics.
    pub fn rebalance(&mut self, price: u128) -> Result<RebalanceResult> {
        let (pool, result) = rebalance(&self.pool(), &self.risk_params(), price)?;
        self.set_pool(&pool);
        self.count_rebalance(&result);
        if result.wiped {
            self.record_bad_debt(result.bad_debt)?;
        }
        Ok(result)
    }

    /// The statistics and the status bit of a rebalance that ran: a wipe-out closes LT mints.
    fn count_rebalance(&mut self, result: &RebalanceResult) {
        self.rebalance_count = self.rebalance_count.saturating_add(1);
        if result.wiped {
            self.status |= STATUS_WIPED;
        }
    }

    /// Add a written-off debt to the statistics.
    fn record_bad_debt(&mut self, bad_debt: u128) -> Result<()> {
        let total = self.total_bad_debt.get().safe_add(bad_debt)?;
        self.total_bad_debt.set(total);
        Ok(())
    }

    /// Record a validated price as the last one used (and the slot it was used in) and accrue
    /// funding up to `now` at it.
    pub fn observe(&mut self, price: u128, publish_time: i64, now: Now) -> Result<Accrual> {
        self.last_price.set(price);
        self.last_publish_time = publish_time;
        self.last_price_slot = now.slot;
        self.accrue(price, now.unix_timestamp)
    }

    /// What every price-reading instruction does first: record the price, accrue funding at it,
    /// then apply [`refresh_pool`]'s decision: a position left with no LT holders is settled into
    /// idle, and (when `rebalance` is allowed) an out-of-band (or insolvent) market is brought back
    /// into band.
    pub fn refresh(&mut self, price: u128, publish_time: i64, now: Now, rebalance: bool) -> Result<Refresh> {
        let accrual = self.observe(price, publish_time, now)?;
        let decided = refresh_pool(
            &self.pool(),
            &self.risk_params(),
            price,
            rebalance,
            self.total_bad_debt.get(),
        )?;
        self.set_pool(&decided.pool_after);
        self.total_bad_debt.set(decided.total_bad_debt);
        if let Some(result) = &decided.rebalance {
            self.count_rebalance(result);
        }
        Ok(Refresh {
            accrual,
            settled: decided.settled,
            pool_after_accrual: decided.pool_after_accrual,
            rebalance: decided.rebalance,
            pool_after: decided.pool_after,
        })
    }
}

impl Market {
    /// [`Market::refresh`] for a settlement whose price is older than the one the books last used:
    /// the books keep their newest price, accrue funding at it, and only settle a position left
    /// with no LT holders (no rebalance).
    pub fn refresh_at_last_price(&mut self, now: Now) -> Result<Refresh> {
        let price = self.last_price.get();
        let accrual = self.accrue(price, now.unix_timestamp)?;
        let decided = refresh_pool(
            &self.pool(),
            &self.risk_params(),
            price,
            false,
            self.total_bad_debt.get(),
        )?;
        self.set_pool(&decided.pool_after);
        self.total_bad_debt.set(decided.total_bad_debt);
        Ok(Refresh {
            accrual,
            settled: decided.settled,
            pool_after_accrual: decided.pool_after_accrual,
            rebalance: decided.rebalance,
            pool_after: decided.pool_after,
        })
    }
}

/// Outcome of [`Market::refresh`].
#[derive(Clone, Copy, Debug)]
pub struct Refresh {
    pub accrual: Accrual,
    /// A position with no LT holders, closed into idle (see [`Market::refresh`]).
    pub settled: Option<RebalanceResult>,
    pub pool_after_accrual: PoolState,
    pub rebalance: Option<RebalanceResult>,
    pub pool_after: PoolState,
}

const _: () = assert!(core::mem::size_of::<Market>() == Market::SIZE);

/// Every tunable parameter of a market (PPM unless named otherwise).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketParams {
    /// Target leverage L (3x = 3_000_000).
    pub target_leverage_ppm: u64,
    /// Band half-width as a fraction of L (5% = 50_000).
    pub band_ppm: u64,
    pub mint_fee_ppm: u64,
    pub redeem_fee_ppm: u64,
    pub deposit_fee_ppm: u64,
    pub withdraw_fee_ppm: u64,
    /// Seconds.
    pub max_price_age_secs: u64,
    pub max_conf_ppm: u64,
    /// 1x = 1_000_000.
    pub conf_multiplier_ppm: u64,
    /// Raw units; u64::MAX for none.
    pub exposure_cap: u64,
    pub max_utilization_ppm: u64,
    pub base_rate_ppm: u64,
    pub kink_ppm: u64,
    pub slope1_ppm: u64,
    pub slope2_ppm: u64,
    /// Seconds from a request to its settlement target `tau` (allow for the chain's clock lag).
    pub settle_delay_secs: u64,
    /// Seconds after `tau` a request may still be settled; then anyone may cancel it.
    pub settle_window_secs: u64,
    /// Smallest settlement tip a request must prepay (lamports).
    pub min_settle_tip_lamports: u64,
    /// Largest age of an update the instant path accepts (seconds); 0 turns the instant path off.
    pub instant_max_age_secs: u64,
    /// Fee every instant operation pays at least; at least [`MarketParams::instant_fee_floor_ppm`].
    pub instant_fee_ppm: u64,
    /// Largest conf / price the instant path accepts.
    pub instant_max_conf_ppm: u64,
    /// Most units instant operations may move in one slot (raw units; u64::MAX for none).
    pub instant_slot_cap: u64,
}

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

    /// Apply the fields that are set in `u`.
    pub fn apply(&self, u: &UpdateMarketParams) -> MarketParams {
        MarketParams {
            target_leverage_ppm: u.target_leverage_ppm.unwrap_or(self.target_leverage_ppm),
            band_ppm: u.band_ppm.unwrap_or(self.band_ppm),
            mint_fee_ppm: u.mint_fee_ppm.unwrap_or(self.mint_fee_ppm),
            redeem_fee_ppm: u.redeem_fee_ppm.unwrap_or(self.redeem_fee_ppm),
            deposit_fee_ppm: u.deposit_fee_ppm.unwrap_or(self.deposit_fee_ppm),
            withdraw_fee_ppm: u.withdraw_fee_ppm.unwrap_or(self.withdraw_fee_ppm),
            max_price_age_secs: u.max_price_age_secs.unwrap_or(self.max_price_age_secs),
            max_conf_ppm: u.max_conf_ppm.unwrap_or(self.max_conf_ppm),
            conf_multiplier_ppm: u.conf_multiplier_ppm.unwrap_or(self.conf_multiplier_ppm),
            exposure_cap: u.exposure_cap.unwrap_or(self.exposure_cap),
            max_utilization_ppm: u.max_utilization_ppm.unwrap_or(self.max_utilization_ppm),
            base_rate_ppm: u.base_rate_ppm.unwrap_or(self.base_rate_ppm),
            kink_ppm: u.kink_ppm.unwrap_or(self.kink_ppm),
            slope1_ppm: u.slope1_ppm.unwrap_or(self.slope1_ppm),
            slope2_ppm: u.slope2_ppm.unwrap_or(self.slope2_ppm),
            settle_delay_secs: u.settle_delay_secs.unwrap_or(self.settle_delay_secs),
            settle_window_secs: u.settle_window_secs.unwrap_or(self.settle_window_secs),
            min_settle_tip_lamports: u.min_settle_tip_lamports.unwrap_or(self.min_settle_tip_lamports),
            instant_max_age_secs: u.instant_max_age_secs.unwrap_or(self.instant_max_age_secs),
            instant_fee_ppm: u.instant_fee_ppm.unwrap_or(self.instant_fee_ppm),
            instant_max_conf_ppm: u.instant_max_conf_ppm.unwrap_or(self.instant_max_conf_ppm),
            instant_slot_cap: u.instant_slot_cap.unwrap_or(self.instant_slot_cap),
        }
    }
}

/// A parameter update: each field set is changed (and checked), each `None` is kept.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateMarketParams {
    pub target_leverage_ppm: Option<u64>,
    pub band_ppm: Option<u64>,
    pub mint_fee_ppm: Option<u64>,
    pub redeem_fee_ppm: Option<u64>,
    pub deposit_fee_ppm: Option<u64>,
    pub withdraw_fee_ppm: Option<u64>,
    pub max_price_age_secs: Option<u64>,
    pub max_conf_ppm: Option<u64>,
    pub conf_multiplier_ppm: Option<u64>,
    pub exposure_cap: Option<u64>,
    pub max_utilization_ppm: Option<u64>,
    pub base_rate_ppm: Option<u64>,
    pub kink_ppm: Option<u64>,
    pub slope1_ppm: Option<u64>,
    pub slope2_ppm: Option<u64>,
    pub settle_delay_secs: Option<u64>,
    pub settle_window_secs: Option<u64>,
    pub min_settle_tip_lamports: Option<u64>,
    pub instant_max_age_secs: Option<u64>,
    pub instant_fee_ppm: Option<u64>,
    pub instant_max_conf_ppm: Option<u64>,
    pub instant_slot_cap: Option<u64>,
}
