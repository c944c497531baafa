//! `lever mint|redeem|fund|withdraw`: preview, confirm the minimum-out, send, report.

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
