//! `start_lt_epoch`: the admin re-opens a wiped market with a fresh LT mint. `reopen_market` needs
//! every wiped LT burned first, and one raw unit held by a lost key, an exchange or a griefer would
//! keep the market closed for good; a wipe-out is an expected event at 5x and 10x. So the next
//! epoch gets its own mint (PDA `[LT_MINT_SEED, market, epoch]`), the market records it, and the
//! retired mint's LT, worth nothing after the wipe-out, is refused by every instruction from then on
//! (`LtMintMismatch`); its holders may burn it with the token program.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::Token2022;
use anchor_spl::token_interface::Mint;

use super::create_market::{create_share_mint_with_metadata, validate_share_metadata};
use crate::constants::{CONFIG_SEED, LT_MINT_SEED, STATUS_WIPED};
use crate::error::LeverError;
use crate::events::LtEpochStarted;
use crate::instructions::{emit_event, sync_lt_supply, MarketSigner};
use crate::state::{Config, Market};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct StartLtEpochArgs {
    /// The market's next epoch (`lt_epoch + 1`): part of the new mint's address.
    pub epoch: u32,
    /// Token metadata of the new LT mint (e.g. the old name and symbol).
    pub name: String,
    pub symbol: String,
    pub uri: String,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: StartLtEpochArgs)]
pub struct StartLtEpoch<'info> {
    /// Pays the new mint's rent.
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
        mut,
        has_one = config @ LeverError::ConfigMismatch,
        has_one = lt_mint @ LeverError::LtMintMismatch,
    )]
    pub market: AccountLoader<'info, Market>,
    /// The current (retiring) LT mint, read to record what is still held.
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The next epoch's LT mint: Token-2022, mint authority the market, metadata on the mint.
    /// CHECK: created in the handler (`create_share_mint`); the address is fixed by the seeds.
    #[account(mut, seeds = [LT_MINT_SEED, market.key().as_ref(), &args.epoch.to_le_bytes()], bump)]
    pub new_lt_mint: UncheckedAccount<'info>,
    pub share_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

/// What `start_lt_epoch` does to the books (the SDK runs this same function): a wiped market with
/// an empty leveraged pool moves to `epoch` (its next) with `new_lt_mint` and no LT; returns the
/// retired supply.
pub fn start_lt_epoch_books(market: &mut Market, new_lt_mint: Pubkey, epoch: u32) -> Result<u64> {
    require!(market.is_wiped(), LeverError::MarketNotWiped);
    require!(
        market.exposure == 0 && market.debt.get() == 0,
        LeverError::InvalidPoolState
    );
    let next = market.lt_epoch.checked_add(1).ok_or(LeverError::MathOverflow)?;
    require!(epoch == next, LeverError::WrongLtEpoch);
    let retired = market.lt_supply;
    market.lt_mint = new_lt_mint;
    market.lt_epoch = next;
    market.lt_supply = 0;
    // LT a re-base retired shared the wiped pool too: its claim is worth nothing now.
    market.retired_lt_mint = Pubkey::default();
    market.retired_lt_ratio = 0;
    market.retired_lt_outstanding = 0;
    market.status &= !STATUS_WIPED;
    Ok(retired)
}

pub fn start_lt_epoch_handler(ctx: Context<StartLtEpoch>, args: StartLtEpochArgs) -> Result<()> {
    validate_share_metadata(&args.name, &args.symbol, &args.uri)?;
    let market_key = ctx.accounts.market.key();
    let retired_lt_mint = ctx.accounts.lt_mint.key();
    let new_key = ctx.accounts.new_lt_mint.key();
    let (retired_supply, signer, decimals, pool) = {
        let mut market = ctx.accounts.market.load_mut()?;
        sync_lt_supply(&ctx.accounts.lt_mint, &mut market)?;
        let retired = start_lt_epoch_books(&mut market, new_key, args.epoch)?;
        (retired, MarketSigner::of(&market), market.decimals, market.pool())
    };
    let a = &ctx.accounts;
    let market_info = a.market.to_account_info();
    let admin = a.admin.to_account_info();
    let share_program = a.share_token_program.to_account_info();
    let system = a.system_program.to_account_info();
    let mint = a.new_lt_mint.to_account_info();
    let epoch_bytes = args.epoch.to_le_bytes();
    let bump = [ctx.bumps.new_lt_mint];
    create_share_mint_with_metadata(
        &admin,
        &mint,
        &market_info,
        &share_program,
        &system,
        &signer,
        decimals,
        &[LT_MINT_SEED, market_key.as_ref(), &epoch_bytes, &bump],
        &args.name,
        &args.symbol,
        &args.uri,
    )?;
    emit_event(
        &a.event_authority,
        &LtEpochStarted {
            market: market_key,
            epoch: args.epoch,
            retired_lt_mint,
            retired_supply,
            lt_mint: new_key,
            pool: pool.into(),
        },
    )
}
