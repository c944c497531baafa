//! One file per instruction, grouped by role. Each handler reads and checks, lets `state`/`math`
//! decide the numbers, then moves tokens, reconciles the vault and emits events.

pub mod admin;
pub mod keeper;
pub mod user;

pub use admin::*;
pub use keeper::*;
pub use user::*;

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenAccount};

use crate::constants::{pause, MARKET_SEED};
use crate::error::LeverError;
use crate::events::{FundingAccrued, Rebalanced};
use crate::math::{Accrual, PoolState, RebalanceResult, SafeMath};
pub use crate::oracle::Now;
use crate::state::{Market, Refresh};

/// The market PDA's signer seeds, copied out so the account can be released before a CPI.
pub struct MarketSigner {
    mint: Pubkey,
    id: [u8; 4],
    bump: [u8; 1],
}

impl MarketSigner {
    pub fn of(market: &Market) -> Self {
        Self::from_parts(market.underlying_mint, market.id, market.bump)
    }

    pub fn from_parts(underlying_mint: Pubkey, id: u32, bump: u8) -> Self {
        Self {
            mint: underlying_mint,
            id: id.to_le_bytes(),
            bump: [bump],
        }
    }

    pub fn seeds(&self) -> [&[u8]; 4] {
        [MARKET_SEED, self.mint.as_ref(), &self.id, &self.bump]
    }
}

/// Emit an event by self-CPI through the event authority (what `emit_cpi!` does), so it can be
/// called from helpers. Native tests read these as inner instructions.
pub fn emit_event<E: anchor_lang::Event>(authority: &AccountInfo, event: &E) -> Result<()> {
    let data: Vec<u8> = anchor_lang::event::EVENT_IX_TAG_LE
        .iter()
        .copied()
        .chain(event.data())
        .collect();
    let ix = anchor_lang::solana_program::instruction::Instruction::new_with_bytes(
        crate::ID,
        &data,
        vec![AccountMeta::new_readonly(*authority.key, true)],
    );
    anchor_lang::solana_program::program::invoke_signed(
        &ix,
        std::slice::from_ref(authority),
        &[&[b"__event_authority", &[crate::EVENT_AUTHORITY_AND_BUMP.1]]],
    )
    .map_err(Into::into)
}

/// `FundingAccrued`, when the accrual moved any value.
pub fn emit_accrual(
    authority: &AccountInfo,
    market: Pubkey,
    price: u128,
    accrual: &Accrual,
    pool: PoolState,
) -> Result<()> {
    if accrual.interest == 0 {
        return Ok(());
    }
    emit_event(
        authority,
        &FundingAccrued {
            market,
            interest: accrual.interest,
            rate_ppm: accrual.rate_ppm,
            utilization_ppm: accrual.utilization_ppm,
            elapsed: accrual.elapsed,
            price,
            pool: pool.into(),
        },
    )
}

/// `Rebalanced`, by a keeper (`automatic: false`) or inside a user instruction.
pub fn emit_rebalance(
    authority: &AccountInfo,
    market: Pubkey,
    caller: Pubkey,
    automatic: bool,
    price: u128,
    r: &RebalanceResult,
    pool: PoolState,
) -> Result<()> {
    emit_event(
        authority,
        &Rebalanced {
            market,
            caller,
            automatic,
            price,
            leverage_before_ppm: r.leverage_before_ppm,
            leverage_after_ppm: r.leverage_after_ppm,
            units_to_pool: r.units_to_pool,
            units_to_idle: r.units_to_idle,
            bounded: r.bounded,
            wiped: r.wiped,
            bad_debt: r.bad_debt,
            pool: pool.into(),
        },
    )
}

