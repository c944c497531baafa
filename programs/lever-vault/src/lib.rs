//! Lever Vault: an example of a program composing Lever by CPI.
//!
//! One vault per Lever market. A depositor's underlying units go into a token account the vault's
//! PDA owns; the vault mints Lever LT for them by CPI (the vault PDA signs as Lever's `user`), reads
//! the LT minted from Lever's return data and books them to the depositor's position. A withdrawal
//! redeems the position's LT through Lever and Lever pays the depositor directly. Each call passes
//! the caller's minimum-out down to Lever, so slippage is refused by Lever itself
//! (`SlippageExceeded`) and the whole transaction reverts.
//!
//! The vault checks only what it owns (its state, the depositor's position, its token accounts and
//! that the market is its market); every Lever account is checked by Lever against that market.
//!
//! `deposit`/`withdraw` use Lever's instant path (one transaction; only where the market turns it
//! on, at its instant fee, short price age and per-slot cap). `request_deposit` + `claim_deposit`
//! use the two-step path, which every market has: the vault's PDA owns a Lever request for the
//! depositor's units (the depositor pays its rent and tip), its output goes to a pending LT account
//! of that deposit, and after a keeper settles it the depositor claims: the LT that arrived is
//! booked to the position, or, if Lever refunded the units (or the request expired and was
//! cancelled), they go back to the depositor.
//!
//! Every address the vault creates (its state, its token accounts, a position, a pending deposit
//! and its LT account) is known in advance, and anyone can send it lamports first. Anchor 1.2's
//! `init` then takes a system instruction this runtime refuses, so the address would be lost (a
//! vault that can never open, a depositor who can never hold a position, a nonce that blocks every
//! later two-step deposit). The vault creates them with Lever's `create_pda_account` /
//! `create_token_account` instead, which top a funded address up to its rent, then allocate and
//! assign it (`tests/cpi` `cpi_prefunded_vault_addresses_do_not_block_the_vault`).

#![allow(unexpected_cfgs)]
// Anchor's generated code and the #[program] dispatch trip these lints.
#![allow(clippy::result_large_err)]

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, Token2022, TokenAccount, TokenInterface, TransferChecked};
use lever::instructions::{
    create_pda_account, create_token_account, write_account, MintLtOutcome, RedeemLtOutcome,
};
use lever::program::Lever;
use lever::state::Market;

declare_id!("7eP86kB6F7jXgZsS4hoSjLUZirzibHYqvJGZMUPTLHaz");

/// `VaultState`: `["vault", lever_market]`. Also the authority of the vault's token accounts and
/// the Lever `user` of every CPI.
pub const VAULT_SEED: &[u8] = b"vault";
/// The vault's underlying token account: `["underlying", vault_state]`.
pub const VAULT_UNDERLYING_SEED: &[u8] = b"underlying";
/// The vault's LT token account (Token-2022): `["lt", vault_state]`.
pub const VAULT_LT_SEED: &[u8] = b"lt";
/// A depositor's `Position`: `["position", vault_state, owner]`.
pub const POSITION_SEED: &[u8] = b"position";
/// A two-step deposit waiting for its Lever settlement: `["pending", vault_state, nonce u64 LE]`;
/// its LT token account: `["pending_lt", pending]`.
pub const PENDING_SEED: &[u8] = b"pending";
pub const PENDING_LT_SEED: &[u8] = b"pending_lt";

#[program]
pub mod lever_vault {
    use super::*;

