//! `settle_request`: anyone settles a request at the one Pyth update covering its target time
//! (`prev_publish_time < tau <= publish_time`, [`check_settlement_update`]); any other update is
//! refused. The operation runs the same books as the instant instruction (accrual, back into band,
//! the confidence-adverse end of the interval, caps, fees; see [`settle_books`]). When the books
//! refuse it (the minimum out, a cap, a wiped market, a pause, a confidence too wide) the escrow is
//! refunded instead and the settlement still succeeds. Either way the settler receives the tip, the
//! payer the rent of the request and its escrow. Many requests settle in one transaction: one
//! instruction each (in `tau` order, so each finds the books at or before its own price).

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount, TokenInterface};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use crate::error::LeverError;
use crate::events::{FundingDeposited, FundingWithdrawn, LtMinted, LtRedeemed, RequestSettled};
use crate::instructions::*;
use crate::math::{DepositQuote, MintLtQuote, PoolState, RedeemLtQuote, SafeMath, WithdrawQuote};
use crate::oracle::{check_settlement_update, ValidPrice};
use crate::state::{Market, Refresh, Request, RequestKind};

#[event_cpi]
#[derive(Accounts)]
pub struct SettleRequest<'info> {
    /// Anyone; receives the tip.
    #[account(mut)]
    pub settler: Signer<'info>,
    #[account(
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        mut,
        has_one = vault @ LeverError::VaultMismatch,
        has_one = lt_mint @ LeverError::LtMintMismatch,
        has_one = ft_mint @ LeverError::FtMintMismatch,
        has_one = underlying_mint @ LeverError::UnderlyingMintMismatch,
        has_one = underlying_token_program @ LeverError::TokenProgramMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(
        mut,
        close = payer,
        has_one = market @ LeverError::RequestAccountMismatch,
        has_one = payer @ LeverError::RequestAccountMismatch,
        has_one = escrow @ LeverError::RequestAccountMismatch,
        has_one = source @ LeverError::RequestAccountMismatch,
        has_one = destination @ LeverError::RequestAccountMismatch,
    )]
    pub request: Box<Account<'info, Request>>,
    /// CHECK: the request's payer (checked by `has_one`); receives the rent.
    #[account(mut)]
    pub payer: UncheckedAccount<'info>,
    #[account(mut)]
    pub escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The owner's account the input came from (refunds and any escrow surplus go back to it).
    #[account(mut)]
    pub source: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives the output.
    #[account(mut)]
    pub destination: Box<InterfaceAccount<'info, TokenAccount>>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub ft_mint: Box<InterfaceAccount<'info, Mint>>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
}

/// Return data of `settle_request`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleOutcome {
    pub filled: bool,
    /// 0 when filled; else the `LeverError` code that refused the operation.
    pub refund_code: u32,
    /// Input consumed (0 on a refund).
    pub amount_in: u64,
    /// Shares (mint, deposit) or units (redeem, withdraw) paid out (0 on a refund).
    pub amount_out: u64,
    pub fee_units: u64,
    /// The end of the interval the conversion used (0 on a refund).
    pub price: u128,
    pub publish_time: i64,
}

/// The quote of a filled request, by kind.
#[derive(Clone, Copy, Debug)]
pub enum Filled {
    MintLt(MintLtQuote),
    RedeemLt(RedeemLtQuote),
    DepositFunding(DepositQuote),
    WithdrawFunding(WithdrawQuote),
}

/// A filled request's price, refresh and quote.
#[derive(Clone, Copy, Debug)]
pub struct Fill {
    pub price: ValidPrice,
    pub refresh: Refresh,
    pub filled: Filled,
}

impl Fill {
    /// (input consumed, output paid, fee units, conversion price).
    pub fn amounts(&self) -> (u64, u64, u64, u128) {
        let band = self.price.band;
        match self.filled {
            Filled::MintLt(q) => (q.units_in, q.shares_out, q.fee_units, band.upper),
            Filled::RedeemLt(q) => (q.shares_in, q.units_out, q.fee_units, band.lower),
            Filled::DepositFunding(q) => (q.units_in, q.shares_out, q.fee_units, band.lower),
            Filled::WithdrawFunding(q) => (q.shares_in, q.units_out, q.fee_units, band.upper),
        }
    }
}

