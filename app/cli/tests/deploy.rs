//! `lever_cli::deploy` on the embedded chain: a first run creates the config and the markets with
//! exactly the file's parameters, a second run sends nothing, one edited field is one update,
//! things fixed at creation and bad files are refused before anything is sent, and the bundled
//! `migrations/markets.toml` parses and deploys (the README walk-through).

use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_interface::spl_token_metadata_interface::state::TokenMetadata;
use lever::state::{ConfigBounds, MarketParams, UpdateMarketParams};
use lever_cli::deploy::{self, plan, Applied, Change, DeployError, DeployFile, Plan, Role, Step};
use lever_sdk::cluster::Cluster;
use lever_sdk::pda;
use lever_testkit::chain::Chain;
use lever_testkit::embedded::Embedded;
use solana_keypair::Keypair;
use solana_signer::Signer;
use spl_token_2022::extension::{BaseStateWithExtensions, StateWithExtensions};

/// `deploy::apply`, then the conservation law on every market the plan names (vault == N + I +
/// fees), whether the run landed everything or stopped at a failure.
async fn apply_checked(emb: &Embedded, plan: &Plan, admin: &Keypair) -> Result<Vec<Applied>, DeployError> {
    let out = deploy::apply(emb, plan, admin).await;
    let markets = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::CreateMarket(c) => Some(c.keys.market),
            Step::UpdateMarket { market, .. } | Step::SetPause { market, .. } => Some(*market),
            _ => None,
        })
        .chain(plan.up_to_date.iter().map(|u| u.market));
    for market in markets {
        if emb.account(&market).await.expect("read").is_some() {
            let c = lever_sdk::ops::conservation(emb, &market)
                .await
                .expect("conservation");
            assert!(c.holds(), "conservation on {market}: {c:?}");
        }
    }
    out
}

const SPL_TOKEN: Pubkey = anchor_spl::token::ID;
const TOKEN_2022: Pubkey = anchor_spl::token_2022::ID;
const NATIVE_MINT: Pubkey = anchor_lang::prelude::pubkey!("So11111111111111111111111111111111111111112");
const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/markets.toml");

const FEED_A: &str = "0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d";
const FEED_B: &str = "eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a";

/// Two markets: AAA on an SPL Token mint (9 decimals), BBB on a Token-2022 mint (6 decimals) with
/// id 7 and pause bits. `{MINT_A}`, `{MINT_B}` and `{PAUSE}` are filled in per chain.
const FILE: &str = r#"
[config]
pause_authority = "{PAUSE}"
fee_receiver = "admin"
min_leverage = "2x"
max_leverage = "8x"
max_fee = "1%"
max_price_age_secs = 600
max_conf = "5%"
min_seed = 1000

[[market]]
name = "AAA 3x"
underlying_mint = "{MINT_A}"
feed_id = "0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d"
leverage = "3x"
band = "2%"
mint_fee = "0.1%"
redeem_fee = "15bps"
deposit_fee = "0"
withdraw_fee = "0.05%"
max_price_age_secs = 60
max_conf = "2%"
conf_multiplier = "1.5x"
exposure_cap = "none"
max_utilization = "90%"
base_rate = "2%"
kink = "80%"
slope1 = "8%"
slope2 = "100%"
settle_delay_secs = 10
settle_window_secs = 300
min_settle_tip_lamports = 5000
instant_max_age_secs = 2
instant_fee = "0.3%"
instant_max_conf = "1%"
instant_slot_cap = "none"
seed = "0.5"
lt_name = "AAA 3x Long"
lt_symbol = "AAA3X"
ft_name = "AAA 3x Funding"
ft_symbol = "fAAA3X"
uri = "https://example.org/aaa3x.json"

[[market]]
name = "BBB 5x"
underlying_mint = "{MINT_B}"
id = 7
feed_id = "eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a"
leverage = "5x"
band = "5%"
mint_fee = "0.2%"
redeem_fee = "0.3%"
deposit_fee = "0.01%"
withdraw_fee = "1%"
max_price_age_secs = 120
max_conf = "1%"
conf_multiplier = "2x"
exposure_cap = "250000.25"
max_utilization = "75%"
base_rate = "0%"
kink = "50%"
slope1 = "20%"
slope2 = "300%"
settle_delay_secs = 15
settle_window_secs = 600
min_settle_tip_lamports = 0
instant_max_age_secs = 0
instant_fee = "0"
instant_max_conf = "1%"
instant_slot_cap = "12.5"
seed = 3
lt_name = "BBB 5x Long"
lt_symbol = "BBB5X"
ft_name = "BBB 5x Funding"
ft_symbol = "fBBB5X"
uri = ""
paused = ["mint", "rebalance"]
"#;

