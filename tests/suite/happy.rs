//! Happy paths: every instruction, with the numbers and state it must produce.

use anchor_lang::prelude::Pubkey;
use anchor_spl::compat::spl_token_metadata_interface::state::TokenMetadata;
use anchor_spl::token_2022::spl_token_2022;
use lever::constants::{pause, PPM};
use lever::events::{FundingAccrued, LtMinted, Rebalanced};
use lever::instructions::{MintLtOutcome, UpdateConfigArgs};
use lever::state::{ConfigBounds, UpdateMarketParams};
use lever_sdk::ix;
use lever_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};

#[tokio::test]
async fn mint_redeem_deposit_withdraw_round_trip() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    let d = h.deposit(&lp, sol(100.0)).await.unwrap();
    assert_eq!(d.shares_out, sol(100.0));
    let alice = h.user(sol(10.0)).await;
    let m = h.mint_lt(&alice, sol(10.0)).await.unwrap();
    assert_eq!(m.shares_out, sol(10.0));
    assert_eq!(h.balance(&alice.lt).await, sol(10.0));
    assert_eq!(h.pool().await.exposure, sol(30.0));
    let r = h.redeem_lt(&alice, m.shares_out).await.unwrap();
    assert_eq!(r.units_out, sol(10.0));
    assert_eq!(h.balance(&alice.underlying).await, sol(10.0));
    let w = h.withdraw(&lp, d.shares_out).await.unwrap();
    assert_eq!(w.units_out, sol(100.0));
}

#[tokio::test]
async fn share_mints_have_metadata_pda_authority_and_no_freeze() {
    let mut h = Harness::new(MarketOpts::default()).await;
    for (mint, name, symbol) in [
        (h.keys.lt_mint, "SOL 3x Long", "SOL3X"),
        (h.keys.ft_mint, "SOL 3x Funding", "fSOL3X"),
    ] {
        let account = h.chain.account(&mint).await.unwrap().unwrap();
        assert_eq!(account.owner, anchor_spl::token_2022::ID);
        let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data).unwrap();
        assert_eq!(state.base.mint_authority, Some(h.keys.market).into());
        assert_eq!(state.base.freeze_authority, None.into());
        assert_eq!(state.base.decimals, 9);
        let meta = state.get_variable_len_extension::<TokenMetadata>().unwrap();
        assert_eq!(meta.name, name);
        assert_eq!(meta.symbol, symbol);
        assert_eq!(meta.mint, mint);
        assert_eq!(Option::<Pubkey>::from(meta.update_authority), Some(h.keys.market));
    }
    // The vault belongs to the market; the seed's FT sit in the locked account.
    let vault = h.chain.account(&h.keys.vault).await.unwrap().unwrap();
    let vault = StateWithExtensions::<spl_token_2022::state::Account>::unpack(&vault.data).unwrap();
    assert_eq!(vault.base.owner, h.keys.market);
    assert_eq!(vault.base.amount, 1_000);
    assert_eq!(h.balance(&h.keys.locked_ft.clone()).await, 1_000);
    let config = h.chain.config().await.unwrap();
    assert_eq!(config.market_count, 1);
    assert_eq!(config.admin, h.admin.pubkey());
}

#[tokio::test]
async fn fees_round_up_and_are_withdrawn_to_the_fee_receiver() {
    let mut params = default_params();
    params.mint_fee_ppm = 1_000; // 0.1%
    params.redeem_fee_ppm = 2_500;
    params.deposit_fee_ppm = 1_000;
    params.withdraw_fee_ppm = 1_000;
    let mut h = Harness::new(MarketOpts {
        params,
        ..MarketOpts::default()
    })
    .await;
    let lp = h.user(sol(100.0)).await;
    let d = h.deposit(&lp, sol(100.0)).await.unwrap();
    assert_eq!(d.fee_units, sol(0.1));
    let alice = h.user(sol(10.0) + 1).await;
    let m = h.mint_lt(&alice, sol(10.0) + 1).await.unwrap();
    // 0.1% of 10_000_000_001 = 10_000_000.001: rounds up.
    assert_eq!(m.fee_units, 10_000_001);
    let r = h.redeem_lt(&alice, m.shares_out).await.unwrap();
    assert!(r.units_out < sol(10.0), "a round trip never profits");
    let fees = h.pool().await.fee_units;
    assert_eq!(fees, d.fee_units + m.fee_units + r.fee_units);
    let dest = h
        .token_account(&h.keys.underlying_mint.clone(), &h.fee_receiver.pubkey())
        .await;
    let wd = ix::withdraw_fees(h.admin.pubkey(), &h.keys, dest, fees);
    h.admin_send(&[wd]).await.unwrap();
    assert_eq!(h.balance(&dest).await, fees);
    assert_eq!(h.pool().await.fee_units, 0);
}

