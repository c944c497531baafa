//! Every Lever event, produced by real instructions on the embedded chain through the `Cluster`
//! interface (`submit`: simulate, then send) and read back from `Landed::events`. Each decoded
//! field is checked against token balances and the market and config read from the chain, or
//! against the program's own math applied to the state read before the instruction.

use std::collections::BTreeSet;
use std::sync::Mutex;

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::ID as TOKEN;
use lever::constants::{pause, CONFIG_VERSION, PPM};
use lever::events::*;
use lever::instructions::{InitializeConfigArgs, UpdateConfigArgs};
use lever::state::{
    Config, ConfigBounds, Market, MarketParams, RequestArgs, RequestKind, UpdateMarketParams,
};
use lever_sdk::accounts::{decode_account, decode_lever_account, LeverAccount};
use lever_sdk::cluster::{submit, Cluster, Landed};
use lever_sdk::events::{find, LeverEvent, LeverEventType};
use lever_sdk::ix;
use lever_sdk::pda::{self, MarketKeys};
use lever_sdk::pyth::{PriceInput, SOL_USD_FEED_ID};
use lever_testkit::chain::Chain;
use lever_testkit::embedded::Embedded;
use lever_testkit::local::{self, MarketSpec, Wallet};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// 2025-01-01T00:00:00Z.
const T0: i64 = 1_735_689_600;
const SOL: u64 = 1_000_000_000;
const DAY: i64 = 86_400;

/// The demo market's parameters (3x, band 5%, every fee set, so each user event carries a fee),
/// with the whole funding pool lendable.
fn params() -> MarketParams {
    MarketParams {
        max_utilization_ppm: PPM,
        ..lever_testkit::localnet::demo_params()
    }
}

/// A config and one market, both created through `submit` so their events are seen.
struct Fx {
    cluster: Embedded,
    admin: Keypair,
    pause_authority: Keypair,
    fee_receiver: Keypair,
    mint_authority: Keypair,
    keys: MarketKeys,
    price_account: Pubkey,
    spec: MarketSpec,
    init_args: InitializeConfigArgs,
    /// Names of every event seen in a landed transaction.
    seen: Mutex<BTreeSet<&'static str>>,
}

impl Fx {
    /// The fixture, with what `initialize_config` and `create_market` landed as.
    async fn new() -> (Self, Landed, Landed) {
        let mut chain = Chain::start().await.expect("chain");
        chain.set_time(T0);
        let admin = Keypair::new();
        let pause_authority = Keypair::new();
        let fee_receiver = Keypair::new();
        let mint_authority = Keypair::new();
        for k in [&admin, &pause_authority, &fee_receiver] {
            chain.airdrop(&k.pubkey(), 10 * SOL).await.expect("airdrop");
        }
        let mint = chain
            .create_mint(&TOKEN, 9, &mint_authority.pubkey())
            .await
            .expect("mint");
        let keys = MarketKeys::derive(mint, 0, TOKEN);
        let admin_underlying = chain
            .create_token_account(&mint, &admin.pubkey(), &TOKEN)
            .await
            .expect("admin account");
        local::fund(&mut chain, &keys, &mint_authority, &admin_underlying, 10_000)
            .await
            .expect("fund admin");
        let init_args = InitializeConfigArgs {
            pause_authority: pause_authority.pubkey(),
            fee_receiver: fee_receiver.pubkey(),
            bounds: ConfigBounds::default(),
        };
        let spec = MarketSpec::named("SOL", SOL_USD_FEED_ID, TOKEN, 9, params());
        let cluster = Embedded::new(chain).with_markets([keys.market]);
        let fx = Self {
            cluster,
            admin,
            pause_authority,
            fee_receiver,
            mint_authority,
            keys,
            price_account: Pubkey::new_unique(),
            spec,
            init_args,
            seen: Mutex::new(BTreeSet::new()),
        };
        let init = ix::initialize_config(fx.admin.pubkey(), fx.init_args);
        let initialized = fx.send(&[init], &fx.admin, &[]).await;
        let create = ix::create_market(
            fx.admin.pubkey(),
            &fx.keys,
            admin_underlying,
            fx.spec.create_args(),
        );
        let created = fx.send(&[create], &fx.admin, &[]).await;
        (fx, initialized, created)
    }