    /// Create the vault of a Lever market and its two token accounts (underlying and LT).
    pub fn initialize_vault(ctx: Context<InitializeVault>) -> Result<()> {
        let a = &ctx.accounts;
        let (payer, system) = (a.payer.to_account_info(), a.system_program.to_account_info());
        let state = a.vault_state.to_account_info();
        let market = a.lever_market.key();
        let bump = ctx.bumps.vault_state;
        create_pda_account(
            &payer,
            &state,
            &system,
            8 + VaultState::INIT_SPACE,
            &crate::ID,
            &[VAULT_SEED, market.as_ref(), &[bump]],
        )?;
        create_token_account(
            &payer,
            &a.vault_underlying.to_account_info(),
            &a.underlying_mint.to_account_info(),
            &state,
            &a.underlying_token_program.to_account_info(),
            &system,
            &[
                VAULT_UNDERLYING_SEED,
                state.key.as_ref(),
                &[ctx.bumps.vault_underlying],
            ],
        )?;
        create_token_account(
            &payer,
            &a.vault_lt.to_account_info(),
            &a.lt_mint.to_account_info(),
            &state,
            &a.share_token_program.to_account_info(),
            &system,
            &[VAULT_LT_SEED, state.key.as_ref(), &[ctx.bumps.vault_lt]],
        )?;
        write_account(
            &state,
            &VaultState {
                lever_market: market,
                underlying: a.vault_underlying.key(),
                lt: a.vault_lt.key(),
                total_lt: 0,
                next_nonce: 0,
                bump,
            },
        )
    }

    /// Open the signer's (empty) position in a vault.
    pub fn open_position(ctx: Context<OpenPosition>) -> Result<()> {
        let a = &ctx.accounts;
        let position = a.position.to_account_info();
        let (vault, owner, bump) = (a.vault_state.key(), a.owner.key(), ctx.bumps.position);
        create_pda_account(
            &a.owner.to_account_info(),
            &position,
            &a.system_program.to_account_info(),
            8 + Position::INIT_SPACE,
            &crate::ID,
            &[POSITION_SEED, vault.as_ref(), owner.as_ref(), &[bump]],
        )?;
        write_account(
            &position,
            &Position {
                vault,
                owner,
                lt: 0,
                units_deposited: 0,
                units_withdrawn: 0,
                bump,
            },
        )
    }

    /// Take `amount` underlying units from the depositor, mint LT for them through Lever (at least
    /// `min_lt_out`, enforced by Lever) and book the LT to the depositor's position.
    pub fn deposit(ctx: Context<UsePosition>, amount: u64, min_lt_out: u64) -> Result<()> {
        require!(amount > 0, VaultError::ZeroAmount);
        let a = &ctx.accounts;
        transfer(
            a.underlying_token_program.key(),
            a.depositor_underlying.to_account_info(),
            &a.underlying_mint,
            a.vault_underlying.to_account_info(),
            a.depositor.to_account_info(),
            &[],
            amount,
        )?;

        let lt_before = a.vault_lt.amount;
        let market = a.vault_state.lever_market;
        let bump = [a.vault_state.bump];
        let seeds: &[&[u8]] = &[VAULT_SEED, market.as_ref(), &bump];
        // The `Return` of Anchor's CPI helper is not used: its `get` reads the return data through
        // `solana_cpi::get_return_data`, which off chain is `None` (see `return_data`).
        lever::cpi::mint_lt(
            CpiContext::new_with_signer(
                a.lever_program.key(),
                lever::cpi::accounts::MintLt {
                    user: a.vault_state.to_account_info(),
                    market: a.lever_market.to_account_info(),
                    underlying_mint: a.underlying_mint.to_account_info(),
                    vault: a.lever_vault.to_account_info(),
                    lt_mint: a.lt_mint.to_account_info(),
                    user_underlying: a.vault_underlying.to_account_info(),
                    user_lt: a.vault_lt.to_account_info(),
                    price_update: a.price_update.to_account_info(),
                    underlying_token_program: a.underlying_token_program.to_account_info(),
                    share_token_program: a.share_token_program.to_account_info(),
                    event_authority: a.lever_event_authority.to_account_info(),
                    program: a.lever_program.to_account_info(),
                },
                &[seeds],
            ),
            amount,
            min_lt_out,
        )?;
        let outcome: MintLtOutcome = lever_outcome()?;
        require!(outcome.units_in == amount, VaultError::OutcomeMismatch);

        // The LT that actually arrived must be what Lever reports.
        let a = &mut *ctx.accounts;
        a.vault_lt.reload()?;
        let received = a
            .vault_lt
            .amount
            .checked_sub(lt_before)
            .ok_or(VaultError::MathOverflow)?;
        require!(received == outcome.shares_out, VaultError::OutcomeMismatch);

        let position = &mut a.position;
        position.lt = position
            .lt
            .checked_add(received)
            .ok_or(VaultError::MathOverflow)?;
        position.units_deposited = position
            .units_deposited
            .checked_add(amount)
            .ok_or(VaultError::MathOverflow)?;
        a.vault_state.total_lt = a
            .vault_state
            .total_lt
            .checked_add(received)
            .ok_or(VaultError::MathOverflow)?;
        Ok(())
    }

