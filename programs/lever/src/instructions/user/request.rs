//! `request_mint_lt`, `request_redeem_lt`, `request_deposit_funding`, `request_withdraw_funding`: the
//! first step of a user operation whose price nobody can choose. The input moves into an escrow
//! the market owns (units for a mint or deposit, LT or FT for a redeem or withdrawal: nothing is
//! burned, so a refund or cancel gives it back), and the request records the owner, the
//! destination, the amount, the minimum out, the settlement target `tau = now + settle_delay_secs`,
//! the expiry and a prepaid tip. No price is read and the books do not change: the market account
//! is read-only, so requests on one market never contend with each other.

use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::constants::{ESCROW_SEED, MIN_SETTLE_DELAY_SECS, REQUEST_SEED};
use crate::error::LeverError;
use crate::events::RequestOpened;
use crate::instructions::*;
use crate::math::SafeMath;
use crate::state::{Market, Request, RequestArgs, RequestKind};

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: RequestArgs)]
pub struct OpenRequest<'info> {
    /// Pays the request's and the escrow's rent and the tip (the rent comes back at close).
    #[account(mut)]
    pub payer: Signer<'info>,
    /// Authority of `source`: signs for the input (a wallet, or a composing program's PDA by
    /// `invoke_signed`; it needs no lamports).
    pub owner: Signer<'info>,
    #[account(constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion)]
    pub market: AccountLoader<'info, Market>,
    /// The request, created in the handler whatever lamports the address already holds (a nonce
    /// anyone could pre-fund must not be lost); the system program refuses it while a request
    /// lives there.
    /// CHECK: created in the handler (`create_pda_account`); the address is fixed by the seeds.
    #[account(
        mut,
        seeds = [REQUEST_SEED, market.key().as_ref(), owner.key().as_ref(), &args.nonce.to_le_bytes()],
        bump,
    )]
    pub request: UncheckedAccount<'info>,
    /// The mint of the input: the underlying (mint, deposit), the LT (redeem) or the FT (withdraw).
    pub input_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The mint of the output, which `destination` must hold.
    pub output_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The escrow: a token account of `input_mint` owned by the market, created like `request`.
    /// CHECK: created in the handler (`create_token_account`); the address is fixed by the seeds.
    #[account(mut, seeds = [ESCROW_SEED, request.key().as_ref()], bump)]
    pub escrow: UncheckedAccount<'info>,
    /// The owner's input tokens; refunds return here.
    #[account(mut, token::mint = input_mint, token::authority = owner, token::token_program = input_token_program)]
    pub source: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives the output at settlement (any owner).
    #[account(token::mint = output_mint)]
    pub destination: Box<InterfaceAccount<'info, TokenAccount>>,
    pub input_token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

/// Return data of every `request_*`: where the request lives and when it settles.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestReceipt {
    pub request: Pubkey,
    /// Settlement target: the request settles at the update with `prev_publish_time < tau <=
    /// publish_time`.
    pub tau: i64,
    /// Last unix time it may settle; after it anyone may cancel it.
    pub expires_at: i64,
}

/// A market's mints and the underlying's token program (the shares are always Token-2022).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketMints {
    pub underlying_mint: Pubkey,
    pub lt_mint: Pubkey,
    pub ft_mint: Pubkey,
    pub underlying_token_program: Pubkey,
}

impl MarketMints {
    pub fn of(market: &Market) -> Self {
        Self {
            underlying_mint: market.underlying_mint,
            lt_mint: market.lt_mint,
            ft_mint: market.ft_mint,
            underlying_token_program: market.underlying_token_program,
        }
    }

    /// The (input mint, output mint, input token program) a request of `kind` must name.
    pub fn for_request(&self, kind: RequestKind) -> (Pubkey, Pubkey, Pubkey) {
        let shares = anchor_spl::token_2022::ID;
        match kind {
            RequestKind::MintLt => (self.underlying_mint, self.lt_mint, self.underlying_token_program),
            RequestKind::DepositFunding => {
                (self.underlying_mint, self.ft_mint, self.underlying_token_program)
            }
            RequestKind::RedeemLt => (self.lt_mint, self.underlying_mint, shares),
            RequestKind::WithdrawFunding => (self.ft_mint, self.underlying_mint, shares),
        }
    }
}

