//! `lever rebalance`: one market back into band now, if it is out (anyone may).

use super::*;
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use lever_sdk::cluster::{resolve_url, Cluster, RpcCluster};
use lever_cli::deploy::{self, DeployFile, Step};
use lever_keeper::{Action, Keeper, KeeperConfig, LogSink, MarketSelection};
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
