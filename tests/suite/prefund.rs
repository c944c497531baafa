//! Review 13, L1: every address the program creates is a PDA anyone can compute in advance, and
//! anyone can send lamports to it. A plain system transfer to one of them must not block its
//! creation (before the fix `create_account`, and Anchor's `init`, refused an address that already
//! held lamports: the config, a market id or a request nonce was lost for good). Each address is
//! pre-funded, once below and once above its rent, then created; the account must come out owned by
//! the right program, of the right size and rent-exempt, and the books must still equal the vault's
//! token balance (donated lamports are lamports, the books count tokens).

use anchor_lang::prelude::Pubkey;
use anchor_lang::Discriminator;
use anchor_spl::token::ID as TOKEN;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::ID as TOKEN_2022;
use lever::instructions::InitializeConfigArgs;
use lever::state::{Config, ConfigBounds, Market, Request, RequestKind};
use lever_sdk::ix;
use lever_sdk::pda::{self, MarketKeys};
use lever_testkit::chain::Chain;
use lever_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::extension::StateWithExtensions;

/// Donations tried at each address: 0.001 SOL (below the rent of every account created here, above
/// the rent of an empty one, the least a transfer to a new address may leave) and 0.1 SOL (above
/// every rent).
const DONATIONS: [u64; 2] = [1_000_000, 100_000_000];

/// `address` exists, is owned by `owner`, holds `len` bytes and is rent-exempt for them.
async fn assert_created(chain: &mut Chain, address: &Pubkey, owner: &Pubkey, len: usize, donated: u64) {
    let account = chain.account(address).await.unwrap().expect("created");
    assert_eq!(account.owner, *owner, "owner of {address}");
    assert_eq!(account.data.len(), len, "size of {address}");
    let rent = chain.rent(len).await.unwrap();
    assert!(account.lamports >= rent, "{address} is not rent-exempt");
    assert!(account.lamports >= donated, "{address} lost the donated lamports");
}

#[tokio::test]
async fn prefunded_config_does_not_block_initialize_config() {
    for donation in DONATIONS {
        let mut chain = Chain::start().await.unwrap();
        let config = pda::config();
        chain.airdrop(&config, donation).await.unwrap();
        let admin = Keypair::new();
        chain.airdrop(&admin.pubkey(), 1_000_000_000).await.unwrap();
        let ix = ix::initialize_config(
            admin.pubkey(),
            InitializeConfigArgs {
                pause_authority: admin.pubkey(),
                fee_receiver: admin.pubkey(),
                bounds: ConfigBounds::default(),
            },
        );
        chain.send(&[ix], &[&admin]).await.expect("initialize_config");
        assert_created(&mut chain, &config, &lever::ID, Config::SPACE, donation).await;
        let account = chain.account(&config).await.unwrap().unwrap();
        assert_eq!(&account.data[..8], Config::DISCRIMINATOR);
        let c = chain.config().await.unwrap();
        assert_eq!(c.admin, admin.pubkey());
        assert_eq!(c.bounds(), ConfigBounds::default());
    }
}

/// Token-account length of a vault or escrow: Token-2022 accounts of these mints need no
/// extension, so both programs use the base length.
const TOKEN_ACCOUNT_LEN: usize = 165;

#[tokio::test]
async fn prefunded_market_vault_mints_and_locked_ft_do_not_block_create_market() {
    for token_program in [TOKEN, TOKEN_2022] {
        for (i, donation) in DONATIONS.into_iter().enumerate() {
            let opts = MarketOpts {
                token_program,
                ..MarketOpts::default()
            };
            let mut h = Harness::new(opts.clone()).await;
            // A second market on the same underlying: every one of its addresses is pre-funded.
            let id = 1 + i as u32;
            let keys = MarketKeys::derive(h.keys.underlying_mint, id, token_program);
            let addresses = [
                keys.market,
                keys.vault,
                keys.lt_mint,
                keys.ft_mint,
                keys.locked_ft,
            ];
            for address in addresses {
                h.chain.airdrop(&address, donation).await.unwrap();
            }
            let admin = h.admin.insecure_clone();
            let admin_underlying = h.token_account(&keys.underlying_mint, &admin.pubkey()).await;
            h.fund(&admin_underlying, sol(1.0)).await;
            let args = h.create_args(&MarketOpts { id, ..opts.clone() });
            let seed = args.seed_units;
            let create = ix::create_market(admin.pubkey(), &keys, admin_underlying, args);
            h.chain.send(&[create], &[&admin]).await.expect("create_market");

            assert_created(&mut h.chain, &keys.market, &lever::ID, Market::SPACE, donation).await;
            assert_created(
                &mut h.chain,
                &keys.vault,
                &token_program,
                TOKEN_ACCOUNT_LEN,
                donation,
            )
            .await;
            for mint in [keys.lt_mint, keys.ft_mint] {
                let account = h.chain.account(&mint).await.unwrap().unwrap();
                assert_created(&mut h.chain, &mint, &TOKEN_2022, account.data.len(), donation).await;
            }
            assert_created(
                &mut h.chain,
                &keys.locked_ft,
                &TOKEN_2022,
                TOKEN_ACCOUNT_LEN,
                donation,
            )
            .await;
            let m = h.chain.market(&keys.market).await.unwrap();
            assert_eq!(
                (m.id, m.vault, m.lt_mint, m.ft_mint),
                (id, keys.vault, keys.lt_mint, keys.ft_mint)
            );
            assert_eq!(h.chain.token_amount(&keys.locked_ft).await.unwrap(), seed);
            for mint in [keys.lt_mint, keys.ft_mint] {
                let data = h.chain.account(&mint).await.unwrap().unwrap().data;
                let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data).unwrap();
                assert_eq!(state.base.mint_authority, Some(keys.market).into());
                assert!(state.base.freeze_authority.is_none());
                assert!(state.base.is_initialized);
            }

            // The harness now drives the new market: the vault's token balance is the seed, and a
            // deposit, an LT mint and a redemption keep the books equal to it (the donated
            // lamports are not units).
            h.keys = keys;
            h.tracked = vec![keys.vault];
            h.check().await;
            assert_eq!(h.balance(&keys.vault).await, seed);
            let lp = h.user(sol(20.0)).await;
            h.deposit(&lp, sol(10.0)).await.expect("deposit");
            let alice = h.user(sol(2.0)).await;
            let minted = h.mint_lt(&alice, sol(1.0)).await.expect("mint");
            h.redeem_lt(&alice, minted.shares_out).await.expect("redeem");
            h.check().await;
        }
    }
}

