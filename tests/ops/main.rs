//! `lever_sdk::ops` (what the `lever` market commands run) end to end on the embedded chain,
//! through the same `Cluster` interface the commands use against an RPC node: user operations
//! land exactly as previewed, refusals are named and send nothing, `status` reports what the
//! market holds, and the admin operations change only what they say. Conservation is checked
//! after every step.

use anchor_lang::prelude::Pubkey;
use lever::constants::{pause, PPM};
use lever::error::LeverError;
use lever::math::FundingCurve;
use lever::state::UpdateMarketParams;
use std::future::Future;

use lever::oracle::Now;
use lever::state::{Market, Request};
use lever_sdk::cluster::{Cluster, ClusterError, ClusterResult, Landed, Simulation};
use lever_sdk::ops::{self, Flow, OpsError, SendOptions, DEFAULT_SLIPPAGE_PPM};
use lever_sdk::units::format_units;
use lever_sdk::{pda, quote};
use lever_testkit::embedded::Embedded;
use lever_tests::{levered, sol, Harness};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::{Hash, Transaction};

/// A wallet whose underlying sits in its associated token account (as a real wallet's does),
/// holding `units`.
async fn ata_wallet(h: &mut Harness, units: u64) -> Keypair {
    let (k, ata) =
        lever_testkit::local::ata_wallet(&mut h.chain, &h.keys, &h.mint_authority, 1_000_000_000, units)
            .await
            .expect("wallet");
    h.tracked.push(ata);
    k
}

fn underlying_ata(h: &Harness, owner: &Pubkey) -> Pubkey {
    pda::associated_token_account(owner, &h.keys.underlying_mint, &h.keys.underlying_token_program)
}

fn share_ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    pda::associated_token_account(owner, mint, &anchor_spl::token_2022::ID)
}

async fn balance_or_zero(h: &mut Harness, account: &Pubkey) -> u64 {
    match h.chain.account(account).await.expect("read") {
        Some(a) => lever_sdk::accounts::token_account_amount(&a.data).expect("token account"),
        None => 0,
    }
}

/// The instant path (one transaction) at the harness's price account.
fn options(h: &Harness) -> SendOptions {
    SendOptions {
        price_account: Some(h.price_account),
        slippage_ppm: DEFAULT_SLIPPAGE_PPM,
        instant: true,
        ..SendOptions::default()
    }
}

/// Prepare and execute on the embedded chain.
async fn run(
    h: &mut Harness,
    user: &Keypair,
    flow: Flow,
    amount: u64,
    opts: Option<SendOptions>,
) -> Result<(ops::Prepared, ops::Executed), OpsError> {
    let opts = opts.unwrap_or_else(|| options(h));
    let market = h.keys.market;
    let cluster = Embedded::new(&mut h.chain);
    let prepared = ops::prepare(&cluster, user.pubkey(), market, flow, amount, opts).await?;
    let executed = ops::execute(&cluster, user, &prepared).await?;
    Ok((prepared, executed))
}