/// What settling `request` at `update` does to the books: the instant instruction's books under
/// the settlement rule (the caller has checked the update with [`check_settlement_update`]).
pub fn settle_books(
    market: &mut Market,
    update: &PriceUpdateV2,
    vault_amount: u64,
    now: Now,
    request: &Request,
) -> Result<Fill> {
    let pricing = request.pricing();
    let (amount, min_out) = (request.amount, request.min_out);
    let (price, refresh, filled) = match request.kind {
        RequestKind::MintLt => {
            let (p, r, q) = mint_lt_books(market, update, pricing, vault_amount, now, amount, min_out)?;
            (p, r, Filled::MintLt(q))
        }
        RequestKind::RedeemLt => {
            let (p, r, q) = redeem_lt_books(market, update, pricing, vault_amount, now, amount, min_out)?;
            (p, r, Filled::RedeemLt(q))
        }
        RequestKind::DepositFunding => {
            let (p, r, q) =
                deposit_funding_books(market, update, pricing, vault_amount, now, amount, min_out)?;
            (p, r, Filled::DepositFunding(q))
        }
        RequestKind::WithdrawFunding => {
            let (p, r, q) =
                withdraw_funding_books(market, update, pricing, vault_amount, now, amount, min_out)?;
            (p, r, Filled::WithdrawFunding(q))
        }
    };
    Ok(Fill {
        price,
        refresh,
        filled,
    })
}

/// The refusals that refund a request instead of failing its settlement: what the books decide at
/// the forced price, which no retry could change. Anything else (a wrong account, an update that
/// does not cover `tau`, an arithmetic failure) fails the transaction and leaves the request open.
pub const REFUND_ERRORS: [LeverError; 12] = [
    LeverError::SlippageExceeded,
    LeverError::ExposureCapExceeded,
    LeverError::UtilizationCapExceeded,
    LeverError::IdleInsufficientForMint,
    LeverError::IdleInsufficientForWithdrawal,
    LeverError::MarketWiped,
    LeverError::ZeroSharesOut,
    LeverError::ZeroPayout,
    LeverError::OperationPaused,
    LeverError::PriceConfidenceTooWide,
    LeverError::PriceNotPositive,
    LeverError::InsufficientShares,
];

/// The code of `error` when it is one of [`REFUND_ERRORS`].
pub fn refund_code(error: &Error) -> Option<u32> {
    let Error::AnchorError(e) = error else {
        return None;
    };
    REFUND_ERRORS
        .iter()
        .map(|&r| u32::from(r))
        .find(|&code| code == e.error_code_number)
}

/// How a settlement ended: the books' outcome, or the refund code.
#[derive(Clone, Copy, Debug)]
pub enum Settled {
    Filled(Fill),
    /// The books refused the operation with `code`. The price still counts: the books are
    /// refreshed at it (`refresh`, funding accrued and back into band, a wipe-out recorded) unless
    /// that too is refused (a pause, a confidence too wide), when only donations are absorbed.
    Refunded {
        code: u32,
        refresh: Option<(ValidPrice, Refresh)>,
    },
}

