//! `cancel_request`: after a request's settlement window (`now > expires_at`), anyone may cancel it.
//! The escrow goes back to the owner's source account, the tip to the canceller, the rents to the
//! payer. Before expiry nobody may, the owner included: a request that could be withdrawn once the
//! price at `tau` is public would be a free option on that price. The books do not change.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::error::LeverError;
use crate::events::RequestCancelled;
use crate::instructions::*;
use crate::state::{Market, Request};

#[event_cpi]
#[derive(Accounts)]
pub struct CancelRequest<'info> {
    /// Anyone; receives the tip.
    #[account(mut)]
    pub canceller: Signer<'info>,
    #[account(constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion)]
    pub market: AccountLoader<'info, Market>,
    #[account(
        mut,
        close = payer,
        has_one = market @ LeverError::RequestAccountMismatch,
        has_one = payer @ LeverError::RequestAccountMismatch,
        has_one = escrow @ LeverError::RequestAccountMismatch,
        has_one = source @ LeverError::RequestAccountMismatch,
    )]
    pub request: Box<Account<'info, Request>>,
    /// CHECK: the request's payer (checked by `has_one`); receives the rent.
    #[account(mut)]
    pub payer: UncheckedAccount<'info>,
    #[account(mut)]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The owner's account the input came from; the escrow returns to it.
    #[account(mut)]
    pub source: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The escrow's mint (the request's input when it landed; for an LT request from before an
    /// epoch change or a re-base, the retired LT mint).
    pub input_mint: Box<InterfaceAccount<'info, Mint>>,
    pub input_token_program: Interface<'info, TokenInterface>,
}

/// Return data of `cancel_request`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CancelOutcome {
    /// Input returned to the owner's source account.
    pub amount_refunded: u64,
    /// Lamports paid to the canceller.
    pub tip_lamports: u64,
}

pub fn cancel_request_handler(ctx: Context<CancelRequest>) -> Result<CancelOutcome> {
    let now = Now::get()?;
    let request = **ctx.accounts.request;
    require!(
        now.unix_timestamp > request.expires_at,
        LeverError::RequestNotExpired
    );
    // The escrow goes back with its own mint and token program: the mint of the request's input
    // when it landed. An LT request opened before `start_lt_epoch` or `rebase_lt` holds the
    // retired LT, so the market's current LT mint would strand it.
    let escrow_program = *ctx.accounts.escrow.to_account_info().owner;
    require!(
        ctx.accounts.input_mint.key() == ctx.accounts.escrow.mint
            && ctx.accounts.input_token_program.key() == escrow_program,
        LeverError::RequestMintMismatch
    );
    let signer = MarketSigner::of(&*ctx.accounts.market.load()?);
    let a = &ctx.accounts;
    let market_info = a.market.to_account_info();
    let escrow = a.escrow.to_account_info();
    let held = a.escrow.amount;
    if held > 0 {
        transfer_out(
            &a.input_token_program,
            &escrow,
            &a.input_mint,
            &a.source.to_account_info(),
            &market_info,
            &signer,
            held,
        )?;
    }
    close_owned_account(
        &a.input_token_program,
        &escrow,
        &a.payer.to_account_info(),
        &market_info,
        &signer,
    )?;
    pay_tip(
        &a.request.to_account_info(),
        &a.canceller.to_account_info(),
        request.tip_lamports,
    )?;
    emit_event(
        &a.event_authority,
        &RequestCancelled {
            market: request.market,
            request: a.request.key(),
            owner: request.owner,
            canceller: a.canceller.key(),
            kind: request.kind,
            amount_refunded: held,
            tip_lamports: request.tip_lamports,
        },
    )?;
    let outcome = CancelOutcome {
        amount_refunded: held,
        tip_lamports: request.tip_lamports,
    };
    publish_return_data(&outcome)?;
    Ok(outcome)
}
