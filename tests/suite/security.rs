//! The security suite: one named test per attack class that no test in `errors.rs`,
//! `extensions.rs` or `happy.rs` already covers. `SECURITY.md` maps every class to its test. Each
//! refusal is checked for its exact error and, through `expect_error`/`expect_failure`, for leaving
//! the books, the balances and the supplies unchanged; every landed step is checked for exact
//! conservation by the harness.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::ID as TOKEN;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::constants::{pause, MARKET_SEED, PPM};
use lever::error::LeverError;
use lever::instructions::InitializeConfigArgs;
use lever::state::{Market, UpdateMarketParams};
use lever_sdk::ix::{self, UserAccounts};
use lever_sdk::pda::{self, MarketKeys};
use lever_tests::*;
use solana_account::Account;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::error::TokenError;
use spl_token_2022::extension::transfer_fee::{TransferFee, TransferFeeAmount, TransferFeeConfig};
use spl_token_2022::extension::{
    BaseState, BaseStateWithExtensions, BaseStateWithExtensionsMut, Extension, ExtensionType,
    StateWithExtensions, StateWithExtensionsMut,
};

fn token_error(e: TokenError) -> Option<u32> {
    Some(e as u32)
}

/// The four user instructions and `rebalance`, each with its signer.
fn priced_ixs(h: &Harness, lp: &User, alice: &User) -> Vec<(Instruction, Keypair)> {
    let mut ixs = h.user_ixs(lp, alice, sol(1.0), 0);
    let keeper = Keypair::new();
    ixs.push((h.rebalance_ix(&keeper.pubkey()), keeper));
    ixs
}

async fn lt_balance(h: &mut Harness, u: &User) -> u64 {
    h.balance(&u.lt).await
}

// ----------------------------------------------------------------------------------------------
// accounts

#[tokio::test]
async fn sec_user_missing_signature() {
    // The user's key is in the instruction but the transaction is not signed by it (only the
    // fee payer signs): Anchor's `Signer` refuses before the handler runs.
    let (mut h, lp, alice) = levered().await;
    for (mut ix, kp) in h.user_ixs(&lp, &alice, sol(1.0), 0) {
        let meta = ix.accounts.iter_mut().find(|m| m.pubkey == kp.pubkey()).unwrap();
        meta.is_signer = false;
        h.expect_anchor_error(&[ix], &[], AnchorError::AccountNotSigner)
            .await;
    }
}

#[tokio::test]
async fn sec_market_copy_owned_by_another_program() {
    // A byte-for-byte copy of the market (same discriminator, same keys) at another address, owned
    // by another program: the owner check refuses it everywhere a market is read.
    let (mut h, lp, alice) = levered().await;
    let real = h.chain.account(&h.keys.market).await.unwrap().unwrap();
    let fake = Pubkey::new_unique();
    h.chain.set_account(
        &fake,
        Account {
            owner: Pubkey::new_unique(),
            ..real
        },
    );
    for (mut ix, kp) in priced_ixs(&h, &lp, &alice) {
        for m in ix.accounts.iter_mut().filter(|m| m.pubkey == h.keys.market) {
            m.pubkey = fake;
        }
        h.expect_anchor_error(&[ix], &[&kp], AnchorError::AccountOwnedByWrongProgram)
            .await;
    }
}

#[tokio::test]
async fn sec_config_passed_as_market() {
    // Type cosplay between our own accounts: the config (owned by Lever) where a market is expected
    // fails the discriminator check.
    let (mut h, lp, alice) = levered().await;
    let config = pda::config();
    for (mut ix, kp) in priced_ixs(&h, &lp, &alice) {
        for m in ix.accounts.iter_mut().filter(|m| m.pubkey == h.keys.market) {
            m.pubkey = config;
        }
        h.expect_anchor_error(&[ix], &[&kp], AnchorError::AccountDiscriminatorMismatch)
            .await;
    }
}

#[tokio::test]
async fn sec_reinitialize_config_and_market() {
    // `init` on an existing config or market: Anchor's account creation goes through the system
    // program, which refuses an account that already holds data, for the admin and for anyone
    // else; the config keeps its admin and the market its books.
    let mut h = Harness::new(MarketOpts::default()).await;
    let bounds = h.chain.config().await.unwrap().bounds();
    let thief = Keypair::new();
    h.chain.airdrop(&thief.pubkey(), 1_000_000_000).await.unwrap();
    let admin = h.admin.insecure_clone();
    for signer in [&admin, &thief] {
        let ix = ix::initialize_config(
            signer.pubkey(),
            InitializeConfigArgs {
                pause_authority: signer.pubkey(),
                fee_receiver: signer.pubkey(),
                bounds,
            },
        );
        let fail = h.expect_failure(&[ix], &[signer]).await;
        assert_system_refused(&fail);
    }
    let mint = h.keys.underlying_mint;
    let admin_key = admin.pubkey();
    let admin_underlying = h.token_account(&mint, &admin_key).await;
    h.fund(&admin_underlying, sol(1.0)).await;
    let args = h.create_args(&MarketOpts::default());
    let ix = ix::create_market(admin_key, &h.keys, admin_underlying, args);
    let fail = h.expect_failure(&[ix], &[&admin]).await;
    assert_system_refused(&fail);
    assert_eq!(h.chain.config().await.unwrap().admin, admin_key);
}

