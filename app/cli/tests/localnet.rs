//! The real `lever` binary end to end against the local JSON-RPC node (`lever_testkit::localnet`)
//! serving the demo chain: every network subcommand talks HTTP JSON-RPC through
//! `solana_rpc_client`, as against a cluster, and what it reports is checked against the chain
//! read in process. The node itself is checked through `RpcClient`/`RpcCluster` first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use lever::constants::{pause, PPM};
use lever::error::LeverError;
use lever_sdk::cluster::{submit, Cluster, ClusterError, RpcCluster};
use lever_sdk::ops::{self, Flow, SendOptions};
use lever_sdk::pda::{associated_token_account, MarketKeys};
use lever_sdk::{events, ix};
use lever_testkit::localnet::{
    Demo, DemoKeypairFiles, Localnet, DEMO_CONF_RATIO, DEMO_HOLDER_UNITS, DEMO_PRICE_USD, DEMO_USER_LAMPORTS,
    DEMO_USER_UNITS,
};
use serde_json::Value;
use solana_rpc_client::api::config::{CommitmentConfig, RpcSendTransactionConfig, UiTransactionEncoding};
use solana_rpc_client::api::request::RpcRequest;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::{Hash, Transaction};
use solana_transaction_error::TransactionError;

const LEVER: &str = env!("CARGO_BIN_EXE_lever");
const SOL: u64 = 1_000_000_000;
/// Longest a single `lever` run may take before the test kills it.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A node serving the demo chain, and the demo's keypairs in files.
struct Fx {
    net: Localnet,
    demo: Demo,
    dir: PathBuf,
    keys: DemoKeypairFiles,
}