    /// `submit` (simulate, then send); every event seen is recorded.
    async fn send(&self, ixs: &[Instruction], payer: &Keypair, signers: &[&Keypair]) -> Landed {
        let landed = submit(&self.cluster, ixs, payer, signers)
            .await
            .unwrap_or_else(|e| panic!("{e}: {:#?}", e.logs()));
        self.seen
            .lock()
            .unwrap()
            .extend(landed.events.iter().map(LeverEvent::name));
        // After every landed transaction (once the market exists): vault == N + I + fees.
        if self
            .cluster
            .account(&self.keys.market)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            let c = lever_sdk::ops::conservation(&self.cluster, &self.keys.market)
                .await
                .expect("read the market and vault");
            assert!(c.holds(), "conservation after {:?}: {c:?}", names(&landed));
        }
        landed
    }

    async fn wallet(&self, units: u64) -> Wallet {
        let mut chain = self.cluster.chain().await;
        local::new_wallet(&mut chain, &self.keys, &self.mint_authority, units)
            .await
            .expect("wallet")
    }

    async fn funded_keypair(&self) -> Keypair {
        let k = Keypair::new();
        let mut chain = self.cluster.chain().await;
        chain.airdrop(&k.pubkey(), SOL).await.expect("airdrop");
        k
    }

    /// Publish `usd` (zero confidence) at the chain's time, in a new slot.
    async fn set_price(&self, usd: f64) {
        let mut chain = self.cluster.chain().await;
        let input = PriceInput::usd(SOL_USD_FEED_ID, usd, 0.0, chain.now());
        chain.write_price(&self.price_account, &input);
    }

    async fn advance(&self, secs: i64) {
        let mut chain = self.cluster.chain().await;
        let now = chain.now() + secs;
        chain.set_time(now);
    }

    async fn market(&self) -> Market {
        self.cluster
            .chain()
            .await
            .market(&self.keys.market)
            .await
            .expect("market")
    }

    async fn config(&self) -> Config {
        self.cluster.chain().await.config().await.expect("config")
    }

    async fn balance(&self, account: &Pubkey) -> u64 {
        self.cluster
            .chain()
            .await
            .token_amount(account)
            .await
            .expect("balance")
    }

    async fn supply(&self, mint: &Pubkey) -> u64 {
        self.cluster
            .chain()
            .await
            .mint_supply(mint)
            .await
            .expect("supply")
    }

    fn lt(&self, w: &Wallet) -> ix::UserAccounts {
        w.lt_accounts(self.price_account)
    }

    fn ft(&self, w: &Wallet) -> ix::UserAccounts {
        w.ft_accounts(self.price_account)
    }
}

fn names(landed: &Landed) -> Vec<&'static str> {
    landed.events.iter().map(LeverEvent::name).collect()
}

/// The one event of type `E` the transaction emitted.
fn only<E: LeverEventType>(landed: &Landed) -> &E {
    let mut all = lever_sdk::events::filter::<E>(&landed.events);
    let first = all
        .next()
        .unwrap_or_else(|| panic!("no {} in {:?}", std::any::type_name::<E>(), landed.events));
    assert!(all.next().is_none(), "several {}", std::any::type_name::<E>());
    first
}

fn snapshot(market: &Market) -> PoolSnapshot {
    PoolSnapshot::from(market.pool())
}

#[tokio::test]
async fn every_event_decodes_from_landed_transactions() {
    let (fx, initialized, created) = Fx::new().await;
    creation(&fx, &initialized, &created).await;
    config_and_pause(&fx).await;
    let alice = user_flow(&fx).await;
    wipe_out_and_reopen(&fx, &alice).await;
    two_step(&fx).await;
    wipe_out_and_start_an_epoch(&fx).await;
    admin_transfer(&fx).await;

    let seen = fx.seen.lock().unwrap().clone();
    let all: BTreeSet<&str> = [
        "ConfigInitialized",
        "ConfigUpdated",
        "AdminTransferStarted",
        "AdminTransferAccepted",
        "MarketCreated",
        "MarketParamsUpdated",
        "MarketPauseChanged",
        "MarketReopened",
        "LtEpochStarted",
        "FeesWithdrawn",
        "FundingAccrued",
        "Rebalanced",
        "LtMinted",
        "LtRedeemed",
        "FundingDeposited",
        "FundingWithdrawn",
        "RequestOpened",
        "RequestSettled",
        "RequestCancelled",
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, all);
}