#[tokio::test]
async fn user_operations_land_exactly_as_previewed() {
    let (mut h, _lp, _alice) = levered().await;
    let bob = ata_wallet(&mut h, sol(50.0)).await;
    let underlying = underlying_ata(&h, &bob.pubkey());
    let lt = share_ata(&bob.pubkey(), &h.keys.lt_mint);
    let ft = share_ata(&bob.pubkey(), &h.keys.ft_mint);
    h.tracked.extend([lt, ft]);

    let steps = [
        (Flow::Mint, sol(5.0), underlying, lt),
        (Flow::Deposit, sol(20.0), underlying, ft),
        (Flow::Redeem, 0, lt, underlying),
        (Flow::Withdraw, 0, ft, underlying),
    ];
    for (flow, amount, from, to) in steps {
        // Redeem and withdraw spend everything the mint and deposit gave.
        let amount = if amount == 0 {
            balance_or_zero(&mut h, &from).await
        } else {
            amount
        };
        assert!(amount > 0, "{flow:?}: nothing to spend");
        let from_before = balance_or_zero(&mut h, &from).await;
        let to_before = balance_or_zero(&mut h, &to).await;
        let (prepared, executed) = run(&mut h, &bob, flow, amount, None)
            .await
            .unwrap_or_else(|e| panic!("{flow:?}: {e}"));
        assert_eq!(prepared.user_in, from, "{flow:?} pays from the wallet's ATA");
        assert_eq!(prepared.user_out, to, "{flow:?} pays into the wallet's ATA");
        // The preview is the program's own code: the landed numbers equal it to the unit.
        assert_eq!(executed.amount_in, amount, "{flow:?}");
        assert_eq!(executed.amount_out, prepared.expected_out, "{flow:?}");
        assert_eq!(executed.fee_units, prepared.fee_units, "{flow:?}");
        // The minimum sent is the preview less 0.5%, rounded down.
        let floor =
            u128::from(prepared.expected_out) * u128::from(PPM - DEFAULT_SLIPPAGE_PPM) / u128::from(PPM);
        assert_eq!(u128::from(prepared.min_out), floor, "{flow:?}");
        assert_eq!(
            balance_or_zero(&mut h, &from).await,
            from_before - amount,
            "{flow:?}"
        );
        assert_eq!(
            balance_or_zero(&mut h, &to).await,
            to_before + executed.amount_out,
            "{flow:?}"
        );
        assert_eq!(executed.source, "return_data");
        assert_eq!(
            executed.received,
            format!(
                "{} {}",
                format_units(executed.amount_out, h.decimals),
                flow.tokens().1
            )
        );
        h.check().await;
    }
    // Everything went back, less what fees (the instant path's 0.5% on each of the four legs,
    // about 0.25) and the pools' rounding kept: never more.
    let left = balance_or_zero(&mut h, &underlying).await;
    assert!(left <= sol(50.0) && left > sol(49.7), "bob holds {left}");
}

#[tokio::test]
async fn refusals_are_named_and_send_nothing() {
    let (mut h, _lp, _alice) = levered().await;
    let bob = ata_wallet(&mut h, sol(50.0)).await;
    let market = h.keys.market;
    let before = h.snapshot().await;
    let transactions = h.chain.transactions;

    let zero = run(&mut h, &bob, Flow::Mint, 0, None).await;
    assert!(matches!(zero, Err(OpsError::Invalid(_))), "{zero:?}");

    match run(&mut h, &bob, Flow::Mint, sol(60.0), None).await {
        Err(OpsError::InsufficientBalance {
            have, need, account, ..
        }) => {
            assert_eq!((have, need), (sol(50.0), sol(60.0)));
            assert_eq!(account, underlying_ata(&h, &bob.pubkey()));
        }
        other => panic!("expected InsufficientBalance, got {other:?}"),
    }

    // No LT account yet: redeeming names the missing account.
    match run(&mut h, &bob, Flow::Redeem, 1, None).await {
        Err(OpsError::AccountMissing { what, address }) => {
            assert_eq!(what, "your token account");
            assert_eq!(address, share_ata(&bob.pubkey(), &h.keys.lt_mint));
        }
        other => panic!("expected AccountMissing, got {other:?}"),
    }

    let nowhere = Pubkey::new_unique();
    let missing = SendOptions {
        price_account: Some(nowhere),
        ..options(&h)
    };
    match run(&mut h, &bob, Flow::Mint, sol(1.0), Some(missing)).await {
        Err(OpsError::AccountMissing { what, address }) => {
            assert_eq!((what, address), ("price account", nowhere))
        }
        other => panic!("expected a missing price account, got {other:?}"),
    }
    let not_pyth = SendOptions {
        price_account: Some(h.keys.vault),
        ..options(&h)
    };
    let wrong = run(&mut h, &bob, Flow::Mint, sol(1.0), Some(not_pyth)).await;
    match &wrong {
        Err(e @ OpsError::WrongAccount { .. }) => {
            assert!(e.to_string().contains("not the Pyth receiver"), "{e}")
        }
        other => panic!("expected WrongAccount, got {other:?}"),
    }

    let other_wallet = Keypair::new();
    let prepared = {
        let opts = options(&h);
        let cluster = Embedded::new(&mut h.chain);
        ops::prepare(&cluster, bob.pubkey(), market, Flow::Mint, sol(1.0), opts)
            .await
            .expect("prepare")
    };
    {
        let cluster = Embedded::new(&mut h.chain);
        let e = ops::execute(&cluster, &other_wallet, &prepared).await;
        assert!(matches!(e, Err(OpsError::Invalid(_))), "{e:?}");
    }

    // A minimum above what the program gives: the simulation refuses, nothing is sent.
    let greedy = SendOptions {
        min_out: Some(prepared.expected_out + 1),
        ..options(&h)
    };
    match run(&mut h, &bob, Flow::Mint, sol(1.0), Some(greedy)).await {
        Err(e @ OpsError::Cluster(ClusterError::Transaction { signature: None, .. })) => {
            let OpsError::Cluster(c) = &e else { unreachable!() };
            assert!(c.is(LeverError::SlippageExceeded), "{c:?}");
            assert!(e.to_string().contains("SlippageExceeded"), "{e}");
        }
        other => panic!("expected the simulation's SlippageExceeded, got {other:?}"),
    }

    // A stale price: the preview runs the program's code and names the refusal.
    h.advance(61);
    match run(&mut h, &bob, Flow::Mint, sol(1.0), None).await {
        Err(OpsError::Refused(r)) => assert!(r.is(LeverError::PriceTooOld), "{r}"),
        other => panic!("expected PriceTooOld, got {other:?}"),
    }
    h.advance(-61);

    assert_eq!(h.chain.transactions, transactions, "no refusal sent anything");
    assert_eq!(h.snapshot().await, before);
    h.check().await;
}

