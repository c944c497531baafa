//! Seeds, precisions and the hard bounds every parameter is checked against.

/// PDA seed of the protocol config (one per program).
pub const CONFIG_SEED: &[u8] = b"config";
/// PDA seed of a market: `[MARKET_SEED, underlying_mint, id (u32 LE)]`.
pub const MARKET_SEED: &[u8] = b"market";
/// PDA seed of a market's vault token account: `[VAULT_SEED, market]`.
pub const VAULT_SEED: &[u8] = b"vault";
/// PDA seed of a market's leveraged-token mint: `[LT_MINT_SEED, market]` for epoch 0, then
/// `[LT_MINT_SEED, market, epoch (u32 LE)]` for each later epoch (`start_lt_epoch`).
pub const LT_MINT_SEED: &[u8] = b"lt_mint";
/// PDA seed of a market's funding-token mint: `[FT_MINT_SEED, market]`.
pub const FT_MINT_SEED: &[u8] = b"ft_mint";
/// PDA seed of the token account that holds the seed deposit's FT forever: `[LOCKED_FT_SEED, market]`.
pub const LOCKED_FT_SEED: &[u8] = b"locked_ft";
/// PDA seed of a two-step request: `[REQUEST_SEED, market, owner, nonce (u64 LE)]`.
pub const REQUEST_SEED: &[u8] = b"request";
/// PDA seed of a request's escrow token account (authority: the market): `[ESCROW_SEED, request]`.
pub const ESCROW_SEED: &[u8] = b"escrow";

/// Parts per million: the unit of leverage, band, fees, utilization, confidence and rates.
pub const PPM: u64 = 1_000_000;
/// USD values (debt, equity) are stored in units of 1e-18 USD.
pub const VALUE_DECIMALS: u32 = 18;
/// A price is "value units per raw token unit", scaled by 1e18 (so USD * 1e36 per raw unit).
pub const PRICE_SCALE: u128 = 1_000_000_000_000_000_000;
/// Decimal exponent that turns a Pyth mantissa into a price: price = mantissa * 10^(expo + 36 - decimals).
pub const PRICE_EXPONENT_OFFSET: i32 = 36;
/// Seconds in the 365-day year that annual funding rates refer to.
pub const SECONDS_PER_YEAR: u64 = 31_536_000;

