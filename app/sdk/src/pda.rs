//! Program-derived addresses, from the program's own seed constants.

use anchor_lang::prelude::Pubkey;
use lever::constants::*;

pub fn config() -> Pubkey {
    Pubkey::find_program_address(&[CONFIG_SEED], &lever::ID).0
}

pub fn market(underlying_mint: &Pubkey, id: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[MARKET_SEED, underlying_mint.as_ref(), &id.to_le_bytes()],
        &lever::ID,
    )
    .0
}

pub fn vault(market: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[VAULT_SEED, market.as_ref()], &lever::ID).0
}

/// The LT mint of epoch 0 (the one `create_market` makes).
pub fn lt_mint(market: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[LT_MINT_SEED, market.as_ref()], &lever::ID).0
}

/// The LT mint of `epoch` (0: [`lt_mint`]; later ones are made by `start_lt_epoch`).
pub fn lt_mint_at(market: &Pubkey, epoch: u32) -> Pubkey {
    if epoch == 0 {
        return lt_mint(market);
    }
    Pubkey::find_program_address(&[LT_MINT_SEED, market.as_ref(), &epoch.to_le_bytes()], &lever::ID).0
}

pub fn ft_mint(market: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[FT_MINT_SEED, market.as_ref()], &lever::ID).0
}

pub fn locked_ft(market: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[LOCKED_FT_SEED, market.as_ref()], &lever::ID).0
}

/// A two-step request: `[REQUEST_SEED, market, owner, nonce (u64 LE)]`.
pub fn request(market: &Pubkey, owner: &Pubkey, nonce: u64) -> Pubkey {
    Pubkey::find_program_address(
        &[
            REQUEST_SEED,
            market.as_ref(),
            owner.as_ref(),
            &nonce.to_le_bytes(),
        ],
        &lever::ID,
    )
    .0
}

/// A request's escrow token account: `[ESCROW_SEED, request]`.
pub fn escrow(request: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[ESCROW_SEED, request.as_ref()], &lever::ID).0
}

pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], &lever::ID).0
}

/// Every address of one market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketKeys {
    pub id: u32,
    pub market: Pubkey,
    pub underlying_mint: Pubkey,
    /// SPL Token or Token-2022, whichever owns the underlying mint.
    pub underlying_token_program: Pubkey,
    pub vault: Pubkey,
    pub lt_mint: Pubkey,
    pub ft_mint: Pubkey,
    pub locked_ft: Pubkey,
}

impl MarketKeys {
    /// The market's mints, as the program's request rules take them.
    pub fn mints(&self) -> lever::instructions::MarketMints {
        lever::instructions::MarketMints {
            underlying_mint: self.underlying_mint,
            lt_mint: self.lt_mint,
            ft_mint: self.ft_mint,
            underlying_token_program: self.underlying_token_program,
        }
    }

    /// The market's mint of `share`: its current LT mint or its FT mint.
    pub fn share_mint(&self, share: lever::state::ShareKind) -> Pubkey {
        match share {
            lever::state::ShareKind::Lt => self.lt_mint,
            lever::state::ShareKind::Ft => self.ft_mint,
        }
    }

    pub fn derive(underlying_mint: Pubkey, id: u32, underlying_token_program: Pubkey) -> Self {
        let m = market(&underlying_mint, id);
        Self {
            id,
            market: m,
            underlying_mint,
            underlying_token_program,
            vault: vault(&m),
            lt_mint: lt_mint(&m),
            ft_mint: ft_mint(&m),
            locked_ft: locked_ft(&m),
        }
    }

    /// The keys of `market` as its account records them: the LT mint of its current epoch.
    pub fn of(market: &lever::state::Market) -> Self {
        Self {
            lt_mint: market.lt_mint,
            ..Self::derive(market.underlying_mint, market.id, market.underlying_token_program)
        }
    }
}

/// The SPL Associated Token Account program.
pub const ASSOCIATED_TOKEN_PROGRAM: Pubkey =
    anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// The associated token account of `owner` for `mint` under `token_program` (SPL Token or
/// Token-2022): PDA `[owner, token_program, mint]` of the ATA program.
pub fn associated_token_account(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[owner.as_ref(), token_program.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM,
    )
    .0
}