#[tokio::test]
async fn status_reports_the_market_as_the_program_sees_it() {
    let (mut h, _lp, _alice) = levered().await;
    let market_key = h.keys.market;
    let price_account = h.price_account;
    let status = {
        // The embedded chain lists the markets it is told about (an RPC node lists them all).
        let cluster = Embedded::new(&mut h.chain).with_markets([market_key]);
        ops::status(&cluster, &[], |_| Some(price_account))
            .await
            .expect("status")
    };
    assert_eq!(status.len(), 1, "one market on this chain");
    let s = &status[0];
    let market = h.market().await;
    let price = h.price_q(100.0);
    let accrued = quote::accrued(&market, price, h.chain.now()).expect("accrue");
    let marks = quote::marks(&accrued, price).expect("marks");
    assert_eq!(s.market, market_key.to_string());
    assert_eq!(s.symbol, "SOL3X");
    assert_eq!(s.target_leverage, "3x");
    assert_eq!(s.band_state, "within");
    assert_eq!(s.leverage_ppm, marks.leverage_ppm.map(|l| l as u64));
    assert_eq!(s.utilization_ppm, marks.utilization_ppm);
    let curve = FundingCurve {
        base_rate_ppm: market.params.base_rate_ppm,
        kink_ppm: market.params.kink_ppm,
        slope1_ppm: market.params.slope1_ppm,
        slope2_ppm: market.params.slope2_ppm,
    };
    assert_eq!(
        s.funding_rate_ppm,
        curve.rate_ppm(marks.utilization_ppm).expect("rate")
    );
    assert_eq!(s.lt_supply, format_units(market.lt_supply, h.decimals));
    assert_eq!(s.ft_supply, format_units(market.ft_supply, h.decimals));
    assert_eq!(s.exposure, format_units(market.exposure, h.decimals));
    let vault = h.balance(&h.keys.vault.clone()).await;
    assert_eq!(s.vault_units, format_units(vault, h.decimals));
    assert!(s.conserved, "vault {vault} against the books");
    assert!((s.lt_nav_usd - ops::nav_usd(marks.lt_nav, h.decimals)).abs() < 1e-12);
    assert!((s.last_price_usd - 100.0).abs() < 1e-9, "{}", s.last_price_usd);
    assert_eq!(s.last_price_age_secs, h.chain.now() - market.last_publish_time);
    assert_eq!(
        (s.oracle.state.as_str(), s.priced_at.as_str()),
        ("usable", "oracle")
    );
    assert_eq!(s.oracle.price_usd, Some(100.0));
    assert!(s.paused.is_empty() && !s.wiped);

    // 10% down at 3x: out of band, leverage above the band's top.
    h.chain.next_slot();
    h.set_price(90.0);
    let s = {
        let cluster = Embedded::new(&mut h.chain);
        ops::market_status(&cluster, &market_key, Some(price_account))
            .await
            .expect("status")
    };
    assert_eq!(s.band_state, "out");
    assert!(
        s.leverage_ppm.expect("leverage") > 3_000_000 + 3 * market.params.band_ppm,
        "{:?}",
        s.leverage
    );
    assert_eq!(s.oracle.price_usd, Some(90.0));

    // The oracle goes stale: the numbers fall back to the market's last price, and say so.
    h.advance(61);
    let s = {
        let cluster = Embedded::new(&mut h.chain);
        ops::market_status(&cluster, &market_key, Some(price_account))
            .await
            .expect("status")
    };
    assert_eq!(s.priced_at, "last");
    assert!(s.oracle.state.contains("PriceTooOld"), "{}", s.oracle.state);
    assert_eq!(s.oracle.age_secs, Some(61));
    assert_eq!(
        s.band_state, "within",
        "at the last price ($100) the market is in band"
    );

    // The default price account is Pyth's sponsored one, absent here.
    let s = {
        let cluster = Embedded::new(&mut h.chain);
        ops::market_status(&cluster, &market_key, None)
            .await
            .expect("status")
    };
    assert_eq!(s.oracle.state, "missing");
    assert_eq!(
        s.oracle.account,
        lever_sdk::pyth::sponsored_feed_address(0, &h.feed_id).to_string()
    );
    h.check().await;
}

