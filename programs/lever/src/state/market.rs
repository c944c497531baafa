//! The market account (zero-copy): its accounts, parameters, books, last price and statistics, and
//! the state changes instructions make on it (accrue, rebalance, refresh), each deciding its
//! numbers through `math` and writing the result back. Versioned, with reserved bytes and a
//! compile-time size check; its PDA signs for the vault and the share mints.

use anchor_lang::prelude::*;

use super::{Config, MarketParams, StoredMarketParams, UpdateMarketParams, WideU128};
use crate::constants::*;
use crate::error::LeverError;
use crate::math::{
    accrue_funding, rebalance, refresh_pool, Accrual, FundingCurve, PoolState, RebalanceResult, RiskParams,
    SafeMath,
};
use crate::oracle::{Now, ValidPrice};

/// One of a market's two share tokens.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareKind {
    /// The leveraged token (the market's current `lt_mint`).
    Lt,
    /// The funding token (`ft_mint`).
    Ft,
}

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

    /// Every tunable parameter ([`MarketParams`]; changed only by `update_market`).
    pub params: StoredMarketParams,

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
    /// The slot a chosen price (a rebalance's, the instant path's) last pinned: within it every
    /// chosen price must be `pinned_price` of `pinned_publish_time`, so no transaction acts at two
    /// prices it picked (mint at one, post another, redeem), a settlement between them or not.
    pub last_price_slot: u64,

    // --- the instant path's use of the current slot
    /// The slot `instant_slot_units` counts.
    pub instant_slot: u64,
    /// Units instant operations moved in `instant_slot`.
    pub instant_slot_units: u64,

    // --- added in version 2
    /// Unix time of the last update that loosened a risk parameter (0: never).
    pub last_loosened_at: i64,
    /// Flag bits fixed at creation ([`crate::constants::market_flags`]).
    pub flags: u8,
    pub _padding2: [u8; 3],
    /// LT epoch: 0 at creation, +1 each time `start_lt_epoch` retires a wiped LT mint that holders
    /// could not all burn and opens the market with a fresh one ([`crate::constants::LT_MINT_SEED`]).
    pub lt_epoch: u32,
    /// The price and publish time that pinned `last_price_slot` (the books' `last_price` may have
    /// moved on since, through a settlement: nobody chose that one).
    pub pinned_price: WideU128,
    pub pinned_publish_time: i64,
    /// The LT mint a re-base retired (`rebase_lt`) while its holders convert it
    /// (`convert_retired_lt`); the default key for none.
    pub retired_lt_mint: Pubkey,
    /// Retired raw LT per current raw LT (0 for none).
    pub retired_lt_ratio: u64,
    /// Retired raw LT not converted yet. `lt_supply` counts it as [`Market::retired_lt_claim`]
    /// current LT, so every NAV per share sees it.
    pub retired_lt_outstanding: u64,
    pub _reserved: [u8; 88],
}