/// The failure came from the system program's account creation inside Lever's `init`.
fn assert_system_refused(fail: &lever_sdk::cluster::ClusterError) {
    let system_failed = format!("Program {} failed", Pubkey::default());
    assert!(
        fail.logs().iter().any(|l| l.starts_with(&system_failed)),
        "{fail:?}"
    );
}

#[tokio::test]
async fn sec_fake_token_program() {
    // An executable that is not a token program (here Lever itself) in the token program slots:
    // Anchor's program-id checks refuse it, so no CPI ever reaches a program the caller chose.
    let (mut h, lp, alice) = levered().await;
    for (ix, kp) in h.user_ixs(&lp, &alice, sol(1.0), 0) {
        for slot in [TOKEN, TOKEN_2022] {
            let mut ix = ix.clone();
            let i = ix.accounts.iter().rposition(|m| m.pubkey == slot).unwrap();
            ix.accounts[i].pubkey = lever::ID;
            h.expect_anchor_error(&[ix], &[&kp], AnchorError::InvalidProgramId)
                .await;
        }
    }
}

#[tokio::test]
async fn sec_non_canonical_bump_market_refused() {
    // A market address from a non-canonical bump of the right seeds: `create_market` derives with
    // the canonical bump only, and user instructions only ever see markets the program created.
    let mut h = Harness::new(MarketOpts::default()).await;
    let mint = h.keys.underlying_mint;
    let id = 1u32;
    let (_, canonical) =
        Pubkey::find_program_address(&[MARKET_SEED, mint.as_ref(), &id.to_le_bytes()], &lever::ID);
    let other = (0..canonical)
        .rev()
        .find_map(|b| {
            Pubkey::create_program_address(&[MARKET_SEED, mint.as_ref(), &id.to_le_bytes(), &[b]], &lever::ID)
                .ok()
        })
        .expect("a non-canonical bump");
    let canonical_keys = MarketKeys::derive(mint, id, TOKEN);
    let keys = MarketKeys {
        market: other,
        vault: pda::vault(&other),
        lt_mint: pda::lt_mint(&other),
        ft_mint: pda::ft_mint(&other),
        locked_ft: pda::locked_ft(&other),
        ..canonical_keys
    };
    let admin = h.admin.insecure_clone();
    let owner = admin.pubkey();
    let admin_underlying = h.token_account(&mint, &owner).await;
    h.fund(&admin_underlying, sol(1.0)).await;
    let args = h.create_args(&MarketOpts {
        id,
        ..MarketOpts::default()
    });
    let ix = ix::create_market(owner, &keys, admin_underlying, args);
    h.expect_anchor_error(&[ix], &[&admin], AnchorError::ConstraintSeeds)
        .await;
    assert!(h.chain.account(&other).await.unwrap().is_none());
}

#[tokio::test]
async fn sec_unexpected_remaining_accounts() {
    // Every instruction names all it reads; one more account (here another market's vault, writable)
    // is refused before any work.
    let (mut h, lp, alice) = levered().await;
    let admin = h.admin.insecure_clone();
    let receiver = h.fee_receiver.pubkey();
    let mint = h.keys.underlying_mint;
    let dest = h.token_account(&mint, &receiver).await;
    let mut all = priced_ixs(&h, &lp, &alice);
    all.push((h.update_ix(UpdateMarketParams::default()), admin.insecure_clone()));
    all.push((
        ix::set_pause(admin.pubkey(), h.keys.market, pause::MINT_LT),
        admin.insecure_clone(),
    ));
    all.push((
        ix::withdraw_fees(admin.pubkey(), &h.keys, dest, 1),
        admin.insecure_clone(),
    ));
    all.push((
        ix::transfer_admin(admin.pubkey(), receiver),
        admin.insecure_clone(),
    ));
    for (mut ix, kp) in all {
        ix.accounts.push(AccountMeta::new(h.keys.vault, false));
        h.expect_error(&[ix], &[&kp], LeverError::UnexpectedAccounts)
            .await;
    }
}