#[tokio::test]
async fn admin_operations_change_only_what_they_say() {
    let (mut h, _lp, _alice) = levered().await;
    let bob = ata_wallet(&mut h, sol(10.0)).await;
    let market_key = h.keys.market;
    let pause_authority = h.pause_authority.insecure_clone();
    let admin = h.admin.insecure_clone();

    let bits = ops::pause_bits(&["mint".into(), "fund".into()]).expect("names");
    assert_eq!(bits, pause::MINT_LT | pause::DEPOSIT_FUNDING);
    assert_eq!(ops::pause_bits(&["all".into()]).expect("all"), pause::ALL);
    assert!(matches!(
        ops::pause_bits(&["halt".into()]),
        Err(OpsError::Invalid(_))
    ));

    {
        let cluster = Embedded::new(&mut h.chain);
        ops::set_pause(&cluster, &pause_authority, market_key, bits)
            .await
            .expect("pause");
    }
    assert_eq!(h.market().await.paused, bits);
    h.check().await;
    match run(&mut h, &bob, Flow::Mint, sol(1.0), None).await {
        Err(OpsError::Refused(r)) => assert!(r.is(LeverError::OperationPaused), "{r}"),
        other => panic!("expected OperationPaused, got {other:?}"),
    }
    // Someone else cannot resume it; the error names the program's reason.
    let intruder = Keypair::new();
    h.chain
        .airdrop(&intruder.pubkey(), 1_000_000_000)
        .await
        .expect("airdrop");
    {
        let cluster = Embedded::new(&mut h.chain);
        let e = ops::set_pause(&cluster, &intruder, market_key, 0)
            .await
            .expect_err("not allowed");
        assert!(e.to_string().contains("Unauthorized"), "{e}");
    }
    assert_eq!(h.market().await.paused, bits);
    // The pause authority may only add pause bits; resuming is the admin's.
    {
        let cluster = Embedded::new(&mut h.chain);
        let e = ops::set_pause(&cluster, &pause_authority, market_key, 0)
            .await
            .expect_err("the pause authority cannot resume");
        assert!(e.to_string().contains("PauseAuthorityCannotUnpause"), "{e}");
        ops::set_pause(&cluster, &admin, market_key, 0)
            .await
            .expect("resume");
    }
    assert_eq!(h.market().await.paused, 0);
    run(&mut h, &bob, Flow::Mint, sol(1.0), None)
        .await
        .expect("mint after resume");
    h.check().await;

    // One parameter changes; every other stays.
    let before = h.market().await.params();
    let new_band = before.band_ppm + 10_000;
    let update = UpdateMarketParams {
        band_ppm: Some(new_band),
        ..UpdateMarketParams::default()
    };
    {
        let cluster = Embedded::new(&mut h.chain);
        ops::update_market(&cluster, &admin, market_key, update)
            .await
            .expect("update");
    }
    let after = h.market().await.params();
    assert_eq!(after.band_ppm, new_band);
    assert_eq!(after, before.apply(&update));
    {
        let cluster = Embedded::new(&mut h.chain);
        let same = ops::update_market(&cluster, &admin, market_key, update).await;
        assert!(matches!(same, Err(OpsError::Invalid(_))), "{same:?}");
        let not_admin = ops::update_market(
            &cluster,
            &pause_authority,
            market_key,
            UpdateMarketParams {
                band_ppm: Some(new_band + 10_000),
                ..UpdateMarketParams::default()
            },
        )
        .await
        .expect_err("the pause authority is not the admin");
        assert!(not_admin.to_string().contains("Unauthorized"), "{not_admin}");
    }
    assert_eq!(h.market().await.params(), after);
    h.check().await;
}

