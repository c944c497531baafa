//! One event per state change, emitted through `emit_cpi!` (a self-CPI that indexers and native
//! tests can read). Units: raw token units unless named; `value` fields are 1e-18 USD; prices are
//! value units per raw unit scaled by 1e18; ratios are PPM.

use anchor_lang::prelude::*;

use crate::math::PoolState;
use crate::state::{ConfigBounds, MarketParams, RequestKind, ShareKind};

/// The books after a change.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSnapshot {
    /// N (raw units).
    pub exposure: u64,
    /// D (value units).
    pub debt: u128,
    /// I (raw units).
    pub idle: u64,
    /// Protocol fee units in the vault.
    pub fee_units: u64,
    pub lt_supply: u64,
    pub ft_supply: u64,
}

impl From<PoolState> for PoolSnapshot {
    fn from(p: PoolState) -> Self {
        Self {
            exposure: p.exposure,
            debt: p.debt,
            idle: p.idle,
            fee_units: p.fee_units,
            lt_supply: p.lt_supply,
            ft_supply: p.ft_supply,
        }
    }
}

#[event]
pub struct ConfigInitialized {
    pub admin: Pubkey,
    pub pause_authority: Pubkey,
    pub fee_receiver: Pubkey,
    pub bounds: ConfigBounds,
}

#[event]
pub struct ConfigUpdated {
    pub pause_authority: Pubkey,
    pub fee_receiver: Pubkey,
    pub bounds: ConfigBounds,
}

#[event]
pub struct AdminTransferStarted {
    pub admin: Pubkey,
    pub pending_admin: Pubkey,
}

#[event]
pub struct AdminTransferAccepted {
    pub previous_admin: Pubkey,
    pub admin: Pubkey,
}

#[event]
pub struct MarketCreated {
    pub market: Pubkey,
    pub underlying_mint: Pubkey,
    pub id: u32,
    pub feed_id: [u8; 32],
    pub lt_mint: Pubkey,
    pub ft_mint: Pubkey,
    pub params: MarketParams,
    /// Units of the seed deposit (their FT is locked in `locked_ft`).
    pub seed_units: u64,
    pub pool: PoolSnapshot,
}

#[event]
pub struct MarketParamsUpdated {
    pub market: Pubkey,
    pub before: MarketParams,
    pub after: MarketParams,
    pub pool: PoolSnapshot,
}

#[event]
pub struct MarketPauseChanged {
    pub market: Pubkey,
    pub by: Pubkey,
    pub paused_before: u8,
    pub paused_after: u8,
}

#[event]
pub struct MarketReopened {
    pub market: Pubkey,
    pub pool: PoolSnapshot,
}

/// A wiped market re-opened with a fresh LT mint; the retired mint's outstanding LT (worth
/// nothing: the pool was wiped out) is no longer accepted by any instruction.
#[event]
pub struct LtEpochStarted {
    pub market: Pubkey,
    pub epoch: u32,
    pub retired_lt_mint: Pubkey,
    /// Retired LT still held when the epoch started (raw units).
    pub retired_supply: u64,
    pub lt_mint: Pubkey,
    pub pool: PoolSnapshot,
}

/// A live market's LT re-based onto a fresh mint: `ratio` retired raw LT per new raw LT, converted
/// by each holder with `convert_retired_lt`.
#[event]
pub struct LtRebased {
    pub market: Pubkey,
    pub epoch: u32,
    pub ratio: u64,
    pub retired_lt_mint: Pubkey,
    /// Retired LT outstanding at the re-base (raw units).
    pub retired_supply: u64,
    pub lt_mint: Pubkey,
    pub pool: PoolSnapshot,
}

/// A share mint's token metadata changed by the admin (`update_share_metadata`): every field as the
/// mint holds it after the change, whether it was given or kept.
#[event]
pub struct ShareMetadataUpdated {
    pub market: Pubkey,
    pub mint: Pubkey,
    pub share: ShareKind,
    pub name: String,
    pub symbol: String,
    pub uri: String,
}

#[event]
pub struct RetiredLtConverted {
    pub market: Pubkey,
    pub owner: Pubkey,
    pub retired_lt_mint: Pubkey,
    pub retired_in: u64,
    pub lt_out: u64,
    pub pool: PoolSnapshot,
}

#[event]
pub struct FeesWithdrawn {
    pub market: Pubkey,
    pub destination: Pubkey,
    pub units: u64,
    pub pool: PoolSnapshot,
}

