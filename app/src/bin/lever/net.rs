//! The subcommands that talk to a cluster: market operations, the user instructions, `status`,
//! `rebalance`, `pause`, `keeper`. Each is a thin shell over `lever_sdk::ops` / `keeper` /
//! `deploy`, which are tested on the embedded chain; this file parses arguments, asks for
//! confirmation and prints.
//!
//! Conventions follow the Solana CLI: `--url/-u` takes a URL or a moniker (`mainnet-beta`,
//! `devnet`, `testnet`, `localhost`, or their first letter), `--keypair/-k` a keypair file, both
//! defaulting to the Solana CLI's config file; `--json` prints machine output.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use lever_sdk::cluster::{resolve_url, Cluster, RpcCluster};
use lever_sdk::deploy::{self, DeployFile, Step};
use lever_sdk::keeper::{self, Action, Keeper, KeeperConfig, LogSink, MarketSelection};
use lever_sdk::lever::state::{Market, UpdateMarketParams};
use lever_sdk::ops::{self, Flow, MarketStatus, SendOptions};
use lever_sdk::pyth::feed_id_from_hex;
use lever_sdk::units::{parse_ppm, parse_units};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_rpc_client::api::config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer as _;

use anchor_lang::prelude::Pubkey;

/// Where to connect and who signs.
#[derive(Args, Clone, Debug)]
pub struct Net {
    /// JSON-RPC URL or moniker: mainnet-beta, devnet, testnet, localhost (or m, d, t, l).
    /// Default: `json_rpc_url` of the Solana CLI config, else localhost.
    #[arg(short = 'u', long = "url", value_name = "URL_OR_MONIKER")]
    pub url: Option<String>,
    /// Keypair file that signs and pays. Default: `keypair_path` of the Solana CLI config, else
    /// ~/.config/solana/id.json.
    #[arg(short = 'k', long = "keypair", value_name = "KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// Commitment to read and confirm at.
    #[arg(long, default_value = "confirmed", value_parser = ["processed", "confirmed", "finalized"])]
    pub commitment: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Admin confirmation.
#[derive(Args, Clone, Debug)]
pub struct Confirm {
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Subcommand)]
pub enum MarketCmd {
    /// Every market of the program, one line each.
    List {
        #[command(flatten)]
        net: Net,
    },
    /// One market in full: parameters, books, NAVs, oracle.
    Show {
        market: Pubkey,
        /// Price account to read (default: Pyth's sponsored account for the market's feed).
        #[arg(long)]
        price_update: Option<Pubkey>,
        #[command(flatten)]
        net: Net,
    },
    /// Create one market described in a deploy file (admin): the `[[market]]` entry named by
    /// --name (or the file's only one). Refuses if it exists; `lever deploy` updates.
    Create {
        /// A deploy file (see migrations/markets.toml).
        file: PathBuf,
        /// The entry's `name` (needed when the file has several markets).
        #[arg(long)]
        name: Option<String>,
        /// Print the plan and send nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        net: Net,
    },
    /// Change parameters (admin). Only the flags given change; the program checks them against
    /// the config's bounds.
    Update {
        market: Pubkey,
        #[command(flatten)]
        params: Box<ParamFlags>,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        net: Net,
    },
}