/// A request settled at the update covering its target (`RequestOpened`, then `RequestSettled`
/// with the operation's own `LtMinted` for the owner), and one cancelled after expiry.
async fn two_step(fx: &Fx) {
    let keys = fx.keys;
    fx.set_price(100.0).await;
    let bob = fx.wallet(5 * SOL).await;
    let accounts = ix::RequestAccounts {
        payer: bob.pubkey(),
        owner: bob.pubkey(),
        source: bob.underlying,
        destination: bob.lt,
    };
    let args = |nonce| RequestArgs {
        nonce,
        amount: SOL,
        min_out: 0,
        tip_lamports: 5_000,
    };
    let landed = fx
        .send(
            &[ix::open_request(&keys, RequestKind::MintLt, &accounts, args(1))],
            &bob.kp,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["RequestOpened"]);
    let opened: &RequestOpened = only(&landed);
    let request = lever_sdk::pda::request(&keys.market, &bob.pubkey(), 1);
    assert_eq!(
        (opened.request, opened.owner, opened.kind),
        (request, bob.pubkey(), RequestKind::MintLt)
    );
    assert_eq!(
        (opened.amount, opened.destination, opened.tip_lamports),
        (SOL, bob.lt, 5_000)
    );
    assert_eq!(opened.tau, opened.requested_at + 10);
    let r = {
        let account = fx.cluster.account(&request).await.unwrap().expect("request");
        lever_sdk::accounts::decode_request(&account).expect("a request")
    };
    fx.advance(10).await;
    {
        let mut chain = fx.cluster.chain().await;
        let input = PriceInput::usd(SOL_USD_FEED_ID, 101.0, 0.0, r.tau).after(r.tau - 1);
        chain.write_price(&fx.price_account, &input);
    }
    let settler = fx.funded_keypair().await;
    let lt_before = fx.balance(&bob.lt).await;
    let landed = fx
        .send(
            &[ix::settle_request(
                settler.pubkey(),
                &keys,
                request,
                &r,
                fx.price_account,
            )],
            &settler,
            &[],
        )
        .await;
    // Funding accrued over the 10 s wait comes first, then the operation's event, then the request's.
    let got = names(&landed);
    assert!(got.ends_with(&["LtMinted", "RequestSettled"]), "{got:?}");
    assert!(got.len() == 2 || got[0] == "FundingAccrued", "{got:?}");
    let minted: &LtMinted = only(&landed);
    let settled: &RequestSettled = only(&landed);
    assert_eq!((minted.user, minted.units_in), (bob.pubkey(), SOL));
    assert_eq!(
        (settled.request, settled.settler, settled.filled),
        (request, settler.pubkey(), true)
    );
    assert_eq!(
        (settled.amount_in, settled.amount_out, settled.price),
        (SOL, minted.shares_out, minted.price)
    );
    assert_eq!(
        (settled.tau, settled.publish_time, settled.tip_lamports),
        (r.tau, r.tau, 5_000)
    );
    assert_eq!(fx.balance(&bob.lt).await - lt_before, settled.amount_out);
    assert_eq!(minted.pool, snapshot(&fx.market().await));

    let landed = fx
        .send(
            &[ix::open_request(&keys, RequestKind::MintLt, &accounts, args(2))],
            &bob.kp,
            &[],
        )
        .await;
    let opened: &RequestOpened = only(&landed);
    let request = opened.request;
    let r = {
        let account = fx.cluster.account(&request).await.unwrap().expect("request");
        lever_sdk::accounts::decode_request(&account).expect("a request")
    };
    fx.advance(r.expires_at - r.requested_at + 1).await;
    let units_before = fx.balance(&bob.underlying).await;
    let canceller = fx.funded_keypair().await;
    let landed = fx
        .send(
            &[ix::cancel_request(canceller.pubkey(), &keys, request, &r)],
            &canceller,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["RequestCancelled"]);
    let cancelled: &RequestCancelled = only(&landed);
    assert_eq!(
        (cancelled.request, cancelled.canceller),
        (request, canceller.pubkey())
    );
    assert_eq!((cancelled.amount_refunded, cancelled.tip_lamports), (SOL, 5_000));
    assert_eq!(fx.balance(&bob.underlying).await - units_before, SOL);
}

