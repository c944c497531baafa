//! Event emitters. Every event is emitted by self-CPI through the event authority (what
//! `emit_cpi!` does) so the helpers below can be called from any handler; clients and native tests
//! read them as inner instructions. The refresh at the top of a priced instruction has its own
//! emitter, so each instruction reports the accrual and the automatic rebalances it ran the same way.

use anchor_lang::prelude::*;

use crate::events::{FundingAccrued, Rebalanced};
use crate::math::{Accrual, PoolState, RebalanceResult};
use crate::state::Refresh;

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

/// Events for what [`Market::refresh`](crate::state::Market::refresh) did before the instruction's own work.
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
