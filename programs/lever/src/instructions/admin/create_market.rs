//! `create_market`: the admin opens a market on one underlying at one set of parameters. The
//! parameters are checked against the config's bounds and the underlying mint against the
//! Token-2022 extensions that could move, freeze, tax or claw back vault units (and its freeze
//! authority, unless the admin accepts it explicitly); then the vault (at
//! its PDA, sized for the mint's extensions), the LT and FT mints with their metadata, and the
//! locked FT account are created, and the seed deposit goes idle with its FT locked forever (the FT
//! supply never returns to zero). The vault is reconciled against the books before the market is
//! written.

use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_spl::token_interface::{
    spl_token_2022, token_metadata_initialize, Mint, Token2022, TokenAccount, TokenInterface,
    TokenMetadataInitialize,
};
use spl_token_2022::extension::{
    default_account_state::DefaultAccountState, BaseStateWithExtensions, ExtensionType, StateWithExtensions,
};

use crate::constants::*;
use crate::error::LeverError;
use crate::events::MarketCreated;
use crate::instructions::*;
use crate::math::{PoolState, SafeMath};
use crate::state::{Config, Market, MarketParams};

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: CreateMarketArgs)]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    #[account(mint::token_program = underlying_token_program)]
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The market. This and the four accounts below are created in the handler, once the
    /// underlying mint has passed validation (so a refused extension gets its own error), whatever
    /// lamports their addresses already hold; the system program refuses one that holds data.
    /// CHECK: created in the handler (`create_pda_account`); the address is fixed by the seeds.
    #[account(mut, seeds = [MARKET_SEED, underlying_mint.key().as_ref(), &args.id.to_le_bytes()], bump)]
    pub market: UncheckedAccount<'info>,
    /// The vault: a token account of the underlying owned by the market.
    /// CHECK: created in the handler (`create_token_account`); the address is fixed by the seeds.
    #[account(mut, seeds = [VAULT_SEED, market.key().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    /// The LT mint: Token-2022, mint authority the market, no freeze authority, metadata pointer to
    /// itself.
    /// CHECK: created in the handler (`create_share_mint`); the address is fixed by the seeds.
    #[account(mut, seeds = [LT_MINT_SEED, market.key().as_ref()], bump)]
    pub lt_mint: UncheckedAccount<'info>,
    /// The FT mint, as the LT mint.
    /// CHECK: created in the handler (`create_share_mint`); the address is fixed by the seeds.
    #[account(mut, seeds = [FT_MINT_SEED, market.key().as_ref()], bump)]
    pub ft_mint: UncheckedAccount<'info>,
    /// Holds the seed deposit's FT forever (owner: the market; no instruction moves them).
    /// CHECK: created in the handler (`create_token_account`); the address is fixed by the seeds.
    #[account(mut, seeds = [LOCKED_FT_SEED, market.key().as_ref()], bump)]
    pub locked_ft: UncheckedAccount<'info>,
    /// The admin's underlying tokens, source of the seed deposit.
    #[account(mut, token::mint = underlying_mint, token::authority = admin)]
    pub admin_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CreateMarketArgs {
    /// Distinguishes markets on the same underlying (part of the market's address).
    pub id: u32,
    /// Pyth feed id the market will accept prices from.
    pub feed_id: [u8; 32],
    pub params: MarketParams,
    /// Units deposited into the funding pool at creation; their FT are locked forever, so the FT
    /// supply never returns to zero (first-depositor protection).
    pub seed_units: u64,
    /// Token metadata of the LT ("SOL 3x Long" / "SOL3X") and FT ("SOL 3x Funding" / "fSOL3X").
    pub lt_name: String,
    pub lt_symbol: String,
    pub ft_name: String,
    pub ft_symbol: String,
    pub uri: String,
    /// Accept an underlying mint with a freeze authority. Its issuer could freeze the vault (every
    /// instruction touching it would then fail), so the default refuses such a mint
    /// (`MintHasFreezeAuthority`); accepting it is recorded in the market
    /// ([`crate::constants::market_flags::UNDERLYING_FREEZABLE`]) for clients to show.
    pub allow_freeze_authority: bool,
}