/// `initialize_config` and `create_market`, and both accounts decoded.
async fn creation(fx: &Fx, initialized: &Landed, created: &Landed) {
    assert_eq!(names(initialized), ["ConfigInitialized"]);
    let ev: &ConfigInitialized = only(initialized);
    let config = fx.config().await;
    assert_eq!(ev.admin, fx.admin.pubkey());
    assert_eq!(ev.admin, config.admin);
    assert_eq!(ev.pause_authority, fx.pause_authority.pubkey());
    assert_eq!(ev.pause_authority, config.pause_authority);
    assert_eq!(ev.fee_receiver, fx.fee_receiver.pubkey());
    assert_eq!(ev.fee_receiver, config.fee_receiver);
    assert_eq!(ev.bounds, fx.init_args.bounds);
    assert_eq!(ev.bounds, config.bounds());
    assert_eq!(initialized.events[0].market(), None);

    assert_eq!(names(created), ["MarketCreated"]);
    let ev: &MarketCreated = only(created);
    let market = fx.market().await;
    assert_eq!(ev.market, fx.keys.market);
    assert_eq!(created.events[0].market(), Some(fx.keys.market));
    assert_eq!(ev.underlying_mint, fx.keys.underlying_mint);
    assert_eq!(ev.id, fx.spec.id);
    assert_eq!(ev.feed_id, SOL_USD_FEED_ID);
    assert_eq!(ev.lt_mint, fx.keys.lt_mint);
    assert_eq!(ev.ft_mint, fx.keys.ft_mint);
    assert_eq!(ev.params, fx.spec.params);
    assert_eq!(ev.params, market.params());
    assert_eq!(ev.seed_units, fx.spec.seed_units);
    assert_eq!(ev.pool, snapshot(&market));
    // The seed is idle funding; its FT are locked in the market.
    assert_eq!(ev.pool.idle, ev.seed_units);
    assert_eq!(ev.pool.idle, fx.balance(&fx.keys.vault).await);
    assert_eq!(ev.pool.ft_supply, fx.balance(&fx.keys.locked_ft).await);
    assert_eq!(ev.pool.ft_supply, fx.supply(&fx.keys.ft_mint).await);
    assert_eq!((ev.pool.exposure, ev.pool.debt, ev.pool.lt_supply), (0, 0, 0));

    // Both accounts decode by discriminator, with the owner checked on the account.
    let config_account = fx
        .cluster
        .account(&pda::config())
        .await
        .expect("rpc")
        .expect("config account");
    let market_account = fx
        .cluster
        .account(&fx.keys.market)
        .await
        .expect("rpc")
        .expect("market account");
    for decoded in [
        decode_account(&config_account.data),
        decode_lever_account(&config_account),
    ] {
        let Some(LeverAccount::Config(c)) = decoded else {
            panic!("config decoded as {decoded:?}");
        };
        assert_eq!(c.admin, fx.admin.pubkey());
        assert_eq!(c.pause_authority, fx.pause_authority.pubkey());
        assert_eq!(c.fee_receiver, fx.fee_receiver.pubkey());
        assert_eq!(c.bounds(), fx.init_args.bounds);
        assert_eq!((c.market_count, c.version), (1, CONFIG_VERSION));
    }
    for decoded in [
        decode_account(&market_account.data),
        decode_lever_account(&market_account),
    ] {
        let Some(LeverAccount::Market(m)) = decoded else {
            panic!("market decoded as {decoded:?}");
        };
        assert_eq!(m.config, pda::config());
        assert_eq!(m.underlying_mint, fx.keys.underlying_mint);
        assert_eq!(m.vault, fx.keys.vault);
        assert_eq!(m.lt_mint, fx.keys.lt_mint);
        assert_eq!(m.ft_mint, fx.keys.ft_mint);
        assert_eq!(m.locked_ft, fx.keys.locked_ft);
        assert_eq!(m.feed_id, SOL_USD_FEED_ID);
        assert_eq!(m.params(), fx.spec.params);
        assert_eq!(m.idle, fx.balance(&fx.keys.vault).await);
    }
    // A token account is neither.
    let vault = fx
        .cluster
        .account(&fx.keys.vault)
        .await
        .expect("rpc")
        .expect("vault");
    assert!(decode_account(&vault.data).is_none());
    assert!(decode_lever_account(&vault).is_none());
}

/// `update_config`, `set_pause` by the pause authority and by the admin, `update_market` on a
/// market without debt (no funding to accrue, so no `FundingAccrued`).
async fn config_and_pause(fx: &Fx) {
    let bounds = ConfigBounds {
        min_seed_units: 2_000,
        ..fx.init_args.bounds
    };
    let args = UpdateConfigArgs {
        pause_authority: None,
        fee_receiver: None,
        bounds: Some(bounds),
    };
    let landed = fx
        .send(&[ix::update_config(fx.admin.pubkey(), args)], &fx.admin, &[])
        .await;
    assert_eq!(names(&landed), ["ConfigUpdated"]);
    let ev: &ConfigUpdated = only(&landed);
    let config = fx.config().await;
    assert_eq!(ev.bounds, bounds);
    assert_eq!(ev.bounds, config.bounds());
    assert_eq!(ev.pause_authority, config.pause_authority);
    assert_eq!(ev.pause_authority, fx.pause_authority.pubkey());
    assert_eq!(ev.fee_receiver, config.fee_receiver);
    assert_eq!(ev.fee_receiver, fx.fee_receiver.pubkey());

    let bits = pause::MINT_LT | pause::REBALANCE;
    let pa = &fx.pause_authority;
    let landed = fx
        .send(&[ix::set_pause(pa.pubkey(), fx.keys.market, bits)], pa, &[])
        .await;
    assert_eq!(names(&landed), ["MarketPauseChanged"]);
    let ev: &MarketPauseChanged = only(&landed);
    assert_eq!(ev.market, fx.keys.market);
    assert_eq!(ev.by, pa.pubkey());
    assert_eq!((ev.paused_before, ev.paused_after), (0, bits));
    assert_eq!(fx.market().await.paused, ev.paused_after);

    let landed = fx
        .send(
            &[ix::set_pause(fx.admin.pubkey(), fx.keys.market, 0)],
            &fx.admin,
            &[],
        )
        .await;
    let ev: &MarketPauseChanged = only(&landed);
    assert_eq!(ev.by, fx.admin.pubkey());
    assert_eq!((ev.paused_before, ev.paused_after), (bits, 0));
    assert_eq!(fx.market().await.paused, 0);

    let before = fx.market().await;
    let update = UpdateMarketParams {
        exposure_cap: Some(1_000 * SOL),
        ..UpdateMarketParams::default()
    };
    let landed = fx
        .send(
            &[ix::update_market(fx.admin.pubkey(), fx.keys.market, update)],
            &fx.admin,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["MarketParamsUpdated"]);
    let ev: &MarketParamsUpdated = only(&landed);
    let after = fx.market().await;
    assert_eq!(ev.market, fx.keys.market);
    assert_eq!(ev.before, before.params());
    assert_eq!(ev.after, after.params());
    assert_eq!(ev.after.exposure_cap, 1_000 * SOL);
    assert_eq!(
        ev.after,
        MarketParams {
            exposure_cap: 1_000 * SOL,
            ..ev.before
        }
    );
    assert_eq!(ev.pool, snapshot(&after));
}