/// Events for what [`Market::refresh`] did before the instruction's own work.
pub fn emit_refresh(
    authority: &AccountInfo,
    market: Pubkey,
    caller: Pubkey,
    price: u128,
    refresh: &Refresh,
) -> Result<()> {
    emit_accrual(
        authority,
        market,
        price,
        &refresh.accrual,
        refresh.pool_after_accrual,
    )?;
    if let Some(r) = &refresh.settled {
        emit_rebalance(
            authority,
            market,
            caller,
            true,
            price,
            r,
            refresh.pool_after_accrual,
        )?;
    }
    if let Some(r) = &refresh.rebalance {
        emit_rebalance(authority, market, caller, true, price, r, refresh.pool_after)?;
    }
    Ok(())
}

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

/// Move `amount` units from a user's account to the vault.
pub fn transfer_in<'info>(
    token_program: &AccountInfo<'info>,
    from: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token_interface::transfer_checked(
        CpiContext::new(
            token_program.key(),
            token_interface::TransferChecked {
                from: from.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: authority.clone(),
            },
        ),
        amount,
        mint.decimals,
    )
}

/// Move `amount` units out of the vault, signed by the market.
pub fn transfer_out<'info>(
    token_program: &AccountInfo<'info>,
    vault: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    signer: &MarketSigner,
    amount: u64,
) -> Result<()> {
    let seeds = signer.seeds();
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            token_interface::TransferChecked {
                from: vault.clone(),
                mint: mint.to_account_info(),
                to: to.clone(),
                authority: market.clone(),
            },
            &[&seeds],
        ),
        amount,
        mint.decimals,
    )
}

/// Mint LT or FT, signed by the market.
pub fn mint_shares<'info>(
    token_program: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    market: &AccountInfo<'info>,
    signer: &MarketSigner,
    amount: u64,
) -> Result<()> {
    let seeds = signer.seeds();
    token_interface::mint_to(
        CpiContext::new_with_signer(
            token_program.key(),
            token_interface::MintTo {
                mint: mint.clone(),
                to: to.clone(),
                authority: market.clone(),
            },
            &[&seeds],
        ),
        amount,
    )
}

/// Burn a user's LT or FT (the user signs).
pub fn burn_shares<'info>(
    token_program: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    from: &AccountInfo<'info>,
    owner: &AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    token_interface::burn(
        CpiContext::new(
            token_program.key(),
            token_interface::Burn {
                mint: mint.clone(),
                from: from.clone(),
                authority: owner.clone(),
            },
        ),
        amount,
    )
}

/// The common start of every user instruction: the pause bit, donations, the price, then
/// funding accrual and the automatic return into band (not on a stale exit: a rebalance moves value
/// between the pools at the price, which must be fresh for that).
pub fn begin_priced(
    market: &mut Market,
    update: &pyth_solana_receiver_sdk::price_update::PriceUpdateV2,
    op: u8,
    vault_amount: u64,
    now: Now,
) -> Result<(crate::oracle::ValidPrice, Refresh)> {
    market.require_not_paused(op)?;
    absorb_donations(market, vault_amount)?;
    let exit = op == pause::REDEEM_LT || op == pause::WITHDRAW_FUNDING;
    let price = crate::oracle::read_price(update, market, now, exit)?;
    let refresh = market.refresh(price.band.mid, price.publish_time, now, !price.stale)?;
    Ok((price, refresh))
}

/// Every instruction names all the accounts it reads; anything more is a caller's mistake (or a
/// probe, e.g. a forged sysvar), refused before any work.
pub fn no_remaining_accounts(remaining: &[AccountInfo]) -> Result<()> {
    require!(remaining.is_empty(), LeverError::UnexpectedAccounts);
    Ok(())
}

/// Put an instruction's outcome in the transaction's return data.
///
/// Anchor also does this for handlers that return a value, but off chain its call is a no-op
/// (`solana_cpi::set_return_data` only acts on SBF), so native tests and the embedded chain would
/// never see it. This routes through the syscall stubs off chain and the syscall on chain.
pub fn publish_return_data<T: AnchorSerialize>(value: &T) -> Result<()> {
    let mut data = Vec::with_capacity(64);
    value.serialize(&mut data)?;
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::program::set_return_data(&data);
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_set_return_data(&data);
    Ok(())
}