/// Market parameters as flags. Ratios: "2%", "30bps" or a fraction ("0.02"); leverage "3x".
#[derive(Args, Clone, Debug, Default)]
pub struct ParamFlags {
    /// Target leverage, e.g. 3x.
    #[arg(long)]
    pub leverage: Option<String>,
    /// Band half-width as a fraction of the target, e.g. 2%.
    #[arg(long)]
    pub band: Option<String>,
    #[arg(long)]
    pub mint_fee: Option<String>,
    #[arg(long)]
    pub redeem_fee: Option<String>,
    #[arg(long)]
    pub deposit_fee: Option<String>,
    #[arg(long)]
    pub withdraw_fee: Option<String>,
    /// Seconds.
    #[arg(long)]
    pub max_price_age: Option<u64>,
    /// Largest accepted conf / price.
    #[arg(long)]
    pub max_conf: Option<String>,
    /// Multiplier of the confidence interval used for conversions, e.g. 1x.
    #[arg(long)]
    pub conf_multiplier: Option<String>,
    /// Largest exposure after a mint, in whole underlying tokens, or `none`.
    #[arg(long)]
    pub exposure_cap: Option<String>,
    #[arg(long)]
    pub max_utilization: Option<String>,
    /// Funding curve: annual rate at zero utilization.
    #[arg(long)]
    pub base_rate: Option<String>,
    /// Funding curve: utilization where the second slope starts.
    #[arg(long)]
    pub kink: Option<String>,
    #[arg(long)]
    pub slope1: Option<String>,
    #[arg(long)]
    pub slope2: Option<String>,
}

impl ParamFlags {
    /// The update these flags ask for (`decimals`: the underlying's, for the exposure cap).
    pub fn update(&self, decimals: u8) -> Result<UpdateMarketParams> {
        let ratio = |name: &str, v: &Option<String>| -> Result<Option<u64>> {
            v.as_deref()
                .map(|s| parse_ppm(s).with_context(|| format!("--{name}")))
                .transpose()
        };
        Ok(UpdateMarketParams {
            target_leverage_ppm: ratio("leverage", &self.leverage)?,
            band_ppm: ratio("band", &self.band)?,
            mint_fee_ppm: ratio("mint-fee", &self.mint_fee)?,
            redeem_fee_ppm: ratio("redeem-fee", &self.redeem_fee)?,
            deposit_fee_ppm: ratio("deposit-fee", &self.deposit_fee)?,
            withdraw_fee_ppm: ratio("withdraw-fee", &self.withdraw_fee)?,
            max_price_age_secs: self.max_price_age,
            max_conf_ppm: ratio("max-conf", &self.max_conf)?,
            conf_multiplier_ppm: ratio("conf-multiplier", &self.conf_multiplier)?,
            exposure_cap: self
                .exposure_cap
                .as_deref()
                .map(|s| parse_cap(s, decimals))
                .transpose()?,
            max_utilization_ppm: ratio("max-utilization", &self.max_utilization)?,
            base_rate_ppm: ratio("base-rate", &self.base_rate)?,
            kink_ppm: ratio("kink", &self.kink)?,
            slope1_ppm: ratio("slope1", &self.slope1)?,
            slope2_ppm: ratio("slope2", &self.slope2)?,
        })
    }
}

/// An exposure cap in whole tokens, or `none` (no cap).
fn parse_cap(s: &str, decimals: u8) -> Result<u64> {
    if s.eq_ignore_ascii_case("none") {
        Ok(u64::MAX)
    } else {
        parse_units(s, decimals).context("--exposure-cap")
    }
}

