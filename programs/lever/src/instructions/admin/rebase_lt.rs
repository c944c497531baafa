//! `rebase_lt`: the admin re-bases a live market's LT whose NAV per share has decayed (review 13,
//! L4). Shares are minted at NAV per share, and no raw supply can pass `u64::MAX`, so a decayed NAV
//! per share caps what the market can ever take (at the default simulation's end, NAV x 4.58e-7,
//! about 181 SOL of new mints). A re-base moves the LT to a fresh mint of the next epoch
//! (`[LT_MINT_SEED, market, epoch]`), where one raw share is `ratio` old ones. Old holders convert
//! with `convert_retired_lt` whenever they like; until then the books count their claim
//! ([`Market::retired_lt_claim`]), so no NAV per share moves. Allowed only while a new share is worth
//! at most one raw unit of the underlying, which bounds what a holder's conversion rounds away to
//! less than one raw unit.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::Mint;

use super::create_market::{create_share_mint_with_metadata, validate_share_metadata};
use crate::constants::{CONFIG_SEED, LT_MINT_SEED, PRICE_SCALE};
use crate::error::LeverError;
use crate::events::LtRebased;
use crate::instructions::{emit_event, sync_lt_supply, MarketSigner};
use crate::math::{mul_div, Rounding, SafeCast};
use crate::state::{Config, Market};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RebaseLtArgs {
    /// The market's next epoch (`lt_epoch + 1`): part of the new mint's address.
    pub epoch: u32,
    /// Old raw LT per new raw LT (at least 2).
    pub ratio: u64,
    /// Token metadata of the new LT mint.
    pub name: String,
    pub symbol: String,
    pub uri: String,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: RebaseLtArgs)]
pub struct RebaseLt<'info> {
    /// Pays the new mint's rent.
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(
        mut,
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        has_one = config @ LeverError::ConfigMismatch,
        has_one = lt_mint @ LeverError::LtMintMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    /// The current LT mint, retired by the re-base.
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The next epoch's LT mint: Token-2022, mint authority the market, metadata on the mint.
    /// CHECK: created in the handler (`create_share_mint`); the address is fixed by the seeds.
    #[account(mut, seeds = [LT_MINT_SEED, market.key().as_ref(), &args.epoch.to_le_bytes()], bump)]
    pub new_lt_mint: UncheckedAccount<'info>,
    pub share_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

/// What `rebase_lt` does to the books (the SDK runs this same function), after the LT supply is
/// synced: the current mint's supply becomes the retired outstanding at `ratio`, `lt_supply` its
/// claim in new shares. Refused on a wiped market (`start_lt_epoch` is its way out), for a ratio
/// below 2, for a new share worth more than one raw unit at the books' last price, and while an
/// earlier re-base's LT is still outstanding with a claim (`RetiredLtOutstanding`): its holders
/// would lose the mint they convert from. Once `old ratio x ratio` passes `u64::MAX` no raw
/// holding of that LT is worth one new raw share, and it is dropped. Returns the retired supply.
pub fn rebase_lt_books(market: &mut Market, new_lt_mint: Pubkey, epoch: u32, ratio: u64) -> Result<u64> {
    require!(!market.is_wiped(), LeverError::MarketWiped);
    let next = market.lt_epoch.checked_add(1).ok_or(LeverError::MathOverflow)?;
    require!(epoch == next, LeverError::WrongLtEpoch);
    require!(ratio >= 2, LeverError::RebaseNotAllowed);
    let earlier_worthless = market.retired_lt_ratio.checked_mul(ratio).is_none();
    require!(
        market.retired_lt_outstanding == 0 || earlier_worthless,
        LeverError::RetiredLtOutstanding
    );
    // A new share is worth at most one raw unit: equity (in units, rounded up) x ratio <= supply.
    let price = market.last_price.get();
    require!(price > 0, LeverError::RebaseNotAllowed);
    let equity = market.pool().equity(price)?.max(0).safe_cast::<u128>()?;
    let equity_units = mul_div(equity, PRICE_SCALE, price, Rounding::Up)?;
    // The current mint's supply (the books were synced to it plus the earlier claim).
    let current = market
        .lt_supply
        .checked_sub(market.retired_lt_claim()?)
        .ok_or(LeverError::ShareSupplyMismatch)?;
    require!(
        equity_units
            .checked_mul(u128::from(ratio))
            .is_some_and(|v| v <= u128::from(current)),
        LeverError::RebaseNotAllowed
    );
    market.retired_lt_mint = market.lt_mint;
    market.retired_lt_ratio = ratio;
    market.retired_lt_outstanding = current;
    market.lt_mint = new_lt_mint;
    market.lt_epoch = next;
    market.lt_supply = market.retired_lt_claim()?;
    Ok(current)
}

pub fn rebase_lt_handler(ctx: Context<RebaseLt>, args: RebaseLtArgs) -> Result<()> {
    validate_share_metadata(&args.name, &args.symbol, &args.uri)?;
    let market_key = ctx.accounts.market.key();
    let retired_lt_mint = ctx.accounts.lt_mint.key();
    let new_key = ctx.accounts.new_lt_mint.key();
    let (retired_supply, signer, decimals, pool) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        let retired = rebase_lt_books(&mut market, new_key, args.epoch, args.ratio)?;
        (retired, MarketSigner::of(&market), market.decimals, market.pool())
    };
    let a = &ctx.accounts;
    let epoch_bytes = args.epoch.to_le_bytes();
    let bump = [ctx.bumps.new_lt_mint];
    create_share_mint_with_metadata(
        &a.admin.to_account_info(),
        &a.new_lt_mint.to_account_info(),
        &a.market.to_account_info(),
        &a.share_token_program.to_account_info(),
        &a.system_program.to_account_info(),
        &signer,
        decimals,
        &[LT_MINT_SEED, market_key.as_ref(), &epoch_bytes, &bump],
        &args.name,
        &args.symbol,
        &args.uri,
    )?;
    emit_event(
        &a.event_authority,
        &LtRebased {
            market: market_key,
            epoch: args.epoch,
            ratio: args.ratio,
            retired_lt_mint,
            retired_supply,
            lt_mint: new_key,
            pool: pool.into(),
        },
    )
}
