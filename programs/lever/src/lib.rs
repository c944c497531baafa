//! Lever: leveraged tokens with no liquidation and no debt for the holder.
//!
//! Each market holds one vault of an underlying token split between a leveraged pool (LT holders)
//! and a funding pool (FT holders). A permissionless rebalance reads a Pyth price and moves units
//! between the pools to keep the leverage at its target. See the README for units and roles.

#![allow(unexpected_cfgs)]
// Anchor's generated code and the #[program] dispatch trip these lints.
#![allow(clippy::result_large_err, clippy::too_many_arguments)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod error;
pub mod events;
pub mod instructions;
pub mod math;
pub mod oracle;
pub mod state;

use instructions::*;
use state::{RequestArgs, RequestKind, UpdateMarketParams};

declare_id!("DMWxYnRvMn7BSg3TSzy8dA3jHc69nHbRe4T4eZ45gUft");

#[program]
pub mod lever {
    use super::*;

    // Every instruction first refuses remaining accounts (`no_remaining_accounts`).

    /// Create the protocol config. The signer becomes admin.
    pub fn initialize_config(ctx: Context<InitializeConfig>, args: InitializeConfigArgs) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        initialize_config_handler(ctx, args)
    }

    /// Admin: change the pause authority, the fee receiver or the global bounds.
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        update_config_handler(ctx, args)
    }

    /// Admin: name the next admin (step one of two).
    pub fn transfer_admin(ctx: Context<TransferAdmin>, new_admin: Pubkey) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        transfer_admin_handler(ctx, new_admin)
    }

    /// Pending admin: accept the role (step two of two).
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        accept_admin_handler(ctx)
    }

    /// Admin: create a market (vault, LT and FT mints with metadata, seed deposit).
    pub fn create_market(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        create_market_handler(ctx, args)
    }

    /// Admin: change market parameters, each checked against the bounds.
    pub fn update_market(ctx: Context<UpdateMarket>, update: UpdateMarketParams) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        update_market_handler(ctx, update)
    }

    /// Admin (any bits) or pause authority (only adding bits): set the market's pause bits.
    pub fn set_pause(ctx: Context<SetPause>, paused: u8) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        set_pause_handler(ctx, paused)
    }

    /// Admin: re-open LT mints after a wipe-out (all wiped LT must have been burned).
    pub fn reopen_market(ctx: Context<ReopenMarket>) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        reopen_market_handler(ctx)
    }

    /// Admin: re-open a wiped market with a fresh LT mint for the next epoch, retiring the old one
    /// whatever LT is still held (it is worth nothing after the wipe-out).
    pub fn start_lt_epoch(ctx: Context<StartLtEpoch>, args: StartLtEpochArgs) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        start_lt_epoch_handler(ctx, args)
    }

    /// Admin: re-base a live market's decayed LT onto a fresh mint, `args.ratio` old raw LT per new
    /// raw LT (review 13, L4); holders convert with `convert_retired_lt`.
    pub fn rebase_lt(ctx: Context<RebaseLt>, args: RebaseLtArgs) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        rebase_lt_handler(ctx, args)
    }

    /// Exchange `amount` retired LT (of a re-base) for the current LT, rounded down.
    pub fn convert_retired_lt(ctx: Context<ConvertRetiredLt>, amount: u64) -> Result<ConvertOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        convert_retired_lt_handler(ctx, amount)
    }

    /// Admin: change the name, symbol or uri of the market's current LT mint or its FT mint (the
    /// market signs Token-2022's metadata update; the admin pays any rent a longer field needs).
    pub fn update_share_metadata(
        ctx: Context<UpdateShareMetadata>,
        args: UpdateShareMetadataArgs,
    ) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        update_share_metadata_handler(ctx, args)
    }

    /// Admin: pay protocol fee units to the fee receiver's token account.
    pub fn withdraw_fees(ctx: Context<WithdrawFees>, amount: u64) -> Result<()> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        withdraw_fees_handler(ctx, amount)
    }

    /// Deposit `amount` underlying units, receive at least `min_shares_out` LT.
    pub fn mint_lt(ctx: Context<MintLt>, amount: u64, min_shares_out: u64) -> Result<MintLtOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        mint_lt_handler(ctx, amount, min_shares_out)
    }

    /// Burn `shares` LT, receive at least `min_units_out` underlying units.
    pub fn redeem_lt(ctx: Context<RedeemLt>, shares: u64, min_units_out: u64) -> Result<RedeemLtOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        redeem_lt_handler(ctx, shares, min_units_out)
    }

    /// Deposit `amount` underlying units into the funding pool, receive at least `min_shares_out` FT.
    pub fn deposit_funding(
        ctx: Context<DepositFunding>,
        amount: u64,
        min_shares_out: u64,
    ) -> Result<DepositFundingOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        deposit_funding_handler(ctx, amount, min_shares_out)
    }

    /// Burn `shares` FT, receive at least `min_units_out` units from idle funding.
    pub fn withdraw_funding(
        ctx: Context<WithdrawFunding>,
        shares: u64,
        min_units_out: u64,
    ) -> Result<WithdrawFundingOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        withdraw_funding_handler(ctx, shares, min_units_out)
    }

    /// Step one of a two-step LT mint: escrow `args.amount` underlying units; settled at the price
    /// covering `now + settle_delay_secs`.
    pub fn request_mint_lt(ctx: Context<OpenRequest>, args: RequestArgs) -> Result<RequestReceipt> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        open_request_handler(ctx, RequestKind::MintLt, args)
    }

    /// Step one of a two-step LT redemption: escrow `args.amount` LT.
    pub fn request_redeem_lt(ctx: Context<OpenRequest>, args: RequestArgs) -> Result<RequestReceipt> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        open_request_handler(ctx, RequestKind::RedeemLt, args)
    }

    /// Step one of a two-step funding deposit: escrow `args.amount` underlying units.
    pub fn request_deposit_funding(ctx: Context<OpenRequest>, args: RequestArgs) -> Result<RequestReceipt> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        open_request_handler(ctx, RequestKind::DepositFunding, args)
    }

    /// Step one of a two-step funding withdrawal: escrow `args.amount` FT.
    pub fn request_withdraw_funding(ctx: Context<OpenRequest>, args: RequestArgs) -> Result<RequestReceipt> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        open_request_handler(ctx, RequestKind::WithdrawFunding, args)
    }

    /// Anyone: settle a request at the one update with `prev_publish_time < tau <= publish_time`
    /// (filled, or refunded when the books refuse it); the settler earns the tip.
    pub fn settle_request(ctx: Context<SettleRequest>) -> Result<SettleOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        settle_request_handler(ctx)
    }

    /// Anyone, after a request's settlement window: return its escrow to the owner; the canceller
    /// earns the tip.
    pub fn cancel_request(ctx: Context<CancelRequest>) -> Result<CancelOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        cancel_request_handler(ctx)
    }

    /// Anyone: bring an out-of-band market back to its target leverage (or wipe an insolvent one).
    pub fn rebalance(ctx: Context<Rebalance>) -> Result<RebalanceOutcome> {
        no_remaining_accounts(ctx.remaining_accounts)?;
        rebalance_handler(ctx)
    }
}
