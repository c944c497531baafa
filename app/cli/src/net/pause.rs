//! `lever pause|unpause`: set or clear a market's pause bits, with confirmation.

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
