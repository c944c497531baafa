//! `withdraw_funding`: a user burns FT and receives their share of the funding pool's value, priced
//! at the upper end of the confidence interval (fewer units) and paid from idle units only (lent
//! units stay with the leveraged pool). Like `redeem_lt`, settled at any age and with no confidence
//! limit on the two-step path. The FT supply is synced with the mint first.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount, TokenInterface};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use crate::constants::pause;
use crate::error::LeverError;
use crate::events::FundingWithdrawn;
use crate::instructions::*;
use crate::math::{withdraw_funding, PoolState, WithdrawQuote};
use crate::oracle::ValidPrice;
use crate::state::{Market, Refresh};

#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawFunding<'info> {
    pub user: Signer<'info>,
    #[account(
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        mut,
        has_one = vault @ LeverError::VaultMismatch,
        has_one = ft_mint @ LeverError::FtMintMismatch,
        has_one = underlying_mint @ LeverError::UnderlyingMintMismatch,
        has_one = underlying_token_program @ LeverError::TokenProgramMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub ft_mint: Box<InterfaceAccount<'info, Mint>>,
    /// Receives the underlying (any owner).
    #[account(mut, token::mint = underlying_mint)]
    pub user_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The user's FT (burned).
    #[account(mut, token::mint = ft_mint, token::authority = user, token::token_program = share_token_program)]
    pub user_ft: Box<InterfaceAccount<'info, TokenAccount>>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
}

/// Return data of `withdraw_funding`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WithdrawFundingOutcome {
    pub units_out: u64,
    pub shares_in: u64,
    pub fee_units: u64,
    /// Upper end of the confidence interval, the price the conversion used.
    pub price: u128,
}

impl WithdrawFundingOutcome {
    /// The return data for `quote` at `price` (the SDK builds its expectation with this too).
    pub fn of(quote: &WithdrawQuote, price: &ValidPrice) -> Self {
        Self {
            units_out: quote.units_out,
            shares_in: quote.shares_in,
            fee_units: quote.fee_units,
            price: price.band.upper,
        }
    }
}

impl FundingWithdrawn {
    /// The event of a filled operation (instant, or a settled request with `user` its owner).
    pub fn of(
        market: Pubkey,
        user: Pubkey,
        quote: &WithdrawQuote,
        price: &ValidPrice,
        pool: PoolState,
    ) -> Self {
        Self {
            market,
            user,
            shares_in: quote.shares_in,
            units_out: quote.units_out,
            fee_units: quote.fee_units,
            price: price.band.upper,
            pool: pool.into(),
        }
    }
}

/// Everything `withdraw_funding` does to the market's books, before any token moves (the SDK's
/// quote runs this same function).
pub fn withdraw_funding_books(
    market: &mut Market,
    update: &PriceUpdateV2,
    pricing: Pricing,
    vault_amount: u64,
    now: Now,
    shares: u64,
    min_units_out: u64,
) -> Result<(ValidPrice, Refresh, WithdrawQuote)> {
    let (price, refresh) = begin_priced(
        market,
        update,
        pricing,
        pause::WITHDRAW_FUNDING,
        vault_amount,
        now,
    )?;
    let (pool, quote) = withdraw_funding(
        &market.pool(),
        &params_for(market, pricing),
        price.band.upper,
        shares,
    )?;
    require!(quote.units_out >= min_units_out, LeverError::SlippageExceeded);
    count_instant(market, pricing, now.slot, quote.units_out)?;
    market.set_pool(&pool);
    market.total_fees = market.total_fees.saturating_add(quote.fee_units);
    Ok((price, refresh, quote))
}

pub fn withdraw_funding_handler(
    ctx: Context<WithdrawFunding>,
    shares: u64,
    min_units_out: u64,
) -> Result<WithdrawFundingOutcome> {
    let now = Now::get()?;
    let market_key = ctx.accounts.market.key();
    let (price, refresh, pool, quote, signer) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_supply(&ctx.accounts.ft_mint, &mut market.ft_supply)?;
        let (price, refresh, quote) = withdraw_funding_books(
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
        &a.ft_mint.to_account_info(),
        &a.user_ft.to_account_info(),
        &a.user,
        shares,
    )?;
    transfer_out(
        &a.underlying_token_program,
        &a.vault.to_account_info(),
        &a.underlying_mint,
        &a.user_underlying.to_account_info(),
        &a.market.to_account_info(),
        &signer,
        quote.units_out,
    )?;
    reconcile_vault(&mut ctx.accounts.vault, pool.units_owed()?)?;
    let a = &ctx.accounts;
    emit_event(
        &a.event_authority,
        &FundingWithdrawn::of(market_key, a.user.key(), &quote, &price, pool),
    )?;
    let outcome = WithdrawFundingOutcome::of(&quote, &price);
    publish_return_data(&outcome)?;
    Ok(outcome)
}
