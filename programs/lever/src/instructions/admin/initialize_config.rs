//! `initialize_config`: create the one protocol config (PDA `[CONFIG_SEED]`). The signer pays and
//! becomes admin; the pause authority, the fee receiver and the global bounds (checked against the
//! program's hard bounds) are set here. The config is created in the handler so that lamports sent
//! to its address beforehand cannot block it ([`create_pda_account`]).

use anchor_lang::prelude::*;

use crate::constants::{CONFIG_SEED, CONFIG_VERSION};
use crate::events::ConfigInitialized;
use crate::instructions::{create_pda_account, emit_event, init_zero_copy};
use crate::state::{Config, ConfigBounds};

#[event_cpi]
#[derive(Accounts)]
pub struct InitializeConfig<'info> {
    /// Pays for the config and becomes its admin. Deploy and initialize in one step (see README).
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The config, created in the handler whatever lamports the address already holds; the system
    /// program refuses it once it holds data.
    /// CHECK: created in the handler (`create_pda_account`); the address is fixed by the seeds.
    #[account(mut, seeds = [CONFIG_SEED], bump)]
    pub config: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug)]
pub struct InitializeConfigArgs {
    pub pause_authority: Pubkey,
    pub fee_receiver: Pubkey,
    pub bounds: ConfigBounds,
}

pub fn initialize_config_handler(ctx: Context<InitializeConfig>, args: InitializeConfigArgs) -> Result<()> {
    Config::validate_bounds(&args.bounds)?;
    let a = &ctx.accounts;
    let bump = [ctx.bumps.config];
    create_pda_account(
        &a.admin.to_account_info(),
        &a.config.to_account_info(),
        &a.system_program.to_account_info(),
        Config::SPACE,
        &crate::ID,
        &[CONFIG_SEED, &bump],
    )?;
    {
        let info = ctx.accounts.config.to_account_info();
        let mut config = init_zero_copy::<Config>(&info)?;
        config.admin = ctx.accounts.admin.key();
        config.pending_admin = Pubkey::default();
        config.pause_authority = args.pause_authority;
        config.fee_receiver = args.fee_receiver;
        config.set_bounds(&args.bounds);
        config.market_count = 0;
        config.version = CONFIG_VERSION;
        config.bump = ctx.bumps.config;
    }
    emit_event(
        &ctx.accounts.event_authority,
        &ConfigInitialized {
            admin: ctx.accounts.admin.key(),
            pause_authority: args.pause_authority,
            fee_receiver: args.fee_receiver,
            bounds: args.bounds,
        },
    )
}
