//! `lever`: the Lever command-line tool.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use lever_sdk::data;
use lever_sim::engine::DEFAULT_BAND;
use lever_sim::report::{self, ChartInfo};
use lever_sim::study::{self, format_nav, interval_label, Case};
use lever_sim::{self as sim, prices, ConfMode, SimConfig, Summary};

mod net;

#[derive(Parser)]
#[command(
    name = "lever",
    version,
    about = "Lever: leveraged tokens on Solana with no liquidation"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay a real price series through the program on an embedded chain and measure tracking
    /// against the ideal token and the peers.
    Sim(SimArgs),
    /// Sweep leverage, band and keeper interval over price series (runs `lever sim --json` per
    /// case) and print a Markdown table.
    Study(StudyArgs),
    /// Status of every market: NAV, leverage and band, utilization and funding rate, caps, the
    /// last price and its age, the oracle.
    Status(net::StatusArgs),
    /// List, show or update markets.
    #[command(subcommand)]
    Market(net::MarketCmd),
    /// Mint leveraged tokens: pay underlying, receive LT.
    Mint(net::UserArgs),
    /// Redeem leveraged tokens: burn LT, receive underlying.
    Redeem(net::UserArgs),
    /// Fund the market: deposit underlying into the funding pool, receive FT.
    Fund(net::UserArgs),
    /// Withdraw from the funding pool: burn FT, receive underlying.
    Withdraw(net::UserArgs),
    /// Rebalance one market now, if it is out of band (anyone may; the program checks).
    Rebalance(net::RebalanceArgs),
    /// Pause operations on a market (admin, or the pause authority, which may only add pauses).
    Pause(net::PauseArgs),
    /// Resume every operation on a market (admin).
    Unpause(net::UnpauseArgs),
    /// Watch every market and rebalance those out of band, until Ctrl-C. Logs one JSON line per
    /// decision.
    Keeper(net::KeeperArgs),
    /// Create or update the config and markets from a declarative file (admin): prints the plan,
    /// asks, applies; running it again changes nothing.
    Deploy(net::DeployArgs),
    /// Serve a demo chain over JSON-RPC (the real program in-process, one SOL 3x market, funded
    /// keypairs) for trying the commands above offline: `lever status -u localhost`.
    Localnet(net::LocalnetArgs),
}

/// Market and run settings shared by `sim` and `study`.
#[derive(Args, Clone)]
struct CostArgs {
    /// Funding curve: annual rate at zero utilization.
    #[arg(long, default_value_t = SimConfig::default().funding_base)]
    funding_rate: f64,
    /// Funding curve: utilization where the steep slope starts.
    #[arg(long, default_value_t = SimConfig::default().funding_kink)]
    funding_kink: f64,
    /// Funding curve: rate added from zero utilization up to the kink.
    #[arg(long, default_value_t = SimConfig::default().funding_slope1)]
    funding_slope1: f64,
    /// Funding curve: rate added from the kink up to full utilization.
    #[arg(long, default_value_t = SimConfig::default().funding_slope2)]
    funding_slope2: f64,
    /// LT mint fee (fraction).
    #[arg(long, default_value_t = SimConfig::default().mint_fee)]
    mint_fee: f64,
    /// LT redeem fee (fraction).
    #[arg(long, default_value_t = SimConfig::default().redeem_fee)]
    redeem_fee: f64,
    /// Funding deposit fee (fraction).
    #[arg(long, default_value_t = SimConfig::default().deposit_fee)]
    deposit_fee: f64,
    /// Funding withdrawal fee (fraction).
    #[arg(long, default_value_t = SimConfig::default().withdraw_fee)]
    withdraw_fee: f64,
    /// Funding and fees zero (for like-for-like tracking); the ideal then has no costs either.
    #[arg(long)]
    no_costs: bool,
    /// Price confidence: a fraction of the close, or `bar` (half the bar's high-low range scaled to
    /// one minute). Default: 0.0005.
    #[arg(long)]
    conf: Option<String>,
    /// The market's confidence limit (conf / price).
    #[arg(long, default_value_t = SimConfig::default().max_conf)]
    max_conf: f64,
    /// Peers' trading cost per unit of notional they trade (Lever's rebalances do not trade).
    #[arg(long, default_value_t = SimConfig::default().peer_cost)]
    peer_cost: f64,
    /// The LT holder's opening deposit in USD.
    #[arg(long, default_value_t = SimConfig::default().deposit_usd)]
    deposit_usd: f64,
    /// Utilization the funding provider steers to.
    #[arg(long, default_value_t = SimConfig::default().utilization_target)]
    utilization_target: f64,
    /// Seeded random users replaying mints, redeems, deposits and withdrawals.
    #[arg(long, default_value_t = SimConfig::default().users)]
    users: u32,
    /// Seed of the random users.
    #[arg(long, default_value_t = SimConfig::default().seed)]
    seed: u64,
}