/// Hard bounds, fixed in the program; the config narrows them, a market lives inside the config's.
pub const MIN_LEVERAGE_PPM: u64 = 2 * PPM;
pub const MAX_LEVERAGE_PPM: u64 = 10 * PPM;
/// Band as a fraction of L: 0.5% to 50%.
pub const MIN_BAND_PPM: u64 = 5_000;
pub const MAX_BAND_PPM: u64 = 500_000;
/// No single fee can exceed 5%.
pub const MAX_FEE_PPM: u64 = 50_000;
/// A price may be at most one day old whatever the market says.
pub const MAX_PRICE_AGE_SECS: u64 = 86_400;
/// Two-step requests settle at the one Pyth update covering `tau = request time + settle delay`.
/// The delay must exceed how far the chain's clock may lag real time plus the oracle's latency, or
/// the price at `tau` would already be public when the request lands (README, "Prices nobody can
/// choose"): at least 2 s, at most 5 minutes.
pub const MIN_SETTLE_DELAY_SECS: u64 = 2;
pub const MAX_SETTLE_DELAY_SECS: u64 = 300;
/// How long after `tau` a request may still be settled; after that anyone may cancel it.
pub const MIN_SETTLE_WINDOW_SECS: u64 = 30;
pub const MAX_SETTLE_WINDOW_SECS: u64 = 86_400;
/// Largest settlement tip a market may require (lamports): 0.01 SOL.
pub const MAX_MIN_SETTLE_TIP_LAMPORTS: u64 = 10_000_000;
/// The instant path (one transaction, the caller brings the update) accepts updates at most this old.
pub const MAX_INSTANT_AGE_SECS: u64 = 30;
/// The instant path's fee floor: an instant fee must be at least `leverage (x) * instant age (s) *
/// this` PPM, because whoever sees prices first can pick any update of that window, and the value
/// they take grows with leverage times the move over the window (SECURITY.md, "Prices nobody can
/// choose"). A floor no admin can go below; the calibrated per-market fees
/// (`migrations/markets.toml`) sit above it.
pub const INSTANT_FEE_FLOOR_PPM_PER_LEVERAGE_SECOND: u64 = 100;
/// Confidence may be at most 10% of the price.
pub const MAX_CONF_PPM: u64 = 100_000;
/// The confidence interval may be widened up to 10x (1x = PPM means "as published").
pub const MIN_CONF_MULTIPLIER_PPM: u64 = PPM;
pub const MAX_CONF_MULTIPLIER_PPM: u64 = 10 * PPM;
/// Funding curve: base rate up to 100%/year, slopes up to 1000%/year each.
pub const MAX_BASE_RATE_PPM: u64 = PPM;
pub const MAX_SLOPE_PPM: u64 = 10 * PPM;
/// The kink sits strictly inside (1%, 99%) utilization.
pub const MIN_KINK_PPM: u64 = 10_000;
pub const MAX_KINK_PPM: u64 = 990_000;
/// A market's utilization cap must allow at least 10% utilization.
pub const MIN_MAX_UTILIZATION_PPM: u64 = 100_000;
/// Smallest seed deposit (raw units) the config may require at market creation.
pub const MIN_SEED_UNITS: u64 = 1_000;
/// Metadata lengths accepted for the LT/FT mints.
pub const MAX_NAME_LEN: usize = 32;
pub const MAX_SYMBOL_LEN: usize = 10;
pub const MAX_URI_LEN: usize = 200;

/// Current layout versions of the zero-copy accounts. Market version 3 stores the parameters as
/// one block (`StoredMarketParams`), which moved the fields after it; every instruction refuses
/// a market of another version (`UnsupportedMarketVersion`). No earlier market was ever deployed.
pub const CONFIG_VERSION: u8 = 1;
pub const MARKET_VERSION: u8 = 3;

/// Market status bits.
pub const STATUS_WIPED: u8 = 1 << 0;

/// Market flag bits, fixed at creation.
pub mod market_flags {
    /// The underlying mint has a freeze authority, accepted by the admin at creation
    /// (`CreateMarketArgs::allow_freeze_authority`): its issuer can freeze the vault.
    pub const UNDERLYING_FREEZABLE: u8 = 1 << 0;
}

/// Loosening a risk parameter (README, "Parameter changes"): each update may move a parameter by
/// at most this factor in the loosening direction (x2 up, /2 down), and loosening updates are at
/// least this far apart. Tightening is always immediate.
pub const LOOSEN_MAX_FACTOR: u64 = 2;
pub const LOOSEN_INTERVAL_SECS: i64 = 86_400;
/// The least a loosening step may reach from a small value (so a zero or tiny value can start):
/// a maximum price age may go to 60 s, a confidence limit to 1%, an instant age to 2 s, a cap to
/// this many raw units.
pub const LOOSEN_FLOOR_PRICE_AGE_SECS: u64 = 60;
pub const LOOSEN_FLOOR_CONF_PPM: u64 = 10_000;
pub const LOOSEN_FLOOR_INSTANT_AGE_SECS: u64 = 2;
pub const LOOSEN_FLOOR_CAP_UNITS: u64 = MIN_SEED_UNITS;

/// Pause bits, one per operation.
pub mod pause {
    pub const MINT_LT: u8 = 1 << 0;
    pub const REDEEM_LT: u8 = 1 << 1;
    pub const DEPOSIT_FUNDING: u8 = 1 << 2;
    pub const WITHDRAW_FUNDING: u8 = 1 << 3;
    pub const REBALANCE: u8 = 1 << 4;
    pub const ALL: u8 = MINT_LT | REDEEM_LT | DEPOSIT_FUNDING | WITHDRAW_FUNDING | REBALANCE;
}