    /// Two-step deposit: take `amount` units from the depositor and open a Lever mint request
    /// owned by the vault (the depositor pays its rent and `tip_lamports`) whose LT will arrive in
    /// this deposit's pending account. `nonce` is the vault's next one (`VaultState::next_nonce`).
    pub fn request_deposit(
        ctx: Context<RequestDeposit>,
        nonce: u64,
        amount: u64,
        min_lt_out: u64,
        tip_lamports: u64,
    ) -> Result<()> {
        require!(amount > 0, VaultError::ZeroAmount);
        require!(
            nonce == ctx.accounts.vault_state.next_nonce,
            VaultError::WrongNonce
        );
        let a = &ctx.accounts;
        let (payer, system) = (a.depositor.to_account_info(), a.system_program.to_account_info());
        let pending = a.pending.to_account_info();
        let (vault, pending_bump) = (a.vault_state.key(), ctx.bumps.pending);
        let nonce_bytes = nonce.to_le_bytes();
        create_pda_account(
            &payer,
            &pending,
            &system,
            8 + PendingDeposit::INIT_SPACE,
            &crate::ID,
            &[PENDING_SEED, vault.as_ref(), &nonce_bytes, &[pending_bump]],
        )?;
        create_token_account(
            &payer,
            &a.pending_lt.to_account_info(),
            &a.lt_mint.to_account_info(),
            &a.vault_state.to_account_info(),
            &a.share_token_program.to_account_info(),
            &system,
            &[PENDING_LT_SEED, pending.key.as_ref(), &[ctx.bumps.pending_lt]],
        )?;
        transfer(
            a.underlying_token_program.key(),
            a.depositor_underlying.to_account_info(),
            &a.underlying_mint,
            a.vault_underlying.to_account_info(),
            a.depositor.to_account_info(),
            &[],
            amount,
        )?;
        let market = a.vault_state.lever_market;
        let bump = [a.vault_state.bump];
        let seeds: &[&[u8]] = &[VAULT_SEED, market.as_ref(), &bump];
        lever::cpi::request_mint_lt(
            CpiContext::new_with_signer(
                a.lever_program.key(),
                lever::cpi::accounts::OpenRequest {
                    payer: a.depositor.to_account_info(),
                    owner: a.vault_state.to_account_info(),
                    market: a.lever_market.to_account_info(),
                    request: a.lever_request.to_account_info(),
                    input_mint: a.underlying_mint.to_account_info(),
                    output_mint: a.lt_mint.to_account_info(),
                    escrow: a.lever_escrow.to_account_info(),
                    source: a.vault_underlying.to_account_info(),
                    destination: a.pending_lt.to_account_info(),
                    input_token_program: a.underlying_token_program.to_account_info(),
                    system_program: a.system_program.to_account_info(),
                    event_authority: a.lever_event_authority.to_account_info(),
                    program: a.lever_program.to_account_info(),
                },
                &[seeds],
            ),
            lever::state::RequestArgs {
                nonce,
                amount,
                min_out: min_lt_out,
                tip_lamports,
            },
        )?;
        let a = &mut *ctx.accounts;
        a.vault_state.next_nonce = nonce.checked_add(1).ok_or(VaultError::MathOverflow)?;
        write_account(
            &a.pending.to_account_info(),
            &PendingDeposit {
                vault: a.vault_state.key(),
                owner: a.depositor.key(),
                request: a.lever_request.key(),
                amount,
                bump: pending_bump,
            },
        )
    }

