//! Token-2022 underlying mints: real mints with each extension, created in the bank, offered to
//! `create_market` as a second market on the harness's chain. Extensions that could move, freeze,
//! tax or claw back vault units are refused with their own error (and no market is left behind);
//! display-only ones are accepted and the market works.

use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::error::LeverError;
use lever::instructions::{DepositFundingOutcome, MintLtOutcome};
use lever_sdk::ix::{self, UserAccounts};
use lever_sdk::pda::MarketKeys;
use lever_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::extension::{self as ext, ExtensionType};
use spl_token_2022::state::AccountState;

/// Seed units of the second market.
const SEED: u64 = 1_000;

/// A Token-2022 mint (9 decimals, the harness's mint authority) with `extensions`, initialised by
/// `init(mint)` before `InitializeMint2`; with `freeze` as its freeze authority.
async fn t22_mint(
    h: &mut Harness,
    extensions: &[ExtensionType],
    init: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    freeze: Option<Pubkey>,
) -> Pubkey {
    let mint = Keypair::new();
    let space = ExtensionType::try_calculate_account_len::<spl_token_2022::state::Mint>(extensions)
        .expect("mint length");
    let lamports = h.chain.rent(space).await.expect("rent");
    let payer = h.chain.payer_pubkey();
    let mut ixs = vec![solana_system_interface::instruction::create_account(
        &payer,
        &mint.pubkey(),
        lamports,
        space as u64,
        &TOKEN_2022,
    )];
    ixs.extend(init(&mint.pubkey()));
    ixs.push(
        spl_token_2022::instruction::initialize_mint2(
            &TOKEN_2022,
            &mint.pubkey(),
            &h.mint_authority.pubkey(),
            freeze.as_ref(),
            9,
        )
        .expect("initialize_mint2"),
    );
    h.chain.send(&ixs, &[&mint]).await.expect("create mint");
    mint.pubkey()
}

/// A Token-2022 account of `mint` for `owner` holding `units` (thawed first when `thaw`).
async fn t22_account(h: &mut Harness, mint: &Pubkey, owner: &Pubkey, units: u64, thaw: bool) -> Pubkey {
    let account = h
        .chain
        .create_token_account(mint, owner, &TOKEN_2022)
        .await
        .expect("token account");
    let auth = h.mint_authority.insecure_clone();
    if thaw {
        let ix = spl_token_2022::instruction::thaw_account(&TOKEN_2022, &account, mint, &auth.pubkey(), &[])
            .expect("thaw");
        h.chain.send(&[ix], &[&auth]).await.expect("thaw account");
    }
    if units > 0 {
        h.chain
            .mint_tokens(&TOKEN_2022, mint, &account, &auth, units)
            .await
            .expect("mint to");
    }
    account
}

fn create_ix(h: &Harness, keys: &MarketKeys, admin_underlying: Pubkey) -> Instruction {
    let args = h.create_args(&MarketOpts {
        token_program: TOKEN_2022,
        ..MarketOpts::default()
    });
    let mut args = args;
    args.seed_units = SEED;
    ix::create_market(h.admin.pubkey(), keys, admin_underlying, args)
}

/// Offer a mint with `extensions` to `create_market` and require `expected`, with no market (nor
/// vault, LT or FT mint) left behind and the first market and config untouched.
async fn refused(
    extensions: &[ExtensionType],
    init: impl FnOnce(&Pubkey) -> Vec<Instruction>,
    frozen_by_default: bool,
    expected: LeverError,
) {
    let mut h = Harness::new(MarketOpts::default()).await;
    let freeze = frozen_by_default.then(|| h.mint_authority.pubkey());
    let mint = t22_mint(&mut h, extensions, init, freeze).await;
    let admin = h.admin.insecure_clone();
    let admin_underlying = t22_account(&mut h, &mint, &admin.pubkey(), SEED * 10, frozen_by_default).await;
    let keys = MarketKeys::derive(mint, 0, TOKEN_2022);
    let ix = create_ix(&h, &keys, admin_underlying);
    h.expect_error(&[ix], &[&admin], expected).await;
    for address in [
        keys.market,
        keys.vault,
        keys.lt_mint,
        keys.ft_mint,
        keys.locked_ft,
    ] {
        assert!(
            h.chain.account(&address).await.unwrap().is_none(),
            "{address} exists after a refused create_market"
        );
    }
    // The admin's seed units did not move.
    assert_eq!(h.chain.token_amount(&admin_underlying).await.unwrap(), SEED * 10);
    assert_eq!(h.chain.config().await.unwrap().market_count, 1);
}