#[tokio::test]
async fn prefunded_request_and_escrow_do_not_block_a_request() {
    for token_program in [TOKEN, TOKEN_2022] {
        for donation in DONATIONS {
            let (mut h, _lp, alice) = levered_with(MarketOpts {
                token_program,
                ..MarketOpts::default()
            })
            .await;
            for kind in [RequestKind::MintLt, RequestKind::RedeemLt] {
                // The next request's addresses are known from the owner and its nonce.
                let nonce = h.next_nonce + 1;
                let request = pda::request(&h.keys.market, &alice.pubkey(), nonce);
                let escrow = pda::escrow(&request);
                h.chain.airdrop(&request, donation).await.unwrap();
                h.chain.airdrop(&escrow, donation).await.unwrap();
                let lamports_before = h.chain.lamports(&alice.pubkey()).await.unwrap();
                let amount = if kind == RequestKind::MintLt {
                    sol(1.0)
                } else {
                    h.balance(&alice.lt).await / 2
                };
                let (opened, _receipt) = h.request(&alice, kind, amount, 0).await.expect("request");
                assert_eq!(opened, request);
                let request_len = 8 + <Request as anchor_lang::Space>::INIT_SPACE;
                assert_created(&mut h.chain, &request, &lever::ID, request_len, donation).await;
                let input_program = if kind == RequestKind::MintLt {
                    token_program
                } else {
                    TOKEN_2022
                };
                assert_created(&mut h.chain, &escrow, &input_program, TOKEN_ACCOUNT_LEN, donation).await;
                let account = h.chain.account(&request).await.unwrap().unwrap();
                assert_eq!(&account.data[..8], Request::DISCRIMINATOR);
                let r = h.request_state(&request).await;
                assert_eq!((r.amount, r.nonce, r.escrow), (amount, nonce, escrow));
                assert_eq!(h.balance(&escrow).await, amount);
                h.check().await;

                // Settled: the settler earns exactly the tip, the request and escrow close, and
                // their lamports (the donations included) go back to the payer.
                let settler = Keypair::new();
                h.chain.airdrop(&settler.pubkey(), 1_000_000_000).await.unwrap();
                h.advance(10);
                h.set_price(100.0);
                let mut input = h.price_input(100.0);
                input.publish_time = r.tau;
                input.prev_publish_time = r.tau - 1;
                h.write_price(&input);
                let settle = h
                    .settle_ix(&settler.pubkey(), &request, &h.price_account.clone())
                    .await;
                let before = h.chain.lamports(&settler.pubkey()).await.unwrap();
                h.send(&[settle], &[&settler]).await.expect("settle");
                // (the chain's payer pays the transaction fees)
                assert_eq!(
                    h.chain.lamports(&settler.pubkey()).await.unwrap(),
                    before + r.tip_lamports
                );
                assert!(h.chain.account(&request).await.unwrap().is_none());
                assert!(h.chain.account(&escrow).await.unwrap().is_none());
                let lamports_after = h.chain.lamports(&alice.pubkey()).await.unwrap();
                assert_eq!(
                    lamports_after + r.tip_lamports,
                    lamports_before + 2 * donation,
                    "the payer gets back its rents and the donations, less the tip"
                );
                h.check().await;
            }
        }
    }
}