/// Market AAA exactly as FILE says, written out by hand (not through the parser).
fn expected_a() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 3_000_000,
        band_ppm: 20_000,
        mint_fee_ppm: 1_000,
        redeem_fee_ppm: 1_500,
        deposit_fee_ppm: 0,
        withdraw_fee_ppm: 500,
        max_price_age_secs: 60,
        max_conf_ppm: 20_000,
        conf_multiplier_ppm: 1_500_000,
        exposure_cap: u64::MAX,
        max_utilization_ppm: 900_000,
        base_rate_ppm: 20_000,
        kink_ppm: 800_000,
        slope1_ppm: 80_000,
        slope2_ppm: 1_000_000,
        settle_delay_secs: 10,
        settle_window_secs: 300,
        min_settle_tip_lamports: 5_000,
        instant_max_age_secs: 2,
        instant_fee_ppm: 3_000,
        instant_max_conf_ppm: 10_000,
        instant_slot_cap: u64::MAX,
    }
}

fn expected_b() -> MarketParams {
    MarketParams {
        target_leverage_ppm: 5_000_000,
        band_ppm: 50_000,
        mint_fee_ppm: 2_000,
        redeem_fee_ppm: 3_000,
        deposit_fee_ppm: 100,
        withdraw_fee_ppm: 10_000,
        max_price_age_secs: 120,
        max_conf_ppm: 10_000,
        conf_multiplier_ppm: 2_000_000,
        exposure_cap: 250_000_250_000,
        max_utilization_ppm: 750_000,
        base_rate_ppm: 0,
        kink_ppm: 500_000,
        slope1_ppm: 200_000,
        slope2_ppm: 3_000_000,
        settle_delay_secs: 15,
        settle_window_secs: 600,
        min_settle_tip_lamports: 0,
        instant_max_age_secs: 0,
        instant_fee_ppm: 0,
        instant_max_conf_ppm: 10_000,
        instant_slot_cap: 12_500_000, // 12.5 at 6 decimals
    }
}

const SEED_A: u64 = 500_000_000; // 0.5 at 9 decimals
const SEED_B: u64 = 3_000_000; // 3 at 6 decimals
const FUNDED_A: u64 = 10 * LAMPORTS_PER_SOL;
const FUNDED_B: u64 = 100_000_000;

struct Env {
    emb: Embedded,
    admin: Keypair,
    mint_authority: Keypair,
    pause_authority: Pubkey,
    mint_a: Pubkey,
    mint_b: Pubkey,
}

impl Env {
    fn text(&self) -> String {
        FILE.replace("{MINT_A}", &self.mint_a.to_string())
            .replace("{MINT_B}", &self.mint_b.to_string())
            .replace("{PAUSE}", &self.pause_authority.to_string())
    }

    fn file(&self) -> DeployFile {
        DeployFile::parse(&self.text()).expect("the test file parses")
    }

    fn market_a(&self) -> Pubkey {
        pda::market(&self.mint_a, 0)
    }

    fn market_b(&self) -> Pubkey {
        pda::market(&self.mint_b, 7)
    }

    async fn plan_text(&self, text: &str) -> Result<deploy::Plan, DeployError> {
        let file = DeployFile::parse(text)?;
        plan(&self.emb, &file, self.admin.pubkey()).await
    }

    async fn account(&self, key: &Pubkey) -> Option<solana_account::Account> {
        self.emb.account(key).await.expect("read account")
    }

    async fn token_amount(&self, key: &Pubkey) -> u64 {
        self.emb
            .chain()
            .await
            .token_amount(key)
            .await
            .expect("token account")
    }
}

/// The admin's associated token account, created by the real ATA program (program-test loads it),
/// so the address the plan derives is checked against the program's own derivation.
async fn create_ata(chain: &mut Chain, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    let ata = lever_sdk::pda::associated_token_account(owner, mint, token_program);
    let payer = chain.payer_pubkey();
    let ix = lever_sdk::ix::create_associated_token_account_idempotent(payer, *owner, *mint, *token_program);
    chain
        .send(&[ix], &[])
        .await
        .expect("create the associated token account");
    ata
}

async fn env() -> Env {
    let mut chain = Chain::start().await.expect("chain");
    let admin = Keypair::new();
    let mint_authority = Keypair::new();
    chain
        .airdrop(&admin.pubkey(), 100 * LAMPORTS_PER_SOL)
        .await
        .expect("fund admin");
    let mint_a = chain
        .create_mint(&SPL_TOKEN, 9, &mint_authority.pubkey())
        .await
        .expect("mint A");
    let mint_b = chain
        .create_mint(&TOKEN_2022, 6, &mint_authority.pubkey())
        .await
        .expect("mint B");
    for (mint, program, units) in [(mint_a, SPL_TOKEN, FUNDED_A), (mint_b, TOKEN_2022, FUNDED_B)] {
        let ata = create_ata(&mut chain, &admin.pubkey(), &mint, &program).await;
        chain
            .mint_tokens(&program, &mint, &ata, &mint_authority, units)
            .await
            .expect("fund the admin's ATA");
    }
    Env {
        emb: Embedded::new(chain),
        admin,
        mint_authority,
        pause_authority: Pubkey::new_unique(),
        mint_a,
        mint_b,
    }
}

