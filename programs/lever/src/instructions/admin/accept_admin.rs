//! `accept_admin`: step two of the two-step admin transfer. Only the pending admin named by
//! `transfer_admin` can sign; it becomes admin and the pending slot is cleared, so a mistyped key
//! never takes the role.

use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::AdminTransferAccepted;
use crate::instructions::emit_event;
use crate::state::Config;

#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.load()?.bump)]
    pub config: AccountLoader<'info, Config>,
}

/// Step two: the pending admin signs and becomes admin.
pub fn accept_admin_handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let previous = {
        let mut config = ctx.accounts.config.load_mut()?;
        let signer = ctx.accounts.new_admin.key();
        require!(
            config.pending_admin != Pubkey::default() && config.pending_admin == signer,
            LeverError::NotPendingAdmin
        );
        let previous = config.admin;
        config.admin = signer;
        config.pending_admin = Pubkey::default();
        previous
    };
    emit_event(
        &ctx.accounts.event_authority,
        &AdminTransferAccepted {
            previous_admin: previous,
            admin: ctx.accounts.new_admin.key(),
        },
    )
}