#[tokio::test]
async fn rebalance_emits_event_with_price_and_pool() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    let alice = h.user(sol(10.0)).await;
    h.mint_lt(&alice, sol(10.0)).await.unwrap();
    h.advance(3_600);
    h.set_price(120.0);
    let keeper = Keypair::new();
    let ix = h.rebalance_ix(&keeper.pubkey());
    let events = h.events(std::slice::from_ref(&ix), &[&keeper]).await;
    let ev: Rebalanced = find_event(&events).expect("Rebalanced");
    let accrued: FundingAccrued = find_event(&events).expect("FundingAccrued");
    assert!(accrued.interest > 0 && accrued.elapsed == 3_600);
    assert!(!ev.automatic && !ev.wiped && !ev.bounded);
    assert_eq!(ev.caller, keeper.pubkey());
    assert_eq!(ev.price, h.price_q(120.0));
    assert!(ev.units_to_pool > 0 && ev.units_to_idle == 0);
    h.send(&[ix], &[&keeper]).await.unwrap();
    let pool = h.pool().await;
    assert_eq!(ev.pool.exposure, pool.exposure);
    assert_eq!(ev.pool.debt, pool.debt);
    let lev = pool.leverage_ppm(h.price_q(120.0)).unwrap().unwrap();
    assert!((3 * PPM as u128 - 1..=3 * PPM as u128).contains(&lev));
}

#[tokio::test]
async fn user_instruction_rebalances_an_out_of_band_market_first() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    let alice = h.user(sol(20.0)).await;
    h.mint_lt(&alice, sol(10.0)).await.unwrap();
    h.advance(1);
    h.set_price(90.0); // 3x -> 2.7/0.7 = 3.86x: out of band
    let ix = h.mint_ix(&alice, sol(1.0), 0);
    let events = h.events(std::slice::from_ref(&ix), &[&alice.kp]).await;
    let reb: Rebalanced = find_event(&events).expect("automatic rebalance");
    assert!(reb.automatic);
    let minted: LtMinted = find_event(&events).expect("LtMinted");
    assert_eq!(minted.units_in, sol(1.0));
    h.send(&[ix], &[&alice.kp]).await.unwrap();
    let lev = h.pool().await.leverage_ppm(h.price_q(90.0)).unwrap().unwrap();
    assert!(
        (3 * PPM as u128 - 2..=3 * PPM as u128).contains(&lev),
        "leverage {lev}"
    );
    assert_eq!(h.market().await.rebalance_count, 1);
}

#[tokio::test]
async fn funding_accrues_from_lt_to_ft() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    let d = h.deposit(&lp, sol(100.0)).await.unwrap();
    let alice = h.user(sol(10.0)).await;
    h.mint_lt(&alice, sol(10.0)).await.unwrap();
    let debt0 = h.pool().await.debt;
    h.advance(86_400);
    h.set_price(100.0);
    // Utilization 2000 / (2000 + 80*100) = 20%: rate = 2% + 8% * 0.2/0.8 = 4%/year.
    let r = h.redeem_lt(&alice, sol(10.0)).await.unwrap();
    let interest = debt0 as f64 / 1e18 * 0.04 / 365.0;
    let expected = 10.0 - interest / 100.0;
    assert!(
        (r.units_out as f64 / 1e9 - expected).abs() < 1e-8,
        "{} vs {expected}",
        r.units_out
    );
    let w = h.withdraw(&lp, d.shares_out).await.unwrap();
    assert!(w.units_out > sol(100.0), "the funding pool earned the interest");
}

#[tokio::test]
async fn donation_changes_no_nav_and_goes_to_fees() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    let alice = h.user(sol(10.0)).await;
    h.mint_lt(&alice, sol(10.0)).await.unwrap();
    let pool_before = h.pool().await;
    // A direct transfer into the vault.
    let donor = h.user(sol(5.0)).await;
    let t = spl_token_2022::instruction::transfer_checked(
        &h.keys.underlying_token_program,
        &donor.underlying,
        &h.keys.underlying_mint,
        &h.keys.vault,
        &donor.pubkey(),
        &[],
        sol(5.0),
        9,
    )
    .unwrap();
    h.chain.send(&[t], &[&donor.kp]).await.unwrap();
    assert_eq!(h.pool().await, pool_before, "the books ignore the donation");
    // The next instruction absorbs it into protocol fees; NAVs are unchanged.
    let ix = h.rebalance_ix(&h.chain.payer_pubkey());
    let _ = h.chain.send(&[ix], &[]).await; // within band: refused, nothing absorbed
    let r = h.redeem_lt(&alice, sol(5.0)).await.unwrap();
    assert_eq!(r.units_out, sol(5.0), "LT NAV unchanged by the donation");
    assert_eq!(h.pool().await.fee_units, sol(5.0));
}