/// An env whose first run has landed.
async fn deployed() -> Env {
    let e = env().await;
    let p = plan(&e.emb, &e.file(), e.admin.pubkey()).await.expect("plan");
    apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
    e
}

fn share_metadata(account: &solana_account::Account) -> (String, String, String) {
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data).expect("mint");
    let m = state
        .get_variable_len_extension::<TokenMetadata>()
        .expect("metadata");
    (m.name, m.symbol, m.uri)
}

#[tokio::test]
async fn first_run_creates_the_config_and_markets_exactly_as_written() {
    let e = env().await;
    let file = e.file();
    let p = plan(&e.emb, &file, e.admin.pubkey()).await.expect("plan");
    let kinds: Vec<&str> = p
        .steps
        .iter()
        .map(|s| match s {
            Step::InitializeConfig { .. } => "init",
            Step::UpdateConfig { .. } => "update_config",
            Step::CreateMarket(_) => "create",
            Step::UpdateMarket { .. } => "update",
            Step::SetPause { .. } => "pause",
        })
        .collect();
    assert_eq!(kinds, ["init", "create", "create"]);
    let text = p.to_string();
    assert!(text.contains("create market `AAA 3x`"), "{text}");
    assert!(text.contains("band 2%"), "{text}");
    assert!(text.contains("exposure_cap 250000.25"), "{text}");
    assert!(text.contains("seed 0.5 tokens (500000000 raw units)"), "{text}");
    assert!(
        text.contains("paused: mint, rebalance (in the same transaction)"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&p.to_json()).expect("json");
    assert_eq!(json["steps"][1]["kind"], "create_market");
    assert_eq!(json["steps"][1]["params_raw"]["redeem_fee_ppm"], 1_500);
    assert_eq!(json["steps"][2]["market"], e.market_b().to_string());
    assert_eq!(json["steps"][2]["paused"]["bits"], 17);
    assert_eq!(e.emb.sent(), 0, "planning sends nothing");
    assert!(e.account(&pda::config()).await.is_none());

    let applied = apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
    assert_eq!(applied.len(), 3);
    assert_eq!(e.emb.sent(), 3, "one transaction per step");
    assert_eq!(applied.iter().map(|a| a.step).collect::<Vec<_>>(), [1, 2, 3]);

    // The config, field by field.
    let config = e.emb.chain().await.config().await.expect("config");
    assert_eq!(config.admin, e.admin.pubkey());
    assert_eq!(config.pause_authority, e.pause_authority);
    assert_eq!(config.fee_receiver, e.admin.pubkey(), "\"admin\" is the signer");
    assert_eq!(config.pending_admin, Pubkey::default());
    assert_eq!(
        config.bounds(),
        ConfigBounds {
            min_leverage_ppm: 2_000_000,
            max_leverage_ppm: 8_000_000,
            max_fee_ppm: 10_000,
            max_price_age_secs: 600,
            max_conf_ppm: 50_000,
            min_seed_units: 1_000,
        }
    );
    assert_eq!(config.market_count, 2);

    // The markets, field by field.
    for (key, mint, program, decimals, id, feed, params, seed, paused, names) in [
        (
            e.market_a(),
            e.mint_a,
            SPL_TOKEN,
            9u8,
            0u32,
            FEED_A,
            expected_a(),
            SEED_A,
            0u8,
            [
                "AAA 3x Long",
                "AAA3X",
                "AAA 3x Funding",
                "fAAA3X",
                "https://example.org/aaa3x.json",
            ],
        ),
        (
            e.market_b(),
            e.mint_b,
            TOKEN_2022,
            6,
            7,
            FEED_B,
            expected_b(),
            SEED_B,
            lever::constants::pause::MINT_LT | lever::constants::pause::REBALANCE,
            ["BBB 5x Long", "BBB5X", "BBB 5x Funding", "fBBB5X", ""],
        ),
    ] {
        let m = e.emb.chain().await.market(&key).await.expect("market");
        assert_eq!(m.params(), params, "{key}");
        assert_eq!(m.underlying_mint, mint);
        assert_eq!(m.underlying_token_program, program);
        assert_eq!(m.decimals, decimals);
        assert_eq!(m.id, id);
        assert_eq!(Some(m.feed_id), lever_sdk::pyth::feed_id_from_hex(feed));
        assert_eq!(m.config, pda::config());
        assert_eq!(m.paused, paused);
        assert_eq!(m.idle, seed);
        assert_eq!(m.ft_supply, seed);
        assert_eq!((m.exposure, m.lt_supply), (0, 0));
        assert_eq!(e.token_amount(&m.vault).await, seed);
        assert_eq!(e.token_amount(&m.locked_ft).await, seed);
        let lt = e.account(&m.lt_mint).await.expect("LT mint");
        let ft = e.account(&m.ft_mint).await.expect("FT mint");
        assert_eq!(
            share_metadata(&lt),
            (names[0].into(), names[1].into(), names[4].into())
        );
        assert_eq!(
            share_metadata(&ft),
            (names[2].into(), names[3].into(), names[4].into())
        );
    }
    // The seeds came out of the admin's associated token accounts.
    let ata_a = lever_sdk::pda::associated_token_account(&e.admin.pubkey(), &e.mint_a, &SPL_TOKEN);
    let ata_b = lever_sdk::pda::associated_token_account(&e.admin.pubkey(), &e.mint_b, &TOKEN_2022);
    assert_eq!(e.token_amount(&ata_a).await, FUNDED_A - SEED_A);
    assert_eq!(e.token_amount(&ata_b).await, FUNDED_B - SEED_B);
}

#[tokio::test]
async fn second_run_plans_nothing_and_sends_nothing() {
    let e = deployed().await;
    let (sent, simulated) = (e.emb.sent(), e.emb.simulated());
    assert_eq!(sent, 3);
    let p = plan(&e.emb, &e.file(), e.admin.pubkey()).await.expect("plan");
    assert!(p.is_empty(), "{p}");
    assert_eq!(
        p.up_to_date.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["AAA 3x", "BBB 5x"]
    );
    assert!(p.to_string().contains("Nothing to do"), "{p}");
    let applied = apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
    assert!(applied.is_empty());
    assert_eq!(e.emb.sent(), sent, "no transaction sent");
    assert_eq!(e.emb.simulated(), simulated, "not even simulated");
}

#[tokio::test]
async fn one_changed_field_is_one_update_of_that_field() {
    let e = deployed().await;
    let text = e.text().replace("band = \"2%\"", "band = \"2.5%\"");
    assert_ne!(text, e.text());
    let p = e.plan_text(&text).await.expect("plan");
    assert_eq!(p.steps.len(), 1, "{p}");
    match &p.steps[0] {
        Step::UpdateMarket {
            name,
            market,
            update,
            changes,
        } => {
            assert_eq!(name, "AAA 3x");
            assert_eq!(*market, e.market_a());
            assert_eq!(
                **update,
                UpdateMarketParams {
                    band_ppm: Some(25_000),
                    ..UpdateMarketParams::default()
                }
            );
            assert_eq!(
                changes,
                &[Change {
                    field: "band".into(),
                    from: "2%".into(),
                    to: "2.5%".into()
                }]
            );
        }
        other => panic!("expected one market update, got {other:?}"),
    }
    assert!(p.to_string().contains("band: 2% -> 2.5%"), "{p}");
    let json: serde_json::Value = serde_json::from_str(&p.to_json()).expect("json");
    assert_eq!(json["steps"][0]["kind"], "update_market");
    assert_eq!(json["steps"][0]["changes"][0]["to"], "2.5%");
    assert_eq!(json["up_to_date"][0]["name"], "BBB 5x");

    let sent = e.emb.sent();
    let applied = apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
    assert_eq!(applied.len(), 1);
    assert_eq!(e.emb.sent(), sent + 1);
    let a = e.emb.chain().await.market(&e.market_a()).await.expect("A");
    assert_eq!(
        a.params(),
        MarketParams {
            band_ppm: 25_000,
            ..expected_a()
        }
    );
    let b = e.emb.chain().await.market(&e.market_b()).await.expect("B");
    assert_eq!(b.params(), expected_b());

    let again = e.plan_text(&text).await.expect("plan again");
    assert!(again.is_empty(), "{again}");
}

#[tokio::test]
async fn config_exposure_cap_and_pause_changes_set_only_what_differs() {
    let e = deployed().await;
    let receiver = Pubkey::new_unique();
    let text = e
        .text()
        .replace(
            "fee_receiver = \"admin\"",
            &format!("fee_receiver = \"{receiver}\""),
        )
        .replace("max_fee = \"1%\"", "max_fee = \"2%\"")
        .replace("exposure_cap = \"none\"", "exposure_cap = 1000")
        .replace("paused = [\"mint\", \"rebalance\"]", "paused = \"all\"");
    let p = e.plan_text(&text).await.expect("plan");
    assert_eq!(p.steps.len(), 3, "{p}");
    match &p.steps[0] {
        Step::UpdateConfig { args, changes } => {
            assert_eq!(args.pause_authority, None);
            assert_eq!(args.fee_receiver, Some(receiver));
            assert_eq!(args.bounds.map(|b| b.max_fee_ppm), Some(20_000));
            assert_eq!(args.bounds.map(|b| b.max_leverage_ppm), Some(8_000_000));
            let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
            assert_eq!(fields, ["fee_receiver", "max_fee"]);
        }
        other => panic!("expected a config update, got {other:?}"),
    }
    match &p.steps[1] {
        Step::UpdateMarket { update, .. } => assert_eq!(
            **update,
            UpdateMarketParams {
                exposure_cap: Some(1_000 * LAMPORTS_PER_SOL),
                ..UpdateMarketParams::default()
            }
        ),
        other => panic!("expected a market update, got {other:?}"),
    }
    match &p.steps[2] {
        Step::SetPause { market, from, to, .. } => {
            assert_eq!(*market, e.market_b());
            assert_eq!((*from, *to), (17, lever::constants::pause::ALL));
        }
        other => panic!("expected a pause change, got {other:?}"),
    }
    apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
    let config = e.emb.chain().await.config().await.expect("config");
    assert_eq!(config.fee_receiver, receiver);
    assert_eq!(config.max_fee_ppm, 20_000);
    assert_eq!(config.pause_authority, e.pause_authority);
    let a = e.emb.chain().await.market(&e.market_a()).await.expect("A");
    assert_eq!(a.params.exposure_cap, 1_000 * LAMPORTS_PER_SOL);
    let b = e.emb.chain().await.market(&e.market_b()).await.expect("B");
    assert_eq!(b.paused, lever::constants::pause::ALL);
    assert!(e.plan_text(&text).await.expect("again").is_empty());

    // Omitting `paused` leaves the bits alone.
    let unmanaged = text.replace("paused = \"all\"", "");
    assert!(e.plan_text(&unmanaged).await.expect("plan").is_empty());
}

#[tokio::test]
async fn what_is_fixed_at_creation_is_refused_and_nothing_is_sent() {
    let e = deployed().await;
    let (sent, simulated) = (e.emb.sent(), e.emb.simulated());
    // A new market (would be created) alongside a changed feed id: the whole plan is refused.
    let extra = FILE
        .split("[[market]]")
        .nth(1)
        .expect("market A's table")
        .replace("name = \"AAA 3x\"", "name = \"AAA 3x bis\"\nid = 1")
        .replace("{MINT_A}", &e.mint_a.to_string());
    let with_new = format!("{}\n[[market]]{extra}", e.text());
    let ok = e.plan_text(&with_new).await.expect("the new market alone plans");
    assert_eq!(ok.steps.len(), 1, "{ok}");
    assert!(matches!(&ok.steps[0], Step::CreateMarket(c) if c.keys.market == pda::market(&e.mint_a, 1)));

    let changed_feed = with_new.replacen(FEED_A, &format!("0x{}", FEED_B), 1);
    match e.plan_text(&changed_feed).await {
        Err(DeployError::Immutable {
            market,
            address,
            field,
            on_chain,
            file,
        }) => {
            assert_eq!(market, "AAA 3x");
            assert_eq!(address, e.market_a());
            assert_eq!(field, "feed_id");
            assert_eq!(on_chain, FEED_A);
            assert_eq!(file, format!("0x{FEED_B}"));
        }
        other => panic!("expected the feed id refused, got {other:?}"),
    }
    let err = e.plan_text(&changed_feed).await.expect_err("refused");
    assert!(err.to_string().contains("feed_id is fixed at creation"), "{err}");

    // Share token names are fixed too.
    let renamed = e.text().replace("lt_symbol = \"BBB5X\"", "lt_symbol = \"BBB5\"");
    match e.plan_text(&renamed).await {
        Err(DeployError::Immutable { field, on_chain, .. }) => {
            assert_eq!(field, "lt_symbol");
            assert_eq!(on_chain, "\"BBB5X\"");
        }
        other => panic!("expected the symbol refused, got {other:?}"),
    }

    // A signer that is not the config's admin.
    let stranger = Keypair::new();
    match plan(&e.emb, &e.file(), stranger.pubkey()).await {
        Err(DeployError::NotAdmin { admin, signer, .. }) => {
            assert_eq!(admin, e.admin.pubkey());
            assert_eq!(signer, stranger.pubkey());
        }
        other => panic!("expected the signer refused, got {other:?}"),
    }
    // A plan made for one admin is not applied with another key.
    let empty = plan(&e.emb, &e.file(), e.admin.pubkey()).await.expect("plan");
    assert!(matches!(
        apply_checked(&e.emb, &empty, &stranger).await,
        Err(DeployError::WrongSigner { .. })
    ));

    assert_eq!(e.emb.sent(), sent, "nothing sent");
    assert_eq!(e.emb.simulated(), simulated, "nothing simulated");
    assert!(e.account(&pda::market(&e.mint_a, 1)).await.is_none());
    let a = e.emb.chain().await.market(&e.market_a()).await.expect("A");
    assert_eq!(Some(a.feed_id), lever_sdk::pyth::feed_id_from_hex(FEED_A));
}

#[tokio::test]
async fn bad_files_are_refused_before_any_transaction() {
    let e = env().await;
    let text = e.text();

    // Unknown key.
    let unknown = text.replace("band = \"2%\"", "band = \"2%\"\nbandwidth = \"3%\"");
    match DeployFile::parse(&unknown) {
        Err(DeployError::Syntax(msg)) => assert!(msg.contains("unknown field `bandwidth`"), "{msg}"),
        other => panic!("expected an unknown key refused, got {other:?}"),
    }
    let unknown_config = text.replace("min_seed = 1000", "min_seed = 1000\nadmin = \"admin\"");
    assert!(
        matches!(DeployFile::parse(&unknown_config), Err(DeployError::Syntax(m)) if m.contains("unknown field `admin`"))
    );

    // More precision than 1 PPM.
    let precise = text.replace("band = \"2%\"", "band = \"2.0000001%\"");
    match DeployFile::parse(&precise) {
        Err(DeployError::Invalid { at, reason }) => {
            assert_eq!(at, "market `AAA 3x`.band");
            assert!(reason.contains("2.0000001%"), "{reason}");
        }
        other => panic!("expected the band refused, got {other:?}"),
    }
    // A ratio written as a float is refused (floats are not exact).
    assert!(matches!(
        DeployFile::parse(&text.replace("band = \"2%\"", "band = 0.02")),
        Err(DeployError::Syntax(_))
    ));
    // Unknown pause bit, bad feed id, bad key.
    assert!(matches!(
        DeployFile::parse(&text.replace("\"rebalance\"]", "\"rebalence\"]")),
        Err(DeployError::Invalid { at, .. }) if at == "market `BBB 5x`.paused"
    ));
    assert!(matches!(
        DeployFile::parse(&text.replace(FEED_B, "eaa020")),
        Err(DeployError::Invalid { at, .. }) if at == "market `BBB 5x`.feed_id"
    ));
    assert!(matches!(
        DeployFile::parse(&text.replace(&e.pause_authority.to_string(), "nobody")),
        Err(DeployError::Invalid { at, .. }) if at == "config.pause_authority"
    ));
    // Config bounds outside the program's.
    match DeployFile::parse(&text.replace("max_leverage = \"8x\"", "max_leverage = \"11x\"")) {
        Err(DeployError::Refused { error, .. }) => {
            assert!(error.starts_with("ConfigBoundsInvalid"), "{error}")
        }
        other => panic!("expected the bounds refused, got {other:?}"),
    }
    // Metadata the program would refuse.
    match DeployFile::parse(&text.replace("lt_symbol = \"AAA3X\"", "lt_symbol = \"AAAAAAAAAAA\"")) {
        Err(DeployError::Refused { at, error }) => {
            assert!(at.starts_with("market `AAA 3x`.lt_symbol"), "{at}");
            assert!(error.starts_with("InvalidMetadata"), "{error}");
        }
        other => panic!("expected the symbol refused, got {other:?}"),
    }

    // Leverage outside the program's hard bounds, and outside the file's own config bounds.
    for leverage in ["12x", "9x", "1.5x"] {
        let bad = text.replace("leverage = \"5x\"", &format!("leverage = \"{leverage}\""));
        match e.plan_text(&bad).await {
            Err(DeployError::Refused { at, error }) => {
                assert!(at.starts_with("market `BBB 5x`"), "{at}");
                assert!(error.starts_with("LeverageOutOfBounds"), "{leverage}: {error}");
            }
            other => panic!("expected {leverage} refused, got {other:?}"),
        }
    }
    // A seed with more decimals than the mint has (BBB has 6).
    match e
        .plan_text(&text.replace("seed = 3", "seed = \"0.0000001\""))
        .await
    {
        Err(DeployError::Invalid { at, reason }) => {
            assert_eq!(at, "market `BBB 5x`.seed");
            assert!(reason.contains("6 decimals"), "{reason}");
        }
        other => panic!("expected the seed refused, got {other:?}"),
    }
    // A seed below the config's minimum.
    match e
        .plan_text(&text.replace("min_seed = 1000", "min_seed = 5000000"))
        .await
    {
        Err(DeployError::Refused { error, .. }) => assert!(error.starts_with("SeedTooSmall"), "{error}"),
        other => panic!("expected the seed refused, got {other:?}"),
    }
    // More seed than the admin's account holds.
    match e.plan_text(&text.replace("seed = 3", "seed = 101")).await {
        Err(DeployError::SeedAccountShort { holds, needs, .. }) => {
            assert_eq!((holds.as_str(), needs.as_str()), ("100 tokens", "101 tokens"));
        }
        other => panic!("expected the seed account short, got {other:?}"),
    }
    // A mint the admin has no associated token account for: named, not created.
    let mint_c = {
        let mut chain = e.emb.chain().await;
        chain
            .create_mint(&SPL_TOKEN, 9, &e.mint_authority.pubkey())
            .await
            .expect("mint C")
    };
    match e
        .plan_text(&text.replace(&e.mint_a.to_string(), &mint_c.to_string()))
        .await
    {
        Err(DeployError::SeedAccountMissing { account, mint, .. }) => {
            assert_eq!(mint, mint_c);
            assert_eq!(
                account,
                lever_sdk::pda::associated_token_account(&e.admin.pubkey(), &mint_c, &SPL_TOKEN)
            );
            assert!(e.account(&account).await.is_none(), "not created");
        }
        other => panic!("expected the missing ATA named, got {other:?}"),
    }
    // An underlying that is not a mint.
    match e
        .plan_text(&text.replace(&e.mint_a.to_string(), &e.admin.pubkey().to_string()))
        .await
    {
        Err(DeployError::NotAMint { mint, .. }) => assert_eq!(mint, e.admin.pubkey()),
        other => panic!("expected not a mint, got {other:?}"),
    }

    assert_eq!(e.emb.sent(), 0, "nothing sent");
    assert_eq!(e.emb.simulated(), 0, "nothing simulated");
    assert!(e.account(&pda::config()).await.is_none());
}

#[tokio::test]
async fn a_failing_step_stops_the_run_names_the_program_error_and_a_rerun_resumes() {
    let e = env().await;
    let mut p = plan(&e.emb, &e.file(), e.admin.pubkey()).await.expect("plan");
    // Make the last step one the program refuses (a seed below the config's minimum of 1000),
    // as if the chain had changed between the plan and the apply.
    match &mut p.steps[2] {
        Step::CreateMarket(c) => c.args.seed_units = 10,
        other => panic!("expected the second market's creation, got {other:?}"),
    }
    let err = apply_checked(&e.emb, &p, &e.admin).await.expect_err("refused");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "step 3 of 3 (create market `BBB 5x` at {})",
            e.market_b()
        )),
        "{message}"
    );
    assert!(message.contains("SeedTooSmall (60"), "{message}");
    assert!(message.contains("2 earlier step(s) landed"), "{message}");
    match err {
        DeployError::StepFailed(failure) => {
            assert_eq!((failure.step, failure.total), (3, 3));
            assert_eq!(failure.landed.iter().map(|a| a.step).collect::<Vec<_>>(), [1, 2]);
            let named = failure.program_error.expect("a program error");
            assert!(named.starts_with("SeedTooSmall (60"), "{named}");
        }
        other => panic!("expected the step refused, got {other:?}"),
    }
    assert_eq!(e.emb.sent(), 2, "the refused step was simulated, not sent");
    assert!(e.account(&e.market_a()).await.is_some());
    assert!(e.account(&e.market_b()).await.is_none());

    // Running again plans only what is left.
    let rest = plan(&e.emb, &e.file(), e.admin.pubkey())
        .await
        .expect("plan the rest");
    assert_eq!(rest.steps.len(), 1, "{rest}");
    assert!(matches!(&rest.steps[0], Step::CreateMarket(c) if c.keys.market == e.market_b()));
    assert_eq!(rest.up_to_date.len(), 1);
    apply_checked(&e.emb, &rest, &e.admin)
        .await
        .expect("apply the rest");
    assert!(plan(&e.emb, &e.file(), e.admin.pubkey())
        .await
        .expect("plan")
        .is_empty());
}