/// `lever mint|redeem|fund|withdraw`.
#[derive(Args, Debug)]
pub struct UserArgs {
    pub market: Pubkey,
    /// Whole tokens to pay in (underlying for mint/fund, LT for redeem, FT for withdraw), or
    /// `all` for the whole balance.
    pub amount: String,
    /// Refuse to receive less than this (whole tokens). Default: the preview less --slippage.
    #[arg(long)]
    pub min_out: Option<String>,
    /// Accepted shortfall from the preview when --min-out is not given.
    #[arg(long, default_value = "0.5%")]
    pub slippage: String,
    /// Price account (default: Pyth's sponsored account for the market's feed).
    #[arg(long)]
    pub price_update: Option<Pubkey>,
    /// Priority fee in micro-lamports per compute unit.
    #[arg(long)]
    pub with_compute_unit_price: Option<u64>,
    /// Preview only: print what would happen and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Markets to show (default: every market).
    pub markets: Vec<Pubkey>,
    /// Price account for a feed: FEED_ID_HEX=ADDRESS (repeatable). Default: Pyth's sponsored
    /// account for each feed.
    #[arg(long = "price-account", value_parser = parse_price_account)]
    pub price_accounts: Vec<([u8; 32], Pubkey)>,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct RebalanceArgs {
    pub market: Pubkey,
    /// Price account (default: Pyth's sponsored account for the market's feed).
    #[arg(long)]
    pub price_update: Option<Pubkey>,
    /// Priority fee in micro-lamports per compute unit.
    #[arg(long, default_value_t = KeeperConfig::default().priority_fee_micro_lamports)]
    pub with_compute_unit_price: u64,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    pub market: Pubkey,
    /// Operations to pause (mint, redeem, fund, withdraw, rebalance, all); the others are
    /// resumed. Default: all.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub only: Vec<String>,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct UnpauseArgs {
    pub market: Pubkey,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct KeeperArgs {
    /// Only these markets (repeatable). Default: every market, listed again each pass.
    #[arg(long = "market")]
    pub markets: Vec<Pubkey>,
    /// Price account for a feed: FEED_ID_HEX=ADDRESS (repeatable). Feeds not given use Pyth's
    /// sponsored account.
    #[arg(long = "price-account", value_parser = parse_price_account)]
    pub price_accounts: Vec<([u8; 32], Pubkey)>,
    /// Seconds between passes.
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    /// Priority fee in micro-lamports per compute unit (0: none).
    #[arg(long, default_value_t = KeeperConfig::default().priority_fee_micro_lamports)]
    pub with_compute_unit_price: u64,
    /// Compute unit limit of a rebalance transaction (0: the default).
    #[arg(long, default_value_t = KeeperConfig::default().compute_unit_limit)]
    pub compute_unit_limit: u32,
    /// Retries after the first attempt, for transient failures.
    #[arg(long, default_value_t = KeeperConfig::default().max_retries)]
    pub max_retries: u32,
    #[command(flatten)]
    pub net: Net,
}

fn parse_price_account(s: &str) -> Result<([u8; 32], Pubkey), String> {
    let (feed, address) = s
        .split_once('=')
        .ok_or_else(|| "expected FEED_ID_HEX=ADDRESS".to_string())?;
    let feed =
        feed_id_from_hex(feed.trim()).ok_or_else(|| format!("`{feed}` is not a 32-byte hex feed id"))?;
    let address = Pubkey::from_str(address.trim()).map_err(|e| format!("`{address}`: {e}"))?;
    Ok((feed, address))
}

// ---------------------------------------------------------------------------------------------
// Connection, keypair, confirmation
// ---------------------------------------------------------------------------------------------

/// `json_rpc_url` and `keypair_path` from the Solana CLI's config file, if it exists.
fn solana_config() -> (Option<String>, Option<PathBuf>) {
    let path = std::env::var_os("SOLANA_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config/solana/cli/config.yml")));
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return (None, None);
    };
    parse_solana_config(&text)
}

fn parse_solana_config(text: &str) -> (Option<String>, Option<PathBuf>) {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(key)?.trim_start().strip_prefix(':')?;
            let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            (!v.is_empty()).then(|| v.to_string())
        })
    };
    (value("json_rpc_url"), value("keypair_path").map(PathBuf::from))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The URL for `--url` (monikers and their first letters resolved), or the config's, or localhost.
pub fn url_of(given: Option<&str>) -> String {
    let given = given.map(|u| match u {
        "m" => "mainnet-beta",
        "d" => "devnet",
        "t" => "testnet",
        "l" => "localhost",
        other => other,
    });
    match given {
        Some(u) => resolve_url(u),
        None => solana_config().0.unwrap_or_else(|| resolve_url("localhost")),
    }
}

impl Net {
    pub fn cluster(&self) -> RpcCluster {
        let commitment = match self.commitment.as_str() {
            "processed" => CommitmentConfig::processed(),
            "finalized" => CommitmentConfig::finalized(),
            _ => CommitmentConfig::confirmed(),
        };
        RpcCluster::from_client(RpcClient::new_with_commitment(
            url_of(self.url.as_deref()),
            commitment,
        ))
    }

