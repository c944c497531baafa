//! The market PDA's signer seeds. The market is the authority of the vault and of the LT/FT mints,
//! so every CPI that moves vault units or mints shares is signed with these; they are copied out of
//! the zero-copy account so the account can be released before the CPI.

use anchor_lang::prelude::*;

use crate::constants::MARKET_SEED;
use crate::state::Market;

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