#[tokio::test]
async fn sec_forged_clock_sysvar_is_refused() {
    // No instruction takes a sysvar account: time comes from the Clock syscall. A forged Clock
    // account claiming a time at which the price is fresh, or the real Clock sysvar, is an
    // unexpected account; the mint stays refused for its stale price.
    let (mut h, _lp, alice) = levered().await;
    h.advance(61);
    let forged = Pubkey::new_unique();
    let clock = anchor_lang::prelude::Clock {
        unix_timestamp: T0,
        ..Default::default()
    };
    h.chain.set_account(
        &forged,
        Account {
            lamports: 1_000_000_000,
            data: bincode_clock(&clock),
            owner: SYSVAR_OWNER,
            executable: false,
            rent_epoch: 0,
        },
    );
    let kp = alice.kp.insecure_clone();
    for extra in [forged, CLOCK_SYSVAR] {
        let mut ix = h.mint_ix(&alice, sol(1.0), 0);
        ix.accounts.push(AccountMeta::new_readonly(extra, false));
        h.expect_error(&[ix], &[&kp], LeverError::UnexpectedAccounts)
            .await;
    }
    let ix = h.mint_ix(&alice, sol(1.0), 0);
    h.expect_error(&[ix], &[&kp], LeverError::PriceTooOld).await;
}

const SYSVAR_OWNER: Pubkey = Pubkey::from_str_const("Sysvar1111111111111111111111111111111111111");
const CLOCK_SYSVAR: Pubkey = Pubkey::from_str_const("SysvarC1ock11111111111111111111111111111111");

/// The Clock sysvar's account layout (five little-endian fields).
fn bincode_clock(c: &anchor_lang::prelude::Clock) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(&c.slot.to_le_bytes());
    out.extend_from_slice(&c.epoch_start_timestamp.to_le_bytes());
    out.extend_from_slice(&c.epoch.to_le_bytes());
    out.extend_from_slice(&c.leader_schedule_epoch.to_le_bytes());
    out.extend_from_slice(&c.unix_timestamp.to_le_bytes());
    out
}

/// `data` (a Token-2022 mint or account of type `S`) rewritten with extension `E` added and set by
/// `set`.
fn with_extension<S, E>(data: &[u8], set: impl FnOnce(&mut E)) -> Vec<u8>
where
    S: BaseState + Pack,
    E: Extension + bytemuck::Pod + Default,
{
    let base = StateWithExtensions::<S>::unpack(data).unwrap().base;
    let len = ExtensionType::try_calculate_account_len::<S>(&[E::TYPE]).unwrap();
    let mut out = vec![0u8; len];
    let mut state = StateWithExtensionsMut::<S>::unpack_uninitialized(&mut out).unwrap();
    set(state.init_extension::<E>(true).unwrap());
    state.base = base;
    state.pack_base();
    state.init_account_type().unwrap();
    out
}

/// `data` (a Token-2022 mint) rewritten with a 1% transfer fee.
fn mint_with_transfer_fee(data: &[u8]) -> Vec<u8> {
    let fee = TransferFee {
        epoch: 0.into(),
        maximum_fee: u64::MAX.into(),
        transfer_fee_basis_points: 100.into(),
    };
    with_extension::<spl_token_2022::state::Mint, TransferFeeConfig>(data, |ext| {
        ext.older_transfer_fee = fee;
        ext.newer_transfer_fee = fee;
    })
}

/// `data` (a Token-2022 account) rewritten with room for withheld transfer fees.
fn account_with_fee_amount(data: &[u8]) -> Vec<u8> {
    with_extension::<spl_token_2022::state::Account, TransferFeeAmount>(data, |_| {})
}

async fn rewrite(h: &mut Harness, address: &Pubkey, f: fn(&[u8]) -> Vec<u8>) {
    let account = h.chain.account(address).await.unwrap().unwrap();
    let data = f(&account.data);
    h.chain.set_account(
        address,
        Account {
            lamports: 1_000_000_000,
            data,
            ..account
        },
    );
}

#[tokio::test]
async fn sec_vault_delta_counts_not_the_requested_amount() {
    // Stale data after a CPI: the handler holds the vault as read before the transfer. If the
    // token program delivered less than asked (a mint that starts charging a fee after the market
    // was created: Token-2022 cannot add one, so the bank's accounts are rewritten to model it),
    // the reloaded vault is below the books and the instruction is refused: the books never credit
    // units the vault did not receive.
    let (mut h, lp, alice) = levered_with(MarketOpts {
        token_program: TOKEN_2022,
        ..MarketOpts::default()
    })
    .await;
    let (mint, vault) = (h.keys.underlying_mint, h.keys.vault);
    rewrite(&mut h, &mint, mint_with_transfer_fee).await;
    rewrite(&mut h, &vault, account_with_fee_amount).await;
    let kp = alice.kp.insecure_clone();
    h.expect_error(
        &[h.mint_ix(&alice, sol(1.0), 0)],
        &[&kp],
        LeverError::VaultReconcileFailed,
    )
    .await;
    let kp = lp.kp.insecure_clone();
    h.expect_error(
        &[h.deposit_ix(&lp, sol(1.0), 0)],
        &[&kp],
        LeverError::VaultReconcileFailed,
    )
    .await;
}

