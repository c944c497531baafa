//! `lever rebalance`: one market back into band now, if it is out (anyone may).

use super::*;
use anyhow::Result;
use lever_keeper::{Action, Keeper, KeeperConfig, LogSink, MarketSelection};
use lever_sdk::ops::{self};
use std::process::ExitCode;

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
