//! `update_config`: the admin changes the pause authority, the fee receiver or the global bounds
//! (each optional; new bounds are checked against the program's hard bounds). Markets are checked
//! against new bounds at their next `update_market`.

use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::ConfigUpdated;
use crate::instructions::emit_event;
use crate::state::{Config, ConfigBounds};

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateConfig<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
}

/// Each field set is changed; bounds are checked against the program's hard bounds. Existing
/// markets keep their parameters until their next update, which is checked against the new bounds.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default)]
pub struct UpdateConfigArgs {
    pub pause_authority: Option<Pubkey>,
    pub fee_receiver: Option<Pubkey>,
    pub bounds: Option<ConfigBounds>,
}

pub fn update_config_handler(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
    let event = {
        let mut config = ctx.accounts.config.load_mut()?;
        if let Some(bounds) = args.bounds {
            Config::validate_bounds(&bounds)?;
            config.set_bounds(&bounds);
        }
        if let Some(p) = args.pause_authority {
            config.pause_authority = p;
        }
        if let Some(f) = args.fee_receiver {
            config.fee_receiver = f;
        }
        ConfigUpdated {
            pause_authority: config.pause_authority,
            fee_receiver: config.fee_receiver,
            bounds: config.bounds(),
        }
    };
    emit_event(&ctx.accounts.event_authority, &event)
}