/// Create a market on a mint with `extensions`, then deposit funding and mint LT into it.
async fn allowed(extensions: &[ExtensionType], init: impl FnOnce(&Pubkey) -> Vec<Instruction>) {
    let mut h = Harness::new(MarketOpts::default()).await;
    let mint = t22_mint(&mut h, extensions, init, None).await;
    let admin = h.admin.insecure_clone();
    let admin_underlying = t22_account(&mut h, &mint, &admin.pubkey(), SEED * 10, false).await;
    let keys = MarketKeys::derive(mint, 0, TOKEN_2022);
    let ix = create_ix(&h, &keys, admin_underlying);
    h.chain.send(&[ix], &[&admin]).await.expect("create_market");
    let market = h.chain.market(&keys.market).await.unwrap();
    assert_eq!(market.underlying_token_program, TOKEN_2022);
    assert_eq!(market.underlying_mint, mint);
    assert_eq!(market.idle, SEED);
    assert_eq!(h.chain.token_amount(&keys.vault).await.unwrap(), SEED);
    assert_eq!(h.chain.config().await.unwrap().market_count, 2);

    // A funding deposit and an LT mint on it.
    let user = Keypair::new();
    h.chain.airdrop(&user.pubkey(), 1_000_000_000).await.unwrap();
    let underlying = t22_account(&mut h, &mint, &user.pubkey(), sol(20.0), false).await;
    let ft = h
        .chain
        .create_token_account(&keys.ft_mint, &user.pubkey(), &TOKEN_2022)
        .await
        .unwrap();
    let lt = h
        .chain
        .create_token_account(&keys.lt_mint, &user.pubkey(), &TOKEN_2022)
        .await
        .unwrap();
    let accounts = UserAccounts {
        user: user.pubkey(),
        user_underlying: underlying,
        user_shares: ft,
        price_update: h.price_account,
    };
    let ok = h
        .chain
        .send(&[ix::deposit_funding(&keys, &accounts, sol(10.0), 0)], &[&user])
        .await
        .expect("deposit_funding");
    let d: DepositFundingOutcome = decode(&ok);
    // The instant path: its 0.5% fee, then 1:1 at $100 with zero confidence.
    assert_eq!(d.fee_units, sol(0.05));
    assert_eq!(d.shares_out, sol(9.95));
    assert_eq!(h.chain.token_amount(&ft).await.unwrap(), sol(9.95));
    let accounts = UserAccounts {
        user_shares: lt,
        ..accounts
    };
    let ok = h
        .chain
        .send(&[ix::mint_lt(&keys, &accounts, sol(1.0), 0)], &[&user])
        .await
        .expect("mint_lt");
    let m: MintLtOutcome = decode(&ok);
    assert_eq!(m.fee_units, sol(0.005));
    assert_eq!(m.shares_out, sol(0.995));
    let vault = h.chain.token_amount(&keys.vault).await.unwrap();
    let market = h.chain.market(&keys.market).await.unwrap();
    assert_eq!(vault, SEED + sol(11.0));
    assert_eq!(vault, market.exposure + market.idle + market.fee_units);
    assert_eq!(market.fee_units, sol(0.055));
    assert_eq!(market.exposure, sol(2.985));
}

