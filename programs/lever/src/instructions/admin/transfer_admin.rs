//! `transfer_admin`: step one of the two-step admin transfer. The admin names a pending admin (the
//! default key cancels); nothing changes until that key signs `accept_admin`.

use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::AdminTransferStarted;
use crate::instructions::emit_event;
use crate::state::Config;

#[event_cpi]
#[derive(Accounts)]
pub struct TransferAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
}

/// Step one of two: name the next admin. Nothing changes until they accept; naming the default
/// key cancels a pending transfer.
pub fn transfer_admin_handler(ctx: Context<TransferAdmin>, new_admin: Pubkey) -> Result<()> {
    ctx.accounts.config.load_mut()?.pending_admin = new_admin;
    emit_event(
        &ctx.accounts.event_authority,
        &AdminTransferStarted {
            admin: ctx.accounts.admin.key(),
            pending_admin: new_admin,
        },
    )
}