/// What one `lever` run printed.
struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON value ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    fn expect_ok(self, what: &str) -> Self {
        assert!(
            self.ok,
            "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

fn output_of(out: Output) -> Run {
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Fx {
    async fn new(name: &str) -> Self {
        let (net, demo) = Localnet::demo("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("demo node");
        let dir = std::env::temp_dir().join(format!("lever-localnet-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let keys = demo.write_keypairs(&dir).expect("keypair files");
        Self { net, demo, dir, keys }
    }

    fn market(&self) -> String {
        self.demo.market.to_string()
    }

    fn command(&self, key: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(LEVER);
        cmd.args(args)
            .arg("-u")
            .arg(self.net.url())
            .arg("-k")
            .arg(key)
            // Never the developer's Solana CLI config.
            .env("SOLANA_CONFIG_FILE", self.dir.join("no-config.yml"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Run `lever ARGS -u URL -k KEY` to the end (the node keeps serving meanwhile).
    async fn lever(&self, key: &Path, args: &[&str]) -> Run {
        let mut cmd = self.command(key, args);
        let what = format!("lever {}", args.join(" "));
        let label = what.clone();
        let run = tokio::task::spawn_blocking(move || {
            let mut child = cmd.spawn().expect("spawn lever");
            let start = Instant::now();
            // Drain the pipes while waiting, so a chatty run cannot block on a full pipe.
            let mut stdout = child.stdout.take().expect("stdout");
            let mut stderr = child.stderr.take().expect("stderr");
            let out_reader = std::thread::spawn(move || {
                let mut s = Vec::new();
                let _ = std::io::Read::read_to_end(&mut stdout, &mut s);
                s
            });
            let err_reader = std::thread::spawn(move || {
                let mut s = Vec::new();
                let _ = std::io::Read::read_to_end(&mut stderr, &mut s);
                s
            });
            let status = loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    break status;
                }
                if start.elapsed() > RUN_TIMEOUT {
                    let _ = child.kill();
                    panic!("{what} still running after {RUN_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            output_of(Output {
                status,
                stdout: out_reader.join().unwrap_or_default(),
                stderr: err_reader.join().unwrap_or_default(),
            })
        })
        .await
        .expect("lever run");
        // Whatever the command did or refused, the vault still holds exactly N + I + fees.
        let c = lever_sdk::ops::conservation(&**self.net.cluster(), &self.demo.market)
            .await
            .expect("read the market and vault");
        assert!(c.holds(), "conservation after `{label}`: {c:?}");
        run
    }

    async fn user(&self, args: &[&str]) -> Run {
        self.lever(&self.keys.user, args).await
    }

    async fn token(&self, address: &Pubkey) -> u64 {
        self.net
            .cluster()
            .chain()
            .await
            .token_amount(address)
            .await
            .unwrap_or(0)
    }

    async fn supply(&self, mint: &Pubkey) -> u64 {
        self.net
            .cluster()
            .chain()
            .await
            .mint_supply(mint)
            .await
            .expect("mint")
    }

    async fn on_chain(&self) -> lever::state::Market {
        self.net
            .cluster()
            .chain()
            .await
            .market(&self.demo.market)
            .await
            .expect("market")
    }

    fn user_lt(&self) -> Pubkey {
        associated_token_account(
            &self.demo.user.pubkey(),
            &self.demo.keys.lt_mint,
            &anchor_spl::token_2022::ID,
        )
    }

    fn user_ft(&self) -> Pubkey {
        associated_token_account(
            &self.demo.user.pubkey(),
            &self.demo.keys.ft_mint,
            &anchor_spl::token_2022::ID,
        )
    }

    async fn set_price(&self, usd: f64) {
        self.net
            .set_price(&self.demo.price_account, self.demo.feed_id, usd)
            .await;
    }

    /// The (name, symbol, uri) of a share mint's token metadata, read over JSON-RPC.
    async fn metadata(&self, mint: &Pubkey) -> (String, String, String) {
        let client = RpcClient::new(self.net.url());
        let account = client.get_account(mint).await.expect("mint");
        lever_sdk::accounts::token_metadata(&account.data).expect("token metadata")
    }

    async fn finish(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        self.net.stop().await.expect("stop the node");
    }
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not an integer in {v}"))
}

fn f64_of(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

fn within_band(leverage_ppm: u64, target_ppm: u64, band_ppm: u64) -> bool {
    let half = u128::from(target_ppm) * u128::from(band_ppm) / u128::from(PPM);
    u128::from(leverage_ppm).abs_diff(u128::from(target_ppm)) <= half
}

// ---------------------------------------------------------------------------------------------
// The node through solana_rpc_client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn node_answers_what_rpc_client_asks() {
    let fx = Fx::new("rpc").await;
    let client = RpcClient::new_with_commitment(fx.net.url(), CommitmentConfig::confirmed());
    let rpc = RpcCluster::new(&fx.net.url());
    let user = &fx.demo.user;

    assert_eq!(
        client.get_version().await.expect("getVersion").solana_core,
        "3.1.12"
    );
    client.get_health().await.expect("getHealth");
    let chain_clock = fx.net.clock().await;
    let clock = rpc.clock().await.expect("clock");
    assert_eq!(clock.unix_timestamp, chain_clock.unix_timestamp);
    assert!(clock.slot >= chain_clock.slot);
    assert!(client.get_slot().await.expect("getSlot") >= clock.slot);
    assert_eq!(
        client.get_balance(&user.pubkey()).await.expect("getBalance"),
        DEMO_USER_LAMPORTS
    );
    let rent = fx.net.cluster().chain().await.rent(165).await.expect("rent");
    assert_eq!(
        client
            .get_minimum_balance_for_rent_exemption(165)
            .await
            .expect("rent"),
        rent
    );

    // Accounts, one and several, decode to what the bank holds.
    let underlying = rpc
        .account(&fx.demo.user_underlying)
        .await
        .expect("account")
        .expect("exists");
    assert_eq!(
        lever_sdk::accounts::token_account_amount(&underlying.data),
        Some(DEMO_USER_UNITS)
    );
    assert_eq!(underlying.owner, anchor_spl::token::ID);
    let missing = Pubkey::new_unique();
    let several = rpc
        .accounts(&[fx.demo.market, missing, fx.demo.price_account])
        .await
        .expect("accounts");
    assert_eq!(several.len(), 3);
    assert!(several[1].is_none());
    assert_eq!(rpc.account(&missing).await.expect("getAccountInfo"), None);
    let market_account = several[0].clone().expect("market exists");
    assert_eq!(market_account.owner, lever::ID);
    assert_eq!(
        market_account,
        fx.net
            .cluster()
            .account(&fx.demo.market)
            .await
            .expect("embedded")
            .expect("market")
    );
    assert_eq!(
        several[2].as_ref().expect("price").owner,
        pyth_solana_receiver_sdk::ID
    );

    // getProgramAccounts: every account the chain has seen, owned by the program: the market
    // through RpcCluster's own size and discriminator filters, the config beside it; nothing for
    // another discriminator or size.
    let markets = rpc.markets().await.expect("markets");
    assert_eq!(markets.len(), 1);
    assert_eq!(markets[0].0, fx.demo.market);
    assert_eq!(markets[0].1.params.target_leverage_ppm, 3 * PPM);
    let listed = |program: Pubkey, filters: Vec<solana_rpc_client::api::filter::RpcFilterType>| {
        let client = &client;
        async move {
            client
                .get_program_ui_accounts_with_config(
                    &program,
                    solana_rpc_client::api::config::RpcProgramAccountsConfig {
                        filters: Some(filters),
                        ..Default::default()
                    },
                )
                .await
                .expect("getProgramAccounts")
                .len()
        }
    };
    use solana_rpc_client::api::filter::{Memcmp, RpcFilterType};
    assert_eq!(listed(lever::ID, vec![]).await, 2, "the market and the config");
    assert_eq!(
        listed(
            lever::ID,
            vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, vec![1, 2, 3]))]
        )
        .await,
        0
    );
    assert_eq!(listed(lever::ID, vec![RpcFilterType::DataSize(1)]).await, 0);
    assert!(
        listed(anchor_spl::token::ID, vec![]).await >= 3,
        "mints and token accounts"
    );

    // Blockhashes.
    let hash = client.get_latest_blockhash().await.expect("blockhash");
    assert!(client
        .is_blockhash_valid(&hash, CommitmentConfig::processed())
        .await
        .expect("isBlockhashValid"));
    assert!(!client
        .is_blockhash_valid(&Hash::new_unique(), CommitmentConfig::processed())
        .await
        .expect("isBlockhashValid"));

    // The next slot comes (RpcCluster polls the Clock sysvar for it).
    let before = rpc.clock().await.expect("clock").slot;
    let start = Instant::now();
    let after = rpc.wait_for_slot_after(before).await.expect("next slot");
    assert!(after.slot > before);
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());

    // An airdrop from the chain's payer lands and has a final status.
    let fresh = Pubkey::new_unique();
    let sig = client
        .request_airdrop(&fresh, 5_000_000)
        .await
        .expect("requestAirdrop");
    let status = client
        .get_signature_statuses(&[sig])
        .await
        .expect("getSignatureStatuses")
        .value[0]
        .clone()
        .expect("a status");
    assert_eq!(status.err, None);
    assert!(status.satisfies_commitment(CommitmentConfig::finalized()));
    assert_eq!(client.get_balance(&fresh).await.expect("balance"), 5_000_000);
    assert!(client
        .get_signature_statuses(&[solana_transaction::Signature::default()])
        .await
        .expect("getSignatureStatuses")
        .value[0]
        .is_none());

    // A user instruction through RpcCluster: simulate, send, confirm, then getTransaction's
    // return data, logs and inner instructions (the program's events).
    let prepared = ops::prepare(
        &rpc,
        user.pubkey(),
        fx.demo.market,
        Flow::Mint,
        2 * SOL,
        SendOptions {
            instant: true,
            ..SendOptions::default()
        },
    )
    .await
    .expect("prepare");
    let landed = submit(&rpc, &prepared.instructions, user, &[])
        .await
        .expect("mint lands");
    let lt = fx.token(&fx.user_lt()).await;
    assert!(lt > 0);
    let minted = events::find::<lever::events::LtMinted>(&landed.events).expect("LtMinted event");
    assert_eq!(minted.shares_out, lt);
    assert_eq!(minted.units_in, 2 * SOL);
    assert_eq!(minted.user, user.pubkey());
    assert!(landed.return_data.is_some());
    assert!(
        landed.logs.iter().any(|l| l.contains(&lever::ID.to_string())),
        "{:?}",
        landed.logs
    );
    let tx = client
        .get_transaction_with_config(
            &landed.signature,
            solana_rpc_client::api::config::RpcTransactionConfig {
                encoding: Some(UiTransactionEncoding::Base64),
                commitment: None,
                max_supported_transaction_version: Some(0),
            },
        )
        .await
        .expect("getTransaction");
    let decoded = tx.transaction.transaction.decode().expect("base64 transaction");
    assert_eq!(decoded.signatures[0], landed.signature);
    let meta = tx.transaction.meta.expect("meta");
    assert!(meta.fee >= 5_000);
    // The user paid the fee (and the rent of the new LT account).
    assert!(
        meta.pre_balances[0] >= meta.post_balances[0] + meta.fee,
        "{:?} -> {:?}, fee {}",
        meta.pre_balances,
        meta.post_balances,
        meta.fee
    );
    assert_eq!(
        meta.pre_balances.len(),
        decoded.message.static_account_keys().len()
    );
    // The same transaction in JSON.
    let json_tx = client
        .get_transaction(&landed.signature, UiTransactionEncoding::Json)
        .await
        .expect("getTransaction json");
    assert_eq!(json_tx.slot, tx.slot);

    // A transaction that runs and fails (rebalance within band) lands with its error, sent
    // without preflight as RpcCluster sends.
    let blockhash = rpc.latest_blockhash().await.expect("blockhash");
    let within = Transaction::new_signed_with_payer(
        &[ix::rebalance(
            user.pubkey(),
            fx.demo.market,
            fx.demo.price_account,
        )],
        Some(&user.pubkey()),
        &[user],
        blockhash,
    );
    let simulation = rpc.simulate(&within).await.expect("simulate");
    assert_eq!(simulation.custom_code(), Some(u32::from(LeverError::WithinBand)));
    assert!(!simulation.logs.is_empty());
    let processed = fx.net.processed();
    match rpc.send_and_confirm(&within).await {
        Err(e @ ClusterError::Transaction { .. }) => {
            assert!(e.is(LeverError::WithinBand), "{e:?}");
            assert!(!e.logs().is_empty());
        }
        other => panic!("expected WithinBand on chain, got {other:?}"),
    }
    assert_eq!(fx.net.processed(), processed + 1, "it landed, with its error");

    // With preflight, the same failure is refused before it is processed (-32002). (On the
    // same blockhash it would be the same transaction, a duplicate: take the next block's.)
    fx.net.next_block().await.expect("a block");
    let blockhash = rpc.latest_blockhash().await.expect("blockhash");
    let refused = Transaction::new_signed_with_payer(
        &[ix::rebalance(
            user.pubkey(),
            fx.demo.market,
            fx.demo.price_account,
        )],
        Some(&user.pubkey()),
        &[user],
        blockhash,
    );
    let err = client
        .send_transaction_with_config(&refused, RpcSendTransactionConfig::default())
        .await
        .expect_err("preflight refuses");
    assert_eq!(
        err.get_transaction_error(),
        Some(TransactionError::InstructionError(
            0,
            solana_transaction::InstructionError::Custom(LeverError::WithinBand.into())
        ))
    );
    assert_eq!(fx.net.processed(), processed + 1, "nothing processed");

    // A forged signature is refused.
    let mut forged = refused.clone();
    forged.signatures[0] = solana_transaction::Signature::from([7u8; 64]);
    let err = client
        .send_transaction_with_config(
            &forged,
            RpcSendTransactionConfig {
                skip_preflight: true,
                ..Default::default()
            },
        )
        .await
        .expect_err("bad signature");
    assert!(err.to_string().contains("signature verification"), "{err}");

    // Unknown methods are a JSON-RPC error.
    let err = client
        .send::<Value>(RpcRequest::Custom { method: "getFooBar" }, Value::Null)
        .await
        .expect_err("unknown method");
    assert!(
        err.to_string().contains("-32601") || err.to_string().contains("Method not found"),
        "{err}"
    );

    // A market created by a transaction is listed from then on.
    let admin = &fx.demo.admin;
    let (keys2, admin_underlying) = {
        let mut chain = fx.net.cluster().chain().await;
        let mint = chain
            .create_mint(&anchor_spl::token::ID, 6, &fx.demo.mint_authority.pubkey())
            .await
            .expect("mint");
        let keys = MarketKeys::derive(mint, 0, anchor_spl::token::ID);
        let account = chain
            .create_token_account(&mint, &admin.pubkey(), &anchor_spl::token::ID)
            .await
            .expect("admin account");
        lever_testkit::local::fund(&mut chain, &keys, &fx.demo.mint_authority, &account, 100_000)
            .await
            .expect("fund admin");
        (keys, account)
    };
    let spec = lever_testkit::local::MarketSpec::named(
        "BONK",
        [9; 32],
        anchor_spl::token::ID,
        6,
        lever_testkit::localnet::demo_params(),
    );
    submit(
        &rpc,
        &[ix::create_market(
            admin.pubkey(),
            &keys2,
            admin_underlying,
            spec.create_args(),
        )],
        admin,
        &[],
    )
    .await
    .expect("create_market lands");
    let mut listed: Vec<Pubkey> = rpc
        .markets()
        .await
        .expect("markets")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    listed.sort();
    let mut expected = vec![fx.demo.market, keys2.market];
    expected.sort();
    assert_eq!(listed, expected);

    fx.finish().await;
}

/// Write `request`, read one response (head and `content-length` body).
async fn exchange(stream: &mut tokio::net::TcpStream, request: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(
            n > 0,
            "closed before a response: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().expect("length"))
                })
                .expect("content-length");
            if buf.len() >= end + 4 + length {
                return (head, text[end + 4..end + 4 + length].to_string());
            }
        }
    }
}

/// `lever market metadata`: the admin renames the LT (and the FT), shown before it is sent;
/// anyone else is refused by name, without --yes nothing is sent, and an update that changes
/// nothing is refused before sending.
#[tokio::test]
async fn metadata_command_renames_the_share_tokens_as_the_admin_only() {
    let fx = Fx::new("metadata").await;
    let m = fx.market();
    let (lt, ft) = (fx.demo.keys.lt_mint, fx.demo.keys.ft_mint);
    let before = fx.metadata(&lt).await;
    assert_eq!(before.0, "SOL 3x Long");

    let args = [
        "market",
        "metadata",
        &m,
        "--share",
        "lt",
        "--name",
        "SOL 3x Long (v2)",
        "--uri",
        "https://lever.example/v2/sol3x.json",
    ];
    // Without --yes and no terminal: refused, nothing sent.
    let processed = fx.net.processed();
    let run = fx.lever(&fx.keys.admin, &args).await;
    assert!(!run.ok);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains(r#"name: "SOL 3x Long" -> "SOL 3x Long (v2)""#),
        "{}",
        run.stdout
    );
    assert_eq!(fx.net.processed(), processed);
    // A user's update is refused by name.
    let run = fx.user(&[&args[..], &["--yes"]].concat()).await;
    assert!(!run.ok, "a user renamed the LT:\n{}", run.stdout);
    assert!(run.stderr.contains("Unauthorized"), "{}", run.stderr);
    assert_eq!(fx.metadata(&lt).await, before);
    // The admin's lands: name and uri change, the symbol stays.
    let run = fx
        .lever(&fx.keys.admin, &[&args[..], &["--yes", "--json"]].concat())
        .await
        .expect_ok("market metadata");
    let report = run.json();
    assert_eq!(report["action"], "metadata updated");
    assert_eq!(report["changes"].as_array().map(Vec::len), Some(2), "{report}");
    assert_eq!(
        fx.metadata(&lt).await,
        (
            "SOL 3x Long (v2)".to_string(),
            before.1.clone(),
            "https://lever.example/v2/sol3x.json".to_string()
        )
    );
    // The FT, its symbol only.
    let ft_before = fx.metadata(&ft).await;
    fx.lever(
        &fx.keys.admin,
        &[
            "market", "metadata", &m, "--share", "ft", "--symbol", "fSOL3", "--yes",
        ],
    )
    .await
    .expect_ok("ft metadata");
    let ft_after = fx.metadata(&ft).await;
    assert_eq!(
        (ft_after.0.as_str(), ft_after.1.as_str()),
        (ft_before.0.as_str(), "fSOL3")
    );
    // The same values again: nothing to update, nothing sent; too long a symbol: the program's name.
    let processed = fx.net.processed();
    let run = fx
        .lever(
            &fx.keys.admin,
            &[
                "market", "metadata", &m, "--share", "ft", "--symbol", "fSOL3", "--yes",
            ],
        )
        .await;
    assert!(!run.ok);
    assert!(run.stderr.contains("nothing to update"), "{}", run.stderr);
    assert_eq!(fx.net.processed(), processed);
    let run = fx
        .lever(
            &fx.keys.admin,
            &[
                "market",
                "metadata",
                &m,
                "--share",
                "ft",
                "--symbol",
                "MUCH-TOO-LONG",
                "--yes",
            ],
        )
        .await;
    assert!(!run.ok);
    assert!(run.stderr.contains("InvalidMetadata"), "{}", run.stderr);
    assert_eq!(fx.metadata(&ft).await, ft_after);

    fx.finish().await;
}

/// Raw HTTP: batches, parse errors, keep-alive, `Connection: close`, the health check, and
/// `minContextSlot` reached by making slots.
#[tokio::test]
async fn http_batches_keep_alive_and_errors() {
    use tokio::io::AsyncReadExt;
    let chain = lever_testkit::chain::Chain::start().await.expect("chain");
    let cluster = std::sync::Arc::new(lever_testkit::embedded::Embedded::new(chain));
    let options = lever_testkit::localnet::LocalnetOptions {
        slot_interval: None,
        ..Default::default()
    };
    let net = Localnet::start_with(cluster, "127.0.0.1:0".parse().expect("address"), options)
        .await
        .expect("node");

    let post = |body: &str, extra: &str| {
        format!("POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}", body.len())
    };

    let mut stream = tokio::net::TcpStream::connect(net.addr()).await.expect("connect");
    // A batch, answered in order with each id.
    let (head, body) = exchange(
        &mut stream,
        &post(r#"[{"jsonrpc":"2.0","id":1,"method":"getHealth"},{"jsonrpc":"2.0","id":"b","method":"getSlot"},{"jsonrpc":"2.0","id":3,"method":"nope"}]"#, ""),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let answers: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["result"], "ok");
    assert_eq!(answers[1]["id"], "b");
    let slot = answers[1]["result"].as_u64().expect("slot");
    assert_eq!(answers[2]["error"]["code"], -32601);
    // Same connection: a parse error, then a slot far ahead that the node makes.
    let (_, body) = exchange(&mut stream, &post("{not json", "")).await;
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["error"]["code"], -32700);
    let ahead = slot + 5;
    let (_, body) = exchange(
        &mut stream,
        &post(
            &format!(
                r#"{{"jsonrpc":"2.0","id":7,"method":"getSlot","params":[{{"minContextSlot":{ahead}}}]}}"#
            ),
            "",
        ),
    )
    .await;
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["result"], ahead);
    assert_eq!(net.clock().await.slot, ahead);
    // Invalid parameters are named.
    let (_, body) = exchange(
        &mut stream,
        &post(
            r#"{"jsonrpc":"2.0","id":8,"method":"getBalance","params":["not a key"]}"#,
            "",
        ),
    )
    .await;
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["error"]["code"], -32602);
    // GET /health, then `Connection: close` ends the connection.
    let (head, body) = exchange(&mut stream, "GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok");
    let (head, _) = exchange(
        &mut stream,
        &post(
            r#"{"jsonrpc":"2.0","id":9,"method":"getHealth"}"#,
            "connection: close\r\n",
        ),
    )
    .await;
    assert!(head.to_ascii_lowercase().contains("connection: close"), "{head}");
    let mut rest = Vec::new();
    let n = stream.read_to_end(&mut rest).await.expect("read to the end");
    assert_eq!(n, 0, "the node closed the connection");
    // No slot moves by itself with no interval.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(net.clock().await.slot, ahead);

    // Stopped, the port refuses connections.
    let addr = net.addr();
    net.stop().await.expect("stop");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

// ---------------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_and_market_commands_report_the_chain() {
    let fx = Fx::new("status").await;
    let m = fx.market();

    let run = fx.user(&["status", "--json"]).await.expect_ok("status");
    let statuses = run.json();
    let list = statuses.as_array().expect("an array of markets");
    assert_eq!(list.len(), 1, "{statuses}");
    let s = &list[0];
    assert_eq!(s["market"], m.as_str());
    assert_eq!(s["symbol"], "SOL3X");
    assert_eq!(s["decimals"], 9);
    assert_eq!(s["target_leverage"], "3x");
    assert_eq!(s["band"], "5%");
    assert_eq!(s["band_state"], "within");
    assert_eq!(s["priced_at"], "oracle");
    let leverage = u64_of(s, "leverage_ppm");
    assert!(within_band(leverage, 3 * PPM, 50_000), "leverage {leverage}");
    let oracle = &s["oracle"];
    assert_eq!(oracle["account"], fx.demo.price_account.to_string().as_str());
    assert_eq!(oracle["state"], "usable");
    assert_eq!(f64_of(oracle, "price_usd"), DEMO_PRICE_USD);
    assert!((f64_of(oracle, "conf_usd") - DEMO_PRICE_USD * DEMO_CONF_RATIO).abs() < 1e-9);
    let now = fx.net.clock().await.unix_timestamp;
    assert_eq!(s["now"], now);
    assert_eq!(oracle["publish_time"], fx.demo.price.publish_time);
    assert_eq!(oracle["age_secs"], now - fx.demo.price.publish_time);
    assert_eq!(oracle["age_secs"], 0);
    assert_eq!(
        s["last_price_age_secs"],
        now - s["last_publish_time"].as_i64().expect("time")
    );
    // The holder's position: LT supply and NAV. Equity (exposure at the price, less the debt)
    // over the supply is the NAV, to the confidence interval.
    let market = fx.on_chain().await;
    let lt_supply = fx.supply(&fx.demo.keys.lt_mint).await;
    assert_eq!(
        s["lt_supply"],
        lever_sdk::units::format_units(lt_supply, 9).as_str()
    );
    assert!(lt_supply > 0);
    let nav = f64_of(s, "lt_nav_usd");
    let exposure: f64 = s["exposure"].as_str().expect("exposure").parse().expect("number");
    let equity = exposure * DEMO_PRICE_USD - f64_of(s, "debt_usd");
    let implied = equity / (lt_supply as f64 / 1e9);
    assert!(
        (nav - implied).abs() / implied < 3.0 * 3.0 * DEMO_CONF_RATIO,
        "NAV {nav} against equity per LT {implied}"
    );
    // About the holder's deposit: 10 SOL at $150, less the fee, over the supply.
    let deposit_nav = DEMO_HOLDER_UNITS as f64 / 1e9 * DEMO_PRICE_USD / (lt_supply as f64 / 1e9);
    assert!(
        (nav - deposit_nav).abs() / deposit_nav < 0.01,
        "NAV {nav}, deposit {deposit_nav}"
    );
    assert_eq!(s["rebalance_count"], market.rebalance_count);
    // Over JSON-RPC, the very status the SDK computes on the chain in process (but the slot,
    // which moves).
    let embedded = ops::status(fx.net.cluster().as_ref(), &[], |_| None)
        .await
        .expect("embedded status");
    let mut expected = serde_json::to_value(&embedded).expect("json");
    let mut got = statuses.clone();
    expected[0]["slot"] = Value::Null;
    got[0]["slot"] = Value::Null;
    assert_eq!(got, expected);

    // Seven seconds later, both ages say so.
    fx.net.advance(7).await;
    let run = fx
        .user(&["market", "show", &m, "--json"])
        .await
        .expect_ok("market show");
    let shown = run.json();
    assert_eq!(shown["market"], m.as_str());
    assert_eq!(shown["oracle"]["age_secs"], 7);
    assert_eq!(
        shown["last_price_age_secs"],
        now + 7 - shown["last_publish_time"].as_i64().expect("time")
    );
    assert_eq!(shown["now"], now + 7);

    let run = fx.user(&["market", "list"]).await.expect_ok("market list");
    let lines: Vec<&str> = run.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "a header and one market:\n{}", run.stdout);
    assert!(lines[0].starts_with("market"), "{}", lines[0]);
    assert!(lines[1].starts_with(&m), "{}", lines[1]);
    assert!(
        lines[1].contains("SOL3X") && lines[1].contains("within"),
        "{}",
        lines[1]
    );

    fx.finish().await;
}

