//! `mint_lt`: a user deposits underlying units and receives LT at the upper end of the confidence
//! interval (fewer LT). The funding pool lends the units that keep the pool at its target leverage.
//! Refused on a wiped market (before and after the refresh); the LT supply is synced with the mint
//! first; the caller's `min_shares_out` bounds the slippage.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount, TokenInterface};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

use crate::constants::pause;
use crate::error::LeverError;
use crate::events::LtMinted;
use crate::instructions::*;
use crate::math::{mint_lt, MintLtQuote, PoolState};
use crate::oracle::ValidPrice;
use crate::state::{Market, Refresh};

#[event_cpi]
#[derive(Accounts)]
pub struct MintLt<'info> {
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
    /// The user's underlying tokens (source).
    #[account(mut, token::mint = underlying_mint, token::authority = user)]
    pub user_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives the LT (any owner).
    #[account(mut, token::mint = lt_mint, token::token_program = share_token_program)]
    pub user_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
}

/// Return data of `mint_lt`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MintLtOutcome {
    pub shares_out: u64,
    pub units_in: u64,
    pub fee_units: u64,
    /// Upper end of the confidence interval, the price the conversion used.
    pub price: u128,
}

impl MintLtOutcome {
    /// The return data for `quote` at `price` (the SDK builds its expectation with this too).
    pub fn of(quote: &MintLtQuote, price: &ValidPrice) -> Self {
        Self {
            shares_out: quote.shares_out,
            units_in: quote.units_in,
            fee_units: quote.fee_units,
            price: price.band.upper,
        }
    }
}

impl LtMinted {
    /// The event of a filled operation (instant, or a settled request with `user` its owner).
    pub fn of(
        market: Pubkey,
        user: Pubkey,
        quote: &MintLtQuote,
        price: &ValidPrice,
        pool: PoolState,
    ) -> Self {
        Self {
            market,
            user,
            units_in: quote.units_in,
            fee_units: quote.fee_units,
            shares_out: quote.shares_out,
            from_idle: quote.from_idle,
            debt_added: quote.debt_added,
            price: price.band.upper,
            pool: pool.into(),
        }
    }
}

/// Everything `mint_lt` does to the market's books, before any token moves. The SDK runs this same
/// function on a copy of the account to predict an outcome to the unit.
pub fn mint_lt_books(
    market: &mut Market,
    update: &PriceUpdateV2,
    pricing: Pricing,
    vault_amount: u64,
    now: Now,
    amount: u64,
    min_shares_out: u64,
) -> Result<(ValidPrice, Refresh, MintLtQuote)> {
    require!(!market.is_wiped(), LeverError::MarketWiped);
    let (price, refresh) = begin_priced(market, update, pricing, pause::MINT_LT, vault_amount, now)?;
    // The refresh itself may have wiped the pool.
    require!(!market.is_wiped(), LeverError::MarketWiped);
    let (pool, quote) = mint_lt(
        &market.pool(),
        &params_for(market, pricing),
        price.band.upper,
        price.band.mid,
        amount,
    )?;
    require!(quote.shares_out >= min_shares_out, LeverError::SlippageExceeded);
    count_instant(market, pricing, now.slot, amount)?;
    market.set_pool(&pool);
    market.total_fees = market.total_fees.saturating_add(quote.fee_units);
    Ok((price, refresh, quote))
}

pub fn mint_lt_handler(ctx: Context<MintLt>, amount: u64, min_shares_out: u64) -> Result<MintLtOutcome> {
    let now = Now::get()?;
    let market_key = ctx.accounts.market.key();
    let (price, refresh, pool, quote, signer) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        let (price, refresh, quote) = mint_lt_books(
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
        &a.lt_mint.to_account_info(),
        &a.user_lt.to_account_info(),
        &a.market.to_account_info(),
        &signer,
        quote.shares_out,
    )?;
    reconcile_vault(&mut ctx.accounts.vault, pool.units_owed()?)?;
    let a = &ctx.accounts;
    emit_event(
        &a.event_authority,
        &LtMinted::of(market_key, a.user.key(), &quote, &price, pool),
    )?;
    let outcome = MintLtOutcome::of(&quote, &price);
    publish_return_data(&outcome)?;
    Ok(outcome)
}
