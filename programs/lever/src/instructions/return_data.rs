//! The outcome of an instruction as return data, for CPI callers (e.g. lever-vault) and clients.

use anchor_lang::prelude::*;

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
