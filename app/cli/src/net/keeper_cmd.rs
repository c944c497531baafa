//! `lever keeper`: run the keeper against a cluster until Ctrl-C.

use super::*;
use anyhow::{bail, Result};
use lever_keeper::{Keeper, KeeperConfig, MarketSelection};
use lever_sdk::hermes::HermesClient;
use std::process::ExitCode;
use std::time::Duration;

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
            hermes: match &args.hermes {
                Some(url) if !args.no_hermes => Some(
                    HermesClient::new(url, args.hermes_headers.clone(), Duration::from_secs(10))
                        .map_err(|e| anyhow::anyhow!("--hermes: {e}"))?,
                ),
                _ => None,
            },
            ..KeeperConfig::default()
        };
        for (feed, address) in &args.price_accounts {
            config = config.with_price_account(*feed, *address);
        }
        eprintln!(
            "keeper {} on {} every {}s, covering updates from {}; Ctrl-C stops it",
            payer.pubkey(),
            url_of(args.net.url.as_deref()),
            args.interval,
            config
                .hermes
                .as_ref()
                .map_or("known accounts only", |h| h.base_url())
        );
        let keeper = Keeper::new(&cluster, payer, config);
        let summary = keeper.run(lever_keeper::shutdown_on_ctrl_c()).await;
        eprintln!(
            "stopped after {} passes ({} could not list the markets)",
            summary.passes, summary.failed_passes
        );
        Ok(ExitCode::SUCCESS)
    })
}