/// Refuse underlying mints whose extensions could move, freeze, tax or claw back vault units.
pub fn validate_underlying_mint(mint: &AccountInfo) -> Result<Vec<ExtensionType>> {
    if *mint.owner != spl_token_2022::ID {
        return Ok(Vec::new());
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)?;
    let extensions = state.get_extension_types()?;
    for extension in &extensions {
        match extension {
            ExtensionType::TransferFeeConfig | ExtensionType::ConfidentialTransferFeeConfig => {
                return err!(LeverError::MintHasTransferFee)
            }
            ExtensionType::TransferHook => return err!(LeverError::MintHasTransferHook),
            ExtensionType::PermanentDelegate => return err!(LeverError::MintHasPermanentDelegate),
            ExtensionType::NonTransferable => return err!(LeverError::MintIsNonTransferable),
            ExtensionType::ConfidentialTransferMint | ExtensionType::ConfidentialMintBurn => {
                return err!(LeverError::MintHasConfidentialTransfer)
            }
            ExtensionType::MintCloseAuthority => return err!(LeverError::MintHasCloseAuthority),
            ExtensionType::Pausable => return err!(LeverError::MintIsPausable),
            ExtensionType::DefaultAccountState => {
                let ext = state.get_extension::<DefaultAccountState>()?;
                let frozen = spl_token_2022::state::AccountState::Frozen as u8;
                require!(ext.state != frozen, LeverError::MintDefaultFrozen);
            }
            // The UI amount is raw x a multiplier the issuer changes (a split, a dividend, interest),
            // and Pyth prices the UI token: a multiplier change would move value between the pools
            // with no price move, front-runnable before its public effective time.
            ExtensionType::InterestBearingConfig | ExtensionType::ScaledUiAmount => {
                return err!(LeverError::MintHasUiMultiplier)
            }
            // Display-only: accounting uses raw amounts.
            ExtensionType::MetadataPointer
            | ExtensionType::TokenMetadata
            | ExtensionType::GroupPointer
            | ExtensionType::TokenGroup
            | ExtensionType::GroupMemberPointer
            | ExtensionType::TokenGroupMember => {}
            _ => return err!(LeverError::UnsupportedMintExtension),
        }
    }
    Ok(extensions)
}

fn validate_metadata(args: &CreateMarketArgs) -> Result<()> {
    validate_share_metadata(&args.lt_name, &args.lt_symbol, &args.uri)?;
    validate_share_metadata(&args.ft_name, &args.ft_symbol, &args.uri)
}

/// A share mint's name and symbol are non-empty and within their limits; the uri within its own.
pub(crate) fn validate_share_metadata(name: &str, symbol: &str, uri: &str) -> Result<()> {
    for (text, max) in [(name, MAX_NAME_LEN), (symbol, MAX_SYMBOL_LEN)] {
        require!(!text.is_empty() && text.len() <= max, LeverError::InvalidMetadata);
    }
    require!(uri.len() <= MAX_URI_LEN, LeverError::InvalidMetadata);
    Ok(())
}

/// Bytes the TokenMetadata TLV entry takes: type + length headers, two keys, three strings and an
/// empty additional-metadata vector (each with a u32 length prefix).
fn metadata_len(name: &str, symbol: &str, uri: &str) -> Result<usize> {
    let mut len: usize = 4 + 32 + 32 + 4;
    for text in [name, symbol, uri] {
        len = len.safe_add(4)?.safe_add(text.len())?;
    }
    Ok(len)
}

#[allow(clippy::too_many_arguments)]
fn init_share_metadata<'info>(
    admin: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    share_program: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    signer: &MarketSigner,
    name: &str,
    symbol: &str,
    uri: &str,
) -> Result<()> {
    // Token-2022 reallocates the mint for the metadata but does not fund it: top up the rent first.
    let new_len = mint.data_len().safe_add(metadata_len(name, symbol, uri)?)?;
    let needed = Rent::get()?
        .minimum_balance(new_len)
        .saturating_sub(mint.lamports());
    if needed > 0 {
        system_program::transfer(
            CpiContext::new(
                system.key(),
                system_program::Transfer {
                    from: admin.clone(),
                    to: mint.clone(),
                },
            ),
            needed,
        )?;
    }
    let seeds = signer.seeds();
    token_metadata_initialize(
        CpiContext::new_with_signer(
            share_program.key(),
            TokenMetadataInitialize {
                program_id: share_program.clone(),
                metadata: mint.clone(),
                update_authority: market.clone(),
                mint_authority: market.clone(),
                mint: mint.clone(),
            },
            &[&seeds],
        ),
        name.to_string(),
        symbol.to_string(),
        uri.to_string(),
    )
}

/// A share mint at the PDA `seeds` (see [`create_share_mint`]) with its token metadata, the
/// market its mint and update authority: `create_market` makes two, `start_lt_epoch` one per epoch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_share_mint_with_metadata<'info>(
    admin: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    share_program: &AccountInfo<'info>,
    system: &AccountInfo<'info>,
    signer: &MarketSigner,
    decimals: u8,
    seeds: &[&[u8]],
    name: &str,
    symbol: &str,
    uri: &str,
) -> Result<()> {
    create_share_mint(admin, mint, market, share_program, system, decimals, seeds)?;
    init_share_metadata(
        admin,
        mint,
        market,
        share_program,
        system,
        signer,
        name,
        symbol,
        uri,
    )
}