/// A node that does not return the program's return data (as some RPC providers' `getTransaction`
/// may not): everything else is the embedded chain's.
struct NoReturnData<C>(C);

impl<C: Cluster> Cluster for NoReturnData<C> {
    fn account(&self, address: &Pubkey) -> impl Future<Output = ClusterResult<Option<Account>>> + Send {
        self.0.account(address)
    }
    fn accounts(
        &self,
        addresses: &[Pubkey],
    ) -> impl Future<Output = ClusterResult<Vec<Option<Account>>>> + Send {
        self.0.accounts(addresses)
    }
    fn markets(&self) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Market)>>> + Send {
        self.0.markets()
    }
    fn requests(
        &self,
        market: &Pubkey,
    ) -> impl Future<Output = ClusterResult<Vec<(Pubkey, Request)>>> + Send {
        self.0.requests(market)
    }
    fn clock(&self) -> impl Future<Output = ClusterResult<Now>> + Send {
        self.0.clock()
    }
    fn latest_blockhash(&self) -> impl Future<Output = ClusterResult<Hash>> + Send {
        self.0.latest_blockhash()
    }
    fn simulate(&self, tx: &Transaction) -> impl Future<Output = ClusterResult<Simulation>> + Send {
        self.0.simulate(tx)
    }
    async fn send_and_confirm(&self, tx: &Transaction) -> ClusterResult<Landed> {
        let landed = self.0.send_and_confirm(tx).await?;
        Ok(Landed {
            return_data: None,
            ..landed
        })
    }
    fn wait_for_slot_after(&self, slot: u64) -> impl Future<Output = ClusterResult<Now>> + Send {
        self.0.wait_for_slot_after(slot)
    }
}

#[tokio::test]
async fn a_landed_operation_is_reported_even_without_return_data() {
    let (mut h, _lp, _alice) = levered().await;
    let bob = ata_wallet(&mut h, sol(10.0)).await;
    let market = h.keys.market;
    let lt = share_ata(&bob.pubkey(), &h.keys.lt_mint);
    let opts = options(&h);
    let (prepared, executed) = {
        let cluster = NoReturnData(Embedded::new(&mut h.chain));
        let prepared = ops::prepare(&cluster, bob.pubkey(), market, Flow::Mint, sol(2.0), opts)
            .await
            .expect("prepare");
        let executed = ops::execute(&cluster, &bob, &prepared).await.expect("landed");
        (prepared, executed)
    };
    // Read from the LT account instead: the same amount, never an error after landing.
    assert_eq!(executed.source, "balance_change");
    assert_eq!(executed.amount_out, prepared.expected_out);
    assert_eq!(h.balance(&lt).await, executed.amount_out);
    h.check().await;
}

#[tokio::test]
async fn the_default_price_account_is_the_real_sponsored_feed() {
    // The real mainnet SOL/USD account, at its real address: the one `lever` reads by default.
    let (address, account) = lever_tests::mainnet_sol_usd_account();
    let (mut h, _lp, _alice) = levered().await;
    assert_eq!(address, lever_sdk::pyth::sponsored_feed_address(0, &h.feed_id));
    let publish_time = 1_735_984_087; // 2025-01-04T09:48:07Z, in the account
    h.chain.next_slot();
    h.chain.set_account(&address, account);
    h.chain.set_time(publish_time + 5);
    let bob = ata_wallet(&mut h, sol(10.0)).await;
    let market = h.keys.market;
    // The instant path: it reads the default price account in the same transaction.
    let defaults = SendOptions {
        slippage_ppm: DEFAULT_SLIPPAGE_PPM,
        instant: true,
        ..SendOptions::default()
    };
    let (status, prepared, executed) = {
        let cluster = Embedded::new(&mut h.chain);
        let status = ops::market_status(&cluster, &market, None).await.expect("status");
        let prepared = ops::prepare(&cluster, bob.pubkey(), market, Flow::Mint, sol(1.0), defaults)
            .await
            .expect("prepare");
        let executed = ops::execute(&cluster, &bob, &prepared).await.expect("mint");
        (status, prepared, executed)
    };
    assert_eq!(status.oracle.account, address.to_string());
    assert_eq!(status.oracle.price_usd, Some(215.681_370_69));
    assert_eq!(status.oracle.age_secs, Some(5));
    assert_eq!(
        (status.oracle.state.as_str(), status.priced_at.as_str()),
        ("usable", "oracle")
    );
    assert_eq!(prepared.price_account, address);
    assert_eq!(executed.amount_out, prepared.expected_out);
    // The mint converted at the top of the real confidence interval.
    let m = h.market().await;
    assert_eq!(m.last_price.get(), 21_568_137_069u128 * 10u128.pow(19));
    assert_eq!(m.last_publish_time, publish_time);
    assert!(prepared.price_usd > 215.681_370_69, "{}", prepared.price_usd);
    h.check().await;
}