#[test]
fn the_bundled_devnet_file_parses() {
    let file = DeployFile::load(BUNDLED).expect("migrations/markets.toml parses");
    assert_eq!(file.config.pause_authority, Role::Admin);
    assert_eq!(file.config.fee_receiver, Role::Admin);
    assert_eq!(file.config.bounds.max_leverage_ppm, 5_000_000);
    assert_eq!(file.config.bounds.min_seed_units, 1_000_000);
    let names: Vec<&str> = file.markets.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["SOL 3x", "SOL 5x"]);
    for (m, leverage) in file.markets.iter().zip([3_000_000, 5_000_000]) {
        assert_eq!(m.underlying_mint, NATIVE_MINT);
        assert_eq!(m.feed_id, lever_sdk::pyth::SOL_USD_FEED_ID);
        let params = m.params(9).expect("params at 9 decimals");
        assert_eq!(params.target_leverage_ppm, leverage);
        assert_eq!(m.seed_units(9).expect("seed"), 10_000_000);
        assert_eq!(m.paused, None);
    }
    assert_eq!(file.markets[0].params(9).expect("params").band_ppm, 20_000);
    assert_eq!(
        file.markets[0].params(9).expect("params").exposure_cap,
        10_000 * LAMPORTS_PER_SOL
    );
    assert_eq!(file.markets[1].id, 1);
}