/// The whole settlement decision on the books, as the program takes it (the SDK's quote runs this
/// same function): the update must cover `tau` (else the error), then the books fill the request,
/// or refuse it with a refund code and stay as they were (donations aside).
pub fn settle_decision(
    market: &mut Market,
    update: &PriceUpdateV2,
    vault_amount: u64,
    now: Now,
    request: &Request,
) -> Result<Settled> {
    require!(
        now.unix_timestamp <= request.expires_at,
        LeverError::RequestExpired
    );
    check_settlement_update(update, market, request.tau)?;
    let mut trial = Box::new(*market);
    match settle_books(&mut trial, update, vault_amount, now, request) {
        Ok(fill) => {
            *market = *trial;
            Ok(Settled::Filled(fill))
        }
        Err(error) => match refund_code(&error) {
            Some(code) => {
                let mut refreshed = Box::new(*market);
                let pricing = request.pricing();
                let refresh = match begin_priced(
                    &mut refreshed,
                    update,
                    pricing,
                    request.kind.pause_bit(),
                    vault_amount,
                    now,
                ) {
                    Ok(done) => {
                        *market = *refreshed;
                        Some(done)
                    }
                    Err(again) if refund_code(&again).is_some() => {
                        absorb_donations(market, vault_amount)?;
                        None
                    }
                    Err(again) => return Err(again),
                };
                Ok(Settled::Refunded { code, refresh })
            }
            None => Err(error),
        },
    }
}

pub fn settle_request_handler(ctx: Context<SettleRequest>) -> Result<SettleOutcome> {
    let now = Now::get()?;
    let market_key = ctx.accounts.market.key();
    let request = **ctx.accounts.request;
    require!(
        ctx.accounts.escrow.amount >= request.amount,
        LeverError::EscrowShortfall
    );
    // An LT request from before `start_lt_epoch` or `rebase_lt` names the retired LT mint (its
    // escrow for a redemption, its destination for a mint): it cannot settle against the current
    // one, and is cancelled after its window, the escrow returning with its own mint.
    let lt_side = match request.kind {
        RequestKind::RedeemLt => Some(ctx.accounts.escrow.mint),
        RequestKind::MintLt => Some(ctx.accounts.destination.mint),
        _ => None,
    };
    if let Some(mint) = lt_side {
        require!(
            mint == ctx.accounts.lt_mint.key(),
            LeverError::RequestLtMintRetired
        );
    }
    let (settled, pool, signer) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        sync_supply(&ctx.accounts.ft_mint, &mut market.ft_supply)?;
        let settled = settle_decision(
            &mut market,
            &ctx.accounts.price_update,
            ctx.accounts.vault.amount,
            now,
            &request,
        )?;
        (settled, market.pool(), MarketSigner::of(&market))
    };
    let a = &ctx.accounts;
    let (input_mint, input_program): (&InterfaceAccount<Mint>, AccountInfo) = match request.kind {
        RequestKind::MintLt | RequestKind::DepositFunding => {
            (&a.underlying_mint, a.underlying_token_program.to_account_info())
        }
        RequestKind::RedeemLt => (&a.lt_mint, a.share_token_program.to_account_info()),
        RequestKind::WithdrawFunding => (&a.ft_mint, a.share_token_program.to_account_info()),
    };
    let market_info = a.market.to_account_info();
    let escrow = a.escrow.to_account_info();
    let held = a.escrow.amount;
    let outcome = match &settled {
        Settled::Filled(fill) => {
            emit_refresh(
                &a.event_authority,
                market_key,
                a.settler.key(),
                fill.price.band.mid,
                &fill.refresh,
            )?;
            move_filled(a, &signer, fill, &request)?;
            let (amount_in, amount_out, fee_units, price) = fill.amounts();
            SettleOutcome {
                filled: true,
                refund_code: 0,
                amount_in,
                amount_out,
                fee_units,
                price,
                publish_time: fill.price.publish_time,
            }
        }
        Settled::Refunded { code, refresh } => {
            if let Some((price, refresh)) = refresh {
                emit_refresh(
                    &a.event_authority,
                    market_key,
                    a.settler.key(),
                    price.band.mid,
                    refresh,
                )?;
            }
            SettleOutcome {
                filled: false,
                refund_code: *code,
                amount_in: 0,
                amount_out: 0,
                fee_units: 0,
                price: 0,
                publish_time: a.price_update.price_message.publish_time,
            }
        }
    };
    // What is left in escrow (all of it on a refund; a donation on top of the request on a fill)
    // goes back to the owner's source account, then the empty escrow closes to the payer.
    let left = held.safe_sub(outcome.amount_in)?;
    if left > 0 {
        transfer_out(
            &input_program,
            &escrow,
            input_mint,
            &a.source.to_account_info(),
            &market_info,
            &signer,
            left,
        )?;
    }
    close_owned_account(
        &input_program,
        &escrow,
        &a.payer.to_account_info(),
        &market_info,
        &signer,
    )?;
    pay_tip(
        &a.request.to_account_info(),
        &a.settler.to_account_info(),
        request.tip_lamports,
    )?;
    reconcile_vault(&mut ctx.accounts.vault, pool.units_owed()?)?;
    let a = &ctx.accounts;
    emit_event(
        &a.event_authority,
        &RequestSettled {
            market: market_key,
            request: a.request.key(),
            owner: request.owner,
            settler: a.settler.key(),
            kind: request.kind,
            filled: outcome.filled,
            refund_code: outcome.refund_code,
            amount_in: outcome.amount_in,
            amount_out: outcome.amount_out,
            fee_units: outcome.fee_units,
            price: outcome.price,
            publish_time: outcome.publish_time,
            tau: request.tau,
            tip_lamports: request.tip_lamports,
        },
    )?;
    publish_return_data(&outcome)?;
    Ok(outcome)
}

