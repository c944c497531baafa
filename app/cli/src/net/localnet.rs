//! `lever localnet`: a JSON-RPC node over the embedded chain with a demo market.

use super::*;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// `lever localnet`.
#[derive(Args, Debug)]
pub struct LocalnetArgs {
    /// Address to serve JSON-RPC on (`-u localhost` is 127.0.0.1:8899).
    #[arg(long, default_value = "127.0.0.1:8899")]
    pub bind: std::net::SocketAddr,
    /// Where to write the demo's keypairs (admin.json, pause-authority.json, user.json).
    #[arg(long, default_value = "target/localnet")]
    pub keypairs: PathBuf,
    /// Serve the web app's static build from this folder on the RPC address (open the URL in a
    /// browser); by default `app/web/dist` when it exists (`cd app/web && npm ci && npm run build`).
    #[arg(long)]
    pub web: Option<PathBuf>,
}

/// Serve the demo chain until Ctrl-C.
pub fn localnet(args: LocalnetArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let web = args
            .web
            .clone()
            .or_else(|| Some(PathBuf::from("app/web/dist")).filter(|d| d.join("index.html").is_file()));
        let options = lever_testkit::localnet::LocalnetOptions {
            web_root: web.clone(),
            ..Default::default()
        };
        let (node, demo) = lever_testkit::localnet::Localnet::demo_with(args.bind, options).await?;
        let files = demo
            .write_keypairs(&args.keypairs)
            .with_context(|| format!("write keypairs to {}", args.keypairs.display()))?;
        let info = args.keypairs.join("localnet.json");
        let text = serde_json::to_string_pretty(&demo.info(&node.url(), node.ws_url().as_deref()))?;
        std::fs::write(&info, text).with_context(|| format!("write {}", info.display()))?;
        eprintln!(
            "Lever local node at {} (the program, SPL Token, Token-2022 and ATA in-process)",
            node.url()
        );
        if let Some(ws) = node.ws_url() {
            eprintln!("websocket (pubsub) at {ws}");
        }
        eprintln!(
            "market {} (SOL 3x), Pyth SOL/USD account {} at ${:.2}",
            demo.market,
            demo.price_account,
            lever_sdk::pyth::scaled(demo.price.price, demo.price.exponent)
        );
        eprintln!("keypairs: admin {}", files.admin.display());
        eprintln!("          pause authority {}", files.pause_authority.display());
        eprintln!("          user {} (100 SOL of underlying)", files.user.display());
        eprintln!("addresses: {}", info.display());
        eprintln!(
            "move the price or the clock: lever_setPrice [usd] / lever_advanceClock [seconds] (JSON-RPC)"
        );
        match &web {
            Some(dir) => eprintln!("web app at {}/ (from {})", node.url(), dir.display()),
            None => eprintln!("no web app (build it: cd app/web && npm ci && npm run build)"),
        }
        eprintln!("fund any wallet: lever_faucet [address] (JSON-RPC; 10 SOL and 100 of the underlying)");
        eprintln!("try: lever status -u {}", node.url());
        eprintln!("Ctrl-C stops it");
        // The program runs natively in this process and prints its logs to stdout.
        let quiet = gag::Gag::stdout().ok();
        tokio::signal::ctrl_c().await.context("wait for Ctrl-C")?;
        drop(quiet);
        node.stop().await?;
        eprintln!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
