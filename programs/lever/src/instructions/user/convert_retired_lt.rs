//! `convert_retired_lt`: a holder of LT that a re-base retired (`rebase_lt`) exchanges it for the
//! current LT, `ratio` old raw shares for one new, whenever it likes (the books have counted its
//! claim since the re-base, so nothing is priced and no NAV per share falls). The holder gets its
//! claim rounded down; the remainder (less than one new raw share, worth less than one raw unit of
//! the underlying) stays with the holders who remain, as every rounding favours the pools.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::error::LeverError;
use crate::events::RetiredLtConverted;
use crate::instructions::{burn_shares, emit_event, mint_shares, sync_lt_supply, MarketSigner};
use crate::math::SafeMath;
use crate::state::Market;

#[event_cpi]
#[derive(Accounts)]
pub struct ConvertRetiredLt<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        has_one = lt_mint @ LeverError::LtMintMismatch,
        has_one = retired_lt_mint @ LeverError::LtMintMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    #[account(mut)]
    pub retired_lt_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The owner's retired LT (source, burned).
    #[account(mut, token::mint = retired_lt_mint, token::authority = owner, token::token_program = share_token_program)]
    pub owner_retired_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives the current LT (any owner).
    #[account(mut, token::mint = lt_mint, token::token_program = share_token_program)]
    pub destination_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    pub share_token_program: Program<'info, Token2022>,
}

/// Return data of `convert_retired_lt`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertOutcome {
    pub retired_in: u64,
    pub lt_out: u64,
}

/// What converting `amount` retired LT does to the books (the SDK runs this same function): the
/// outstanding falls by `amount`, `lt_supply` by the claim that leaves and rises by the shares paid,
/// `amount / ratio` rounded down (never more than the claim that left). Returns the shares paid.
pub fn convert_retired_lt_books(market: &mut Market, amount: u64) -> Result<u64> {
    require!(amount > 0, LeverError::ZeroAmount);
    require!(market.retired_lt_ratio != 0, LeverError::NothingToConvert);
    require!(
        amount <= market.retired_lt_outstanding,
        LeverError::ShareSupplyMismatch
    );
    let out = amount
        .checked_div(market.retired_lt_ratio)
        .ok_or(LeverError::NothingToConvert)?;
    require!(out > 0, LeverError::ZeroSharesOut);
    let claim_before = market.retired_lt_claim()?;
    market.retired_lt_outstanding = market.retired_lt_outstanding.safe_sub(amount)?;
    let claim_after = market.retired_lt_claim()?;
    let released = claim_before.safe_sub(claim_after)?;
    market.lt_supply = market.lt_supply.safe_sub(released)?.safe_add(out)?;
    Ok(out)
}

pub fn convert_retired_lt_handler(ctx: Context<ConvertRetiredLt>, amount: u64) -> Result<ConvertOutcome> {
    let market_key = ctx.accounts.market.key();
    let (out, signer, pool) = {
        let mut market = ctx.accounts.market.load_mut()?;
        // A holder who burned retired LT directly gave up its claim: the books follow that mint.
        let retired_supply = ctx.accounts.retired_lt_mint.supply;
        if retired_supply < market.retired_lt_outstanding {
            market.retired_lt_outstanding = retired_supply;
        }
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        let out = convert_retired_lt_books(&mut market, amount)?;
        (out, MarketSigner::of(&market), market.pool())
    };
    let a = &ctx.accounts;
    let share_program = a.share_token_program.to_account_info();
    burn_shares(
        &share_program,
        &a.retired_lt_mint.to_account_info(),
        &a.owner_retired_lt.to_account_info(),
        &a.owner.to_account_info(),
        amount,
    )?;
    mint_shares(
        &share_program,
        &a.lt_mint.to_account_info(),
        &a.destination_lt.to_account_info(),
        &a.market.to_account_info(),
        &signer,
        out,
    )?;
    emit_event(
        &a.event_authority,
        &RetiredLtConverted {
            market: market_key,
            owner: a.owner.key(),
            retired_lt_mint: a.retired_lt_mint.key(),
            retired_in: amount,
            lt_out: out,
            pool: pool.into(),
        },
    )?;
    let outcome = ConvertOutcome {
        retired_in: amount,
        lt_out: out,
    };
    crate::instructions::publish_return_data(&outcome)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_retired(outstanding: u64, ratio: u64, current: u64) -> Market {
        let mut m: Market = bytemuck::Zeroable::zeroed();
        m.retired_lt_outstanding = outstanding;
        m.retired_lt_ratio = ratio;
        m.lt_supply = current.safe_add(outstanding.div_ceil(ratio.max(1))).unwrap();
        m
    }

    #[test]
    fn conversion_pays_the_claim_rounded_down_and_never_adds_supply() {
        // 1000 old per new; 10,500 outstanding count as 11 new beside 7 current.
        let mut m = with_retired(10_500, 1_000, 7);
        assert_eq!(m.lt_supply, 18);
        assert_eq!(convert_retired_lt_books(&mut m, 2_500).unwrap(), 2);
        // 8,000 left count as 8; the 500 rounded away left the supply.
        assert_eq!((m.retired_lt_outstanding, m.lt_supply), (8_000, 7 + 2 + 8));
        assert_eq!(convert_retired_lt_books(&mut m, 8_000).unwrap(), 8);
        assert_eq!((m.retired_lt_outstanding, m.lt_supply), (0, 17));
    }

    #[test]
    fn conversion_refusals() {
        let mut none: Market = bytemuck::Zeroable::zeroed();
        let code = |r: Result<u64>| match r {
            Err(Error::AnchorError(e)) => e.error_code_number,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(convert_retired_lt_books(&mut none, 5)),
            u32::from(LeverError::NothingToConvert)
        );
        let mut m = with_retired(10_500, 1_000, 7);
        assert_eq!(
            code(convert_retired_lt_books(&mut m, 0)),
            u32::from(LeverError::ZeroAmount)
        );
        assert_eq!(
            code(convert_retired_lt_books(&mut m, 999)),
            u32::from(LeverError::ZeroSharesOut)
        );
        assert_eq!(
            code(convert_retired_lt_books(&mut m, 10_501)),
            u32::from(LeverError::ShareSupplyMismatch)
        );
        assert_eq!(m.lt_supply, 18, "refusals change nothing");
    }
}