    /// After Lever closed the deposit's request (settled, or cancelled after expiry): book the LT
    /// that arrived to the position, or, if none did (refunded or cancelled: the units came back to
    /// the vault), return the units to the depositor. Closes the pending accounts.
    pub fn claim_deposit(ctx: Context<ClaimDeposit>) -> Result<()> {
        // Lever closes a request by emptying it: still funded means still open.
        require!(
            ctx.accounts.lever_request.lamports() == 0,
            VaultError::RequestStillOpen
        );
        let a = &ctx.accounts;
        let market = a.vault_state.lever_market;
        let bump = [a.vault_state.bump];
        let seeds: &[&[u8]] = &[VAULT_SEED, market.as_ref(), &bump];
        let arrived = a.pending_lt.amount;
        if arrived > 0 {
            transfer(
                a.share_token_program.key(),
                a.pending_lt.to_account_info(),
                &a.lt_mint,
                a.vault_lt.to_account_info(),
                a.vault_state.to_account_info(),
                &[seeds],
                arrived,
            )?;
        } else {
            transfer(
                a.underlying_token_program.key(),
                a.vault_underlying.to_account_info(),
                &a.underlying_mint,
                a.depositor_underlying.to_account_info(),
                a.vault_state.to_account_info(),
                &[seeds],
                a.pending.amount,
            )?;
        }
        token_interface::close_account(CpiContext::new_with_signer(
            a.share_token_program.key(),
            token_interface::CloseAccount {
                account: a.pending_lt.to_account_info(),
                destination: a.depositor.to_account_info(),
                authority: a.vault_state.to_account_info(),
            },
            &[seeds],
        ))?;
        let amount = a.pending.amount;
        let a = &mut *ctx.accounts;
        if arrived > 0 {
            let position = &mut a.position;
            position.lt = position.lt.checked_add(arrived).ok_or(VaultError::MathOverflow)?;
            position.units_deposited = position
                .units_deposited
                .checked_add(amount)
                .ok_or(VaultError::MathOverflow)?;
            a.vault_state.total_lt = a
                .vault_state
                .total_lt
                .checked_add(arrived)
                .ok_or(VaultError::MathOverflow)?;
        }
        Ok(())
    }

    /// Redeem `lt_amount` of the position's LT through Lever (at least `min_units_out`, enforced by
    /// Lever); Lever pays the units to the depositor's underlying account.
    pub fn withdraw(ctx: Context<UsePosition>, lt_amount: u64, min_units_out: u64) -> Result<()> {
        require!(lt_amount > 0, VaultError::ZeroAmount);
        let a = &ctx.accounts;
        require!(a.position.lt >= lt_amount, VaultError::InsufficientPosition);

        let units_before = a.depositor_underlying.amount;
        let market = a.vault_state.lever_market;
        let bump = [a.vault_state.bump];
        let seeds: &[&[u8]] = &[VAULT_SEED, market.as_ref(), &bump];
        lever::cpi::redeem_lt(
            CpiContext::new_with_signer(
                a.lever_program.key(),
                lever::cpi::accounts::RedeemLt {
                    user: a.vault_state.to_account_info(),
                    market: a.lever_market.to_account_info(),
                    underlying_mint: a.underlying_mint.to_account_info(),
                    vault: a.lever_vault.to_account_info(),
                    lt_mint: a.lt_mint.to_account_info(),
                    user_underlying: a.depositor_underlying.to_account_info(),
                    user_lt: a.vault_lt.to_account_info(),
                    price_update: a.price_update.to_account_info(),
                    underlying_token_program: a.underlying_token_program.to_account_info(),
                    share_token_program: a.share_token_program.to_account_info(),
                    event_authority: a.lever_event_authority.to_account_info(),
                    program: a.lever_program.to_account_info(),
                },
                &[seeds],
            ),
            lt_amount,
            min_units_out,
        )?;
        let outcome: RedeemLtOutcome = lever_outcome()?;
        require!(outcome.shares_in == lt_amount, VaultError::OutcomeMismatch);

        let a = &mut *ctx.accounts;
        a.depositor_underlying.reload()?;
        let paid = a
            .depositor_underlying
            .amount
            .checked_sub(units_before)
            .ok_or(VaultError::MathOverflow)?;
        require!(paid == outcome.units_out, VaultError::OutcomeMismatch);

        let position = &mut a.position;
        position.lt = position
            .lt
            .checked_sub(lt_amount)
            .ok_or(VaultError::MathOverflow)?;
        position.units_withdrawn = position
            .units_withdrawn
            .checked_add(paid)
            .ok_or(VaultError::MathOverflow)?;
        a.vault_state.total_lt = a
            .vault_state
            .total_lt
            .checked_sub(lt_amount)
            .ok_or(VaultError::MathOverflow)?;
        Ok(())
    }
}