/// The token moves of a filled request, and the operation's own event (with the owner as user).
fn move_filled(a: &SettleRequest, signer: &MarketSigner, fill: &Fill, request: &Request) -> Result<()> {
    let market_info = a.market.to_account_info();
    let escrow = a.escrow.to_account_info();
    let vault = a.vault.to_account_info();
    let destination = a.destination.to_account_info();
    let shares = match request.kind {
        RequestKind::MintLt | RequestKind::RedeemLt => a.lt_mint.to_account_info(),
        RequestKind::DepositFunding | RequestKind::WithdrawFunding => a.ft_mint.to_account_info(),
    };
    let (amount_in, amount_out, _, _) = fill.amounts();
    if request.kind.takes_units() {
        // Units from the escrow into the vault; new shares to the destination.
        transfer_out(
            &a.underlying_token_program,
            &escrow,
            &a.underlying_mint,
            &vault,
            &market_info,
            signer,
            amount_in,
        )?;
        mint_shares(
            &a.share_token_program,
            &shares,
            &destination,
            &market_info,
            signer,
            amount_out,
        )?;
    } else {
        // The escrowed shares burned; units from the vault to the destination.
        burn_owned_shares(
            &a.share_token_program,
            &shares,
            &escrow,
            &market_info,
            signer,
            amount_in,
        )?;
        transfer_out(
            &a.underlying_token_program,
            &vault,
            &a.underlying_mint,
            &destination,
            &market_info,
            signer,
            amount_out,
        )?;
    }
    let (market, owner, price, pool) = (a.market.key(), request.owner, &fill.price, pool_now(a)?);
    let authority = &a.event_authority;
    match fill.filled {
        Filled::MintLt(q) => emit_event(authority, &LtMinted::of(market, owner, &q, price, pool)),
        Filled::DepositFunding(q) => {
            emit_event(authority, &FundingDeposited::of(market, owner, &q, price, pool))
        }
        Filled::RedeemLt(q) => emit_event(authority, &LtRedeemed::of(market, owner, &q, price, pool)),
        Filled::WithdrawFunding(q) => {
            emit_event(authority, &FundingWithdrawn::of(market, owner, &q, price, pool))
        }
    }
}

/// The books as they are now (after the settlement).
fn pool_now(a: &SettleRequest) -> Result<PoolState> {
    Ok(a.market.load()?.pool())
}

/// Move the prepaid tip from a request account (owned by this program) to `to`; the rest of the
/// request's lamports (its rent) go to the owner when Anchor closes it.
pub fn pay_tip(request: &AccountInfo, to: &AccountInfo, tip: u64) -> Result<()> {
    if tip == 0 {
        return Ok(());
    }
    let from_balance = request.lamports().safe_sub(tip)?;
    let to_balance = to.lamports().safe_add(tip)?;
    **request.try_borrow_mut_lamports()? = from_balance;
    **to.try_borrow_mut_lamports()? = to_balance;
    Ok(())
}