#[derive(Args)]
struct SimArgs {
    /// CSV with a header: a time column (`timestamp`, `time`, `date`, `open_time` or `timestamp_ms`:
    /// `YYYY-MM-DD HH:MM:SS` UTC, unix seconds, milliseconds or microseconds) and a `close` column
    /// (optionally `open`, `high`, `low`), or a headerless Binance kline file. Default: the shared
    /// SOL/USDT hourly series (prices/binance_spot_SOLUSDT_1h_2020-08_2026-01.csv in the data
    /// directory).
    #[arg(long)]
    prices: Option<PathBuf>,
    /// The shared data directory (default: $LEVER_DATA, else ../shared/data beside the repository).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Asset label for token names and titles.
    #[arg(long, default_value = "SOL")]
    asset: String,
    /// Target leverage (2 to 10).
    #[arg(long, default_value_t = SimConfig::default().leverage)]
    leverage: f64,
    /// Rebalance band as a fraction of L.
    #[arg(long, default_value_t = DEFAULT_BAND)]
    band: f64,
    /// Seconds between keeper checks (0 = every bar).
    #[arg(long, default_value_t = SimConfig::default().keeper_interval)]
    keeper_interval: i64,
    #[command(flatten)]
    costs: CostArgs,
    /// Write bars.csv (one row per bar) and chart.svg here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    attack: AttackArgs,
}

/// The adversaries `lever sim --attacker` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum AttackerKind {
    /// Knows every Pyth update first, on a chain whose clock lags: stale-update instant round
    /// trips and two-step requests (see lever_sim::attack).
    Latency,
}

/// `lever sim --attacker latency`: the series replayed as Pyth updates (4 per bar by default) with
/// an attacker; the market's instant and two-step parameters default to migrations/markets.toml's
/// (instant path off at every leverage; settle delay 10 s). `--instant-age` turns it on to measure.
#[derive(Args)]
struct AttackArgs {
    /// Run an adversary instead of the tracking replay.
    #[arg(long, value_enum)]
    attacker: Option<AttackerKind>,
    /// Seconds the chain's clock lags real time.
    #[arg(long, default_value_t = 3)]
    clock_lag: i64,
    /// Instant fee (fraction). Default: 0.003 once --instant-age turns the path on.
    #[arg(long)]
    instant_fee: Option<f64>,
    /// Largest age of an instant update in seconds (0: instant path off, the deployed default).
    #[arg(long)]
    instant_age: Option<u64>,
    /// Seconds from a request to its settlement target.
    #[arg(long)]
    settle_delay: Option<u64>,
    /// Pyth updates per bar (4, or a multiple of 4 dividing the bar's seconds).
    #[arg(long, default_value_t = 4)]
    updates_per_bar: usize,
    /// Each attacker's capital in USD.
    #[arg(long, default_value_t = 100_000.0)]
    attacker_capital: f64,
    /// Confidence / price of the replayed updates.
    #[arg(long, default_value_t = sim::attack::DEFAULT_CONF_RATIO)]
    update_conf: f64,
    /// The two-step attacker bets on momentum only after a close-to-close move of at least this
    /// (fraction; `inf` switches the bets off, e.g. to time an instant-only sweep).
    #[arg(long, default_value_t = 0.001)]
    momentum_threshold: f64,
}

