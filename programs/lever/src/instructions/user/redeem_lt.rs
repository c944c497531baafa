//! `redeem_lt`: a user burns LT and receives the units of its equity share, priced at the lower end
//! of the confidence interval (fewer units); the share of the debt it carried is repaid to idle.
//! Settled at any age on the two-step path (a stale update does not rebalance), with no confidence
//! limit (an exit adds no risk: it is priced at the adverse end), and allowed on a wiped market
//! (burning worthless LT for zero). The LT supply is synced with the mint first.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount, TokenInterface};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use crate::constants::pause;
use crate::error::LeverError;
use crate::events::LtRedeemed;
use crate::instructions::*;
use crate::math::{redeem_lt, PoolState, RedeemLtQuote};
use crate::oracle::ValidPrice;
use crate::state::{Market, Refresh};

#[event_cpi]
#[derive(Accounts)]
pub struct RedeemLt<'info> {
    pub user: Signer<'info>,
    #[account(
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        mut,
        has_one = vault @ LeverError::VaultMismatch,
        has_one = lt_mint @ LeverError::LtMintMismatch,
        has_one = underlying_mint @ LeverError::UnderlyingMintMismatch,
        has_one = underlying_token_program @ LeverError::TokenProgramMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    /// Receives the underlying (any owner).
    #[account(mut, token::mint = underlying_mint)]
    pub user_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's LT (burned).
    #[account(mut, token::mint = lt_mint, token::authority = user, token::token_program = share_token_program)]
    pub user_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
}

/// Return data of `redeem_lt`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedeemLtOutcome {
    pub units_out: u64,
    pub shares_in: u64,
    pub fee_units: u64,
    /// Lower end of the confidence interval, the price the conversion used.
    pub price: u128,
}

impl RedeemLtOutcome {
    /// The return data for `quote` at `price` (the SDK builds its expectation with this too).
    pub fn of(quote: &RedeemLtQuote, price: &ValidPrice) -> Self {
        Self {
            units_out: quote.units_out,
            shares_in: quote.shares_in,
            fee_units: quote.fee_units,
            price: price.band.lower,
        }
    }
}

impl LtRedeemed {
    /// The event of a filled operation (instant, or a settled request with `user` its owner).
    pub fn of(
        market: Pubkey,
        user: Pubkey,
        quote: &RedeemLtQuote,
        price: &ValidPrice,
        pool: PoolState,
    ) -> Self {
        Self {
            market,
            user,
            shares_in: quote.shares_in,
            units_out: quote.units_out,
            fee_units: quote.fee_units,
            to_idle: quote.to_idle,
            debt_removed: quote.debt_removed,
            price: price.band.lower,
            pool: pool.into(),
        }
    }
}

/// Everything `redeem_lt` does to the market's books, before any token moves (the SDK's quote
/// runs this same function).
pub fn redeem_lt_books(
    market: &mut Market,
    update: &PriceUpdateV2,
    pricing: Pricing,
    vault_amount: u64,
    now: Now,
    shares: u64,
    min_units_out: u64,
) -> Result<(ValidPrice, Refresh, RedeemLtQuote)> {
    let (price, refresh) = begin_priced(market, update, pricing, pause::REDEEM_LT, vault_amount, now)?;
    let wiped = market.is_wiped();
    let (pool, quote) = redeem_lt(
        &market.pool(),
        &params_for(market, pricing),
        price.band.lower,
        shares,
        wiped,
    )?;
    require!(quote.units_out >= min_units_out, LeverError::SlippageExceeded);
    count_instant(market, pricing, now.slot, quote.units_out)?;
    market.set_pool(&pool);
    market.total_fees = market.total_fees.saturating_add(quote.fee_units);
    Ok((price, refresh, quote))
}

pub fn redeem_lt_handler(ctx: Context<RedeemLt>, shares: u64, min_units_out: u64) -> Result<RedeemLtOutcome> {
    let now = Now::get()?;
    let market_key = ctx.accounts.market.key();
    let (price, refresh, pool, quote, signer) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        let (price, refresh, quote) = redeem_lt_books(
            &mut market,
            &ctx.accounts.price_update,
            Pricing::Instant,
            ctx.accounts.vault.amount,
            now,
            shares,
            min_units_out,
        )?;
        (price, refresh, market.pool(), quote, MarketSigner::of(&market))
    };
    let a = &ctx.accounts;
    emit_refresh(
        &a.event_authority,
        market_key,
        a.user.key(),
        price.band.mid,
        &refresh,
    )?;
    burn_shares(
        &a.share_token_program,
        &a.lt_mint.to_account_info(),
        &a.user_lt.to_account_info(),
        &a.user,
        shares,
    )?;
    if quote.units_out > 0 {
        transfer_out(
            &a.underlying_token_program,
            &a.vault.to_account_info(),
            &a.underlying_mint,
            &a.user_underlying.to_account_info(),
            &a.market.to_account_info(),
            &signer,
            quote.units_out,
        )?;
    }
    reconcile_vault(&mut ctx.accounts.vault, pool.units_owed()?)?;
    let a = &ctx.accounts;
    emit_event(
        &a.event_authority,
        &LtRedeemed::of(market_key, a.user.key(), &quote, &price, pool),
    )?;
    let outcome = RedeemLtOutcome::of(&quote, &price);
    publish_return_data(&outcome)?;
    Ok(outcome)
}