#[tokio::test]
async fn user_commands_mint_fund_redeem_and_withdraw() {
    let fx = Fx::new("user").await;
    let m = fx.market();
    let lt_mint = fx.demo.keys.lt_mint;
    let underlying = fx.demo.user_underlying;

    // A dry run sends nothing.
    let supply = fx.supply(&lt_mint).await;
    let processed = fx.net.processed();
    let run = fx
        .user(&["mint", "--instant", &m, "1.5", "--dry-run", "--json"])
        .await
        .expect_ok("mint --dry-run");
    let preview = run.json();
    assert_eq!(preview["flow"], "mint");
    assert_eq!(u64_of(&preview, "amount_in"), 1_500_000_000);
    let expected_out = u64_of(&preview, "expected_out");
    assert!(expected_out > 0);
    assert_eq!(u64_of(&preview, "min_out"), expected_out * 995 / 1000);
    assert_eq!(fx.supply(&lt_mint).await, supply, "LT supply unchanged");
    assert_eq!(fx.net.processed(), processed, "no transaction sent");
    assert_eq!(fx.token(&underlying).await, DEMO_USER_UNITS);
    assert_eq!(fx.token(&fx.user_lt()).await, 0);

    // The mint itself: the LT received is what the JSON says, and what the preview said (same
    // clock, same price).
    let run = fx
        .user(&["mint", "--instant", &m, "1.5", "--json"])
        .await
        .expect_ok("mint");
    let minted = run.json();
    assert_eq!(minted["flow"], "mint");
    let lt = fx.token(&fx.user_lt()).await;
    assert_eq!(u64_of(&minted, "amount_out"), lt);
    assert_eq!(lt, expected_out);
    assert_eq!(u64_of(&minted, "amount_in"), 1_500_000_000);
    assert_eq!(fx.supply(&lt_mint).await, supply + lt);
    assert_eq!(fx.token(&underlying).await, DEMO_USER_UNITS - 1_500_000_000);
    assert_eq!(fx.net.processed(), processed + 1);

    // Funding: FT for 10 SOL, in the user's FT account.
    // (Confirmed at `finalized`: every status the node gives is final.)
    let run = fx
        .user(&[
            "fund",
            "--instant",
            &m,
            "10",
            "--json",
            "--commitment",
            "finalized",
        ])
        .await
        .expect_ok("fund");
    let funded = run.json();
    let ft = fx.token(&fx.user_ft()).await;
    assert!(ft > 0);
    assert_eq!(u64_of(&funded, "amount_out"), ft);
    assert_eq!(fx.token(&underlying).await, DEMO_USER_UNITS - 11_500_000_000);

    // Redeem every LT (text output).
    let run = fx
        .user(&["redeem", "--instant", &m, "all"])
        .await
        .expect_ok("redeem all");
    assert!(run.stdout.contains("received"), "{}", run.stdout);
    assert_eq!(fx.token(&fx.user_lt()).await, 0);
    assert_eq!(fx.supply(&lt_mint).await, supply);
    let after_redeem = fx.token(&underlying).await;
    assert!(
        after_redeem > DEMO_USER_UNITS - 11_500_000_000,
        "the redeem paid out underlying"
    );
    // About 1.5 SOL back, less the fees both ways.
    let back = after_redeem - (DEMO_USER_UNITS - 11_500_000_000);
    assert!(back > 1_480_000_000 && back < 1_500_000_000, "{back}");

    // Withdraw every FT.
    let run = fx
        .user(&["withdraw", "--instant", &m, "all", "--json"])
        .await
        .expect_ok("withdraw");
    let withdrawn = run.json();
    assert_eq!(u64_of(&withdrawn, "amount_in"), ft);
    assert_eq!(fx.token(&fx.user_ft()).await, 0);
    assert_eq!(
        fx.token(&underlying).await,
        after_redeem + u64_of(&withdrawn, "amount_out")
    );

    // Nothing left to redeem: refused before sending.
    let processed = fx.net.processed();
    let run = fx.user(&["redeem", "--instant", &m, "all"]).await;
    assert!(!run.ok, "{}", run.stdout);
    assert_eq!(fx.net.processed(), processed);

    fx.finish().await;
}

