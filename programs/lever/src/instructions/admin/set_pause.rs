//! `set_pause`: set a market's pause bits (one per operation, `constants::pause`). The admin may set
//! any bits; the pause authority may only add bits, so a key that can stop the market quickly
//! cannot restart it.

use anchor_lang::prelude::*;

use crate::constants::{pause, CONFIG_SEED};
use crate::error::LeverError;
use crate::events::MarketPauseChanged;
use crate::instructions::emit_event;
use crate::state::{Config, Market};

#[event_cpi]
#[derive(Accounts)]
pub struct SetPause<'info> {
    /// The admin (any bits) or the pause authority (may only add bits).
    pub authority: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump)]
    pub config: AccountLoader<'info, Config>,
    #[account(
        mut, has_one = config @ LeverError::ConfigMismatch,
        constraint = market.load()?.is_current_version() @ crate::error::LeverError::UnsupportedMarketVersion,
    )]
    pub market: AccountLoader<'info, Market>,
}

/// Set the market's pause bits (see `constants::pause`) to `paused`.
pub fn set_pause_handler(ctx: Context<SetPause>, paused: u8) -> Result<()> {
    require!(paused & !pause::ALL == 0, LeverError::InvalidPauseBits);
    let signer = ctx.accounts.authority.key();
    let (admin, pause_authority) = {
        let config = ctx.accounts.config.load()?;
        (config.admin, config.pause_authority)
    };
    let before = {
        let mut market = ctx.accounts.market.load_mut()?;
        let before = market.paused;
        if signer != admin {
            require!(signer == pause_authority, LeverError::Unauthorized);
            // Every bit set now must stay set: the pause authority can only pause.
            require!(paused & before == before, LeverError::PauseAuthorityCannotUnpause);
        }
        market.paused = paused;
        before
    };
    emit_event(
        &ctx.accounts.event_authority,
        &MarketPauseChanged {
            market: ctx.accounts.market.key(),
            by: signer,
            paused_before: before,
            paused_after: paused,
        },
    )
}