/// Deposit, mint, a day of funding, redeem, withdraw, a keeper's rebalance, an automatic one, and
/// the fees those charged withdrawn. Returns Alice, who still holds LT.
async fn user_flow(fx: &Fx) -> Wallet {
    let keys = fx.keys;
    fx.set_price(100.0).await;

    // --- FundingDeposited
    let lp = fx.wallet(200 * SOL).await;
    let before = fx.market().await;
    let (units_before, ft_before) = (fx.balance(&lp.underlying).await, fx.balance(&lp.ft).await);
    let landed = fx
        .send(
            &[ix::deposit_funding(&keys, &fx.ft(&lp), 100 * SOL, 0)],
            &lp.kp,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["FundingDeposited"]);
    let ev: &FundingDeposited = only(&landed);
    let after = fx.market().await;
    assert_eq!((ev.market, ev.user), (keys.market, lp.pubkey()));
    assert_eq!(ev.units_in, 100 * SOL);
    assert_eq!(units_before - fx.balance(&lp.underlying).await, ev.units_in);
    assert_eq!(fx.balance(&lp.ft).await - ft_before, ev.shares_out);
    assert_eq!(after.ft_supply - before.ft_supply, ev.shares_out);
    assert!(ev.fee_units > 0);
    assert_eq!(after.fee_units - before.fee_units, ev.fee_units);
    assert_eq!(after.idle - before.idle, ev.units_in - ev.fee_units);
    assert_eq!(ev.price, after.last_price.get());
    assert_eq!(ev.pool, snapshot(&after));

    // --- LtMinted, simulated then sent by hand: the simulation reports the same events.
    let alice = fx.wallet(20 * SOL).await;
    let before = fx.market().await;
    let units_before = fx.balance(&alice.underlying).await;
    let mint = ix::mint_lt(&keys, &fx.lt(&alice), 10 * SOL, 0);
    let blockhash = fx.cluster.latest_blockhash().await.expect("blockhash");
    let tx = Transaction::new_signed_with_payer(&[mint], Some(&alice.pubkey()), &[&alice.kp], blockhash);
    let (simulated, sent) = (fx.cluster.simulated(), fx.cluster.sent());
    let simulation = fx.cluster.simulate(&tx).await.expect("simulate");
    assert_eq!(simulation.error, None);
    let landed = fx.cluster.send_and_confirm(&tx).await.expect("mint");
    assert_eq!(
        (fx.cluster.simulated(), fx.cluster.sent()),
        (simulated + 1, sent + 1),
        "reading events must not count as a simulation"
    );
    assert_eq!(simulation.events, landed.events);
    fx.seen
        .lock()
        .unwrap()
        .extend(landed.events.iter().map(LeverEvent::name));
    assert_eq!(names(&landed), ["LtMinted"]);
    let ev: &LtMinted = only(&landed);
    let after = fx.market().await;
    assert_eq!((ev.market, ev.user), (keys.market, alice.pubkey()));
    assert_eq!(ev.units_in, 10 * SOL);
    assert_eq!(units_before - fx.balance(&alice.underlying).await, ev.units_in);
    assert!(ev.shares_out > 0);
    assert_eq!(fx.balance(&alice.lt).await, ev.shares_out);
    assert_eq!(fx.supply(&keys.lt_mint).await, ev.shares_out);
    assert!(ev.fee_units > 0);
    assert_eq!(after.fee_units - before.fee_units, ev.fee_units);
    assert_eq!(after.total_fees - before.total_fees, ev.fee_units);
    assert_eq!(after.debt.get() - before.debt.get(), ev.debt_added);
    assert_eq!(before.idle - after.idle, ev.from_idle);
    assert_eq!(
        after.exposure - before.exposure,
        ev.units_in - ev.fee_units + ev.from_idle
    );
    assert_eq!(ev.price, after.last_price.get());
    assert_eq!(ev.pool, snapshot(&after));

    // --- FundingAccrued: a day later, `update_market` accrues at the last price before changing
    // the parameters. The expectation is the program's math on the state read before.
    fx.advance(DAY).await;
    let before = fx.market().await;
    let (expected_pool, accrual) = lever::math::accrue_funding(
        &before.pool(),
        &before.risk_params().curve,
        before.last_price.get(),
        DAY as u64,
    )
    .expect("accrual");
    let update = UpdateMarketParams {
        mint_fee_ppm: Some(5_000),
        ..UpdateMarketParams::default()
    };
    let landed = fx
        .send(
            &[ix::update_market(fx.admin.pubkey(), keys.market, update)],
            &fx.admin,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["FundingAccrued", "MarketParamsUpdated"]);
    let ev: &FundingAccrued = only(&landed);
    let after = fx.market().await;
    assert_eq!(ev.market, keys.market);
    assert_eq!(ev.elapsed, DAY as u64);
    assert!(ev.interest > 0);
    assert_eq!(ev.interest, accrual.interest);
    assert_eq!(ev.rate_ppm, accrual.rate_ppm);
    assert_eq!(ev.utilization_ppm, accrual.utilization_ppm);
    assert_eq!(after.debt.get() - before.debt.get(), ev.interest);
    assert_eq!(
        after.total_funding.get() - before.total_funding.get(),
        ev.interest
    );
    assert_eq!(ev.price, before.last_price.get());
    assert_eq!(ev.pool, PoolSnapshot::from(expected_pool));
    assert_eq!(ev.pool, snapshot(&after));
    let ev: &MarketParamsUpdated = only(&landed);
    assert_eq!((ev.before.mint_fee_ppm, ev.after.mint_fee_ppm), (3_000, 5_000));
    assert_eq!(ev.after, after.params());

    // --- LtRedeemed: half of Alice's LT, at a fresh price.
    fx.set_price(100.0).await;
    let before = fx.market().await;
    let held = fx.balance(&alice.lt).await;
    let units_before = fx.balance(&alice.underlying).await;
    let landed = fx
        .send(
            &[ix::redeem_lt(&keys, &fx.lt(&alice), held / 2, 0)],
            &alice.kp,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["LtRedeemed"]);
    let ev: &LtRedeemed = only(&landed);
    let after = fx.market().await;
    assert_eq!((ev.market, ev.user), (keys.market, alice.pubkey()));
    assert_eq!(ev.shares_in, held / 2);
    assert_eq!(held - fx.balance(&alice.lt).await, ev.shares_in);
    assert_eq!(before.lt_supply - after.lt_supply, ev.shares_in);
    assert!(ev.units_out > 0);
    assert_eq!(fx.balance(&alice.underlying).await - units_before, ev.units_out);
    assert!(ev.fee_units > 0);
    assert_eq!(after.fee_units - before.fee_units, ev.fee_units);
    assert_eq!(before.debt.get() - after.debt.get(), ev.debt_removed);
    assert_eq!(after.idle - before.idle, ev.to_idle);
    assert_eq!(
        before.exposure - after.exposure,
        ev.units_out + ev.fee_units + ev.to_idle
    );
    assert_eq!(ev.price, after.last_price.get());
    assert_eq!(ev.pool, snapshot(&after));

    // --- FundingWithdrawn: a quarter of the LP's FT.
    let before = fx.market().await;
    let ft_held = fx.balance(&lp.ft).await;
    let units_before = fx.balance(&lp.underlying).await;
    let landed = fx
        .send(
            &[ix::withdraw_funding(&keys, &fx.ft(&lp), ft_held / 4, 0)],
            &lp.kp,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["FundingWithdrawn"]);
    let ev: &FundingWithdrawn = only(&landed);
    let after = fx.market().await;
    assert_eq!((ev.market, ev.user), (keys.market, lp.pubkey()));
    assert_eq!(ev.shares_in, ft_held / 4);
    assert_eq!(ft_held - fx.balance(&lp.ft).await, ev.shares_in);
    assert_eq!(before.ft_supply - after.ft_supply, ev.shares_in);
    assert!(ev.units_out > 0 && ev.fee_units > 0);
    assert_eq!(fx.balance(&lp.underlying).await - units_before, ev.units_out);
    assert_eq!(after.fee_units - before.fee_units, ev.fee_units);
    assert_eq!(before.idle - after.idle, ev.units_out + ev.fee_units);
    assert_eq!(ev.price, after.last_price.get());
    assert_eq!(ev.pool, snapshot(&after));

    // --- Rebalanced by a keeper: +10% takes 3x out of its 5% band (leverage falls).
    let keeper = fx.funded_keypair().await;
    fx.set_price(110.0).await;
    let before = fx.market().await;
    let landed = fx
        .send(
            &[ix::rebalance(keeper.pubkey(), keys.market, fx.price_account)],
            &keeper,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["Rebalanced"]);
    let ev: &Rebalanced = only(&landed);
    let after = fx.market().await;
    let price = after.last_price.get();
    let (expected_pool, r) =
        lever::math::rebalance(&before.pool(), &before.risk_params(), price).expect("rebalance");
    assert_eq!(
        (ev.market, ev.caller, ev.automatic),
        (keys.market, keeper.pubkey(), false)
    );
    assert_eq!(ev.price, price);
    assert_eq!(ev.leverage_before_ppm, r.leverage_before_ppm);
    assert_eq!(ev.leverage_after_ppm, r.leverage_after_ppm);
    assert_eq!(
        Some(ev.leverage_after_ppm),
        after.pool().leverage_ppm(price).expect("leverage")
    );
    assert!(ev.leverage_before_ppm < u128::from(3 * PPM - 150_000));
    assert!(u128::from(3 * PPM).abs_diff(ev.leverage_after_ppm) <= 1);
    assert_eq!(
        (ev.units_to_pool, ev.units_to_idle),
        (r.units_to_pool, r.units_to_idle)
    );
    assert!(ev.units_to_pool > 0);
    assert_eq!(after.exposure - before.exposure, ev.units_to_pool);
    assert_eq!(before.idle - after.idle, ev.units_to_pool);
    assert_eq!(after.rebalance_count, before.rebalance_count + 1);
    assert!(!ev.bounded && !ev.wiped);
    assert_eq!(ev.bad_debt, 0);
    assert_eq!(ev.pool, PoolSnapshot::from(expected_pool));
    assert_eq!(ev.pool, snapshot(&after));

    // --- Rebalanced automatically inside a deposit: -4.5% takes it out of band again (leverage
    // rises); the deposit brings it back before its own work.
    fx.set_price(105.0).await;
    let before = fx.market().await;
    let landed = fx
        .send(&[ix::deposit_funding(&keys, &fx.ft(&lp), SOL, 0)], &lp.kp, &[])
        .await;
    assert_eq!(names(&landed), ["Rebalanced", "FundingDeposited"]);
    let ev: &Rebalanced = only(&landed);
    let price = fx.market().await.last_price.get();
    let (_, r) = lever::math::rebalance(&before.pool(), &before.risk_params(), price).expect("rebalance");
    assert_eq!((ev.caller, ev.automatic), (lp.pubkey(), true));
    assert!(ev.leverage_before_ppm > u128::from(3 * PPM + 150_000));
    assert_eq!(ev.leverage_before_ppm, r.leverage_before_ppm);
    assert_eq!(ev.leverage_after_ppm, r.leverage_after_ppm);
    assert_eq!((ev.units_to_pool, ev.units_to_idle), (0, r.units_to_idle));
    assert!(ev.units_to_idle > 0);
    let dep: &FundingDeposited = only(&landed);
    assert_eq!(dep.units_in, SOL);

    // --- FeesWithdrawn: every fee charged so far, to the fee receiver's account.
    let destination = {
        let mut chain = fx.cluster.chain().await;
        chain
            .create_token_account(&keys.underlying_mint, &fx.fee_receiver.pubkey(), &TOKEN)
            .await
            .expect("fee account")
    };
    let before = fx.market().await;
    let vault_before = fx.balance(&keys.vault).await;
    let fees = before.fee_units;
    assert!(fees > 0);
    let landed = fx
        .send(
            &[ix::withdraw_fees(fx.admin.pubkey(), &keys, destination, fees)],
            &fx.admin,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["FeesWithdrawn"]);
    let ev: &FeesWithdrawn = only(&landed);
    let after = fx.market().await;
    assert_eq!((ev.market, ev.destination), (keys.market, destination));
    assert_eq!(ev.units, fees);
    assert_eq!(fx.balance(&destination).await, ev.units);
    assert_eq!(vault_before - fx.balance(&keys.vault).await, ev.units);
    assert_eq!((ev.pool.fee_units, after.fee_units), (0, 0));
    assert_eq!(ev.pool, snapshot(&after));
    alice
}