/// Lever's outcome of the CPI just made, from the return data; it must have been set by Lever.
fn lever_outcome<T: AnchorDeserialize>() -> Result<T> {
    let (program_id, data) = return_data().ok_or(VaultError::MissingReturnData)?;
    require_keys_eq!(program_id, lever::ID, VaultError::ReturnDataNotFromLever);
    T::try_from_slice(&data).map_err(|_| error!(VaultError::MalformedReturnData))
}

/// The transaction's return data and the program that set it (`None` when empty).
///
/// On chain this is the `sol_get_return_data` syscall. Natively (solana-program-test runs this
/// program and Lever as builtins) `solana_cpi::get_return_data` is a stub that always returns
/// `None`, so it is read through the syscall stubs instead, which program-test routes to the
/// transaction context: the very buffer the syscall reads and Lever's `publish_return_data` writes.
/// The runtime resets that buffer to (callee, empty) at the start of every instruction it
/// processes, CPIs included (program-runtime's `process_executable_chain`, where SBF does it in the
/// CPI syscall), so what is there after the CPI was set during it; Lever sets it last, after its
/// own CPIs, and the program-id check refuses data left by anyone else.
fn return_data() -> Option<(Pubkey, Vec<u8>)> {
    #[cfg(target_os = "solana")]
    let data = anchor_lang::solana_program::program::get_return_data();
    #[cfg(not(target_os = "solana"))]
    let data = anchor_lang::compat::solana_sysvar::program_stubs::sol_get_return_data();
    data.filter(|(_, bytes)| !bytes.is_empty())
}

/// `transfer_checked` of `amount` from `from` to `to`, signed by `authority` (with `seeds` when it
/// is the vault's PDA).
fn transfer<'info>(
    token_program: Pubkey,
    from: AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    to: AccountInfo<'info>,
    authority: AccountInfo<'info>,
    seeds: &[&[&[u8]]],
    amount: u64,
) -> Result<()> {
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program,
            TransferChecked {
                from,
                mint: mint.to_account_info(),
                to,
                authority,
            },
            seeds,
        ),
        amount,
        mint.decimals,
    )
}

#[derive(Accounts)]
pub struct InitializeVault<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The Lever market (owner and discriminator checked by the loader).
    pub lever_market: AccountLoader<'info, Market>,
    #[account(address = lever_market.load()?.underlying_mint @ VaultError::MintMismatch)]
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(address = lever_market.load()?.lt_mint @ VaultError::MintMismatch)]
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: created by the handler at this PDA (a `VaultState`), whatever lamports it holds;
    /// an existing one is refused by the system program's `allocate`.
    #[account(mut, seeds = [VAULT_SEED, lever_market.key().as_ref()], bump)]
    pub vault_state: UncheckedAccount<'info>,
    /// CHECK: created by the handler at this PDA: the vault's underlying token account.
    #[account(mut, seeds = [VAULT_UNDERLYING_SEED, vault_state.key().as_ref()], bump)]
    pub vault_underlying: UncheckedAccount<'info>,
    /// CHECK: created by the handler at this PDA: the vault's LT token account.
    #[account(mut, seeds = [VAULT_LT_SEED, vault_state.key().as_ref()], bump)]
    pub vault_lt: UncheckedAccount<'info>,
    #[account(address = lever_market.load()?.underlying_token_program @ VaultError::TokenProgramMismatch)]
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

#[derive(Accounts)]
pub struct OpenPosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    pub vault_state: Box<Account<'info, VaultState>>,
    /// CHECK: created by the handler at this PDA (a `Position`), whatever lamports it holds.
    #[account(mut, seeds = [POSITION_SEED, vault_state.key().as_ref(), owner.key().as_ref()], bump)]
    pub position: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// `deposit` and `withdraw`: the vault's accounts, then Lever's `mint_lt`/`redeem_lt` accounts.