#[derive(Args)]
struct StudyArgs {
    /// Price series to sweep (repeatable). Default: the bundled SOL and WIF hourly series.
    #[arg(long)]
    prices: Vec<PathBuf>,
    /// The shared data directory for the default series (see `lever sim --data`).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Asset labels, one per --prices (default: SOL and WIF).
    #[arg(long)]
    asset: Vec<String>,
    /// Target leverages.
    #[arg(long, value_delimiter = ',', default_value = "3,5,10")]
    leverage: Vec<f64>,
    /// Bands (fractions of L).
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.02,0.05,0.1,0.2")]
    band: Vec<f64>,
    /// Keeper intervals in seconds (0 = every bar).
    #[arg(long, value_delimiter = ',', default_value = "0,14400,86400")]
    keeper_interval: Vec<i64>,
    /// Simulations run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Extra arguments passed to every `lever sim` (after `--`).
    #[arg(last = true)]
    extra: Vec<String>,
}

fn config(c: &CostArgs, asset: &str, leverage: f64, band: f64, keeper_interval: i64) -> Result<SimConfig> {
    let conf = match c.conf.as_deref() {
        None => SimConfig::default().conf,
        Some("bar") => ConfMode::Bar,
        Some(ratio) => ConfMode::Ratio(
            ratio
                .parse()
                .with_context(|| format!("--conf: expected a fraction or `bar`, got {ratio:?}"))?,
        ),
    };
    Ok(SimConfig {
        asset: asset.to_string(),
        leverage,
        band,
        keeper_interval,
        funding_base: c.funding_rate,
        funding_kink: c.funding_kink,
        funding_slope1: c.funding_slope1,
        funding_slope2: c.funding_slope2,
        mint_fee: c.mint_fee,
        redeem_fee: c.redeem_fee,
        deposit_fee: c.deposit_fee,
        withdraw_fee: c.withdraw_fee,
        no_costs: c.no_costs,
        conf,
        max_conf: c.max_conf,
        users: c.users,
        seed: c.seed,
        peer_cost: c.peer_cost,
        deposit_usd: c.deposit_usd,
        utilization_target: c.utilization_target,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Cmd::Sim(args) => cmd_sim(args),
        Cmd::Study(args) => cmd_study(args),
        Cmd::Status(args) => net::status(args),
        Cmd::Market(cmd) => net::market(cmd),
        Cmd::Mint(args) => net::user(lever_sdk::ops::Flow::Mint, args),
        Cmd::Redeem(args) => net::user(lever_sdk::ops::Flow::Redeem, args),
        Cmd::Fund(args) => net::user(lever_sdk::ops::Flow::Deposit, args),
        Cmd::Withdraw(args) => net::user(lever_sdk::ops::Flow::Withdraw, args),
        Cmd::Rebalance(args) => net::rebalance(args),
        Cmd::Pause(args) => net::pause_cmd(args),
        Cmd::Unpause(args) => net::unpause_cmd(args),
        Cmd::Keeper(args) => net::keeper(args),
        Cmd::Deploy(args) => net::deploy_cmd(args),
        Cmd::Localnet(args) => net::localnet(args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_sim(args: SimArgs) -> Result<ExitCode> {
    let path = match &args.prices {
        Some(path) => path.clone(),
        None => data::data_file(args.data.as_deref(), data::files::SOL_USDT_1H)?,
    };
    let series = prices::load(&path)?;
    let cfg = config(
        &args.costs,
        &args.asset,
        args.leverage,
        args.band,
        args.keeper_interval,
    )?;
    if let Some(AttackerKind::Latency) = args.attack.attacker {
        return cmd_attack(&args, &series, cfg);
    }
    let progress = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(series.bars.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} bars {per_sec} eta {eta}") {
            bar.set_style(style);
        }
        bar
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    // In native mode the program's logs (`msg!`, Anchor's error reports) print to stdout; keep
    // them out of the table and the JSON.
    let quiet = gag::Gag::stdout().ok();
    let out = runtime.block_on(sim::run(&series, &cfg, progress.as_ref(), args.out.is_some()));
    drop(quiet);
    let out = out?;
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        report::write_csv(&dir.join("bars.csv"), &out.records)?;
        let info = ChartInfo {
            title: format!(
                "{} {}x, band ±{}% of L, keeper {}: LT NAV against the ideal and the underlying",
                cfg.asset,
                out.summary.leverage,
                out.summary.band * 100.0,
                interval_label(cfg.keeper_interval)
            ),
            target_leverage: out.summary.leverage,
            band: out.summary.band,
        };
        report::write_chart(&dir.join("chart.svg"), &info, &out.records)?;
    }
    let s = &out.summary;
    if args.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        print_table(s, args.out.as_deref());
    }
    if s.conservation_violations > 0 {
        eprintln!("error: {} conservation violations", s.conservation_violations);
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// `lever sim --attacker latency`: the attack replay and its counterfactual.
fn cmd_attack(args: &SimArgs, series: &prices::Series, base: SimConfig) -> Result<ExitCode> {
    let a = &args.attack;
    let mut cfg = sim::attack::AttackConfig::deployed(base);
    cfg.clock_lag_secs = a.clock_lag;
    if let Some(age) = a.instant_age {
        cfg.instant_max_age_secs = age;
        if age > 0 {
            cfg.instant_fee = 0.003;
        }
    }
    if let Some(fee) = a.instant_fee {
        cfg.instant_fee = fee;
    }
    if let Some(delay) = a.settle_delay {
        cfg.settle_delay_secs = delay;
    }
    cfg.updates_per_bar = a.updates_per_bar;
    cfg.capital_usd = a.attacker_capital;
    cfg.conf_ratio = a.update_conf;
    cfg.momentum_threshold = a.momentum_threshold;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    // The program's logs print to stdout in native mode: keep them out of the output.
    let quiet = gag::Gag::stdout().ok();
    let out = runtime.block_on(sim::attack::run(series, &cfg));
    drop(quiet);
    let s = out?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    let row = |k: &str, v: String| println!("  {k:<30} {v}");
    let at = &s.attacker;
    println!("Lever latency attack: {}", s.prices);
    row(
        "series",
        format!(
            "{} bars, {} updates ({} per bar), {} to {} UTC, underlying {:+.2}%",
            s.bars,
            s.updates,
            s.updates_per_bar,
            s.start,
            s.end,
            s.underlying_return * 100.0
        ),
    );
    row(
        "market",
        format!(
            "{}x, clock lag {} s, settle delay {} s, conf {:.3}%",
            s.leverage,
            s.clock_lag_secs,
            s.settle_delay_secs,
            s.conf_ratio * 100.0
        ),
    );
    let i = &s.instant;
    row(
        "instant path",
        if i.on {
            format!(
                "on: age {} s, fee {:.3}% (floor {:.3}%), conf up to {:.2}%",
                i.max_age_secs,
                i.fee * 100.0,
                i.fee_floor * 100.0,
                i.max_conf * 100.0
            )
        } else {
            "off".into()
        },
    );
    row(
        "instant attacker",
        format!(
            "{:+.2} USD over {} round trips (best {:.2})",
            at.instant_pnl_usd, at.round_trips.instant, at.instant_best_usd
        ),
    );
    row(
        "two-step attacker",
        format!(
            "{:+.2} USD over {} round trips ({} won, {} refunds, tips {:.4} USD)",
            at.two_step_pnl_usd,
            at.round_trips.two_step,
            at.two_step_winning_round_trips,
            at.two_step_refunds,
            at.two_step_tips_usd
        ),
    );
    row(
        "honest LT holder lost",
        format!(
            "{:+.2} USD (final {:.2} vs {:.2} without the attacker)",
            at.honest_lt_loss_usd, at.honest_lt_usd, at.honest_lt_usd_without_attacker
        ),
    );
    row(
        "honest LP lost",
        format!(
            "{:+.2} USD (final {:.2} vs {:.2} without the attacker)",
            at.honest_ft_loss_usd, at.honest_ft_usd, at.honest_ft_usd_without_attacker
        ),
    );
    row(
        "keeper rebalances",
        format!("{} ({} transactions)", s.keeper_rebalances, s.transactions),
    );
    row("wall time", format!("{:.1} s", s.wall_seconds));
    Ok(ExitCode::SUCCESS)
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

fn print_table(s: &Summary, out: Option<&std::path::Path>) {
    let row = |k: &str, v: String| println!("  {k:<28} {v}");
    println!("Lever simulation: {}", s.prices);
    row("bars", format!("{} ({} to {} UTC)", s.bars, s.start, s.end));
    row("gaps", format!("{} ({} missing bars)", s.gaps, s.missing_bars));
    row(
        "market",
        format!(
            "{}x, band ±{}% of L, keeper {}{}",
            s.leverage,
            s.band * 100.0,
            interval_label(s.keeper_interval),
            if s.no_costs { ", no costs" } else { "" }
        ),
    );
    row(
        "underlying return",
        format!("{:+.2}%", s.underlying_return * 100.0),
    );
    row("LT NAV (start = 1)", format_nav(s.final_lt_nav));
    row("ideal NAV (every bar at L)", format_nav(s.ideal_lt_nav));
    row("closed form (no costs)", format_nav(s.closed_form_lt_nav));
    row("tracking, ln(LT / ideal)", opt(s.tracking_error_log, 6));
    row("max |ln(LT / ideal)|", format!("{:.6}", s.max_abs_tracking_log));
    row(
        "rebalances",
        format!("{} ({} by the keeper)", s.rebalances, s.keeper_rebalances),
    );
    row(
        "leverage range",
        format!("{} to {}", opt(s.min_leverage, 3), opt(s.max_leverage, 3)),
    );
    row("LT wipe-outs", s.lt_wipeouts.to_string());
    row("funding interest (USD)", format!("{:.2}", s.funding_interest_usd));
    row("funding bad debt (USD)", format!("{:.2}", s.funding_bad_debt_usd));
    row("FT NAV in USD (start = 1)", format_nav(s.final_ft_nav));
    row(
        "transactions",
        format!(
            "{} (users {} of which {} refused, funding provider {})",
            s.transactions, s.user_actions, s.user_refusals, s.provider_actions
        ),
    );
    let l = &s.landed;
    row(
        "landed",
        format!(
            "mint_lt {}, redeem_lt {}, deposit_funding {}, withdraw_funding {}, rebalance {}, reopen_market {}",
            l.mint_lt, l.redeem_lt, l.deposit_funding, l.withdraw_funding, l.rebalance, l.reopen_market
        ),
    );
    row("conservation violations", s.conservation_violations.to_string());
    row(
        "wall time",
        format!("{:.1} s ({:.0} bars/s)", s.wall_seconds, s.bars_per_second),
    );
    println!();
    println!(
        "  {:<8} {:>12} {:>12} {:>11} {:>10} {:>7}  rule",
        "peer", "final NAV", "tracking ln", "rebalances", "traded", "wiped"
    );
    for p in &s.peers {
        println!(
            "  {:<8} {:>12} {:>12} {:>11} {:>10.2} {:>7}  {}",
            p.name,
            format_nav(p.final_nav),
            opt(p.tracking_error_log, 6),
            p.rebalances,
            p.traded_notional,
            p.wiped,
            p.rule
        );
    }
    if let Some(dir) = out {
        println!();
        println!(
            "  wrote {} and {}",
            dir.join("bars.csv").display(),
            dir.join("chart.svg").display()
        );
    }
}

fn cmd_study(args: StudyArgs) -> Result<ExitCode> {
    let (files, assets) = if args.prices.is_empty() {
        (
            vec![
                data::data_file(args.data.as_deref(), data::files::SOL_USDT_1H)?,
                data::data_file(args.data.as_deref(), data::files::WIF_USDT_1H)?,
            ],
            vec!["SOL".to_string(), "WIF".to_string()],
        )
    } else {
        let assets = if args.asset.is_empty() {
            args.prices.iter().map(|_| "X".to_string()).collect()
        } else {
            args.asset.clone()
        };
        (args.prices.clone(), assets)
    };
    if files.len() != assets.len() {
        bail!("give one --asset per --prices");
    }
    let mut cases = Vec::new();
    for (prices, asset) in files.iter().zip(&assets) {
        for &leverage in &args.leverage {
            for &keeper_interval in &args.keeper_interval {
                for &band in &args.band {
                    cases.push(Case {
                        prices: prices.clone(),
                        asset: asset.clone(),
                        leverage,
                        band,
                        keeper_interval,
                    });
                }
            }
        }
    }
    let exe = std::env::current_exe().context("locate the lever binary")?;
    let total = cases.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = study::run(&exe, &cases, &args.extra, args.jobs, |_| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        eprint!("\r{n}/{total} cases");
    })?;
    eprintln!();
    print!("{}", study::markdown(&cases, &results));
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        eprintln!("error: {failed} of {total} cases failed (see their rows)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