#[tokio::test]
async fn admin_config_update_and_two_step_transfer() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let new_pause = Keypair::new();
    let bounds = ConfigBounds {
        max_fee_ppm: 10_000,
        ..ConfigBounds::default()
    };
    let u = ix::update_config(
        h.admin.pubkey(),
        UpdateConfigArgs {
            pause_authority: Some(new_pause.pubkey()),
            fee_receiver: None,
            bounds: Some(bounds),
        },
    );
    h.admin_send(&[u]).await.unwrap();
    let c = h.chain.config().await.unwrap();
    assert_eq!(c.pause_authority, new_pause.pubkey());
    assert_eq!(c.max_fee_ppm, 10_000);

    let next = Keypair::new();
    h.chain.airdrop(&next.pubkey(), 1_000_000_000).await.unwrap();
    h.admin_send(&[ix::transfer_admin(h.admin.pubkey(), next.pubkey())])
        .await
        .unwrap();
    assert_eq!(
        h.chain.config().await.unwrap().admin,
        h.admin.pubkey(),
        "nothing changes yet"
    );
    h.send(&[ix::accept_admin(next.pubkey())], &[&next])
        .await
        .unwrap();
    let c = h.chain.config().await.unwrap();
    assert_eq!(c.admin, next.pubkey());
    assert_eq!(c.pending_admin, Pubkey::default());
}

#[tokio::test]
async fn update_market_params_and_pause_bits() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let update = UpdateMarketParams {
        target_leverage_ppm: Some(5 * PPM),
        band_ppm: Some(100_000),
        ..UpdateMarketParams::default()
    };
    h.admin_send(&[h.update_ix(update)]).await.unwrap();
    let m = h.market().await;
    assert_eq!(m.params.target_leverage_ppm, 5 * PPM);
    assert_eq!(m.params.band_ppm, 100_000);
    assert_eq!(m.params.mint_fee_ppm, 0, "fields left as None are kept");

    // The pause authority pauses mints; redeems still work; the admin unpauses.
    let pa = h.pause_authority.insecure_clone();
    h.send(
        &[ix::set_pause(pa.pubkey(), h.keys.market, pause::MINT_LT)],
        &[&pa],
    )
    .await
    .unwrap();
    assert_eq!(h.market().await.paused, pause::MINT_LT);
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    h.admin_send(&[ix::set_pause(h.admin.pubkey(), h.keys.market, 0)])
        .await
        .unwrap();
    let alice = h.user(sol(1.0)).await;
    let m = h.mint_lt(&alice, sol(1.0)).await.unwrap();
    let lev = h.pool().await.leverage_ppm(h.price_q(100.0)).unwrap().unwrap();
    assert_eq!(lev, 5 * PPM as u128, "new markets open at the new target");
    assert_eq!(m.shares_out, sol(1.0));
}

#[tokio::test]
async fn compute_units_of_token_cpis() {
    let mut h = Harness::new(MarketOpts::default()).await;
    let lp = h.user(sol(100.0)).await;
    h.deposit(&lp, sol(100.0)).await.unwrap();
    let alice = h.user(sol(10.0)).await;
    let ix = h.mint_ix(&alice, sol(10.0), 0);
    let mint = h.send(&[ix], &[&alice.kp]).await.unwrap();
    let shares = decode::<MintLtOutcome>(&mint).shares_out;
    let ix = h.redeem_ix(&alice, shares, 0);
    let redeem = h.send(&[ix], &[&alice.kp]).await.unwrap();
    let (mint, redeem) = (
        mint.compute_units.expect("the bank meters"),
        redeem.compute_units.expect("the bank meters"),
    );
    // Metered: the SPL Token transfer and the Token-2022 mint/burn CPIs (native code ~1 CU/call).
    println!(
        "compute units: mint_lt {} (SPL transfer + Token-2022 mint_to), redeem_lt {} (Token-2022 burn + SPL transfer)",
        mint, redeem
    );
    assert!(mint > 1_000 && mint < 50_000);
    assert!(redeem > 1_000 && redeem < 50_000);
}
