//! `lever mint|redeem|fund|withdraw`: preview, confirm the minimum-out, send, report. Two-step by
//! default (request, then wait for a keeper's settlement); `--instant` for one transaction.

use super::*;
use anchor_lang::prelude::Pubkey;
use lever_sdk::cluster::Cluster;
use lever_sdk::lever::state::Market;
use lever_sdk::ops::{self, Flow, SendOptions};
use lever_sdk::units::{parse_ppm, parse_units};
use std::process::ExitCode;

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
            instant: args.instant,
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
        if args.instant {
            let done = ops::execute(&cluster, &user, &prepared).await?;
            if args.net.json {
                print_json(&done)?;
            } else {
                println!("received {}: {}", done.received, done.signature);
            }
            return Ok(ExitCode::SUCCESS);
        }
        let requested = ops::request(&cluster, &user, &prepared).await?;
        if !args.net.json {
            println!(
                "requested {} ({}): settles at the first Pyth update published at or after {} (tip {} lamports); cancelled after {}",
                requested.request, requested.signature, requested.tau, requested.tip_lamports, requested.expires_at
            );
        }
        if args.no_wait {
            if args.net.json {
                print_json(&requested)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        let status = wait_settled(&cluster, &requested, !args.net.json).await?;
        if args.net.json {
            print_json(&serde_json::json!({ "request": requested, "outcome": status }))?;
        } else {
            match &status {
                ops::RequestStatus::Filled { received, .. } => println!("settled: received {received}"),
                ops::RequestStatus::Returned { amount } => println!(
                    "not filled: {} returned (refunded at the price at tau, or cancelled after expiry)",
                    lever_sdk::units::format_units(*amount, market.decimals)
                ),
                ops::RequestStatus::Open { .. } => println!("still open"),
            }
        }
        Ok(match status {
            ops::RequestStatus::Filled { .. } => ExitCode::SUCCESS,
            _ => ExitCode::from(3),
        })
    })
}

/// Poll the request once a second until it closes (a keeper settled or cancelled it), showing the
/// wait; gives up a minute after its expiry (the request stays safe: anyone may cancel it then).
async fn wait_settled(
    cluster: &impl Cluster,
    requested: &ops::Requested,
    progress: bool,
) -> Result<ops::RequestStatus> {
    loop {
        let status = ops::request_status(cluster, requested).await?;
        match status {
            ops::RequestStatus::Open { now, tau, expires_at } => {
                if now > expires_at + 60 {
                    return Ok(status);
                }
                if progress {
                    let phase = if now < tau {
                        format!("target in {} s", tau - now)
                    } else {
                        format!("waiting for a keeper to settle ({} s left)", expires_at - now)
                    };
                    eprint!("\r{phase}                    ");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            done => {
                if progress {
                    eprintln!();
                }
                return Ok(done);
            }
        }
    }
}

pub(super) async fn balance_in(
    cluster: &impl Cluster,
    user: &Pubkey,
    market: &Market,
    flow: Flow,
) -> Result<u64> {
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
    lever_sdk::accounts::token_account_amount(&account.data)
        .ok_or_else(|| anyhow!("{address} is not a token account"))
}

pub(super) fn print_preview(p: &ops::Preview) {
    println!(
        "{:?} on {}: pay {}, receive {} (at least {}), fee {}, price ${:.6}",
        p.flow, p.market, p.pay, p.receive, p.minimum, p.fee, p.price_usd
    );
}