#[derive(Accounts)]
pub struct UsePosition<'info> {
    pub depositor: Signer<'info>,
    #[account(
        mut,
        seeds = [VAULT_SEED, vault_state.lever_market.as_ref()],
        bump = vault_state.bump,
        has_one = lever_market @ VaultError::MarketMismatch,
    )]
    pub vault_state: Box<Account<'info, VaultState>>,
    #[account(
        mut,
        seeds = [POSITION_SEED, vault_state.key().as_ref(), depositor.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, Position>>,
    /// The depositor's underlying: the source of a deposit, the destination of a withdrawal.
    #[account(
        mut,
        token::mint = underlying_mint,
        token::authority = depositor,
        token::token_program = underlying_token_program,
    )]
    pub depositor_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, address = vault_state.underlying @ VaultError::VaultAccountMismatch)]
    pub vault_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, address = vault_state.lt @ VaultError::VaultAccountMismatch)]
    pub vault_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: must be the vault's market (`has_one` above); Lever checks its owner and type and
    /// every other Lever account against it.
    #[account(mut)]
    pub lever_market: UncheckedAccount<'info>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: Lever checks it is the market's vault.
    #[account(mut)]
    pub lever_vault: UncheckedAccount<'info>,
    /// CHECK: Lever checks it is the market's LT mint.
    #[account(mut)]
    pub lt_mint: UncheckedAccount<'info>,
    /// CHECK: Lever checks the Pyth owner and type, the feed, the age and the confidence.
    pub price_update: UncheckedAccount<'info>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
    /// CHECK: Lever's event authority PDA, checked by Lever's `#[event_cpi]`.
    pub lever_event_authority: UncheckedAccount<'info>,
    pub lever_program: Program<'info, Lever>,
}

#[account]
#[derive(InitSpace)]
pub struct VaultState {
    pub lever_market: Pubkey,
    /// The vault's underlying token account (owner: this PDA).
    pub underlying: Pubkey,
    /// The vault's LT token account (owner: this PDA).
    pub lt: Pubkey,
    /// LT held for depositors: the sum of every position's `lt`.
    pub total_lt: u64,
    /// Nonce of the next two-step deposit (the vault owns every request it opens).
    pub next_nonce: u64,
    pub bump: u8,
}

/// A two-step deposit waiting for its Lever settlement.
#[account]
#[derive(InitSpace)]
pub struct PendingDeposit {
    pub vault: Pubkey,
    /// The depositor: claims it, and gets the units back if Lever did not fill it.
    pub owner: Pubkey,
    /// The Lever request (owned by the vault's PDA).
    pub request: Pubkey,
    /// Units in the request.
    pub amount: u64,
    pub bump: u8,
}

#[derive(Accounts)]
#[instruction(nonce: u64)]
pub struct RequestDeposit<'info> {
    /// Pays the pending accounts' rent, Lever's request rent and tip.
    #[account(mut)]
    pub depositor: Signer<'info>,
    #[account(
        mut,
        seeds = [VAULT_SEED, vault_state.lever_market.as_ref()],
        bump = vault_state.bump,
        has_one = lever_market @ VaultError::MarketMismatch,
    )]
    pub vault_state: Box<Account<'info, VaultState>>,
    #[account(
        seeds = [POSITION_SEED, vault_state.key().as_ref(), depositor.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, Position>>,
    /// CHECK: created by the handler at this PDA (a `PendingDeposit`), whatever lamports it holds.
    #[account(mut, seeds = [PENDING_SEED, vault_state.key().as_ref(), &nonce.to_le_bytes()], bump)]
    pub pending: UncheckedAccount<'info>,
    /// CHECK: created by the handler at this PDA: the deposit's LT token account (Lever's request
    /// pays its output there).
    #[account(mut, seeds = [PENDING_LT_SEED, pending.key().as_ref()], bump)]
    pub pending_lt: UncheckedAccount<'info>,
    #[account(
        mut,
        token::mint = underlying_mint,
        token::authority = depositor,
        token::token_program = underlying_token_program,
    )]
    pub depositor_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, address = vault_state.underlying @ VaultError::VaultAccountMismatch)]
    pub vault_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: must be the vault's market (`has_one`); Lever checks it.
    pub lever_market: UncheckedAccount<'info>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: Lever creates it at `["request", market, vault_state, nonce]`.
    #[account(mut)]
    pub lever_request: UncheckedAccount<'info>,
    /// CHECK: Lever creates it at `["escrow", request]`.
    #[account(mut)]
    pub lever_escrow: UncheckedAccount<'info>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
    /// CHECK: Lever's event authority PDA, checked by Lever's `#[event_cpi]`.
    pub lever_event_authority: UncheckedAccount<'info>,
    pub lever_program: Program<'info, Lever>,
}

