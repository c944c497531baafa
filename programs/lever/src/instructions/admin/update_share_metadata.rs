//! `update_share_metadata`: the admin changes the token metadata (name, symbol, uri) of a market's
//! current LT or FT mint. `update_market` can change the target leverage, so a name such as
//! "SOL 3x Long" could become false; the metadata lives on the mint (Token-2022 TokenMetadata,
//! update authority the market PDA), and no other instruction can change it after creation.
//!
//! The market signs Token-2022's `update_field`, once per field given. A longer value grows the
//! mint (Token-2022 reallocates it but does not fund it, and the runtime refuses an account that
//! stops being rent exempt), so the admin first pays the rent the largest size the mint takes
//! during the updates needs; a shorter value shrinks it and the mint keeps its excess lamports (no
//! instruction can take lamports out of a mint, as with any other donation).
//!
//! Only display data changes: no books, no tokens, no price. Allowed on a paused or wiped market
//! (an admin correction; the pause bits guard user operations). A retired LT mint (after
//! `start_lt_epoch` or `rebase_lt`) is not the market's `lt_mint` and is refused.

use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_spl::compat::spl_token_metadata_interface::state::{Field, TokenMetadata};
use anchor_spl::token_2022::{spl_token_2022, Token2022};
use anchor_spl::token_interface::{token_metadata_update_field, TokenMetadataUpdateField};
use spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};

use super::create_market::validate_share_metadata;
use crate::constants::CONFIG_SEED;
use crate::error::LeverError;
use crate::events::ShareMetadataUpdated;
use crate::instructions::{emit_event, MarketSigner};
use crate::state::{Config, Market, ShareKind};

/// Each field given replaces the mint's, `None` keeps it; at least one must be given. The result
/// is held to `create_market`'s limits (name and symbol non-empty, within `MAX_NAME_LEN` and
/// `MAX_SYMBOL_LEN` bytes, the uri within `MAX_URI_LEN`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct UpdateShareMetadataArgs {
    /// Which of the market's share mints: its current LT mint or its FT mint.
    pub share: ShareKind,
    /// The new name ("SOL 4x Long"), or `None` to keep it.
    pub name: Option<String>,
    /// The new symbol ("SOL4X"), or `None` to keep it.
    pub symbol: Option<String>,
    /// The new uri, or `None` to keep it (`Some("")` empties it, as `create_market` allows).
    pub uri: Option<String>,
}

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateShareMetadata<'info> {
    /// Pays the rent a longer field needs.
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.load()?.bump, has_one = admin @ LeverError::Unauthorized)]
    pub config: AccountLoader<'info, Config>,
    /// The update authority of its share mints' metadata (signs the CPI by its seeds).
    #[account(
        has_one = config @ LeverError::ConfigMismatch,
        constraint = market.load()?.is_current_version() @ LeverError::UnsupportedMarketVersion,
    )]
    pub market: AccountLoader<'info, Market>,
    /// The market's current LT mint or its FT mint, as `args.share` says (checked in the handler:
    /// `LtMintMismatch`, `FtMintMismatch`); Token-2022 reads and rewrites its metadata.
    /// CHECK: its address is compared with the market's mint of `args.share` before any use.
    #[account(mut)]
    pub mint: UncheckedAccount<'info>,
    pub share_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

/// The fields `args` writes, checked: at least one given (`NothingToUpdate`), and the metadata
/// after them within `create_market`'s limits (`InvalidMetadata`, the same validation function).
/// In the order to write them: those that do not grow the metadata first (stable otherwise: name,
/// symbol, uri), so the mint's size during the updates never passes the larger of its size before
/// and after.
pub fn share_metadata_writes(
    current: &TokenMetadata,
    args: &UpdateShareMetadataArgs,
) -> Result<Vec<(Field, String)>> {
    let given = [
        (Field::Name, &args.name, &current.name),
        (Field::Symbol, &args.symbol, &current.symbol),
        (Field::Uri, &args.uri, &current.uri),
    ];
    let mut fields: Vec<(Field, String, bool)> = given
        .into_iter()
        .filter_map(|(field, value, old)| {
            value
                .as_ref()
                .map(|value| (field, value.clone(), value.len() > old.len()))
        })
        .collect();
    require!(!fields.is_empty(), LeverError::NothingToUpdate);
    let mut after = current.clone();
    for (field, value, _) in &fields {
        after.update(field.clone(), value.clone());
    }
    validate_share_metadata(&after.name, &after.symbol, &after.uri)?;
    fields.sort_by_key(|(_, _, grows)| *grows);
    Ok(fields
        .into_iter()
        .map(|(field, value, _)| (field, value))
        .collect())
}

/// The mint's metadata as Token-2022 holds it.
fn read_metadata(mint: &AccountInfo) -> Result<TokenMetadata> {
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)?;
    Ok(state.get_variable_len_extension::<TokenMetadata>()?)
}

/// The largest size the mint takes while `writes` are applied in order to `current` (Token-2022's
/// own length rule for each intermediate metadata), and its size now.
fn peak_len(mint: &AccountInfo, current: &TokenMetadata, writes: &[(Field, String)]) -> Result<usize> {
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)?;
    let mut peak = data.len();
    let mut step = current.clone();
    for (field, value) in writes {
        step.update(field.clone(), value.clone());
        peak = peak.max(state.try_get_new_account_len_for_variable_len_extension(&step)?);
    }
    Ok(peak)
}

pub fn update_share_metadata_handler(
    ctx: Context<UpdateShareMetadata>,
    args: UpdateShareMetadataArgs,
) -> Result<()> {
    let market_key = ctx.accounts.market.key();
    let mint_key = ctx.accounts.mint.key();
    let signer = {
        let market = ctx.accounts.market.load()?;
        let expected = market.share_mint(args.share);
        let mismatch = match args.share {
            ShareKind::Lt => LeverError::LtMintMismatch,
            ShareKind::Ft => LeverError::FtMintMismatch,
        };
        require_keys_eq!(mint_key, expected, mismatch);
        MarketSigner::of(&market)
    };
    let a = &ctx.accounts;
    let mint = a.mint.to_account_info();
    let current = read_metadata(&mint)?;
    let writes = share_metadata_writes(&current, &args)?;

    // Fund the largest size first (the writes shrink before they grow, so that is the larger of
    // the sizes before and after). A mint that shrinks keeps its excess lamports.
    let needed = Rent::get()?
        .minimum_balance(peak_len(&mint, &current, &writes)?)
        .saturating_sub(mint.lamports());
    if needed > 0 {
        system_program::transfer(
            CpiContext::new(
                a.system_program.key(),
                system_program::Transfer {
                    from: a.admin.to_account_info(),
                    to: mint.clone(),
                },
            ),
            needed,
        )?;
    }
    let seeds = signer.seeds();
    for (field, value) in writes {
        token_metadata_update_field(
            CpiContext::new_with_signer(
                a.share_token_program.key(),
                TokenMetadataUpdateField {
                    program_id: a.share_token_program.to_account_info(),
                    metadata: mint.clone(),
                    update_authority: a.market.to_account_info(),
                },
                &[&seeds],
            ),
            field,
            value,
        )?;
    }
    // Every field as the mint holds it now.
    let written = read_metadata(&mint)?;
    emit_event(
        &a.event_authority,
        &ShareMetadataUpdated {
            market: market_key,
            mint: mint_key,
            share: args.share,
            name: written.name,
            symbol: written.symbol,
            uri: written.uri,
        },
    )
}
