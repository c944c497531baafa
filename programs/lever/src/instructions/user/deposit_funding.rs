//! `deposit_funding`: a user deposits underlying units into the funding pool's idle side and
//! receives FT priced at the lower end of the confidence interval (fewer FT), after the common
//! refresh and with the caller's `min_shares_out`. The FT supply is synced with the mint first.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount, TokenInterface};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use crate::constants::pause;
use crate::error::LeverError;
use crate::events::FundingDeposited;
use crate::instructions::*;
use crate::math::{deposit_funding, DepositQuote, PoolState};
use crate::oracle::ValidPrice;
use crate::state::{Market, Refresh};

#[event_cpi]
#[derive(Accounts)]
pub struct DepositFunding<'info> {
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
    /// The user's underlying tokens (source).
    #[account(mut, token::mint = underlying_mint, token::authority = user)]
    pub user_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives the FT (any owner).
    #[account(mut, token::mint = ft_mint, token::token_program = share_token_program)]
    pub user_ft: Box<InterfaceAccount<'info, TokenAccount>>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
}

/// Return data of `deposit_funding`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositFundingOutcome {
    pub shares_out: u64,
    pub units_in: u64,
    pub fee_units: u64,
    /// Lower end of the confidence interval, the price the conversion used.
    pub price: u128,
}

impl DepositFundingOutcome {
    /// The return data for `quote` at `price` (the SDK builds its expectation with this too).
    pub fn of(quote: &DepositQuote, price: &ValidPrice) -> Self {
        Self {
            shares_out: quote.shares_out,
            units_in: quote.units_in,
            fee_units: quote.fee_units,
            price: price.band.lower,
        }
    }
}

impl FundingDeposited {
    /// The event of a filled operation (instant, or a settled request with `user` its owner).
    pub fn of(
        market: Pubkey,
        user: Pubkey,
        quote: &DepositQuote,
        price: &ValidPrice,
        pool: PoolState,
    ) -> Self {
        Self {
            market,
            user,
            units_in: quote.units_in,
            fee_units: quote.fee_units,
            shares_out: quote.shares_out,
            price: price.band.lower,
            pool: pool.into(),
        }
    }
}

/// Everything `deposit_funding` does to the market's books, before any token moves (the SDK's
/// quote runs this same function).
pub fn deposit_funding_books(
    market: &mut Market,
    update: &PriceUpdateV2,
    pricing: Pricing,
    vault_amount: u64,
    now: Now,
    amount: u64,
    min_shares_out: u64,
) -> Result<(ValidPrice, Refresh, DepositQuote)> {
    let (price, refresh) = begin_priced(market, update, pricing, pause::DEPOSIT_FUNDING, vault_amount, now)?;
    let (pool, quote) = deposit_funding(
        &market.pool(),
        &params_for(market, pricing),
        price.band.lower,
        amount,
    )?;
    require!(quote.shares_out >= min_shares_out, LeverError::SlippageExceeded);
    count_instant(market, pricing, now.slot, amount)?;
    market.set_pool(&pool);
    market.total_fees = market.total_fees.saturating_add(quote.fee_units);
    Ok((price, refresh, quote))
}

pub fn deposit_funding_handler(
    ctx: Context<DepositFunding>,
    amount: u64,
    min_shares_out: u64,
) -> Result<DepositFundingOutcome> {
    let now = Now::get()?;
    let market_key = ctx.accounts.market.key();
    let (price, refresh, pool, quote, signer) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_supply(&ctx.accounts.ft_mint, &mut market.ft_supply)?;
        let (price, refresh, quote) = deposit_funding_books(
            &mut market,
            &ctx.accounts.price_update,
            Pricing::Instant,
            ctx.accounts.vault.amount,
            now,
            amount,
            min_shares_out,
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
    transfer_in(
        &a.underlying_token_program,
        &a.user_underlying.to_account_info(),
        &a.underlying_mint,
        &a.vault.to_account_info(),
        &a.user,
        amount,
    )?;
    mint_shares(
        &a.share_token_program,
        &a.ft_mint.to_account_info(),
        &a.user_ft.to_account_info(),
        &a.market.to_account_info(),
        &signer,
        quote.shares_out,
    )?;
    reconcile_vault(&mut ctx.accounts.vault, pool.units_owed()?)?;
    let a = &ctx.accounts;
    emit_event(
        &a.event_authority,
        &FundingDeposited::of(market_key, a.user.key(), &quote, &price, pool),
    )?;
    let outcome = DepositFundingOutcome::of(&quote, &price);
    publish_return_data(&outcome)?;
    Ok(outcome)
}
