//! One builder per instruction, with every account in place.

use anchor_lang::prelude::Pubkey;
use anchor_lang::{InstructionData, ToAccountMetas};
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::instructions::{CreateMarketArgs, InitializeConfigArgs, UpdateConfigArgs};
use lever::state::{Request, RequestArgs, RequestKind, UpdateMarketParams};
use solana_instruction::Instruction;

use crate::pda::{self, MarketKeys};

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: lever::ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

pub fn initialize_config(admin: Pubkey, args: InitializeConfigArgs) -> Instruction {
    build(
        lever::accounts::InitializeConfig {
            admin,
            config: pda::config(),
            system_program: anchor_lang::system_program::ID,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::InitializeConfig { args },
    )
}

pub fn update_config(admin: Pubkey, args: UpdateConfigArgs) -> Instruction {
    build(
        lever::accounts::UpdateConfig {
            admin,
            config: pda::config(),
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::UpdateConfig { args },
    )
}

pub fn transfer_admin(admin: Pubkey, new_admin: Pubkey) -> Instruction {
    build(
        lever::accounts::TransferAdmin {
            admin,
            config: pda::config(),
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::TransferAdmin { new_admin },
    )
}

pub fn accept_admin(new_admin: Pubkey) -> Instruction {
    build(
        lever::accounts::AcceptAdmin {
            new_admin,
            config: pda::config(),
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::AcceptAdmin {},
    )
}

pub fn create_market(
    admin: Pubkey,
    keys: &MarketKeys,
    admin_underlying: Pubkey,
    args: CreateMarketArgs,
) -> Instruction {
    build(
        lever::accounts::CreateMarket {
            admin,
            config: pda::config(),
            underlying_mint: keys.underlying_mint,
            market: keys.market,
            vault: keys.vault,
            lt_mint: keys.lt_mint,
            ft_mint: keys.ft_mint,
            locked_ft: keys.locked_ft,
            admin_underlying,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            system_program: anchor_lang::system_program::ID,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::CreateMarket { args },
    )
}

pub fn update_market(admin: Pubkey, market: Pubkey, update: UpdateMarketParams) -> Instruction {
    build(
        lever::accounts::UpdateMarket {
            admin,
            config: pda::config(),
            market,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::UpdateMarket { update },
    )
}

pub fn set_pause(authority: Pubkey, market: Pubkey, paused: u8) -> Instruction {
    build(
        lever::accounts::SetPause {
            authority,
            config: pda::config(),
            market,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::SetPause { paused },
    )
}

pub fn reopen_market(admin: Pubkey, keys: &MarketKeys) -> Instruction {
    build(
        lever::accounts::ReopenMarket {
            admin,
            config: pda::config(),
            market: keys.market,
            lt_mint: keys.lt_mint,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::ReopenMarket {},
    )
}

/// `start_lt_epoch` to `epoch` (the market's `lt_epoch + 1`): the new LT mint is
/// [`pda::lt_mint_at`] of it; `keys.lt_mint` is the retiring one.
pub fn start_lt_epoch(
    admin: Pubkey,
    keys: &MarketKeys,
    args: lever::instructions::StartLtEpochArgs,
) -> Instruction {
    build(
        lever::accounts::StartLtEpoch {
            admin,
            config: pda::config(),
            market: keys.market,
            lt_mint: keys.lt_mint,
            new_lt_mint: pda::lt_mint_at(&keys.market, args.epoch),
            share_token_program: anchor_spl::token_2022::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::StartLtEpoch { args },
    )
}

pub fn rebase_lt(admin: Pubkey, keys: &MarketKeys, args: lever::instructions::RebaseLtArgs) -> Instruction {
    build(
        lever::accounts::RebaseLt {
            admin,
            config: pda::config(),
            market: keys.market,
            lt_mint: keys.lt_mint,
            new_lt_mint: pda::lt_mint_at(&keys.market, args.epoch),
            share_token_program: anchor_spl::token_2022::ID,
            system_program: anchor_lang::system_program::ID,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::RebaseLt { args },
    )
}

/// `update_share_metadata`: the admin changes the token metadata of the market's current LT mint
/// (`keys.lt_mint`) or its FT mint, as `args.share` says; the admin pays any rent a longer field
/// needs.
pub fn update_share_metadata(
    admin: Pubkey,
    keys: &MarketKeys,
    args: lever::instructions::UpdateShareMetadataArgs,
) -> Instruction {
    let mint = keys.share_mint(args.share);
    build(
        lever::accounts::UpdateShareMetadata {
            admin,
            config: pda::config(),
            market: keys.market,
            mint,
            share_token_program: TOKEN_2022,
            system_program: anchor_lang::system_program::ID,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::UpdateShareMetadata { args },
    )
}

/// `convert_retired_lt`: `owner` exchanges `amount` of `retired_lt_mint` (from `owner_retired_lt`)
/// for the current LT, paid to `destination_lt`.
pub fn convert_retired_lt(
    owner: Pubkey,
    keys: &MarketKeys,
    retired_lt_mint: Pubkey,
    owner_retired_lt: Pubkey,
    destination_lt: Pubkey,
    amount: u64,
) -> Instruction {
    build(
        lever::accounts::ConvertRetiredLt {
            owner,
            market: keys.market,
            retired_lt_mint,
            lt_mint: keys.lt_mint,
            owner_retired_lt,
            destination_lt,
            share_token_program: anchor_spl::token_2022::ID,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::ConvertRetiredLt { amount },
    )
}

pub fn withdraw_fees(admin: Pubkey, keys: &MarketKeys, fee_destination: Pubkey, amount: u64) -> Instruction {
    build(
        lever::accounts::WithdrawFees {
            admin,
            config: pda::config(),
            market: keys.market,
            underlying_mint: keys.underlying_mint,
            vault: keys.vault,
            fee_destination,
            underlying_token_program: keys.underlying_token_program,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::WithdrawFees { amount },
    )
}

/// Accounts of the four user instructions, which share one shape.
#[derive(Clone, Copy, Debug)]
pub struct UserAccounts {
    pub user: Pubkey,
    /// The user's underlying token account.
    pub user_underlying: Pubkey,
    /// The user's LT (for mint/redeem) or FT (for deposit/withdraw) token account.
    pub user_shares: Pubkey,
    pub price_update: Pubkey,
}

pub fn mint_lt(keys: &MarketKeys, u: &UserAccounts, amount: u64, min_shares_out: u64) -> Instruction {
    build(
        lever::accounts::MintLt {
            user: u.user,
            market: keys.market,
            underlying_mint: keys.underlying_mint,
            vault: keys.vault,
            lt_mint: keys.lt_mint,
            user_underlying: u.user_underlying,
            user_lt: u.user_shares,
            price_update: u.price_update,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::MintLt {
            amount,
            min_shares_out,
        },
    )
}

pub fn redeem_lt(keys: &MarketKeys, u: &UserAccounts, shares: u64, min_units_out: u64) -> Instruction {
    build(
        lever::accounts::RedeemLt {
            user: u.user,
            market: keys.market,
            underlying_mint: keys.underlying_mint,
            vault: keys.vault,
            lt_mint: keys.lt_mint,
            user_underlying: u.user_underlying,
            user_lt: u.user_shares,
            price_update: u.price_update,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::RedeemLt {
            shares,
            min_units_out,
        },
    )
}

pub fn deposit_funding(keys: &MarketKeys, u: &UserAccounts, amount: u64, min_shares_out: u64) -> Instruction {
    build(
        lever::accounts::DepositFunding {
            user: u.user,
            market: keys.market,
            underlying_mint: keys.underlying_mint,
            vault: keys.vault,
            ft_mint: keys.ft_mint,
            user_underlying: u.user_underlying,
            user_ft: u.user_shares,
            price_update: u.price_update,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::DepositFunding {
            amount,
            min_shares_out,
        },
    )
}

pub fn withdraw_funding(keys: &MarketKeys, u: &UserAccounts, shares: u64, min_units_out: u64) -> Instruction {
    build(
        lever::accounts::WithdrawFunding {
            user: u.user,
            market: keys.market,
            underlying_mint: keys.underlying_mint,
            vault: keys.vault,
            ft_mint: keys.ft_mint,
            user_underlying: u.user_underlying,
            user_ft: u.user_shares,
            price_update: u.price_update,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::WithdrawFunding {
            shares,
            min_units_out,
        },
    )
}

/// The (input mint, output mint, input token program) of a request of `kind` on the market (the
/// program's own rule).
pub fn request_mints(keys: &MarketKeys, kind: RequestKind) -> (Pubkey, Pubkey, Pubkey) {
    keys.mints().for_request(kind)
}

/// Accounts of a `request_*`: the payer (signs; rent and tip), the owner (signs as the input's
/// authority; the same key for a wallet), the token account the input comes from and the one that
/// receives the output.
#[derive(Clone, Copy, Debug)]
pub struct RequestAccounts {
    pub payer: Pubkey,
    pub owner: Pubkey,
    pub source: Pubkey,
    pub destination: Pubkey,
}

/// `request_mint_lt` / `request_redeem_lt` / `request_deposit_funding` / `request_withdraw_funding`,
/// by `kind`. The request lands at [`pda::request`]`(market, owner, args.nonce)`.
pub fn open_request(
    keys: &MarketKeys,
    kind: RequestKind,
    u: &RequestAccounts,
    args: RequestArgs,
) -> Instruction {
    let request = pda::request(&keys.market, &u.owner, args.nonce);
    let (input_mint, output_mint, input_token_program) = request_mints(keys, kind);
    let accounts = lever::accounts::OpenRequest {
        payer: u.payer,
        owner: u.owner,
        market: keys.market,
        request,
        input_mint,
        output_mint,
        escrow: pda::escrow(&request),
        source: u.source,
        destination: u.destination,
        input_token_program,
        system_program: anchor_lang::system_program::ID,
        event_authority: pda::event_authority(),
        program: lever::ID,
    };
    match kind {
        RequestKind::MintLt => build(accounts, lever::instruction::RequestMintLt { args }),
        RequestKind::RedeemLt => build(accounts, lever::instruction::RequestRedeemLt { args }),
        RequestKind::DepositFunding => build(accounts, lever::instruction::RequestDepositFunding { args }),
        RequestKind::WithdrawFunding => build(accounts, lever::instruction::RequestWithdrawFunding { args }),
    }
}

/// `settle_request` of `request` (its address) as recorded in `r`, at `price_update`.
pub fn settle_request(
    settler: Pubkey,
    keys: &MarketKeys,
    request: Pubkey,
    r: &Request,
    price_update: Pubkey,
) -> Instruction {
    build(
        lever::accounts::SettleRequest {
            settler,
            market: keys.market,
            request,
            payer: r.payer,
            escrow: r.escrow,
            source: r.source,
            destination: r.destination,
            underlying_mint: keys.underlying_mint,
            vault: keys.vault,
            lt_mint: keys.lt_mint,
            ft_mint: keys.ft_mint,
            price_update,
            underlying_token_program: keys.underlying_token_program,
            share_token_program: TOKEN_2022,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::SettleRequest {},
    )
}

/// `cancel_request` of `request` as recorded in `r` (after its expiry).
/// `cancel_request` of a request whose escrow holds the market's current input mint for its kind
/// (every request, except an LT redemption opened before the LT mint changed: use
/// [`cancel_request_with_input`] with the escrow's own mint).
pub fn cancel_request(canceller: Pubkey, keys: &MarketKeys, request: Pubkey, r: &Request) -> Instruction {
    let (input_mint, _, input_token_program) = request_mints(keys, r.kind);
    cancel_request_with_input(canceller, keys, request, r, input_mint, input_token_program)
}

/// `cancel_request` with the escrow's mint and token program given: the program returns the escrow
/// with its own mint, which for a redemption opened before `start_lt_epoch` or `rebase_lt` is the
/// retired LT mint.
pub fn cancel_request_with_input(
    canceller: Pubkey,
    keys: &MarketKeys,
    request: Pubkey,
    r: &Request,
    input_mint: Pubkey,
    input_token_program: Pubkey,
) -> Instruction {
    build(
        lever::accounts::CancelRequest {
            canceller,
            market: keys.market,
            request,
            payer: r.payer,
            escrow: r.escrow,
            source: r.source,
            input_mint,
            input_token_program,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::CancelRequest {},
    )
}

pub fn rebalance(caller: Pubkey, market: Pubkey, price_update: Pubkey) -> Instruction {
    build(
        lever::accounts::Rebalance {
            caller,
            market,
            price_update,
            event_authority: pda::event_authority(),
            program: lever::ID,
        },
        lever::instruction::Rebalance {},
    )
}

/// The ATA program's `CreateIdempotent` (instruction 1): creates `owner`'s associated token
/// account for `mint` if it does not exist, and succeeds without change if it does.
pub fn create_associated_token_account_idempotent(
    payer: Pubkey,
    owner: Pubkey,
    mint: Pubkey,
    token_program: Pubkey,
) -> Instruction {
    use solana_instruction::AccountMeta;
    Instruction {
        program_id: pda::ASSOCIATED_TOKEN_PROGRAM,
        accounts: vec![
            AccountMeta::new(payer, true),
            AccountMeta::new(
                pda::associated_token_account(&owner, &mint, &token_program),
                false,
            ),
            AccountMeta::new_readonly(owner, false),
            AccountMeta::new_readonly(mint, false),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
            AccountMeta::new_readonly(token_program, false),
        ],
        data: vec![1],
    }
}