/// -52% at 3x wipes the LT pool; the worthless LT is redeemed for nothing, then the admin
/// re-opens the market.
async fn wipe_out_and_reopen(fx: &Fx, alice: &Wallet) {
    let keys = fx.keys;
    let keeper = fx.funded_keypair().await;
    fx.set_price(50.0).await;
    let before = fx.market().await;
    let landed = fx
        .send(
            &[ix::rebalance(keeper.pubkey(), keys.market, fx.price_account)],
            &keeper,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["Rebalanced"]);
    let ev: &Rebalanced = only(&landed);
    let after = fx.market().await;
    let price = after.last_price.get();
    let (expected_pool, r) =
        lever::math::rebalance(&before.pool(), &before.risk_params(), price).expect("rebalance");
    assert!(ev.wiped && r.wiped);
    assert!(after.is_wiped());
    assert!(ev.bad_debt > 0);
    assert_eq!(ev.bad_debt, r.bad_debt);
    assert_eq!(
        after.total_bad_debt.get() - before.total_bad_debt.get(),
        ev.bad_debt
    );
    assert_eq!(ev.units_to_idle, before.exposure);
    assert_eq!(after.idle - before.idle, ev.units_to_idle);
    assert_eq!((ev.pool.exposure, ev.pool.debt), (0, 0));
    assert_eq!(ev.pool, PoolSnapshot::from(expected_pool));
    assert_eq!(ev.pool, snapshot(&after));

    // Reopening needs every wiped LT burned: Alice's are all the LT there is.
    let lt_supply = fx.supply(&keys.lt_mint).await;
    assert!(lt_supply > 0);
    assert_eq!(fx.balance(&alice.lt).await, lt_supply);
    let units_before = fx.balance(&alice.underlying).await;
    let landed = fx
        .send(
            &[ix::redeem_lt(&keys, &fx.lt(alice), lt_supply, 0)],
            &alice.kp,
            &[],
        )
        .await;
    let ev: &LtRedeemed = only(&landed);
    assert_eq!(ev.shares_in, lt_supply);
    assert_eq!(ev.units_out, 0);
    assert_eq!(fx.balance(&alice.underlying).await, units_before);
    assert_eq!(fx.supply(&keys.lt_mint).await, 0);

    let landed = fx
        .send(&[ix::reopen_market(fx.admin.pubkey(), &keys)], &fx.admin, &[])
        .await;
    assert_eq!(names(&landed), ["MarketReopened"]);
    let ev: &MarketReopened = only(&landed);
    let after = fx.market().await;
    assert_eq!(ev.market, keys.market);
    assert!(!after.is_wiped());
    assert_eq!(ev.pool.lt_supply, 0);
    assert_eq!(ev.pool.idle, fx.balance(&keys.vault).await);
    assert_eq!(ev.pool, snapshot(&after));
}