// ----------------------------------------------------------------------------------------------
// Token-2022

/// Give `account` (Token-2022, owned by `owner`) the CPI guard, enabled.
async fn enable_cpi_guard(h: &mut Harness, account: &Pubkey, owner: &Keypair) {
    let payer = h.chain.payer_pubkey();
    let realloc = spl_token_2022::instruction::reallocate(
        &TOKEN_2022,
        account,
        &payer,
        &owner.pubkey(),
        &[],
        &[ExtensionType::CpiGuard],
    )
    .unwrap();
    let enable = spl_token_2022::extension::cpi_guard::instruction::enable_cpi_guard(
        &TOKEN_2022,
        account,
        &owner.pubkey(),
        &[],
    )
    .unwrap();
    h.chain
        .send(&[realloc, enable], &[owner])
        .await
        .expect("cpi guard");
}

#[tokio::test]
async fn ext_cpi_guard_on_user_accounts() {
    // The CPI guard forbids an owner's transfer or burn through a program. Lever never tries to
    // get around it: a guarded source is refused by Token-2022 with nothing changed, and receiving
    // into a guarded account works.
    let (mut h, lp, alice) = levered_with(MarketOpts {
        token_program: TOKEN_2022,
        ..MarketOpts::default()
    })
    .await;
    let kp = alice.kp.insecure_clone();
    enable_cpi_guard(&mut h, &alice.underlying, &kp).await;
    let fail = h.expect_failure(&[h.mint_ix(&alice, sol(1.0), 0)], &[&kp]).await;
    assert_eq!(
        fail.custom_code(),
        token_error(TokenError::CpiGuardTransferBlocked),
        "{fail}"
    );
    // Redeeming pays into the guarded underlying account.
    let before = h.balance(&alice.underlying).await;
    let out = h
        .redeem_lt(&alice, sol(1.0))
        .await
        .expect("redeem into a guarded account");
    assert_eq!(h.balance(&alice.underlying).await, before + out.units_out);
    // A guarded LT account cannot be burned from by CPI: redeem is refused until the holder lifts it.
    enable_cpi_guard(&mut h, &alice.lt, &kp).await;
    let fail = h
        .expect_failure(&[h.redeem_ix(&alice, sol(1.0), 0)], &[&kp])
        .await;
    assert_eq!(
        fail.custom_code(),
        token_error(TokenError::CpiGuardBurnBlocked),
        "{fail}"
    );
    let lpk = lp.kp.insecure_clone();
    enable_cpi_guard(&mut h, &lp.ft, &lpk).await;
    let fail = h
        .expect_failure(&[h.withdraw_ix(&lp, sol(1.0), 0)], &[&lpk])
        .await;
    assert_eq!(
        fail.custom_code(),
        token_error(TokenError::CpiGuardBurnBlocked),
        "{fail}"
    );
}

#[tokio::test]
async fn sec_share_mints_and_locked_ft_have_no_backdoor() {
    // LT/FT mints: authority is the market PDA, no freeze authority, and no extension beyond
    // metadata (no permanent delegate, hook, fee or close authority). The locked FT account: owned
    // by the market, no delegate, no close authority.
    let mut h = Harness::new(MarketOpts::default()).await;
    for mint in [h.keys.lt_mint, h.keys.ft_mint] {
        let account = h.chain.account(&mint).await.unwrap().unwrap();
        let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data).unwrap();
        assert_eq!(state.base.mint_authority, Some(h.keys.market).into());
        assert_eq!(state.base.freeze_authority, None.into());
        let mut kinds = state.get_extension_types().unwrap();
        kinds.sort_by_key(|k| *k as u16);
        assert_eq!(
            kinds,
            vec![ExtensionType::MetadataPointer, ExtensionType::TokenMetadata]
        );
    }
    let locked = h.chain.account(&h.keys.locked_ft).await.unwrap().unwrap();
    let state = StateWithExtensions::<spl_token_2022::state::Account>::unpack(&locked.data).unwrap();
    assert_eq!(state.base.owner, h.keys.market);
    assert_eq!(state.base.delegate, None.into());
    assert_eq!(state.base.close_authority, None.into());
    let vault = h.chain.account(&h.keys.vault).await.unwrap().unwrap();
    let vault = spl_token_2022::state::Account::unpack(&vault.data[..165]).unwrap();
    assert_eq!(vault.owner, h.keys.market);
    assert_eq!(vault.delegate, None.into());
    assert_eq!(vault.close_authority, None.into());
}