/// The README walk-through on the embedded chain: wrap SOL into the admin's ATA, deploy the
/// bundled file, run again (nothing), edit one field (one update).
#[tokio::test]
async fn the_bundled_file_deploys_on_wrapped_sol() {
    let mut chain = Chain::start().await.expect("chain");
    let admin = Keypair::new();
    chain
        .airdrop(&admin.pubkey(), 10 * LAMPORTS_PER_SOL)
        .await
        .expect("fund admin");
    let ata = create_ata(&mut chain, &admin.pubkey(), &NATIVE_MINT, &SPL_TOKEN).await;
    let wrap = [
        solana_system_interface::instruction::transfer(&admin.pubkey(), &ata, LAMPORTS_PER_SOL / 10),
        spl_token_2022::instruction::sync_native(&SPL_TOKEN, &ata).expect("sync_native"),
    ];
    chain.send(&wrap, &[&admin]).await.expect("wrap 0.1 SOL");
    let emb = Embedded::new(chain);
    let text = std::fs::read_to_string(BUNDLED).expect("bundled file");
    let file = DeployFile::parse(&text).expect("parses");

    let p = plan(&emb, &file, admin.pubkey()).await.expect("plan");
    assert_eq!(p.steps.len(), 3, "{p}");
    assert!(matches!(p.steps[0], Step::InitializeConfig { .. }));
    apply_checked(&emb, &p, &admin).await.expect("apply");
    for (id, leverage) in [(0, 3_000_000), (1, 5_000_000)] {
        let m = emb
            .chain()
            .await
            .market(&pda::market(&NATIVE_MINT, id))
            .await
            .expect("market");
        assert_eq!(m.params.target_leverage_ppm, leverage);
        assert_eq!(m.idle, 10_000_000);
        assert_eq!(m.feed_id, lever_sdk::pyth::SOL_USD_FEED_ID);
    }
    assert_eq!(
        emb.chain().await.token_amount(&ata).await.expect("ata"),
        LAMPORTS_PER_SOL / 10 - 20_000_000
    );

    let sent = emb.sent();
    let again = plan(&emb, &file, admin.pubkey()).await.expect("plan again");
    assert!(again.is_empty(), "{again}");
    apply_checked(&emb, &again, &admin)
        .await
        .expect("nothing to apply");
    assert_eq!(emb.sent(), sent);

    let edited = DeployFile::parse(&text.replacen("band = \"3%\"", "band = \"4%\"", 1)).expect("parses");
    let p = plan(&emb, &edited, admin.pubkey()).await.expect("plan edit");
    assert_eq!(p.steps.len(), 1, "{p}");
    assert!(p.to_string().contains("update market `SOL 5x`"), "{p}");
    assert!(p.to_string().contains("band: 3% -> 4%"), "{p}");
    apply_checked(&emb, &p, &admin).await.expect("apply edit");
    assert_eq!(emb.sent(), sent + 1);
    assert!(plan(&emb, &edited, admin.pubkey())
        .await
        .expect("plan")
        .is_empty());
}