/// A second wipe-out while Bob still holds LT, then `start_lt_epoch`: the event names the retired
/// mint, what was still held, and the new mint the market now records.
async fn wipe_out_and_start_an_epoch(fx: &Fx) {
    let keys = fx.keys;
    let bob = fx.wallet(5 * SOL).await;
    // At the books' price (value units per raw unit of a 9-decimal token: USD x 1e27).
    let usd = fx.market().await.last_price.get() as f64 / 1e27;
    fx.advance(60).await;
    fx.set_price(usd).await;
    fx.send(&[ix::mint_lt(&keys, &fx.lt(&bob), SOL, 0)], &bob.kp, &[])
        .await;
    let held = fx.balance(&bob.lt).await;
    assert!(held > 0);
    fx.set_price(usd * 0.5).await;
    let keeper = fx.funded_keypair().await;
    let landed = fx
        .send(
            &[ix::rebalance(keeper.pubkey(), keys.market, fx.price_account)],
            &keeper,
            &[],
        )
        .await;
    assert!(only::<Rebalanced>(&landed).wiped);
    // Bob's LT and whatever the earlier flows left: all of it retires.
    let outstanding = fx.supply(&keys.lt_mint).await;
    assert!(outstanding >= held);
    let args = lever::instructions::StartLtEpochArgs {
        epoch: 1,
        name: "SOL 3x Long".into(),
        symbol: "SOL3X".into(),
        uri: String::new(),
    };
    let landed = fx
        .send(
            &[ix::start_lt_epoch(fx.admin.pubkey(), &keys, args)],
            &fx.admin,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["LtEpochStarted"]);
    let ev: &LtEpochStarted = only(&landed);
    let after = fx.market().await;
    assert_eq!(ev.market, keys.market);
    assert_eq!(ev.epoch, 1);
    assert_eq!(
        (ev.retired_lt_mint, ev.retired_supply),
        (keys.lt_mint, outstanding)
    );
    assert_eq!(ev.lt_mint, after.lt_mint);
    assert_eq!(ev.lt_mint, lever_sdk::pda::lt_mint_at(&keys.market, 1));
    assert!(!after.is_wiped());
    assert_eq!(ev.pool, snapshot(&after));
}