// ----------------------------------------------------------------------------------------------
// oracle

#[tokio::test]
async fn sec_two_prices_in_one_transaction() {
    // Mint at one price, post another, redeem: refused in one transaction and in one slot (the
    // market takes one price per slot). In the next slot the second price is simply the price.
    let (mut h, _lp, alice) = levered().await;
    h.advance(1);
    h.set_price(100.0);
    let second = Pubkey::new_unique();
    let higher = h.price_input(110.0);
    h.chain.write_price(&second, &higher);
    let kp = alice.kp.insecure_clone();
    let shares = lt_balance(&mut h, &alice).await;
    let redeem_at_second = |h: &Harness| {
        let accounts = UserAccounts {
            price_update: second,
            ..h.lt_accounts(&alice)
        };
        ix::redeem_lt(&h.keys, &accounts, shares, 0)
    };
    let both = [h.mint_ix(&alice, sol(5.0), 0), redeem_at_second(&h)];
    h.expect_error(&both, &[&kp], LeverError::PriceChangedInSlot)
        .await;
    // Two transactions in the same slot: the second price is refused too.
    h.send(&[h.mint_ix(&alice, sol(5.0), 0)], &[&kp])
        .await
        .expect("mint");
    h.expect_error(&[redeem_at_second(&h)], &[&kp], LeverError::PriceChangedInSlot)
        .await;
    // The same price again in the same slot is fine (a keeper after a user, two users...).
    h.send(&[h.redeem_ix(&alice, sol(1.0), 0)], &[&kp])
        .await
        .expect("same price");
    h.chain.next_slot();
    h.send(&[redeem_at_second(&h)], &[&kp]).await.expect("next slot");
}