#[tokio::test]
async fn pause_unpause_and_update_need_their_authority_and_confirmation() {
    let fx = Fx::new("admin").await;
    let m = fx.market();
    let lt_mint = fx.demo.keys.lt_mint;

    let run = fx
        .lever(
            &fx.keys.pause_authority,
            &["pause", &m, "--only", "mint", "--yes"],
        )
        .await
        .expect_ok("pause --only mint");
    assert!(run.stdout.contains("paused: mint"), "{}", run.stdout);
    assert_eq!(fx.on_chain().await.paused, pause::MINT_LT);

    // Minting is refused by name, with a failing exit, and nothing is minted.
    let supply = fx.supply(&lt_mint).await;
    let run = fx.user(&["mint", "--instant", &m, "1"]).await;
    assert!(!run.ok, "mint while paused succeeded:\n{}", run.stdout);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("OperationPaused"), "{}", run.stderr);
    assert_eq!(fx.supply(&lt_mint).await, supply);
    // Funding is not paused.
    fx.user(&["fund", "--instant", &m, "1"])
        .await
        .expect_ok("fund while mint paused");

    // Without --yes and with no terminal to ask on: refused, nothing sent.
    let processed = fx.net.processed();
    let run = fx.lever(&fx.keys.pause_authority, &["pause", &m]).await;
    assert!(!run.ok);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    assert_eq!(fx.on_chain().await.paused, pause::MINT_LT);
    assert_eq!(fx.net.processed(), processed);

    // The pause authority may not unpause; the admin may.
    let run = fx
        .lever(&fx.keys.pause_authority, &["unpause", &m, "--yes"])
        .await;
    assert!(!run.ok, "the pause authority unpaused:\n{}", run.stdout);
    assert_eq!(fx.on_chain().await.paused, pause::MINT_LT);
    let run = fx
        .lever(&fx.keys.admin, &["unpause", &m, "--yes", "--json"])
        .await
        .expect_ok("unpause");
    assert_eq!(run.json()["action"], "unpaused");
    assert_eq!(fx.on_chain().await.paused, 0);
    fx.user(&["mint", "--instant", &m, "1"])
        .await
        .expect_ok("mint after unpause");

    // Parameters: the admin's update lands; anyone else's is refused.
    let run = fx
        .lever(
            &fx.keys.admin,
            &["market", "update", &m, "--band", "3%", "--yes", "--json"],
        )
        .await
        .expect_ok("market update");
    let report = run.json();
    assert_eq!(report["changes"][0], "band: 5% -> 3%");
    assert_eq!(fx.on_chain().await.params.band_ppm, 30_000);
    let run = fx.user(&["market", "update", &m, "--band", "4%", "--yes"]).await;
    assert!(!run.ok, "a user updated the market:\n{}", run.stdout);
    assert_eq!(fx.on_chain().await.params.band_ppm, 30_000);

    fx.finish().await;
}