    pub fn signer(&self) -> Result<Keypair> {
        let path = match &self.keypair {
            Some(p) => p.clone(),
            None => solana_config()
                .1
                .or_else(|| home().map(|h| h.join(".config/solana/id.json")))
                .ok_or_else(|| anyhow!("no --keypair and no HOME to find the default keypair"))?,
        };
        read_keypair(&path)
    }
}

fn read_keypair(path: &Path) -> Result<Keypair> {
    solana_keypair::read_keypair_file(path).map_err(|e| anyhow!("read keypair {}: {e}", path.display()))
}

/// Ask on the terminal unless `yes`; refuse when there is no terminal to ask on.
fn confirm(prompt: &str, yes: bool) -> Result<()> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    confirm_with(
        prompt,
        yes,
        interactive,
        &mut stdin.lock(),
        &mut std::io::stderr(),
    )
}

fn confirm_with(
    prompt: &str,
    yes: bool,
    interactive: bool,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive {
        bail!("not confirmed: stdin is not a terminal; pass --yes to {prompt}");
    }
    write!(output, "{prompt}? [y/N] ")?;
    output.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("aborted"),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

pub fn market(cmd: MarketCmd) -> Result<ExitCode> {
    let rt = runtime()?;
    match cmd {
        MarketCmd::List { net } => rt.block_on(async {
            let cluster = net.cluster();
            let statuses = ops::status(&cluster, &[], |_| None).await?;
            if net.json {
                return print_json(&statuses);
            }
            if statuses.is_empty() {
                println!("no markets");
                return Ok(());
            }
            println!(
                "{:<44}  {:<10}  {:>6}  {:>8}  {:<9}  {:>12}  paused",
                "market", "symbol", "target", "leverage", "band", "LT NAV (USD)"
            );
            for s in &statuses {
                println!(
                    "{:<44}  {:<10}  {:>6}  {:>8}  {:<9}  {:>12.6}  {}",
                    s.market,
                    s.symbol,
                    s.target_leverage,
                    s.leverage.as_deref().unwrap_or("-"),
                    s.band_state,
                    s.lt_nav_usd,
                    if s.paused.is_empty() {
                        "-".into()
                    } else {
                        s.paused.join(",")
                    }
                );
            }
            Ok(())
        })?,
        MarketCmd::Show {
            market,
            price_update,
            net,
        } => rt.block_on(async {
            let cluster = net.cluster();
            let s = ops::market_status(&cluster, &market, price_update).await?;
            if net.json {
                return print_json(&s);
            }
            print_status(&s);
            Ok(())
        })?,
        MarketCmd::Create {
            file,
            name,
            dry_run,
            confirm: c,
            net,
        } => rt.block_on(create_market(&file, name.as_deref(), dry_run, c.yes, &net))?,
        MarketCmd::Update {
            market,
            params,
            confirm: c,
            net,
        } => rt.block_on(async {
            let cluster = net.cluster();
            let admin = net.signer()?;
            let current = ops::load_market(&cluster, &market).await?;
            let update = params.update(current.decimals)?;
            let changes = describe_update(&current, &update);
            if changes.is_empty() {
                bail!("nothing to update: give at least one parameter that differs from the market's");
            }
            if !net.json {
                println!("market {market}:");
                for line in &changes {
                    println!("  {line}");
                }
            }
            confirm("update these parameters", c.yes)?;
            let done = ops::update_market(&cluster, &admin, market, update).await?;
            report_admin(&net, &done, &changes)
        })?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `lever market create FILE`: the deploy plan, kept to the one market's creation.
async fn create_market(file: &Path, name: Option<&str>, dry_run: bool, yes: bool, net: &Net) -> Result<()> {
    let cluster = net.cluster();
    let admin = net.signer()?;
    let deploy_file = DeployFile::load(file)?;
    let entry = match name {
        Some(n) => deploy_file
            .markets
            .iter()
            .find(|m| m.name == n)
            .ok_or_else(|| anyhow!("{} has no market named `{n}`", file.display()))?,
        None => match deploy_file.markets.as_slice() {
            [only] => only,
            _ => bail!(
                "{} has {} markets: say which with --name",
                file.display(),
                deploy_file.markets.len()
            ),
        },
    };
    if cluster.account(&lever_sdk::pda::config()).await?.is_none() {
        bail!("the program has no config yet: run `lever deploy` with a [config] section first");
    }
    let one = DeployFile {
        config: deploy_file.config.clone(),
        markets: vec![entry.clone()],
    };
    let mut plan = deploy::plan(&cluster, &one, admin.pubkey()).await?;
    plan.steps.retain(|s| matches!(s, Step::CreateMarket(_)));
    if plan.steps.is_empty() {
        bail!(
            "market `{}` already exists at {}: `lever market update` or `lever deploy` change it",
            entry.name,
            entry.address()
        );
    }
    show_plan(&plan, net.json);
    if dry_run {
        return Ok(());
    }
    confirm("create this market", yes)?;
    report_applied(&deploy::apply(&cluster, &plan, &admin).await?, net.json)
}

fn show_plan(plan: &deploy::Plan, json: bool) {
    if json {
        println!("{}", plan.to_json());
    } else {
        println!("{plan}");
    }
}

fn report_applied(applied: &[deploy::Applied], json: bool) -> Result<()> {
    if json {
        return print_json(&applied);
    }
    for a in applied {
        println!("{a}");
    }
    Ok(())
}

/// `lever deploy FILE`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    /// The declarative file (see migrations/markets.toml and migrations/README.md).
    pub file: PathBuf,
    /// Print the plan and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub net: Net,
}

pub fn deploy_cmd(args: DeployArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let cluster = args.net.cluster();
        let admin = args.net.signer()?;
        let file = DeployFile::load(&args.file)?;
        let plan = deploy::plan(&cluster, &file, admin.pubkey()).await?;
        show_plan(&plan, args.net.json);
        if args.dry_run || plan.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        confirm(
            &format!("apply these {} steps", plan.steps.len()),
            args.confirm.yes,
        )?;
        report_applied(&deploy::apply(&cluster, &plan, &admin).await?, args.net.json)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `field: old -> new` for each parameter the update changes.
fn describe_update(market: &Market, update: &UpdateMarketParams) -> Vec<String> {
    let before = market.params();
    let (_, changes) = deploy::diff_params(&before, &before.apply(update), market.decimals);
    changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
        .collect()
}

#[derive(Serialize)]
struct AdminReport<'a> {
    signature: &'a str,
    action: &'a str,
    changes: &'a [String],
}

fn report_admin(net: &Net, done: &ops::AdminDone, changes: &[String]) -> Result<()> {
    if net.json {
        return print_json(&AdminReport {
            signature: &done.signature,
            action: &done.action,
            changes,
        });
    }
    println!("{}: {}", done.action, done.signature);
    Ok(())
}

fn print_status(s: &MarketStatus) {
    let oracle_price = s.oracle.price_usd.map_or("-".to_string(), |p| {
        format!("${p:.6} ± {:.6}", s.oracle.conf_usd.unwrap_or(0.0))
    });
    let oracle_age = s.oracle.age_secs.map_or("-".to_string(), |a| format!("{a}s"));
    println!("{} {} (id {})", s.symbol, s.market, s.id);
    println!(
        "  leverage     {} now (target {}, band ±{} = {}..{}), {}",
        s.leverage.as_deref().unwrap_or("-"),
        s.target_leverage,
        s.band,
        s.band_range[0],
        s.band_range[1],
        s.band_state
    );
    println!(
        "  NAV          LT ${:.6}  FT ${:.6}  (priced at the {} price)",
        s.lt_nav_usd, s.ft_nav_usd, s.priced_at
    );
    println!(
        "  funding      {} utilization (max {}), {} a year",
        s.utilization, s.max_utilization, s.funding_rate
    );
    println!("  supply       {} LT, {} FT", s.lt_supply, s.ft_supply);
    println!(
        "  books        exposure {}, idle {}, fees {}, debt ${:.2}; vault {} ({})",
        s.exposure,
        s.idle,
        s.fees,
        s.debt_usd,
        s.vault_units,
        if s.conserved {
            "= exposure + idle + fees"
        } else {
            "DOES NOT MATCH the books"
        }
    );
    println!(
        "  caps         exposure {}, fees mint {} redeem {} deposit {} withdraw {}",
        s.exposure_cap, s.fees_ppm.mint, s.fees_ppm.redeem, s.fees_ppm.deposit, s.fees_ppm.withdraw
    );
    println!(
        "  last price   ${:.6}, published {}s ago ({} rebalances so far)",
        s.last_price_usd, s.last_price_age_secs, s.rebalance_count
    );
    println!(
        "  oracle       {oracle_price}, {oracle_age} old: {} ({})",
        s.oracle.state, s.oracle.account
    );
    println!(
        "  underlying   {} ({} decimals), feed 0x{}",
        s.underlying_mint, s.decimals, s.feed_id
    );
    if s.wiped {
        println!("  WIPED: the leveraged pool was wiped out; reopen_market after every LT is burned");
    }
    if !s.paused.is_empty() {
        println!("  paused       {}", s.paused.join(", "));
    }
}

pub fn status(args: StatusArgs) -> Result<ExitCode> {
    let overrides: HashMap<[u8; 32], Pubkey> = args.price_accounts.iter().copied().collect();
    runtime()?.block_on(async {
        let cluster = args.net.cluster();
        let statuses = ops::status(&cluster, &args.markets, |feed| overrides.get(feed).copied()).await?;
        if args.net.json {
            print_json(&statuses)?;
            return Ok(ExitCode::SUCCESS);
        }
        if statuses.is_empty() {
            println!("no markets");
        }
        for s in &statuses {
            print_status(s);
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn user(flow: Flow, args: UserArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let cluster = args.net.cluster();
        let user = args.net.signer()?;
        let market = ops::load_market(&cluster, &args.market).await?;
        let amount = if args.amount.eq_ignore_ascii_case("all") {
            balance_in(&cluster, &user.pubkey(), &market, flow).await?
        } else {
            parse_units(&args.amount, market.decimals).context("amount")?
        };
        let options = SendOptions {
            min_out: args
                .min_out
                .as_deref()
                .map(|m| parse_units(m, market.decimals).context("--min-out"))
                .transpose()?,
            slippage_ppm: parse_ppm(&args.slippage).context("--slippage")?,
            price_account: args.price_update,
            compute_unit_price: args.with_compute_unit_price,
        };
        let prepared = ops::prepare(&cluster, user.pubkey(), args.market, flow, amount, options).await?;
        let preview = prepared.preview();
        if args.dry_run {
            if args.net.json {
                print_json(&preview)?;
            } else {
                print_preview(&preview);
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !args.net.json {
            print_preview(&preview);
        }
        let done = ops::execute(&cluster, &user, &prepared).await?;
        if args.net.json {
            print_json(&done)?;
        } else {
            println!("received {}: {}", done.received, done.signature);
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn balance_in(cluster: &impl Cluster, user: &Pubkey, market: &Market, flow: Flow) -> Result<u64> {
    let (mint, program) = match flow {
        Flow::Mint | Flow::Deposit => (market.underlying_mint, market.underlying_token_program),
        Flow::Redeem => (market.lt_mint, anchor_spl::token_2022::ID),
        Flow::Withdraw => (market.ft_mint, anchor_spl::token_2022::ID),
    };
    let address = lever_sdk::pda::associated_token_account(user, &mint, &program);
    let account = cluster
        .account(&address)
        .await?
        .ok_or_else(|| anyhow!("token account {address} does not exist"))?;
    ops::token_account_amount(&account.data).ok_or_else(|| anyhow!("{address} is not a token account"))
}

fn print_preview(p: &ops::Preview) {
    println!(
        "{:?} on {}: pay {}, receive {} (at least {}), fee {}, price ${:.6}",
        p.flow, p.market, p.pay, p.receive, p.minimum, p.fee, p.price_usd
    );
}

pub fn rebalance(args: RebalanceArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let cluster = args.net.cluster();
        let payer = args.net.signer()?;
        let market = ops::load_market(&cluster, &args.market).await?;
        let config = KeeperConfig {
            markets: MarketSelection::Only(vec![args.market]),
            priority_fee_micro_lamports: args.with_compute_unit_price,
            log: LogSink::discard(),
            ..KeeperConfig::default()
        }
        .with_price_account(market.feed_id, ops::price_account_for(&market, args.price_update));
        let decision = Keeper::new(&cluster, payer, config).keep(&args.market).await;
        if args.net.json {
            println!("{}", decision.to_json());
        } else {
            println!(
                "{}: {}{}",
                decision.action.as_str(),
                decision.reason,
                decision.signature.map_or(String::new(), |s| format!(" ({s})"))
            );
        }
        Ok(match decision.action {
            Action::Failed => ExitCode::FAILURE,
            _ => ExitCode::SUCCESS,
        })
    })
}

pub fn pause(market: Pubkey, bits: u8, yes: bool, net: &Net) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let cluster = net.cluster();
        let authority = net.signer()?;
        let current = ops::load_market(&cluster, &market).await?;
        let names = |b: u8| {
            let n = ops::paused_names(b);
            if n.is_empty() {
                "nothing".to_string()
            } else {
                n.join(", ")
            }
        };
        if current.paused == bits {
            bail!("market {market} already has {} paused", names(bits));
        }
        let change = format!("paused: {} -> {}", names(current.paused), names(bits));
        if !net.json {
            println!("market {market}: {change}");
        }
        confirm("set these pause flags", yes)?;
        let done = ops::set_pause(&cluster, &authority, market, bits).await?;
        report_admin(net, &done, &[change])?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn pause_cmd(args: PauseArgs) -> Result<ExitCode> {
    let bits = ops::pause_bits(&args.only)?;
    pause(args.market, bits, args.confirm.yes, &args.net)
}

pub fn unpause_cmd(args: UnpauseArgs) -> Result<ExitCode> {
    pause(args.market, 0, args.confirm.yes, &args.net)
}

pub fn keeper(args: KeeperArgs) -> Result<ExitCode> {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        bail!("--interval must be a positive number of seconds");
    }
    runtime()?.block_on(async {
        let cluster = args.net.cluster();
        let payer = args.net.signer()?;
        let mut config = KeeperConfig {
            poll_interval: Duration::from_secs_f64(args.interval),
            priority_fee_micro_lamports: args.with_compute_unit_price,
            compute_unit_limit: args.compute_unit_limit,
            max_retries: args.max_retries,
            markets: if args.markets.is_empty() {
                MarketSelection::All
            } else {
                MarketSelection::Only(args.markets.clone())
            },
            sponsored_shard: Some(0),
            ..KeeperConfig::default()
        };
        for (feed, address) in &args.price_accounts {
            config = config.with_price_account(*feed, *address);
        }
        eprintln!(
            "keeper {} on {} every {}s; Ctrl-C stops it",
            payer.pubkey(),
            url_of(args.net.url.as_deref()),
            args.interval
        );
        let keeper = Keeper::new(&cluster, payer, config);
        let summary = keeper.run(keeper::shutdown_on_ctrl_c()).await;
        eprintln!(
            "stopped after {} passes ({} could not list the markets)",
            summary.passes, summary.failed_passes
        );
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_and_config() {
        assert_eq!(url_of(Some("d")), "https://api.devnet.solana.com");
        assert_eq!(
            url_of(Some("mainnet-beta")),
            "https://api.mainnet-beta.solana.com"
        );
        assert_eq!(url_of(Some("l")), "http://localhost:8899");
        assert_eq!(url_of(Some("http://10.0.0.1:8899")), "http://10.0.0.1:8899");
        let config = "---\njson_rpc_url: \"https://rpc.example\"\nwebsocket_url: ''\nkeypair_path: /home/me/.config/solana/id.json\ncommitment: confirmed\n";
        assert_eq!(
            parse_solana_config(config),
            (
                Some("https://rpc.example".to_string()),
                Some(PathBuf::from("/home/me/.config/solana/id.json"))
            )
        );
        assert_eq!(parse_solana_config("websocket_url: ''\n"), (None, None));
    }

    #[test]
    fn confirmation() {
        let ask = |answer: &str, yes: bool, interactive: bool| {
            let mut out = Vec::new();
            confirm_with("pause", yes, interactive, &mut answer.as_bytes(), &mut out)
                .map(|_| String::from_utf8(out).unwrap_or_default())
        };
        assert_eq!(ask("", true, false).ok(), Some(String::new()), "--yes never asks");
        assert_eq!(ask("y\n", false, true).ok(), Some("pause? [y/N] ".to_string()));
        assert!(ask("yes\n", false, true).is_ok());
        assert!(ask("n\n", false, true).is_err());
        assert!(ask("\n", false, true).is_err(), "the default is no");
        let refused = ask("y\n", false, false).expect_err("no terminal, no --yes");
        assert!(refused.to_string().contains("--yes"), "{refused}");
    }

    #[test]
    fn parameter_flags() {
        let flags = ParamFlags {
            band: Some("2%".into()),
            exposure_cap: Some("1000.5".into()),
            leverage: Some("5x".into()),
            ..ParamFlags::default()
        };
        let u = flags.update(6).expect("valid");
        assert_eq!(u.band_ppm, Some(20_000));
        assert_eq!(u.exposure_cap, Some(1_000_500_000));
        assert_eq!(u.target_leverage_ppm, Some(5_000_000));
        assert_eq!(u.mint_fee_ppm, None);
        let none = ParamFlags {
            exposure_cap: Some("none".into()),
            ..ParamFlags::default()
        };
        assert_eq!(none.update(6).expect("valid").exposure_cap, Some(u64::MAX));
        let bad = ParamFlags {
            band: Some("2.00000001%".into()),
            ..ParamFlags::default()
        };
        assert!(bad.update(6).is_err());
        assert!(parse_price_account("ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d=7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE").is_ok());
        assert!(parse_price_account("ef0d=7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE").is_err());
    }
}

/// `lever localnet`.
#[derive(Args, Debug)]
pub struct LocalnetArgs {
    /// Address to serve JSON-RPC on (`-u localhost` is 127.0.0.1:8899).
    #[arg(long, default_value = "127.0.0.1:8899")]
    pub bind: std::net::SocketAddr,
    /// Where to write the demo's keypairs (admin.json, pause-authority.json, user.json).
    #[arg(long, default_value = "target/localnet")]
    pub keypairs: PathBuf,
}

/// Serve the demo chain until Ctrl-C.
pub fn localnet(args: LocalnetArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let (node, demo) = lever_sdk::localnet::Localnet::demo(args.bind).await?;
        let files = demo
            .write_keypairs(&args.keypairs)
            .with_context(|| format!("write keypairs to {}", args.keypairs.display()))?;
        eprintln!(
            "Lever local node at {} (the program, SPL Token, Token-2022 and ATA in-process)",
            node.url()
        );
        eprintln!(
            "market {} (SOL 3x), Pyth SOL/USD account {} at ${:.2}",
            demo.market,
            demo.price_account,
            lever_sdk::pyth::scaled(demo.price.price, demo.price.exponent)
        );
        eprintln!("keypairs: admin {}", files.admin.display());
        eprintln!("          pause authority {}", files.pause_authority.display());
        eprintln!("          user {} (100 SOL of underlying)", files.user.display());
        eprintln!("try: lever status -u {}", node.url());
        eprintln!("Ctrl-C stops it");
        // The program runs natively in this process and prints its logs to stdout.
        let quiet = gag::Gag::stdout().ok();
        tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
        drop(quiet);
        node.stop().await?;
        eprintln!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
