//! A two-step request: a user operation whose input waits in escrow until `settle_request` prices it
//! at the one Pyth update covering its target time `tau` (or `cancel_request` returns it after the
//! settlement window). PDA `[REQUEST_SEED, market, owner, nonce (u64 LE)]`; the escrow token account
//! is `[ESCROW_SEED, request]`, owned by the market. The account holds its rent plus the prepaid
//! settlement tip; closing it pays the tip to the settler (or canceller) and the rent to the payer.

use anchor_lang::prelude::*;

use crate::constants::pause;

/// What a request does when it settles.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Underlying units in, LT out.
    MintLt,
    /// LT in, underlying units out.
    RedeemLt,
    /// Underlying units in, FT out.
    DepositFunding,
    /// FT in, underlying units out.
    WithdrawFunding,
}

impl RequestKind {
    /// The pause bit of the operation.
    pub fn pause_bit(self) -> u8 {
        match self {
            Self::MintLt => pause::MINT_LT,
            Self::RedeemLt => pause::REDEEM_LT,
            Self::DepositFunding => pause::DEPOSIT_FUNDING,
            Self::WithdrawFunding => pause::WITHDRAW_FUNDING,
        }
    }

    /// An entry (mint, deposit) adds risk to the pools; an exit (redeem, withdraw) takes it out.
    pub fn is_entry(self) -> bool {
        matches!(self, Self::MintLt | Self::DepositFunding)
    }

    /// Whether the input is underlying units (else LT or FT shares).
    pub fn takes_units(self) -> bool {
        matches!(self, Self::MintLt | Self::DepositFunding)
    }
}

#[account]
#[derive(Copy, InitSpace, Debug, PartialEq, Eq)]
pub struct Request {
    pub market: Pubkey,
    /// Signed the request as the authority of `source` (a wallet, or a composing program's PDA);
    /// the escrow returns to its `source` on a refund or cancel.
    pub owner: Pubkey,
    /// Paid the rent of the request and its escrow and the tip; the rent goes back to it when the
    /// request closes. Often the owner; a composing program lets its user pay.
    pub payer: Pubkey,
    pub kind: RequestKind,
    /// Chosen by the owner: one owner may hold many open requests on a market.
    pub nonce: u64,
    /// Input held in escrow: underlying units (mint, deposit) or shares (redeem, withdraw).
    pub amount: u64,
    /// Least output (shares or units) the owner accepts; below it the settlement refunds.
    pub min_out: u64,
    /// The escrow token account (`[ESCROW_SEED, request]`).
    pub escrow: Pubkey,
    /// The owner's token account the input came from; refunds go back to it.
    pub source: Pubkey,
    /// Receives the output (any owner).
    pub destination: Pubkey,
    /// Chain unix time and slot the request landed at.
    pub requested_at: i64,
    pub requested_slot: u64,
    /// Settlement target: `requested_at + settle_delay_secs`.
    pub tau: i64,
    /// Last unix time a settlement is accepted (`tau + settle_window_secs`); after it, cancel only.
    pub expires_at: i64,
    /// Lamports above rent held by this account, paid to whoever settles or cancels it.
    pub tip_lamports: u64,
    pub bump: u8,
}

impl Request {
    /// How the request's settlement is priced: at the update covering `tau`, with the confidence
    /// limit for an entry only.
    pub fn pricing(&self) -> crate::oracle::Pricing {
        crate::oracle::Pricing::Settlement {
            tau: self.tau,
            entry: self.kind.is_entry(),
        }
    }
}

/// Arguments of every `request_*` instruction.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestArgs {
    pub nonce: u64,
    /// Input: underlying units (mint, deposit) or shares (redeem, withdraw).
    pub amount: u64,
    /// Least output accepted at settlement; below it the request is refunded.
    pub min_out: u64,
    /// Prepaid settlement tip (lamports), at least the market's minimum.
    pub tip_lamports: u64,
}
