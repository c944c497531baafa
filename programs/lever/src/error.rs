//! The program's one error enum. Append-only: Anchor numbers the variants from 6000 in order, and
//! clients, tests and composing programs match on those codes, so a variant is never removed or
//! moved. Each has a `#[msg]`; the section comments group them by what they guard.

use anchor_lang::prelude::*;

/// Every error the program returns. Append-only: codes are part of the interface.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum LeverError {
    // --- access (6000..)
    #[msg("Signer is not allowed to perform this action")]
    Unauthorized,
    #[msg("Signer is not the pending admin")]
    NotPendingAdmin,
    #[msg("Operation is paused for this market")]
    OperationPaused,
    #[msg("Pause authority may only add pause bits")]
    PauseAuthorityCannotUnpause,
    // --- parameters
    #[msg("Target leverage is outside the allowed bounds")]
    LeverageOutOfBounds,
    #[msg("Rebalance band is outside the allowed bounds")]
    BandOutOfBounds,
    #[msg("Fee is above the allowed maximum")]
    FeeOutOfBounds,
    #[msg("Maximum price age is outside the allowed bounds")]
    PriceAgeOutOfBounds,
    #[msg("Confidence limit is outside the allowed bounds")]
    ConfidenceLimitOutOfBounds,
    #[msg("Confidence multiplier is outside the allowed bounds")]
    ConfMultiplierOutOfBounds,
    #[msg("Funding curve parameter is outside the allowed bounds")]
    FundingCurveOutOfBounds,
    #[msg("Utilization cap is outside the allowed bounds")]
    UtilizationCapOutOfBounds,
    #[msg("Seed deposit is below the configured minimum")]
    SeedTooSmall,
    #[msg("Config bounds are inconsistent or outside the program's hard bounds")]
    ConfigBoundsInvalid,
    #[msg("Name, symbol or uri is empty or too long")]
    InvalidMetadata,
    // --- underlying mint
    #[msg("Underlying mint has a transfer fee")]
    MintHasTransferFee,
    #[msg("Underlying mint has a transfer hook")]
    MintHasTransferHook,
    #[msg("Underlying mint has a permanent delegate")]
    MintHasPermanentDelegate,
    #[msg("Underlying mint is non-transferable")]
    MintIsNonTransferable,
    #[msg("Underlying mint has confidential transfers")]
    MintHasConfidentialTransfer,
    #[msg("Underlying mint freezes new accounts by default")]
    MintDefaultFrozen,
    #[msg("Underlying mint has a close authority")]
    MintHasCloseAuthority,
    #[msg("Underlying mint is pausable")]
    MintIsPausable,
    #[msg("Underlying mint has an extension this program does not support")]
    UnsupportedMintExtension,
    // --- accounts
    #[msg("Vault does not belong to this market")]
    VaultMismatch,
    #[msg("LT mint does not belong to this market")]
    LtMintMismatch,
    #[msg("FT mint does not belong to this market")]
    FtMintMismatch,
    #[msg("Underlying mint does not belong to this market")]
    UnderlyingMintMismatch,
    #[msg("Token program does not match the market's underlying token program")]
    TokenProgramMismatch,
    #[msg("Config does not belong to this market")]
    ConfigMismatch,
    #[msg("Fee destination is not owned by the config's fee receiver")]
    FeeDestinationMismatch,
    // --- oracle
    #[msg("Price update is for another feed")]
    PriceFeedMismatch,
    #[msg("Price update is older than the market's maximum age")]
    PriceTooOld,
    #[msg("Price update is not fully verified")]
    PriceNotFullyVerified,
    #[msg("Price confidence is wider than the market allows")]
    PriceConfidenceTooWide,
    #[msg("Price is zero or negative")]
    PriceNotPositive,
    #[msg("Price update is older than the last one this market used")]
    PriceOlderThanLast,
    #[msg("Price cannot be represented (exponent out of range)")]
    PriceOutOfRange,
    // --- pools
    #[msg("Leverage is within the band: nothing to rebalance")]
    WithinBand,
    #[msg("The leveraged pool is empty: nothing to rebalance")]
    NothingToRebalance,
    #[msg("Not enough idle funding units to lever this mint")]
    IdleInsufficientForMint,
    #[msg("Not enough idle funding units for this withdrawal")]
    IdleInsufficientForWithdrawal,
    #[msg("Mint would pass the market's exposure cap")]
    ExposureCapExceeded,
    #[msg("Mint would pass the market's utilization cap")]
    UtilizationCapExceeded,
    #[msg("The leveraged pool was wiped out; LT mints are closed until the admin re-opens the market")]
    MarketWiped,
    #[msg("Market is not wiped out")]
    MarketNotWiped,
    #[msg("Wiped LT is still outstanding; holders must redeem (burn) it before the market re-opens")]
    LtSupplyOutstanding,
    #[msg("Output is below the caller's minimum")]
    SlippageExceeded,
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("Amount is too small to receive any shares")]
    ZeroSharesOut,
    #[msg("Amount is too small to pay out any units")]
    ZeroPayout,
    #[msg("Amount exceeds the protocol fees held")]
    InsufficientFees,
    #[msg("Amount exceeds the recorded share supply")]
    InsufficientShares,
    // --- arithmetic and invariants
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("Division by zero")]
    DivisionByZero,
    #[msg("Vault balance does not match the books after a transfer")]
    VaultReconcileFailed,
    #[msg("Recorded share supply does not match the mint's supply")]
    ShareSupplyMismatch,
    #[msg("Vault holds fewer units than the pools and fees are owed")]
    VaultShortfall,
    #[msg("Pool state is inconsistent")]
    InvalidPoolState,
    #[msg("Unknown pause bits")]
    InvalidPauseBits,
    #[msg("A different price was already used in this slot; retry in the next slot")]
    PriceChangedInSlot,
    #[msg("The instruction takes no remaining accounts")]
    UnexpectedAccounts,
    // --- prices nobody can choose: the instant path and two-step requests
    #[msg("This market's instant path is off; use a two-step request")]
    InstantPathDisabled,
    #[msg("Instant operations in this slot would pass the market's per-slot cap")]
    InstantSlotCapExceeded,
    #[msg("Settlement delay is outside the allowed bounds")]
    SettleDelayOutOfBounds,
    #[msg("Settlement window is outside the allowed bounds")]
    SettleWindowOutOfBounds,
    #[msg("Minimum settlement tip is outside the allowed bounds")]
    SettleTipOutOfBounds,
    #[msg("Instant-path parameters are outside the allowed bounds (age, fee floor, confidence, cap)")]
    InstantParamsOutOfBounds,
    #[msg("This market has no two-step parameters yet (settle delay 0)")]
    TwoStepNotConfigured,
    #[msg("Settlement tip is below the market's minimum")]
    SettleTipTooSmall,
    #[msg("A mint or token program does not fit this kind of request")]
    RequestMintMismatch,
    #[msg("The request's settlement window has passed; it can only be cancelled")]
    RequestExpired,
    #[msg("The request can be cancelled only after its settlement window")]
    RequestNotExpired,
    #[msg("Price update does not cover the request's target time (prev_publish_time < tau <= publish_time)")]
    PriceUpdateNotForTarget,
    #[msg("Price update has prev_publish_time == publish_time: it is never the unique update for a target")]
    PriceUpdateNotUnique,
    #[msg("Escrow holds less than the request recorded")]
    EscrowShortfall,
    #[msg("An account does not match the one the request recorded (market, owner, escrow, source or destination)")]
    RequestAccountMismatch,
    #[msg("Underlying mint scales its UI amount (interest-bearing or scaled UI amount): Pyth prices the UI token, the books count raw units")]
    MintHasUiMultiplier,
    // --- review 13
    #[msg(
        "Underlying mint has a freeze authority (allowed only with CreateMarketArgs::allow_freeze_authority)"
    )]
    MintHasFreezeAuthority,
    #[msg("A parameter is loosened by more than one step (x2 up, /2 down) in one update")]
    LooseningTooLarge,
    #[msg("A risk parameter was already loosened less than a day ago; tightening is always allowed")]
    LooseningTooFast,
    #[msg("The LT epoch given is not the market's next one")]
    WrongLtEpoch,
    #[msg("Market account has another layout version than this program reads (MARKET_VERSION)")]
    UnsupportedMarketVersion,
    #[msg("Re-base refused: a wiped market, a ratio below 2, or a new share worth more than one raw unit")]
    RebaseNotAllowed,
    #[msg("An earlier re-base's LT is still outstanding: its holders must convert it first")]
    RetiredLtOutstanding,
    #[msg("This market has no retired LT to convert")]
    NothingToConvert,
    #[msg("The request names an LT mint the market has retired: it is cancelled after its window")]
    RequestLtMintRetired,
    #[msg("Nothing to update: give at least one of name, symbol and uri")]
    NothingToUpdate,
}