/// What a request of `kind` must satisfy on `market` when it is opened (before any token moves).
/// Returns `(tau, expires_at)`.
pub fn check_open_request(
    market: &Market,
    kind: RequestKind,
    args: &RequestArgs,
    now: Now,
) -> Result<(i64, i64)> {
    require!(
        market.params.settle_delay_secs >= MIN_SETTLE_DELAY_SECS,
        LeverError::TwoStepNotConfigured
    );
    market.require_not_paused(kind.pause_bit())?;
    if kind == RequestKind::MintLt {
        require!(!market.is_wiped(), LeverError::MarketWiped);
    }
    require!(args.amount > 0, LeverError::ZeroAmount);
    require!(
        args.tip_lamports >= market.params.min_settle_tip_lamports,
        LeverError::SettleTipTooSmall
    );
    let delay = i64::try_from(market.params.settle_delay_secs).map_err(|_| LeverError::MathOverflow)?;
    let window = i64::try_from(market.params.settle_window_secs).map_err(|_| LeverError::MathOverflow)?;
    let tau = now.unix_timestamp.safe_add(delay)?;
    Ok((tau, tau.safe_add(window)?))
}

pub fn open_request_handler(
    ctx: Context<OpenRequest>,
    kind: RequestKind,
    args: RequestArgs,
) -> Result<RequestReceipt> {
    let now = Now::get()?;
    let (tau, expires_at) = {
        let market = ctx.accounts.market.load()?;
        let (input, output, program) = MarketMints::of(&market).for_request(kind);
        let a = &ctx.accounts;
        require!(
            a.input_mint.key() == input
                && a.output_mint.key() == output
                && a.input_token_program.key() == program,
            LeverError::RequestMintMismatch
        );
        check_open_request(&market, kind, &args, now)?
    };
    let a = &ctx.accounts;
    let payer = a.payer.to_account_info();
    let system = a.system_program.to_account_info();
    let request_info = a.request.to_account_info();
    let market_key = a.market.key();
    let owner_key = a.owner.key();
    let nonce = args.nonce.to_le_bytes();
    let request_bump = [ctx.bumps.request];
    create_pda_account(
        &payer,
        &request_info,
        &system,
        8 + Request::INIT_SPACE,
        &crate::ID,
        &[
            REQUEST_SEED,
            market_key.as_ref(),
            owner_key.as_ref(),
            &nonce,
            &request_bump,
        ],
    )?;
    let request_key = a.request.key();
    let escrow_bump = [ctx.bumps.escrow];
    create_token_account(
        &payer,
        &a.escrow.to_account_info(),
        &a.input_mint.to_account_info(),
        &a.market.to_account_info(),
        &a.input_token_program.to_account_info(),
        &system,
        &[ESCROW_SEED, request_key.as_ref(), &escrow_bump],
    )?;
    transfer_in(
        &a.input_token_program,
        &a.source.to_account_info(),
        &a.input_mint,
        &a.escrow.to_account_info(),
        &a.owner,
        args.amount,
    )?;
    require!(
        token_amount(&a.escrow.to_account_info())? == args.amount,
        LeverError::EscrowShortfall
    );
    if args.tip_lamports > 0 {
        system_program::transfer(
            CpiContext::new(
                ctx.accounts.system_program.key(),
                system_program::Transfer {
                    from: ctx.accounts.payer.to_account_info(),
                    to: ctx.accounts.request.to_account_info(),
                },
            ),
            args.tip_lamports,
        )?;
    }
    let a = &ctx.accounts;
    let request = Request {
        market: a.market.key(),
        owner: a.owner.key(),
        payer: a.payer.key(),
        kind,
        nonce: args.nonce,
        amount: args.amount,
        min_out: args.min_out,
        escrow: a.escrow.key(),
        source: a.source.key(),
        destination: a.destination.key(),
        requested_at: now.unix_timestamp,
        requested_slot: now.slot,
        tau,
        expires_at,
        tip_lamports: args.tip_lamports,
        bump: ctx.bumps.request,
    };
    emit_event(
        &a.event_authority,
        &RequestOpened {
            market: request.market,
            request: a.request.key(),
            owner: request.owner,
            payer: request.payer,
            kind,
            amount: request.amount,
            min_out: request.min_out,
            destination: request.destination,
            requested_at: request.requested_at,
            tau,
            expires_at,
            tip_lamports: request.tip_lamports,
        },
    )?;
    let receipt = RequestReceipt {
        request: ctx.accounts.request.key(),
        tau,
        expires_at,
    };
    // The account was created above with zeroed data: write the discriminator and the body.
    write_account(&ctx.accounts.request.to_account_info(), &request)?;
    publish_return_data(&receipt)?;
    Ok(receipt)
}