#[tokio::test]
async fn loosening_faster_than_the_program_allows_is_refused_before_anything_is_sent() {
    // The program loosens a risk parameter by one step (x2) per update and once a day: the planner
    // refuses a file that asks for more, naming the error, rather than plan a refused update.
    let e = deployed().await;
    let (sent, simulated) = (e.emb.sent(), e.emb.simulated());
    let age = |secs: u64| {
        e.text().replacen(
            "max_price_age_secs = 60\n",
            &format!("max_price_age_secs = {secs}\n"),
            1,
        )
    };
    let err = e
        .plan_text(&age(600))
        .await
        .expect_err("60 s -> 600 s in one step");
    assert!(matches!(err, DeployError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("LooseningTooLarge"), "{err}");
    assert_eq!(
        (e.emb.sent(), e.emb.simulated()),
        (sent, simulated),
        "nothing sent"
    );

    // One step lands; the next one the same day is refused with when it may land.
    let p = e.plan_text(&age(120)).await.expect("one step");
    assert_eq!(p.steps.len(), 1, "{p}");
    apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
    let a = e.emb.chain().await.market(&e.market_a()).await.expect("A");
    assert_eq!(a.params.max_price_age_secs, 120);
    let sent = e.emb.sent();
    let err = e
        .plan_text(&age(240))
        .await
        .expect_err("a second loosening today");
    assert!(err.to_string().contains("LooseningTooFast"), "{err}");
    assert!(err.to_string().contains("next loosening may land"), "{err}");
    assert_eq!(e.emb.sent(), sent, "nothing sent");

    // Tightening is planned at once.
    let tighter = age(120).replacen("band = \"2%\"", "band = \"1.5%\"", 1);
    let p = e.plan_text(&tighter).await.expect("tightening");
    assert_eq!(p.steps.len(), 1, "{p}");
    apply_checked(&e.emb, &p, &e.admin).await.expect("apply");
}
