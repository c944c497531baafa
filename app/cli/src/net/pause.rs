//! `lever pause|unpause`: set or clear a market's pause bits, with confirmation.

use super::*;
use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Result};
use lever_sdk::ops::{self};
use std::process::ExitCode;

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