impl Market {
    pub const SIZE: usize = 7 * 32 // keys
        + 32 // feed id
        + core::mem::size_of::<StoredMarketParams>()
        + 8 + 16 + 4 * 8 // books
        + 16 + 2 * 8 // last price, publish time, accrual time
        + 2 * 8 + 2 * 16 + 8 // statistics
        + 16 // id, version, bumps, decimals, status, pause bits, padding
        + 8 // last price slot
        + 2 * 8 // instant slot and units
        + 8 + 8 // last loosened, flags, padding, LT epoch
        + 16 + 8 // pinned price and publish time
        + 32 + 8 + 8 // retired LT mint, ratio, outstanding
        + 88;
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
        let p = &self.params;
        RiskParams {
            target_leverage_ppm: p.target_leverage_ppm,
            band_ppm: p.band_ppm,
            mint_fee_ppm: p.mint_fee_ppm,
            redeem_fee_ppm: p.redeem_fee_ppm,
            deposit_fee_ppm: p.deposit_fee_ppm,
            withdraw_fee_ppm: p.withdraw_fee_ppm,
            exposure_cap: p.exposure_cap,
            max_utilization_ppm: p.max_utilization_ppm,
            curve: FundingCurve {
                base_rate_ppm: p.base_rate_ppm,
                kink_ppm: p.kink_ppm,
                slope1_ppm: p.slope1_ppm,
                slope2_ppm: p.slope2_ppm,
            },
        }
    }

    pub fn params(&self) -> MarketParams {
        self.params.into()
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
        self.params = (*p).into();
    }

    /// The parameters the math reads for an operation on the instant path: every fee at least the
    /// instant fee.
    pub fn instant_risk_params(&self) -> RiskParams {
        let mut p = self.risk_params();
        let instant_fee = self.params.instant_fee_ppm;
        p.mint_fee_ppm = p.mint_fee_ppm.max(instant_fee);
        p.redeem_fee_ppm = p.redeem_fee_ppm.max(instant_fee);
        p.deposit_fee_ppm = p.deposit_fee_ppm.max(instant_fee);
        p.withdraw_fee_ppm = p.withdraw_fee_ppm.max(instant_fee);
        p
    }

    /// Count `units` against the instant path's per-slot cap.
    pub fn use_instant_capacity(&mut self, slot: u64, units: u64) -> Result<()> {
        if self.instant_slot != slot {
            self.instant_slot = slot;
            self.instant_slot_units = 0;
        }
        let used = self.instant_slot_units.safe_add(units)?;
        require!(
            used <= self.params.instant_slot_cap,
            LeverError::InstantSlotCapExceeded
        );
        self.instant_slot_units = used;
        Ok(())
    }

    /// What the retired LT not converted yet counts for in current LT: its outstanding raw units
    /// over the ratio, rounded up (the books count at least every claim; a conversion pays each
    /// holder its claim rounded down, so the rounding stays with the holders who remain).
    pub fn retired_lt_claim(&self) -> Result<u64> {
        if self.retired_lt_ratio == 0 {
            return Ok(0);
        }
        Ok(self.retired_lt_outstanding.div_ceil(self.retired_lt_ratio))
    }

    /// Whether this account has the layout this program reads ([`MARKET_VERSION`]); every
    /// instruction that takes a market requires it (`UnsupportedMarketVersion`).
    pub fn is_current_version(&self) -> bool {
        self.version == MARKET_VERSION
    }

    /// The market's current mint of `share` (`lt_mint` or `ft_mint`).
    pub fn share_mint(&self, share: ShareKind) -> Pubkey {
        match share {
            ShareKind::Lt => self.lt_mint,
            ShareKind::Ft => self.ft_mint,
        }
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

    /// Record a validated price as the last one used and accrue funding up to `now` at it. A
    /// `chosen` price (a rebalance's, the instant path's) also pins the slot to it: see
    /// [`crate::oracle::ValidPrice::chosen`].
    pub fn observe(&mut self, price: u128, publish_time: i64, now: Now, chosen: bool) -> Result<Accrual> {
        self.last_price.set(price);
        self.last_publish_time = publish_time;
        if chosen {
            self.last_price_slot = now.slot;
            self.pinned_price.set(price);
            self.pinned_publish_time = publish_time;
        }
        self.accrue(price, now.unix_timestamp)
    }

    /// What every price-reading instruction does first: record the price, accrue funding at it,
    /// then apply [`refresh_pool`]'s decision: a position left with no LT holders is settled into
    /// idle, and (when `rebalance` is allowed) an out-of-band (or insolvent) market is brought back
    /// into band.
    pub fn refresh(&mut self, price: &ValidPrice, now: Now) -> Result<Refresh> {
        let (mid, rebalance) = (price.band.mid, !price.stale);
        let accrual = self.observe(mid, price.publish_time, now, price.chosen)?;
        let price = mid;
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
