//! What every instruction does before its own work: refuse remaining accounts, and for the priced
//! user instructions check the pause bit, absorb donations, read the price, then accrue funding and
//! bring the market back into band ([`Market::refresh`]).

use anchor_lang::prelude::*;

use super::absorb_donations;
use crate::constants::pause;
use crate::error::LeverError;
use crate::oracle::Now;
use crate::state::{Market, Refresh};

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