#[tokio::test]
async fn two_step_operations_request_then_settle_at_the_update_covering_tau() {
    let (mut h, _lp, _alice) = levered().await;
    let bob = ata_wallet(&mut h, sol(50.0)).await;
    let underlying = underlying_ata(&h, &bob.pubkey());
    let lt = share_ata(&bob.pubkey(), &h.keys.lt_mint);
    h.tracked.push(lt);
    let opts = SendOptions {
        instant: false,
        ..options(&h)
    };
    let market = h.keys.market;
    // Mint: the request escrows the units; the estimate is the settlement at today's price.
    let (prepared, requested) = {
        let cluster = Embedded::new(&mut h.chain);
        let prepared = ops::prepare(&cluster, bob.pubkey(), market, Flow::Mint, sol(5.0), opts)
            .await
            .expect("prepare");
        assert!(prepared.request.is_some());
        assert_eq!(prepared.tip_lamports, 5_000);
        assert!(
            ops::execute(&cluster, &bob, &prepared).await.is_err(),
            "a request is not instant"
        );
        let requested = ops::request(&cluster, &bob, &prepared).await.expect("request");
        let status = ops::request_status(&cluster, &requested).await.expect("status");
        assert!(matches!(status, ops::RequestStatus::Open { .. }), "{status:?}");
        (prepared, requested)
    };
    assert_eq!(Some(requested.request), prepared.request);
    assert_eq!(balance_or_zero(&mut h, &underlying).await, sol(45.0));
    let r = h.request_state(&requested.request).await;
    assert_eq!((r.tau, r.expires_at), (requested.tau, requested.expires_at));
    assert_eq!(r.min_out, prepared.min_out);
    // A keeper settles at the update covering tau, at the same price: the estimate was exact.
    h.advance(10);
    let input = lever_sdk::pyth::PriceInput {
        publish_time: r.tau,
        ..h.price_input(100.0)
    }
    .after(r.tau - 1);
    h.write_price(&input);
    let out = h.settle(&requested.request).await.expect("settle");
    assert!(out.filled);
    let cluster = Embedded::new(&mut h.chain);
    let status = ops::request_status(&cluster, &requested).await.expect("status");
    assert_eq!(
        status,
        ops::RequestStatus::Filled {
            amount_out: out.amount_out,
            received: format!("{} LT", lever_sdk::units::format_units(out.amount_out, 9)),
        }
    );
    assert!(out.amount_out >= prepared.min_out);
    drop(cluster);
    assert_eq!(balance_or_zero(&mut h, &lt).await, out.amount_out);

    // A request nobody settles is cancelled after expiry: the status says the input came back.
    let (requested, held) = {
        let cluster = Embedded::new(&mut h.chain);
        let prepared = ops::prepare(&cluster, bob.pubkey(), market, Flow::Redeem, sol(1.0), opts)
            .await
            .expect("prepare");
        let requested = ops::request(&cluster, &bob, &prepared).await.expect("request");
        (requested, prepared.amount_in)
    };
    let r = h.request_state(&requested.request).await;
    h.chain.set_time(r.expires_at + 1);
    let canceller = h.chain.payer_pubkey();
    let cancel = lever_sdk::ix::cancel_request(canceller, &h.keys, requested.request, &r);
    h.send(&[cancel], &[]).await.expect("cancel");
    let cluster = Embedded::new(&mut h.chain);
    let status = ops::request_status(&cluster, &requested).await.expect("status");
    assert_eq!(status, ops::RequestStatus::Returned { amount: held });
}