#[tokio::test]
async fn rebalance_skips_in_band_and_rebalances_out_of_band() {
    let fx = Fx::new("rebalance").await;
    let m = fx.market();
    let count = fx.on_chain().await.rebalance_count;

    let run = fx
        .user(&["rebalance", &m, "--json"])
        .await
        .expect_ok("rebalance in band");
    let decision = run.json();
    assert_eq!(decision["action"], "skip", "{decision}");
    assert_eq!(decision["market"], m.as_str());
    assert_eq!(fx.on_chain().await.rebalance_count, count);

    // SOL falls from $150 to $140: 3x becomes about 3.5x, out of the ±5% band.
    fx.set_price(140.0).await;
    let processed = fx.net.processed();
    let run = fx
        .user(&["rebalance", &m, "--json"])
        .await
        .expect_ok("rebalance out of band");
    let decision = run.json();
    assert_eq!(decision["action"], "rebalanced", "{decision}");
    assert!(decision["signature"].is_string());
    let before = u64_of(&decision, "leverage_before_ppm");
    assert!(!within_band(before, 3 * PPM, 50_000), "{before}");
    let after = u64_of(&decision, "leverage_after_ppm");
    assert!(within_band(after, 3 * PPM, 50_000), "{after}");
    let market = fx.on_chain().await;
    assert_eq!(market.rebalance_count, count + 1);
    assert_eq!(fx.net.processed(), processed + 1);

    // Back in band: nothing more to do.
    let run = fx.user(&["rebalance", &m]).await.expect_ok("rebalance again");
    assert!(run.stdout.starts_with("skip"), "{}", run.stdout);
    assert_eq!(fx.on_chain().await.rebalance_count, count + 1);

    fx.finish().await;
}