/// `transfer_admin` then `accept_admin`.
async fn admin_transfer(fx: &Fx) {
    let next = Keypair::new();
    let landed = fx
        .send(
            &[ix::transfer_admin(fx.admin.pubkey(), next.pubkey())],
            &fx.admin,
            &[],
        )
        .await;
    assert_eq!(names(&landed), ["AdminTransferStarted"]);
    let ev: &AdminTransferStarted = only(&landed);
    assert_eq!((ev.admin, ev.pending_admin), (fx.admin.pubkey(), next.pubkey()));
    let config = fx.config().await;
    assert_eq!((config.admin, config.pending_admin), (ev.admin, ev.pending_admin));

    let landed = fx
        .send(&[ix::accept_admin(next.pubkey())], &fx.admin, &[&next])
        .await;
    assert_eq!(names(&landed), ["AdminTransferAccepted"]);
    let ev: &AdminTransferAccepted = only(&landed);
    assert_eq!(landed.events[0].market(), None);
    assert_eq!((ev.previous_admin, ev.admin), (fx.admin.pubkey(), next.pubkey()));
    let config = fx.config().await;
    assert_eq!(config.admin, ev.admin);
    assert_eq!(config.pending_admin, Pubkey::default());
    assert!(find::<AdminTransferStarted>(&landed.events).is_none());
}
