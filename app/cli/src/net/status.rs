//! `lever status`: every market's NAV, leverage and band, utilization, funding, caps and oracle.

use super::*;
use anchor_lang::prelude::Pubkey;
use anyhow::Result;
use lever_sdk::ops::{self, MarketStatus};
use std::collections::HashMap;
use std::process::ExitCode;

pub(super) fn print_status(s: &MarketStatus) {
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
    if s.underlying_freezable {
        println!("  freezable    the underlying's issuer holds a freeze authority (accepted at creation): it can freeze the vault");
    }
    if s.wiped {
        println!("  WIPED: the leveraged pool was wiped out; reopen_market once every LT is burned, or start_lt_epoch (a fresh LT mint)");
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
