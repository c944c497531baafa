//! Review 13, I2: an underlying mint with a freeze authority. Its issuer can freeze the vault, and
//! then every instruction moving vault units fails. `create_market` refuses such a mint
//! (`MintHasFreezeAuthority`) unless the admin passes `allow_freeze_authority`; the accepted choice is
//! recorded in the market (`market_flags::UNDERLYING_FREEZABLE`) and shown by `lever status`.
//! Before the fix any freeze authority was accepted silently.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::ID as TOKEN;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::constants::market_flags;
use lever::error::LeverError;
use lever_sdk::ix;
use lever_sdk::pda::MarketKeys;
use lever_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::error::TokenError;

/// A mint of `token_program` (9 decimals, no extension) whose mint and freeze authority is the
/// harness's mint authority, and the admin's funded account of it.
async fn freezable_mint(h: &mut Harness, token_program: Pubkey) -> (Pubkey, Pubkey) {
    let mint = Keypair::new();
    let space = spl_token_2022::state::Mint::LEN;
    let lamports = h.chain.rent(space).await.unwrap();
    let payer = h.chain.payer_pubkey();
    let authority = h.mint_authority.pubkey();
    let ixs = [
        solana_system_interface::instruction::create_account(
            &payer,
            &mint.pubkey(),
            lamports,
            space as u64,
            &token_program,
        ),
        spl_token_2022::instruction::initialize_mint2(
            &token_program,
            &mint.pubkey(),
            &authority,
            Some(&authority),
            9,
        )
        .unwrap(),
    ];
    h.chain.send(&ixs, &[&mint]).await.expect("create mint");
    let admin = h.admin.pubkey();
    let source = h
        .chain
        .create_token_account(&mint.pubkey(), &admin, &token_program)
        .await
        .unwrap();
    let auth = h.mint_authority.insecure_clone();
    h.chain
        .mint_tokens(&token_program, &mint.pubkey(), &source, &auth, sol(1.0))
        .await
        .unwrap();
    (mint.pubkey(), source)
}

#[tokio::test]
async fn freeze_authority_refused_unless_the_admin_allows_it() {
    for token_program in [TOKEN, TOKEN_2022] {
        let mut h = Harness::new(MarketOpts::default()).await;
        // A mint with no freeze authority records nothing.
        assert_eq!(h.market().await.flags, 0);
        assert!(!h.market().await.underlying_freezable());

        let (mint, source) = freezable_mint(&mut h, token_program).await;
        let keys = MarketKeys::derive(mint, 0, token_program);
        let opts = MarketOpts {
            token_program,
            ..MarketOpts::default()
        };
        let admin = h.admin.insecure_clone();
        let args = h.create_args(&opts);
        assert!(!args.allow_freeze_authority, "refused by default");
        let ix = ix::create_market(admin.pubkey(), &keys, source, args.clone());
        h.expect_error(&[ix], &[&admin], LeverError::MintHasFreezeAuthority)
            .await;
        for address in [
            keys.market,
            keys.vault,
            keys.lt_mint,
            keys.ft_mint,
            keys.locked_ft,
        ] {
            assert!(
                h.chain.account(&address).await.unwrap().is_none(),
                "{address} exists"
            );
        }
        assert_eq!(
            h.chain.token_amount(&source).await.unwrap(),
            sol(1.0),
            "seed unmoved"
        );
        assert_eq!(h.chain.config().await.unwrap().market_count, 1);

        // Accepted with the flag, and recorded in the market.
        let mut allowed = args;
        allowed.allow_freeze_authority = true;
        let seed = allowed.seed_units;
        let ix = ix::create_market(admin.pubkey(), &keys, source, allowed);
        h.chain
            .send(&[ix], &[&admin])
            .await
            .expect("create_market allowed");
        let m = h.chain.market(&keys.market).await.unwrap();
        assert_eq!(
            m.flags & market_flags::UNDERLYING_FREEZABLE,
            market_flags::UNDERLYING_FREEZABLE
        );
        assert!(m.underlying_freezable());
        assert_eq!(m.version, lever::constants::MARKET_VERSION);
        assert_eq!(h.chain.config().await.unwrap().market_count, 2);

        // What the choice still allows: the issuer freezes the vault and operations on it fail
        // (the token program's AccountFrozen) with nothing changed; thawed, they work again.
        h.keys = keys;
        h.tracked = vec![keys.vault];
        h.check().await;
        assert_eq!(h.balance(&keys.vault).await, seed);
        let lp = h.user(sol(20.0)).await;
        let auth = h.mint_authority.insecure_clone();
        let freeze = spl_token_2022::instruction::freeze_account(
            &token_program,
            &keys.vault,
            &mint,
            &auth.pubkey(),
            &[],
        )
        .unwrap();
        h.chain.send(&[freeze], &[&auth]).await.expect("freeze the vault");
        let deposit = h.deposit_ix(&lp, sol(1.0), 0);
        let fail = h.expect_failure(&[deposit], &[&lp.kp]).await;
        assert_eq!(
            fail.custom_code(),
            Some(TokenError::AccountFrozen as u32),
            "{fail}"
        );
        let thaw = spl_token_2022::instruction::thaw_account(
            &token_program,
            &keys.vault,
            &mint,
            &auth.pubkey(),
            &[],
        )
        .unwrap();
        h.chain.send(&[thaw], &[&auth]).await.expect("thaw the vault");
        h.deposit(&lp, sol(1.0)).await.expect("deposit after the thaw");
        h.check().await;
    }
}