#[cfg(unix)]
#[tokio::test]
async fn keeper_rebalances_and_stops_on_sigint() {
    let fx = Fx::new("keeper").await;
    let m = fx.market();
    let count = fx.on_chain().await.rebalance_count;
    fx.set_price(140.0).await;

    let mut cmd = fx.command(&fx.keys.user, &["keeper", "--interval", "0.5"]);
    let mut child = cmd.spawn().expect("spawn the keeper");
    let pid = child.id();
    // Let it find the market out of band and rebalance it.
    let start = Instant::now();
    loop {
        if fx.on_chain().await.rebalance_count > count {
            break;
        }
        if let Some(status) = child.try_wait().expect("keeper status") {
            let out = child.wait_with_output().expect("output");
            panic!(
                "the keeper exited early ({status}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "no rebalance after 60 s:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A pass or two more, in band now.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                return child.wait_with_output().expect("output");
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "the keeper did not stop on SIGINT:\n{}\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .expect("keeper output");
    let run = output_of(out);
    assert!(run.ok, "exit {:?}\n{}\n{}", run.code, run.stdout, run.stderr);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let rebalanced: Vec<&Value> = lines.iter().filter(|l| l["action"] == "rebalanced").collect();
    assert_eq!(rebalanced.len(), 1, "{}", run.stdout);
    assert_eq!(rebalanced[0]["market"], m.as_str());
    assert_eq!(
        rebalanced[0]["keeper"],
        fx.demo.user.pubkey().to_string().as_str()
    );
    assert!(
        lines.iter().any(|l| l["action"] == "skip"),
        "a pass after the rebalance skips: {}",
        run.stdout
    );
    let last = lines.last().expect("lines");
    assert_eq!(last["event"], "stopped", "{}", run.stdout);
    assert_eq!(last["decisions"]["rebalanced"], 1);
    assert!(run.stderr.contains("stopped after"), "{}", run.stderr);
    assert_eq!(fx.on_chain().await.rebalance_count, count + 1);

    fx.finish().await;
}

/// `lever localnet --web DIR`: the node serves the web app's files beside JSON-RPC (`index.html`
/// for the app's own routes, nothing outside the folder), and `lever_faucet` funds a fresh wallet
/// with lamports and the demo's underlying in its associated token account (created once).
#[tokio::test]
async fn serves_the_web_app_and_funds_wallets_from_its_faucet() {
    let dir = std::env::temp_dir().join(format!("lever-web-{}", std::process::id()));
    let root = dir.join("dist");
    std::fs::create_dir_all(root.join("assets")).expect("mkdir");
    std::fs::write(root.join("index.html"), "<!doctype html><title>Lever</title>").expect("write");
    std::fs::write(root.join("assets/app.js"), "export {};").expect("write");
    std::fs::write(dir.join("secret.txt"), "outside the web root").expect("write");
    let options = lever_testkit::localnet::LocalnetOptions {
        web_root: Some(root.clone()),
        ..Default::default()
    };
    let (net, demo) = Localnet::demo_with("127.0.0.1:0".parse().expect("address"), options)
        .await
        .expect("node");
    let mut stream = tokio::net::TcpStream::connect(net.addr()).await.expect("connect");
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");

    let (head, body) = exchange(&mut stream, &get("/")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert_eq!(body, "<!doctype html><title>Lever</title>");
    let (head, body) = exchange(&mut stream, &get("/assets/app.js?v=1")).await;
    assert!(head.contains("content-type: text/javascript"), "{head}");
    assert_eq!(body, "export {};");
    // The app's own routes get the app.
    let (head, body) = exchange(&mut stream, &get("/markets/SOL3X")).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("<title>Lever</title>"));
    // Nothing outside the folder, and no made-up files.
    for path in ["/../secret.txt", "/assets/../../secret.txt", "/assets/missing.js"] {
        let (head, body) = exchange(&mut stream, &get(path)).await;
        assert!(head.starts_with("HTTP/1.1 404"), "{path}: {head}");
        assert!(!body.contains("outside"), "{path}");
    }
    // JSON-RPC still answers on the same port.
    let client = RpcClient::new_with_commitment(net.url(), CommitmentConfig::confirmed());
    client.get_health().await.expect("getHealth");

    let owner = Pubkey::new_unique();
    let faucet = |params: Value| {
        let client = &client;
        async move {
            client
                .send::<Value>(
                    RpcRequest::Custom {
                        method: "lever_faucet",
                    },
                    params,
                )
                .await
        }
    };
    let answer = faucet(serde_json::json!([owner.to_string()]))
        .await
        .expect("faucet");
    let ata = associated_token_account(
        &owner,
        &demo.keys.underlying_mint,
        &demo.keys.underlying_token_program,
    );
    assert_eq!(answer["account"], ata.to_string());
    assert_eq!(client.get_balance(&owner).await.expect("balance"), 10 * SOL);
    let held = || async {
        let balance = client
            .get_token_account_balance(&ata)
            .await
            .expect("token balance");
        balance.amount.parse::<u64>().expect("amount")
    };
    assert_eq!(held().await, 100 * SOL);
    // Again, with amounts: the account exists now and is added to.
    faucet(serde_json::json!([owner.to_string(), {"units": 5, "lamports": 0}]))
        .await
        .expect("faucet again");
    assert_eq!(held().await, 100 * SOL + 5);
    assert_eq!(client.get_balance(&owner).await.expect("balance"), 10 * SOL);
    let listed = client
        .get_token_accounts_by_owner(
            &owner,
            solana_rpc_client::api::request::TokenAccountsFilter::Mint(demo.keys.underlying_mint),
        )
        .await
        .expect("getTokenAccountsByOwner");
    assert_eq!(listed.len(), 1);
    // Bad parameters are named and change nothing.
    let bad = faucet(serde_json::json!(["not a key"]))
        .await
        .expect_err("bad owner");
    assert!(bad.to_string().contains("Invalid"), "{bad}");
    let bad = faucet(serde_json::json!([owner.to_string(), {"units": -1}]))
        .await
        .expect_err("negative units");
    assert!(bad.to_string().contains("units"), "{bad}");
    assert_eq!(held().await, 100 * SOL + 5);
    net.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);

    // A node without a demo has no faucet.
    let chain = lever_testkit::chain::Chain::start().await.expect("chain");
    let cluster = std::sync::Arc::new(lever_testkit::embedded::Embedded::new(chain));
    let bare = Localnet::start(cluster, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("node");
    let client = RpcClient::new(bare.url());
    let err = client
        .send::<Value>(
            RpcRequest::Custom {
                method: "lever_faucet",
            },
            serde_json::json!([owner.to_string()]),
        )
        .await
        .expect_err("no faucet");
    assert!(err.to_string().contains("no faucet"), "{err}");
    bare.stop().await.expect("stop");
}
