//! `lever market list|show|create|update|metadata` and `lever deploy`: read markets, plan and apply deployment files.

use super::*;
use anyhow::{anyhow, bail, Result};
use clap::Args;
use lever_cli::deploy::{self, DeployFile, Step};
use lever_sdk::cluster::Cluster;
use lever_sdk::lever::instructions::UpdateShareMetadataArgs;
use lever_sdk::lever::state::{Market, ShareKind, UpdateMarketParams};
use lever_sdk::ops::{self};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
        MarketCmd::Metadata {
            market,
            share,
            name,
            symbol,
            uri,
            confirm: c,
            net,
        } => rt.block_on(async {
            let cluster = net.cluster();
            let admin = net.signer()?;
            let share = if share == "lt" {
                ShareKind::Lt
            } else {
                ShareKind::Ft
            };
            let current = ops::share_metadata(&cluster, &market, share).await?;
            let args = UpdateShareMetadataArgs {
                share,
                name,
                symbol,
                uri,
            };
            let changes: Vec<String> = current
                .changes(&args)
                .into_iter()
                .map(|(field, old, new)| format!("{field}: {old:?} -> {new:?}"))
                .collect();
            if changes.is_empty() {
                bail!("nothing to update: give a --name, --symbol or --uri that differs from the token's");
            }
            if !net.json {
                println!(
                    "market {market}, {} token:",
                    if share == ShareKind::Lt { "LT" } else { "FT" }
                );
                for line in &changes {
                    println!("  {line}");
                }
            }
            confirm("update this token metadata", c.yes)?;
            let done = ops::update_share_metadata(&cluster, &admin, market, args).await?;
            report_admin(&net, &done, &changes)
        })?,
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
pub(super) async fn create_market(
    file: &Path,
    name: Option<&str>,
    dry_run: bool,
    yes: bool,
    net: &Net,
) -> Result<()> {
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

pub(super) fn show_plan(plan: &deploy::Plan, json: bool) {
    if json {
        println!("{}", plan.to_json());
    } else {
        println!("{plan}");
    }
}

pub(super) fn report_applied(applied: &[deploy::Applied], json: bool) -> Result<()> {
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
pub(super) fn describe_update(market: &Market, update: &UpdateMarketParams) -> Vec<String> {
    let before = market.params();
    let (_, changes) = deploy::diff_params(&before, &before.apply(update), market.decimals);
    changes
        .iter()
        .map(|c| format!("{}: {} -> {}", c.field, c.from, c.to))
        .collect()
}

#[derive(Serialize)]
pub(super) struct AdminReport<'a> {
    pub(super) signature: &'a str,
    pub(super) action: &'a str,
    pub(super) changes: &'a [String],
}

pub(super) fn report_admin(net: &Net, done: &ops::AdminDone, changes: &[String]) -> Result<()> {
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