pub fn create_market_handler(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let config_key = ctx.accounts.config.key();
    {
        let config = ctx.accounts.config.load()?;
        args.params.validate(&config)?;
        require!(args.seed_units >= config.min_seed_units, LeverError::SeedTooSmall);
    }
    validate_metadata(&args)?;
    validate_underlying_mint(&ctx.accounts.underlying_mint.to_account_info())?;
    // A freeze authority is not an extension: SPL Token mints have it too. It cannot be added
    // later (only its holder may change it), so checking it here is enough.
    let freezable = ctx.accounts.underlying_mint.freeze_authority.is_some();
    require!(
        !freezable || args.allow_freeze_authority,
        LeverError::MintHasFreezeAuthority
    );

    let a = &ctx.accounts;
    let market_key = a.market.key();
    let underlying_key = a.underlying_mint.key();
    let signer = MarketSigner::from_parts(underlying_key, args.id, ctx.bumps.market);

    let admin = a.admin.to_account_info();
    let system = a.system_program.to_account_info();
    let share_program = a.share_token_program.to_account_info();
    let market_info = a.market.to_account_info();
    let market_bump = [ctx.bumps.market];
    let id_bytes = args.id.to_le_bytes();
    create_pda_account(
        &admin,
        &market_info,
        &system,
        Market::SPACE,
        &crate::ID,
        &[MARKET_SEED, underlying_key.as_ref(), &id_bytes, &market_bump],
    )?;
    // The vault: a token account of the underlying owned by the market, at its PDA.
    let vault_bump = [ctx.bumps.vault];
    create_token_account(
        &admin,
        &a.vault.to_account_info(),
        &a.underlying_mint.to_account_info(),
        &market_info,
        &a.underlying_token_program.to_account_info(),
        &system,
        &[VAULT_SEED, market_key.as_ref(), &vault_bump],
    )?;
    // The share mints with their metadata, then the account that locks the seed's FT.
    let decimals = a.underlying_mint.decimals;
    for (mint, seed, bump, name, symbol) in [
        (
            a.lt_mint.to_account_info(),
            LT_MINT_SEED,
            ctx.bumps.lt_mint,
            &args.lt_name,
            &args.lt_symbol,
        ),
        (
            a.ft_mint.to_account_info(),
            FT_MINT_SEED,
            ctx.bumps.ft_mint,
            &args.ft_name,
            &args.ft_symbol,
        ),
    ] {
        let bump = [bump];
        create_share_mint_with_metadata(
            &admin,
            &mint,
            &market_info,
            &share_program,
            &system,
            &signer,
            decimals,
            &[seed, market_key.as_ref(), &bump],
            name,
            symbol,
            &args.uri,
        )?;
    }
    let locked_bump = [ctx.bumps.locked_ft];
    create_token_account(
        &admin,
        &a.locked_ft.to_account_info(),
        &a.ft_mint.to_account_info(),
        &market_info,
        &share_program,
        &system,
        &[LOCKED_FT_SEED, market_key.as_ref(), &locked_bump],
    )?;

    // Seed deposit: units into idle, FT 1:1 into the locked account.
    transfer_in(
        &a.underlying_token_program,
        &a.admin_underlying.to_account_info(),
        &a.underlying_mint,
        &a.vault.to_account_info(),
        &a.admin,
        args.seed_units,
    )?;
    mint_shares(
        &a.share_token_program,
        &a.ft_mint.to_account_info(),
        &a.locked_ft.to_account_info(),
        &a.market.to_account_info(),
        &signer,
        args.seed_units,
    )?;
    let vault_amount = token_amount(&a.vault.to_account_info())?;
    let pool = PoolState {
        idle: args.seed_units,
        ft_supply: args.seed_units,
        ..PoolState::default()
    };
    require!(
        vault_amount == pool.units_owed()?,
        LeverError::VaultReconcileFailed
    );

    {
        let info = ctx.accounts.market.to_account_info();
        let mut market = init_zero_copy::<Market>(&info)?;
        market.config = config_key;
        market.underlying_mint = underlying_key;
        market.underlying_token_program = ctx.accounts.underlying_token_program.key();
        market.vault = ctx.accounts.vault.key();
        market.lt_mint = ctx.accounts.lt_mint.key();
        market.ft_mint = ctx.accounts.ft_mint.key();
        market.locked_ft = ctx.accounts.locked_ft.key();
        market.feed_id = args.feed_id;
        // Checked against the config's bounds at the top of the handler.
        market.store_params(&args.params);
        market.set_pool(&pool);
        market.last_accrual_ts = now;
        market.created_at = now;
        market.id = args.id;
        market.version = MARKET_VERSION;
        market.bump = ctx.bumps.market;
        market.vault_bump = ctx.bumps.vault;
        market.decimals = ctx.accounts.underlying_mint.decimals;
        if freezable {
            market.flags |= market_flags::UNDERLYING_FREEZABLE;
        }
    }
    {
        let mut config = ctx.accounts.config.load_mut()?;
        config.market_count = config.market_count.saturating_add(1);
    }
    emit_event(
        &ctx.accounts.event_authority,
        &MarketCreated {
            market: market_key,
            underlying_mint: underlying_key,
            id: args.id,
            feed_id: args.feed_id,
            lt_mint: ctx.accounts.lt_mint.key(),
            ft_mint: ctx.accounts.ft_mint.key(),
            params: args.params,
            seed_units: args.seed_units,
            pool: pool.into(),
        },
    )
}