/// Funding interest moved from LT equity to the funding pool.
#[event]
pub struct FundingAccrued {
    pub market: Pubkey,
    /// Interest added to D (value units).
    pub interest: u128,
    /// Annual rate applied (PPM).
    pub rate_ppm: u64,
    pub utilization_ppm: u64,
    /// Seconds accrued.
    pub elapsed: u64,
    pub price: u128,
    pub pool: PoolSnapshot,
}

#[event]
pub struct Rebalanced {
    pub market: Pubkey,
    /// Who called: a keeper, or a user whose instruction brought the market back into band.
    pub caller: Pubkey,
    /// True when done inside mint/redeem/deposit/withdraw rather than by `rebalance`.
    pub automatic: bool,
    /// Mid price used.
    pub price: u128,
    pub leverage_before_ppm: u128,
    pub leverage_after_ppm: u128,
    pub units_to_pool: u64,
    pub units_to_idle: u64,
    /// The move up was cut short by idle units; leverage is below target.
    pub bounded: bool,
    /// E <= 0: the leveraged pool was wiped out.
    pub wiped: bool,
    /// Debt written off in a wipe-out (value units).
    pub bad_debt: u128,
    pub pool: PoolSnapshot,
}

#[event]
pub struct LtMinted {
    pub market: Pubkey,
    pub user: Pubkey,
    pub units_in: u64,
    pub fee_units: u64,
    pub shares_out: u64,
    pub from_idle: u64,
    pub debt_added: u128,
    /// Upper end of the interval, used for the conversion.
    pub price: u128,
    pub pool: PoolSnapshot,
}

#[event]
pub struct LtRedeemed {
    pub market: Pubkey,
    pub user: Pubkey,
    pub shares_in: u64,
    pub units_out: u64,
    pub fee_units: u64,
    pub to_idle: u64,
    pub debt_removed: u128,
    /// Lower end of the interval, used for the conversion.
    pub price: u128,
    pub pool: PoolSnapshot,
}

#[event]
pub struct FundingDeposited {
    pub market: Pubkey,
    pub user: Pubkey,
    pub units_in: u64,
    pub fee_units: u64,
    pub shares_out: u64,
    /// Lower end of the interval.
    pub price: u128,
    pub pool: PoolSnapshot,
}

#[event]
pub struct FundingWithdrawn {
    pub market: Pubkey,
    pub user: Pubkey,
    pub shares_in: u64,
    pub units_out: u64,
    pub fee_units: u64,
    /// Upper end of the interval.
    pub price: u128,
    pub pool: PoolSnapshot,
}

/// A two-step request was opened: its input is in escrow until `settle_request` or
/// `cancel_request`.
#[event]
pub struct RequestOpened {
    pub market: Pubkey,
    pub request: Pubkey,
    pub owner: Pubkey,
    pub payer: Pubkey,
    pub kind: RequestKind,
    /// Input in escrow (units or shares).
    pub amount: u64,
    pub min_out: u64,
    pub destination: Pubkey,
    pub requested_at: i64,
    /// Settlement target time.
    pub tau: i64,
    pub expires_at: i64,
    pub tip_lamports: u64,
}

/// A request was settled at the update covering its target time: filled, or refunded (with the
/// error code that refused it, e.g. `SlippageExceeded`).
#[event]
pub struct RequestSettled {
    pub market: Pubkey,
    pub request: Pubkey,
    pub owner: Pubkey,
    pub settler: Pubkey,
    pub kind: RequestKind,
    pub filled: bool,
    /// 0 when filled; else the `LeverError` code that refused the operation.
    pub refund_code: u32,
    /// Input consumed (0 on a refund) and output paid (shares or units).
    pub amount_in: u64,
    pub amount_out: u64,
    pub fee_units: u64,
    /// The end of the interval the conversion used (0 on a refund).
    pub price: u128,
    pub publish_time: i64,
    pub tau: i64,
    pub tip_lamports: u64,
}

/// An expired request was cancelled: the escrow went back to the owner, the tip to the canceller.
#[event]
pub struct RequestCancelled {
    pub market: Pubkey,
    pub request: Pubkey,
    pub owner: Pubkey,
    pub canceller: Pubkey,
    pub kind: RequestKind,
    pub amount_refunded: u64,
    pub tip_lamports: u64,
}