#[tokio::test]
async fn sec_sandwich_around_rebalance_does_not_profit() {
    // A keeper's rebalance is pending at a new price (inside the band, at its edges, or just past
    // them). Mint before it, redeem after it: never more units back than put in, and strictly fewer
    // once fees are charged. 3x with a 5% band: the edges are a -2.33% and a +2.70% move.
    for fee_ppm in [0u64, 1_000] {
        for pct in [-3.0, -2.33, -1.0, 0.0, 1.0, 2.7, 3.0] {
            let (mut h, _lp, _alice) = levered().await;
            let update = h.update_ix(UpdateMarketParams {
                mint_fee_ppm: Some(fee_ppm),
                redeem_fee_ppm: Some(fee_ppm),
                ..UpdateMarketParams::default()
            });
            h.admin_send(&[update]).await.unwrap();
            h.set_price(100.0 * (1.0 + pct / 100.0));
            let eve = h.user(sol(20.0)).await;
            let paid = h.mint_lt(&eve, sol(20.0)).await.expect("front-run").units_in;
            let _ = h.rebalance().await; // lands past the band, WithinBand inside it
            let shares = lt_balance(&mut h, &eve).await;
            let got = h.redeem_lt(&eve, shares).await.expect("back-run").units_out;
            if fee_ppm == 0 {
                assert!(got <= paid, "{pct}%: {got} > {paid}");
            } else {
                assert!(got < paid, "{pct}% with fees: {got} >= {paid}");
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// share math

#[tokio::test]
async fn sec_first_depositor_inflation() {
    // The attacker opens the LT pool with the smallest mint that gives a share and donates 100 SOL
    // to the vault. A donation is protocol fee units (no NAV moves), so the victim's 10 SOL mint is
    // priced as if nothing happened: its value, redeemed at once, is within one unit of 10 SOL. The
    // FT side cannot be opened small: the seed deposit's FT is locked at creation.
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    let attacker = h.user(sol(200.0)).await;
    h.mint_lt(&attacker, 1).await.expect("one-unit mint");
    assert_eq!(lt_balance(&mut h, &attacker).await, 1);
    let vault = h.keys.vault;
    h.fund(&vault, sol(100.0)).await;
    let victim = h.user(sol(10.0)).await;
    let minted = h.mint_lt(&victim, sol(10.0)).await.unwrap();
    assert!(minted.shares_out >= sol(10.0) - 1, "shares {}", minted.shares_out);
    let got = h.redeem_lt(&victim, minted.shares_out).await.unwrap().units_out;
    assert!(got + 1 >= sol(10.0), "victim lost {} units", sol(10.0) - got);
    assert!(h.market().await.fee_units >= sol(100.0));
    // FT: the seed deposit's 1,000 FT are locked in the market's own account.
    assert_eq!(h.balance(&h.keys.locked_ft.clone()).await, 1_000);
}

/// Round trips (mint then redeem, deposit then withdraw) on a market with `decimals` at `usd`, for
/// amounts from one raw unit up: never more back than put in.
async fn round_trips(decimals: u8, usd: f64) {
    let mut h = Harness::new(MarketOpts {
        decimals,
        ..MarketOpts::default()
    })
    .await;
    h.set_price(usd);
    let lp = h.user(sol(1_000.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    let u = h.user(sol(100.0)).await;
    for amount in [1u64, 2, 3, 7, 999, 1_000_003, sol(1.0) + 7, sol(13.0)] {
        match h.mint_lt(&u, amount).await {
            Ok(m) => {
                let back = h.redeem_lt(&u, m.shares_out).await;
                // A payout that rounds to zero is refused rather than taking the shares.
                let got = back.map_or(0, |r| r.units_out);
                assert!(
                    got <= amount,
                    "{decimals} dp at ${usd}: mint/redeem {amount} -> {got}"
                );
            }
            Err(e) => assert_eq!(e.custom_code(), Some(u32::from(LeverError::ZeroSharesOut)), "{e}"),
        }
        match h.deposit(&u, amount).await {
            Ok(d) => {
                let got = h.withdraw(&u, d.shares_out).await.map_or(0, |w| w.units_out);
                assert!(
                    got <= amount,
                    "{decimals} dp at ${usd}: deposit/withdraw {amount} -> {got}"
                );
            }
            Err(e) => assert_eq!(e.custom_code(), Some(u32::from(LeverError::ZeroSharesOut)), "{e}"),
        }
    }
}

#[tokio::test]
async fn sec_round_trips_never_profit_at_extreme_decimals_and_prices() {
    // A price is value units per raw unit scaled by 1e18 in a u128: up to about $340 per raw unit,
    // so a 0-decimal token tops out near $340 (refused above with PriceOutOfRange, checked here),
    // a 9-decimal one near $3.4e11.
    for (decimals, prices) in [(0u8, [0.000_01, 1.0, 300.0]), (9, [0.000_01, 1.0, 100_000.0])] {
        for usd in prices {
            round_trips(decimals, usd).await;
        }
    }
    let (mut h, lp, alice) = levered_with(MarketOpts {
        decimals: 0,
        ..MarketOpts::default()
    })
    .await;
    h.set_price(400.0);
    for (ix, kp) in h.user_ixs(&lp, &alice, 1, 0) {
        h.expect_error(&[ix], &[&kp], LeverError::PriceOutOfRange).await;
    }
}

#[tokio::test]
async fn sec_burning_every_lt_outside_does_not_lock_mints() {
    // The only LT holder burns every LT with Token-2022 directly. The position nobody owns is
    // closed into idle by the next refresh (the funding pool lent it and takes its units), and the
    // next mint opens a fresh pool at target instead of failing.
    let (mut h, lp, alice) = levered().await;
    h.external_burns = true;
    let held = lt_balance(&mut h, &alice).await;
    let burn = spl_token_2022::instruction::burn(
        &TOKEN_2022,
        &alice.lt,
        &h.keys.lt_mint,
        &alice.pubkey(),
        &[],
        held,
    )
    .unwrap();
    h.chain.send(&[burn], &[&alice.kp]).await.expect("burn every LT");
    let before = h.market().await;
    let bob = h.user(sol(2.0)).await;
    let minted = h
        .mint_lt(&bob, sol(1.0))
        .await
        .expect("mint after every LT was burned");
    let m = h.market().await;
    assert_eq!(m.lt_supply, minted.shares_out);
    assert_eq!(m.exposure, 3 * sol(1.0), "a fresh pool at 3x");
    assert_eq!(m.idle + m.exposure, before.idle + before.exposure + sol(1.0));
    // The funding provider got the orphaned equity: the FT is worth more than was deposited.
    let ft = h.balance(&lp.ft).await;
    let out = h.withdraw(&lp, ft / 2).await.expect("withdraw").units_out;
    assert!(out > sol(50.0), "{out}");
}

#[tokio::test]
async fn sec_wiped_lt_burned_outside_does_not_block_reopening() {
    // After a wipe-out the holder burns the worthless LT with the token program (as wallets offer)
    // instead of redeeming it for 0: `reopen_market` syncs the supply with the mint and re-opens.
    let (mut h, _lp, alice) = levered().await;
    h.set_price(50.0);
    assert!(h.rebalance().await.unwrap().wiped);
    h.external_burns = true;
    let held = lt_balance(&mut h, &alice).await;
    let burn = spl_token_2022::instruction::burn(
        &TOKEN_2022,
        &alice.lt,
        &h.keys.lt_mint,
        &alice.pubkey(),
        &[],
        held,
    )
    .unwrap();
    h.chain.send(&[burn], &[&alice.kp]).await.expect("burn wiped LT");
    let ix = ix::reopen_market(h.admin.pubkey(), &h.keys);
    h.admin_send(&[ix]).await.expect("reopen after an outside burn");
    assert!(!h.market().await.is_wiped());
    let bob = h.user(sol(2.0)).await;
    h.mint_lt(&bob, sol(1.0)).await.expect("mint after reopening");
}

// ----------------------------------------------------------------------------------------------
// economics

#[tokio::test]
async fn sec_gaps_down_50_to_99_pct_at_2_3_5_10x() {
    // One price step of -50% to -99% at each leverage: the market wipes or rebalances, every NAV
    // stays computable and non-negative, the LT holder can redeem everything and the funding
    // provider can withdraw everything. Conservation is checked after each step by the harness.
    for lev in [2u64, 3, 5, 10] {
        for gap in [0.50, 0.75, 0.90, 0.99] {
            let mut params = default_params();
            params.target_leverage_ppm = lev * PPM;
            let (mut h, lp, alice) = levered_with(MarketOpts {
                params,
                ..MarketOpts::default()
            })
            .await;
            let usd = 100.0 * (1.0 - gap);
            h.set_price(usd);
            let q = h.price_q(usd);
            let pool = h.pool().await;
            pool.lt_nav(q).expect("LT NAV");
            pool.ft_nav(q).expect("FT NAV");
            let shares = lt_balance(&mut h, &alice).await;
            h.redeem_lt(&alice, shares)
                .await
                .unwrap_or_else(|e| panic!("{lev}x -{gap}: redeem all: {e}"));
            let ft = h.balance(&lp.ft).await;
            h.withdraw(&lp, ft)
                .await
                .unwrap_or_else(|e| panic!("{lev}x -{gap}: withdraw all: {e}"));
            let m: Market = h.market().await;
            assert_eq!(
                (m.exposure, m.debt.get(), m.lt_supply),
                (0, 0, 0),
                "{lev}x -{gap}"
            );
            assert_eq!(m.ft_supply, 1_000, "only the locked seed FT is left");
        }
    }
}

#[tokio::test]
async fn sec_two_rebalances_in_one_slot() {
    // Out of band: two keepers race in one slot. In one transaction the second call is refused
    // and the whole transaction reverts; in two transactions the first lands and the second finds
    // the market in band: one shift, not two.
    let (mut h, _lp, _alice) = levered().await;
    h.set_price(90.0);
    let (k1, k2) = (Keypair::new(), Keypair::new());
    let both = [h.rebalance_ix(&k1.pubkey()), h.rebalance_ix(&k2.pubkey())];
    h.expect_error(&both, &[&k1, &k2], LeverError::WithinBand).await;
    let count = h.market().await.rebalance_count;
    h.send(&[h.rebalance_ix(&k1.pubkey())], &[&k1])
        .await
        .expect("first keeper");
    let after_first = h.market().await;
    h.expect_error(&[h.rebalance_ix(&k2.pubkey())], &[&k2], LeverError::WithinBand)
        .await;
    assert_eq!(h.market().await.rebalance_count, count + 1);
    assert_eq!(h.market().await.exposure, after_first.exposure);
}

#[tokio::test]
async fn sec_mint_pause_blocks_mints_and_leaves_redeems_open() {
    // The mint pause bit blocks mints on both paths and leaves redeems open.
    let (mut h, _lp, alice) = levered().await;
    let kp = alice.kp.insecure_clone();
    let bits = ix::set_pause(h.admin.pubkey(), h.keys.market, pause::MINT_LT);
    h.admin_send(&[bits]).await.unwrap();
    h.expect_error(
        &[h.mint_ix(&alice, sol(1.0), 0)],
        &[&kp],
        LeverError::OperationPaused,
    )
    .await;
    let refused = h.mint_lt(&alice, sol(1.0)).await.expect_err("paused");
    assert!(refused.is(LeverError::OperationPaused), "{refused}");
    h.redeem_lt(&alice, sol(1.0))
        .await
        .expect("redeem while mint is paused");
}

// ----------------------------------------------------------------------------------------------
// admin

#[tokio::test]
async fn sec_pause_authority_cannot_change_parameters() {
    // The pause authority can add pause bits and nothing else.
    let (mut h, _lp, _alice) = levered().await;
    let pa = h.pause_authority.insecure_clone();
    let receiver = h.fee_receiver.pubkey();
    let mint = h.keys.underlying_mint;
    let dest = h.token_account(&mint, &receiver).await;
    let attempts = [
        ix::update_market(
            pa.pubkey(),
            h.keys.market,
            UpdateMarketParams {
                band_ppm: Some(100_000),
                ..UpdateMarketParams::default()
            },
        ),
        ix::update_config(
            pa.pubkey(),
            lever::instructions::UpdateConfigArgs {
                pause_authority: Some(pa.pubkey()),
                ..Default::default()
            },
        ),
        ix::withdraw_fees(pa.pubkey(), &h.keys, dest, 1),
        ix::reopen_market(pa.pubkey(), &h.keys),
        ix::transfer_admin(pa.pubkey(), pa.pubkey()),
    ];
    for ix in attempts {
        h.expect_error(&[ix], &[&pa], LeverError::Unauthorized).await;
    }
}

// ----------------------------------------------------------------------------------------------
// the table

#[test]
fn security_md_names_only_existing_tests() {
    // Every `module::function` in SECURITY.md's tables is a test function in tests/suite/ (or, with
    // a crate prefix, in that test crate).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../SECURITY.md")).expect("SECURITY.md");
    let mut named = 0;
    // The attack-class rows: the first cell is an id such as `A1` or `T10`.
    let is_id = |cell: &str| {
        let cell = cell.trim();
        cell.len() >= 2
            && cell[..1].chars().all(|c| c.is_ascii_uppercase())
            && cell[1..].parse::<u32>().is_ok()
    };
    for row in doc.lines().filter(|l| l.split('|').nth(1).is_some_and(is_id)) {
        let test_column = row.split('|').nth(3).unwrap_or_default();
        let names: Vec<&str> = test_column
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| n.contains("::"))
            .collect();
        assert!(!names.is_empty(), "a row with no test: {row}");
        for name in names {
            // `module::function` is in tests/suite/; `crate::module::function` (e.g.
            // `keeper::hermes::...`) is in tests/crate/module.rs.
            let (module, function) = name.rsplit_once("::").unwrap();
            let path = match module.split_once("::") {
                None => format!("suite/{module}.rs"),
                Some((krate, module)) => format!("{krate}/{}.rs", module.replace("::", "/")),
            };
            let source = std::fs::read_to_string(root.join(&path))
                .unwrap_or_else(|_| panic!("no module {module} ({path}) for {name}"));
            assert!(
                source.contains(&format!("fn {function}()")),
                "{name} in SECURITY.md is not a test"
            );
            named += 1;
        }
    }
    assert!(named >= 60, "only {named} test names found");
}

#[tokio::test]
async fn sec_rebalance_pause_stops_the_automatic_rebalance_and_wipe_inside_user_operations() {
    // Review L5: with the REBALANCE bit set, a user operation at an out-of-band (or insolvent)
    // price used to rebalance (or wipe) the pool on its way. Now it is refused with
    // `OperationPaused` and nothing moves; in band the same operations land; a settlement that
    // would need one is refunded.
    let (mut h, lp, alice) = levered().await;
    let bits = ix::set_pause(h.admin.pubkey(), h.keys.market, pause::REBALANCE);
    h.admin_send(&[bits]).await.expect("pause rebalance");
    let rebalances = h.market().await.rebalance_count;
    // A bad print: -45% wipes a 3x pool.
    h.set_price(55.0);
    for (ix, kp) in h.user_ixs(&lp, &alice, sol(1.0), 0) {
        h.expect_error(&[ix], &[&kp], LeverError::OperationPaused).await;
    }
    let refused = h
        .deposit(&lp, sol(1.0))
        .await
        .expect_err("a settlement would wipe");
    assert!(refused.is(LeverError::OperationPaused), "{refused}");
    let m = h.market().await;
    assert!(!m.is_wiped(), "no wipe-out while rebalancing is paused");
    assert_eq!(m.rebalance_count, rebalances);
    // Back in band, user operations land without touching the pools' split.
    h.set_price(100.0);
    h.instant_deposit(&lp, sol(1.0)).await.expect("in band");
    h.deposit(&lp, sol(1.0)).await.expect("in band, two-step");
    assert_eq!(h.market().await.rebalance_count, rebalances);
    // The operator lifts the bit: the next operation at the bad print wipes as before.
    let bits = ix::set_pause(h.admin.pubkey(), h.keys.market, 0);
    h.admin_send(&[bits]).await.expect("unpause");
    h.set_price(55.0);
    h.instant_deposit(&lp, sol(1.0)).await.expect("deposit");
    assert!(h.market().await.is_wiped());
}
