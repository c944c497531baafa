//! The books against the token program. Before the work: a vault balance above what the books
//! owe is a donation and becomes fee units; a share mint's supply below the recorded one (a holder
//! burned their own shares) is followed. After the transfers: the vault must hold exactly what the
//! books owe. Anything else is refused.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount};

use crate::error::LeverError;
use crate::math::SafeMath;
use crate::state::Market;

/// Any vault balance above what the books owe is a donation: it goes to the protocol's fee units,
/// so no NAV moves and the books balance exactly again. A vault below the books is a bug.
pub fn absorb_donations(market: &mut Market, vault_amount: u64) -> Result<()> {
    let owed = market.pool().units_owed()?;
    require!(vault_amount >= owed, LeverError::VaultShortfall);
    let surplus = vault_amount.safe_sub(owed)?;
    market.fee_units = market.fee_units.safe_add(surplus)?;
    Ok(())
}

/// After the transfers: the vault must hold exactly what the books say.
pub fn reconcile_vault(vault: &mut InterfaceAccount<TokenAccount>, owed: u64) -> Result<()> {
    vault.reload()?;
    require!(vault.amount == owed, LeverError::VaultReconcileFailed);
    Ok(())
}

/// Bring the recorded share supply in line with the mint. A holder may burn their own LT/FT with
/// the token program directly: that gives their claim to the other holders, and the books follow
/// the mint (refusing instead would let one burned raw unit lock every holder out). A mint supply
/// above the books would mean shares minted outside the program: refused.
pub fn sync_supply(mint: &InterfaceAccount<Mint>, recorded: &mut u64) -> Result<()> {
    require!(mint.supply <= *recorded, LeverError::ShareSupplyMismatch);
    *recorded = mint.supply;
    Ok(())
}

/// [`sync_supply`] for LT, whose books also count the retired LT not converted yet
/// ([`Market::retired_lt_claim`]): the current mint's supply plus that claim.
pub fn sync_lt_supply(mint: &InterfaceAccount<Mint>, market: &mut Market) -> Result<()> {
    let expected = mint.supply.safe_add(market.retired_lt_claim()?)?;
    require!(expected <= market.lt_supply, LeverError::ShareSupplyMismatch);
    market.lt_supply = expected;
    Ok(())
}