#[tokio::test]
async fn ext_transfer_fee_refused() {
    refused(
        &[ExtensionType::TransferFeeConfig],
        |mint| {
            let auth = Pubkey::new_unique();
            vec![ext::transfer_fee::instruction::initialize_transfer_fee_config(
                &TOKEN_2022,
                mint,
                Some(&auth),
                Some(&auth),
                100,
                u64::MAX,
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasTransferFee,
    )
    .await;
}

#[tokio::test]
async fn ext_transfer_fee_zero_refused() {
    // A 0 bps fee today can be raised by its authority tomorrow: refused all the same.
    refused(
        &[ExtensionType::TransferFeeConfig],
        |mint| {
            let auth = Pubkey::new_unique();
            vec![ext::transfer_fee::instruction::initialize_transfer_fee_config(
                &TOKEN_2022,
                mint,
                Some(&auth),
                Some(&auth),
                0,
                0,
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasTransferFee,
    )
    .await;
}

#[tokio::test]
async fn ext_transfer_hook_refused() {
    refused(
        &[ExtensionType::TransferHook],
        |mint| {
            vec![ext::transfer_hook::instruction::initialize(
                &TOKEN_2022,
                mint,
                Some(Pubkey::new_unique()),
                Some(Pubkey::new_unique()),
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasTransferHook,
    )
    .await;
}

#[tokio::test]
async fn ext_permanent_delegate_refused() {
    refused(
        &[ExtensionType::PermanentDelegate],
        |mint| {
            vec![spl_token_2022::instruction::initialize_permanent_delegate(
                &TOKEN_2022,
                mint,
                &Pubkey::new_unique(),
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasPermanentDelegate,
    )
    .await;
}

#[tokio::test]
async fn ext_non_transferable_refused() {
    refused(
        &[ExtensionType::NonTransferable],
        |mint| {
            vec![spl_token_2022::instruction::initialize_non_transferable_mint(&TOKEN_2022, mint).unwrap()]
        },
        false,
        LeverError::MintIsNonTransferable,
    )
    .await;
}

#[tokio::test]
async fn ext_mint_close_authority_refused() {
    refused(
        &[ExtensionType::MintCloseAuthority],
        |mint| {
            vec![spl_token_2022::instruction::initialize_mint_close_authority(
                &TOKEN_2022,
                mint,
                Some(&Pubkey::new_unique()),
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasCloseAuthority,
    )
    .await;
}

#[tokio::test]
async fn ext_default_frozen_refused() {
    // New accounts start frozen: the admin's own account is thawed by the freeze authority (so the
    // seed could move), and the program refuses the mint itself, before the vault is created.
    refused(
        &[ExtensionType::DefaultAccountState],
        |mint| {
            vec![
                ext::default_account_state::instruction::initialize_default_account_state(
                    &TOKEN_2022,
                    mint,
                    &AccountState::Frozen,
                )
                .unwrap(),
            ]
        },
        true,
        LeverError::MintDefaultFrozen,
    )
    .await;
}

#[tokio::test]
async fn ext_pausable_refused() {
    refused(
        &[ExtensionType::Pausable],
        |mint| {
            vec![ext::pausable::instruction::initialize(&TOKEN_2022, mint, &Pubkey::new_unique()).unwrap()]
        },
        false,
        LeverError::MintIsPausable,
    )
    .await;
}

#[tokio::test]
async fn ext_confidential_transfer_refused() {
    refused(
        &[ExtensionType::ConfidentialTransferMint],
        |mint| {
            vec![ext::confidential_transfer::instruction::initialize_mint(
                &TOKEN_2022,
                mint,
                Some(Pubkey::new_unique()),
                true,
                None,
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasConfidentialTransfer,
    )
    .await;
}

#[tokio::test]
async fn ext_interest_bearing_refused() {
    // Interest shows in the UI amount, which Pyth prices, while the books count raw units: the
    // pools' value would drift from the price. Refused at creation.
    refused(
        &[ExtensionType::InterestBearingConfig],
        |mint| {
            vec![ext::interest_bearing_mint::instruction::initialize(
                &TOKEN_2022,
                mint,
                Some(Pubkey::new_unique()),
                500,
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasUiMultiplier,
    )
    .await;
}

#[tokio::test]
async fn ext_scaled_ui_amount_refused() {
    // A scheduled multiplier change (a 2:1 split) would halve the price of a raw unit at a stroke
    // and wipe a 3x pool, a windfall for whoever deposits FT before its public effective time.
    // Refused at creation.
    refused(
        &[ExtensionType::ScaledUiAmount],
        |mint| {
            vec![ext::scaled_ui_amount::instruction::initialize(
                &TOKEN_2022,
                mint,
                Some(Pubkey::new_unique()),
                2.0,
            )
            .unwrap()]
        },
        false,
        LeverError::MintHasUiMultiplier,
    )
    .await;
}

#[tokio::test]
async fn ext_default_state_initialized_allowed() {
    allowed(&[ExtensionType::DefaultAccountState], |mint| {
        vec![
            ext::default_account_state::instruction::initialize_default_account_state(
                &TOKEN_2022,
                mint,
                &AccountState::Initialized,
            )
            .unwrap(),
        ]
    })
    .await;
}

#[tokio::test]
async fn ext_plain_token_2022_allowed() {
    allowed(&[], |_| Vec::new()).await;
}