#[derive(Accounts)]
pub struct ClaimDeposit<'info> {
    /// The depositor; receives the pending accounts' rent.
    #[account(mut)]
    pub depositor: Signer<'info>,
    #[account(
        mut,
        seeds = [VAULT_SEED, vault_state.lever_market.as_ref()],
        bump = vault_state.bump,
    )]
    pub vault_state: Box<Account<'info, VaultState>>,
    #[account(
        mut,
        seeds = [POSITION_SEED, vault_state.key().as_ref(), depositor.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, Position>>,
    #[account(
        mut,
        close = depositor,
        constraint = pending.owner == depositor.key() @ VaultError::NotYourDeposit,
        constraint = pending.vault == vault_state.key() @ VaultError::VaultAccountMismatch,
    )]
    pub pending: Box<Account<'info, PendingDeposit>>,
    #[account(
        mut,
        seeds = [PENDING_LT_SEED, pending.key().as_ref()],
        bump,
    )]
    pub pending_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the deposit's Lever request (`address` below); claimable once Lever closed it.
    #[account(address = pending.request @ VaultError::VaultAccountMismatch)]
    pub lever_request: UncheckedAccount<'info>,
    #[account(
        mut,
        token::mint = underlying_mint,
        token::authority = depositor,
        token::token_program = underlying_token_program,
    )]
    pub depositor_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, address = vault_state.underlying @ VaultError::VaultAccountMismatch)]
    pub vault_underlying: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, address = vault_state.lt @ VaultError::VaultAccountMismatch)]
    pub vault_lt: Box<InterfaceAccount<'info, TokenAccount>>,
    pub underlying_mint: Box<InterfaceAccount<'info, Mint>>,
    pub lt_mint: Box<InterfaceAccount<'info, Mint>>,
    pub underlying_token_program: Interface<'info, TokenInterface>,
    pub share_token_program: Program<'info, Token2022>,
}

#[account]
#[derive(InitSpace)]
pub struct Position {
    pub vault: Pubkey,
    pub owner: Pubkey,
    /// LT (raw units) the vault holds for this owner.
    pub lt: u64,
    /// Underlying units deposited and paid out over the position's life.
    pub units_deposited: u64,
    pub units_withdrawn: u64,
    pub bump: u8,
}

/// Numbered from 7000, clear of Lever's 6000-6076: a code alone tells a refusal by the vault from
/// one by Lever surfacing through the CPI.
#[error_code(offset = 7000)]
pub enum VaultError {
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("The Lever market is not this vault's market")]
    MarketMismatch,
    #[msg("Mint does not belong to the Lever market")]
    MintMismatch,
    #[msg("Token program does not match the market's underlying token program")]
    TokenProgramMismatch,
    #[msg("Token account is not the vault's")]
    VaultAccountMismatch,
    #[msg("Amount exceeds the position's LT")]
    InsufficientPosition,
    #[msg("Lever set no return data")]
    MissingReturnData,
    #[msg("Return data was not set by Lever")]
    ReturnDataNotFromLever,
    #[msg("Lever's return data does not decode")]
    MalformedReturnData,
    #[msg("Lever's outcome does not match the tokens that moved")]
    OutcomeMismatch,
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("The nonce is not the vault's next one")]
    WrongNonce,
    #[msg("The deposit's Lever request is still open: wait for its settlement")]
    RequestStillOpen,
    #[msg("This pending deposit belongs to another depositor")]
    NotYourDeposit,
}
