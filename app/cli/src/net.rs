//! The subcommands that talk to a cluster: market operations, the user instructions, `status`,
//! `rebalance`, `pause`, `keeper`. Each is a thin shell over `lever_sdk::ops` / `keeper` /
//! `deploy`, which are tested on the embedded chain; this file parses arguments, asks for
//! confirmation and prints.
//!
//! Conventions follow the Solana CLI: `--url/-u` takes a URL or a moniker (`mainnet-beta`,
//! `devnet`, `testnet`, `localhost`, or their first letter), `--keypair/-k` a keypair file, both
//! defaulting to the Solana CLI's config file; `--json` prints machine output.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use lever_keeper::KeeperConfig;
use lever_sdk::cluster::{resolve_url, RpcCluster};
use lever_sdk::lever::state::UpdateMarketParams;
use lever_sdk::pyth::feed_id_from_hex;
use lever_sdk::units::{parse_ppm, parse_units};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_rpc_client::api::config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer as _;

use anchor_lang::prelude::Pubkey;

mod markets;
pub use markets::*;
mod status;
pub use status::*;
mod user_ops;
pub use user_ops::*;
mod rebalance;
pub use rebalance::*;
mod pause;
pub use pause::*;
mod keeper_cmd;
pub use keeper_cmd::*;
mod localnet;
pub use localnet::*;

/// Where to connect and who signs.
#[derive(Args, Clone, Debug)]
pub struct Net {
    /// JSON-RPC URL or moniker: mainnet-beta, devnet, testnet, localhost (or m, d, t, l).
    /// Default: `json_rpc_url` of the Solana CLI config, else localhost.
    #[arg(short = 'u', long = "url", value_name = "URL_OR_MONIKER")]
    pub url: Option<String>,
    /// Keypair file that signs and pays. Default: `keypair_path` of the Solana CLI config, else
    /// ~/.config/solana/id.json.
    #[arg(short = 'k', long = "keypair", value_name = "KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// Commitment to read and confirm at.
    #[arg(long, default_value = "confirmed", value_parser = ["processed", "confirmed", "finalized"])]
    pub commitment: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Admin confirmation.
#[derive(Args, Clone, Debug)]
pub struct Confirm {
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Subcommand)]
pub enum MarketCmd {
    /// Every market of the program, one line each.
    List {
        #[command(flatten)]
        net: Net,
    },
    /// One market in full: parameters, books, NAVs, oracle.
    Show {
        market: Pubkey,
        /// Price account to read (default: Pyth's sponsored account for the market's feed).
        #[arg(long)]
        price_update: Option<Pubkey>,
        #[command(flatten)]
        net: Net,
    },
    /// Create one market described in a deploy file (admin): the `[[market]]` entry named by
    /// --name (or the file's only one). Refuses if it exists; `lever deploy` updates.
    Create {
        /// A deploy file (see migrations/markets.toml).
        file: PathBuf,
        /// The entry's `name` (needed when the file has several markets).
        #[arg(long)]
        name: Option<String>,
        /// Print the plan and send nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        net: Net,
    },
    /// Change the name, symbol or uri of the market's LT or FT token (admin). Only the flags
    /// given change; the program holds them to create_market's limits.
    Metadata {
        market: Pubkey,
        /// Which token: `lt` (the market's current LT mint) or `ft`.
        #[arg(long, value_parser = ["lt", "ft"])]
        share: String,
        /// New name, e.g. "SOL 4x Long" (at most 32 bytes).
        #[arg(long)]
        name: Option<String>,
        /// New symbol, e.g. SOL4X (at most 10 bytes).
        #[arg(long)]
        symbol: Option<String>,
        /// New uri (at most 200 bytes; "" empties it).
        #[arg(long)]
        uri: Option<String>,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        net: Net,
    },
    /// Change parameters (admin). Only the flags given change; the program checks them against
    /// the config's bounds.
    Update {
        market: Pubkey,
        #[command(flatten)]
        params: Box<ParamFlags>,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        net: Net,
    },
}

/// Market parameters as flags. Ratios: "2%", "30bps" or a fraction ("0.02"); leverage "3x".
#[derive(Args, Clone, Debug, Default)]
pub struct ParamFlags {
    /// Target leverage, e.g. 3x.
    #[arg(long)]
    pub leverage: Option<String>,
    /// Band half-width as a fraction of the target, e.g. 2%.
    #[arg(long)]
    pub band: Option<String>,
    #[arg(long)]
    pub mint_fee: Option<String>,
    #[arg(long)]
    pub redeem_fee: Option<String>,
    #[arg(long)]
    pub deposit_fee: Option<String>,
    #[arg(long)]
    pub withdraw_fee: Option<String>,
    /// Seconds.
    #[arg(long)]
    pub max_price_age: Option<u64>,
    /// Largest accepted conf / price.
    #[arg(long)]
    pub max_conf: Option<String>,
    /// Multiplier of the confidence interval used for conversions, e.g. 1x.
    #[arg(long)]
    pub conf_multiplier: Option<String>,
    /// Largest exposure after a mint, in whole underlying tokens, or `none`.
    #[arg(long)]
    pub exposure_cap: Option<String>,
    #[arg(long)]
    pub max_utilization: Option<String>,
    /// Funding curve: annual rate at zero utilization.
    #[arg(long)]
    pub base_rate: Option<String>,
    /// Funding curve: utilization where the second slope starts.
    #[arg(long)]
    pub kink: Option<String>,
    #[arg(long)]
    pub slope1: Option<String>,
    #[arg(long)]
    pub slope2: Option<String>,
    /// Seconds from a request to its settlement target time `tau`.
    #[arg(long)]
    pub settle_delay: Option<u64>,
    /// Seconds after `tau` a request may still settle (then anyone may cancel it).
    #[arg(long)]
    pub settle_window: Option<u64>,
    /// Smallest settlement tip a request must prepay, in lamports.
    #[arg(long)]
    pub min_settle_tip: Option<u64>,
    /// Largest update age the instant path accepts, in seconds (0 turns the instant path off).
    #[arg(long)]
    pub instant_max_age: Option<u64>,
    /// Fee every instant operation pays at least.
    #[arg(long)]
    pub instant_fee: Option<String>,
    /// Largest confidence / price the instant path accepts.
    #[arg(long)]
    pub instant_max_conf: Option<String>,
    /// Most underlying instant operations may move in one slot, in whole tokens, or `none`.
    #[arg(long)]
    pub instant_slot_cap: Option<String>,
}

impl ParamFlags {
    /// The update these flags ask for (`decimals`: the underlying's, for the exposure cap).
    pub fn update(&self, decimals: u8) -> Result<UpdateMarketParams> {
        let ratio = |name: &str, v: &Option<String>| -> Result<Option<u64>> {
            v.as_deref()
                .map(|s| parse_ppm(s).with_context(|| format!("--{name}")))
                .transpose()
        };
        Ok(UpdateMarketParams {
            target_leverage_ppm: ratio("leverage", &self.leverage)?,
            band_ppm: ratio("band", &self.band)?,
            mint_fee_ppm: ratio("mint-fee", &self.mint_fee)?,
            redeem_fee_ppm: ratio("redeem-fee", &self.redeem_fee)?,
            deposit_fee_ppm: ratio("deposit-fee", &self.deposit_fee)?,
            withdraw_fee_ppm: ratio("withdraw-fee", &self.withdraw_fee)?,
            max_price_age_secs: self.max_price_age,
            max_conf_ppm: ratio("max-conf", &self.max_conf)?,
            conf_multiplier_ppm: ratio("conf-multiplier", &self.conf_multiplier)?,
            exposure_cap: self
                .exposure_cap
                .as_deref()
                .map(|s| parse_cap(s, decimals).context("--exposure-cap"))
                .transpose()?,
            max_utilization_ppm: ratio("max-utilization", &self.max_utilization)?,
            base_rate_ppm: ratio("base-rate", &self.base_rate)?,
            kink_ppm: ratio("kink", &self.kink)?,
            slope1_ppm: ratio("slope1", &self.slope1)?,
            slope2_ppm: ratio("slope2", &self.slope2)?,
            settle_delay_secs: self.settle_delay,
            settle_window_secs: self.settle_window,
            min_settle_tip_lamports: self.min_settle_tip,
            instant_max_age_secs: self.instant_max_age,
            instant_fee_ppm: ratio("instant-fee", &self.instant_fee)?,
            instant_max_conf_ppm: ratio("instant-max-conf", &self.instant_max_conf)?,
            instant_slot_cap: self
                .instant_slot_cap
                .as_deref()
                .map(|s| parse_cap(s, decimals).context("--instant-slot-cap"))
                .transpose()?,
        })
    }
}

/// A cap in whole tokens, or `none` (no cap).
fn parse_cap(s: &str, decimals: u8) -> Result<u64> {
    if s.eq_ignore_ascii_case("none") {
        Ok(u64::MAX)
    } else {
        Ok(parse_units(s, decimals)?)
    }
}

/// `lever mint|redeem|fund|withdraw`.
#[derive(Args, Debug)]
pub struct UserArgs {
    pub market: Pubkey,
    /// Whole tokens to pay in (underlying for mint/fund, LT for redeem, FT for withdraw), or
    /// `all` for the whole balance.
    pub amount: String,
    /// Refuse to receive less than this (whole tokens). Default: the preview less --slippage.
    #[arg(long)]
    pub min_out: Option<String>,
    /// Accepted shortfall from the preview when --min-out is not given.
    #[arg(long, default_value = "0.5%")]
    pub slippage: String,
    /// Price account (default: Pyth's sponsored account for the market's feed).
    #[arg(long)]
    pub price_update: Option<Pubkey>,
    /// Priority fee in micro-lamports per compute unit.
    #[arg(long)]
    pub with_compute_unit_price: Option<u64>,
    /// Preview only: print what would happen and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One transaction with the current update (the instant path, its fee; only where the market
    /// allows it). Default: a two-step request settled by a keeper at the price at its target time.
    #[arg(long)]
    pub instant: bool,
    /// Two-step: return once the request has landed instead of waiting for its settlement.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Markets to show (default: every market).
    pub markets: Vec<Pubkey>,
    /// Price account for a feed: FEED_ID_HEX=ADDRESS (repeatable). Default: Pyth's sponsored
    /// account for each feed.
    #[arg(long = "price-account", value_parser = parse_price_account)]
    pub price_accounts: Vec<([u8; 32], Pubkey)>,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct RebalanceArgs {
    pub market: Pubkey,
    /// Price account (default: Pyth's sponsored account for the market's feed).
    #[arg(long)]
    pub price_update: Option<Pubkey>,
    /// Priority fee in micro-lamports per compute unit.
    #[arg(long, default_value_t = KeeperConfig::default().priority_fee_micro_lamports)]
    pub with_compute_unit_price: u64,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    pub market: Pubkey,
    /// Operations to pause (mint, redeem, fund, withdraw, rebalance, all); the others are
    /// resumed. Default: all.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub only: Vec<String>,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct UnpauseArgs {
    pub market: Pubkey,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub net: Net,
}

#[derive(Args, Debug)]
pub struct KeeperArgs {
    /// Only these markets (repeatable). Default: every market, listed again each pass.
    #[arg(long = "market")]
    pub markets: Vec<Pubkey>,
    /// Price account for a feed: FEED_ID_HEX=ADDRESS (repeatable). Feeds not given use Pyth's
    /// sponsored account.
    #[arg(long = "price-account", value_parser = parse_price_account)]
    pub price_accounts: Vec<([u8; 32], Pubkey)>,
    /// Hermes endpoint to fetch the update covering a request's target time from
    /// (`/v2/updates/price/{tau}`), posted with full Wormhole verification before settling.
    #[arg(long, default_value = lever_sdk::hermes::DEFAULT_HERMES_URL)]
    pub hermes: Option<String>,
    /// Header sent to Hermes, NAME:VALUE (repeatable; an API key, for instance).
    #[arg(long = "hermes-header", value_parser = parse_header)]
    pub hermes_headers: Vec<(String, String)>,
    /// Settle only with updates already in known price accounts (no Hermes).
    #[arg(long)]
    pub no_hermes: bool,
    /// Seconds between passes.
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    /// Priority fee in micro-lamports per compute unit (0: none).
    #[arg(long, default_value_t = KeeperConfig::default().priority_fee_micro_lamports)]
    pub with_compute_unit_price: u64,
    /// Compute unit limit of a rebalance transaction (0: the default).
    #[arg(long, default_value_t = KeeperConfig::default().compute_unit_limit)]
    pub compute_unit_limit: u32,
    /// Retries after the first attempt, for transient failures.
    #[arg(long, default_value_t = KeeperConfig::default().max_retries)]
    pub max_retries: u32,
    #[command(flatten)]
    pub net: Net,
}

fn parse_price_account(s: &str) -> Result<([u8; 32], Pubkey), String> {
    let (feed, address) = s
        .split_once('=')
        .ok_or_else(|| "expected FEED_ID_HEX=ADDRESS".to_string())?;
    let feed =
        feed_id_from_hex(feed.trim()).ok_or_else(|| format!("`{feed}` is not a 32-byte hex feed id"))?;
    let address = Pubkey::from_str(address.trim()).map_err(|e| format!("`{address}`: {e}"))?;
    Ok((feed, address))
}

// ---------------------------------------------------------------------------------------------
// Connection, keypair, confirmation
// ---------------------------------------------------------------------------------------------

/// `json_rpc_url` and `keypair_path` from the Solana CLI's config file, if it exists.
fn solana_config() -> (Option<String>, Option<PathBuf>) {
    let path = std::env::var_os("SOLANA_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config/solana/cli/config.yml")));
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return (None, None);
    };
    parse_solana_config(&text)
}

fn parse_solana_config(text: &str) -> (Option<String>, Option<PathBuf>) {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(key)?.trim_start().strip_prefix(':')?;
            let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            (!v.is_empty()).then(|| v.to_string())
        })
    };
    (value("json_rpc_url"), value("keypair_path").map(PathBuf::from))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The URL for `--url` (monikers and their first letters resolved), or the config's, or localhost.
pub fn url_of(given: Option<&str>) -> String {
    let given = given.map(|u| match u {
        "m" => "mainnet-beta",
        "d" => "devnet",
        "t" => "testnet",
        "l" => "localhost",
        other => other,
    });
    match given {
        Some(u) => resolve_url(u),
        None => solana_config().0.unwrap_or_else(|| resolve_url("localhost")),
    }
}

impl Net {
    pub fn cluster(&self) -> RpcCluster {
        let commitment = match self.commitment.as_str() {
            "processed" => CommitmentConfig::processed(),
            "finalized" => CommitmentConfig::finalized(),
            _ => CommitmentConfig::confirmed(),
        };
        RpcCluster::from_client(RpcClient::new_with_commitment(
            url_of(self.url.as_deref()),
            commitment,
        ))
    }

    pub fn signer(&self) -> Result<Keypair> {
        let path = match &self.keypair {
            Some(p) => p.clone(),
            None => solana_config()
                .1
                .or_else(|| home().map(|h| h.join(".config/solana/id.json")))
                .ok_or_else(|| anyhow!("no --keypair and no HOME to find the default keypair"))?,
        };
        read_keypair(&path)
    }
}

fn read_keypair(path: &Path) -> Result<Keypair> {
    solana_keypair::read_keypair_file(path).map_err(|e| anyhow!("read keypair {}: {e}", path.display()))
}

/// Ask on the terminal unless `yes`; refuse when there is no terminal to ask on.
fn confirm(prompt: &str, yes: bool) -> Result<()> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    confirm_with(
        prompt,
        yes,
        interactive,
        &mut stdin.lock(),
        &mut std::io::stderr(),
    )
}

fn confirm_with(
    prompt: &str,
    yes: bool,
    interactive: bool,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive {
        bail!("not confirmed: stdin is not a terminal; pass --yes to {prompt}");
    }
    write!(output, "{prompt}? [y/N] ")?;
    output.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("aborted"),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected NAME:VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monikers_and_config() {
        assert_eq!(url_of(Some("d")), "https://api.devnet.solana.com");
        assert_eq!(
            url_of(Some("mainnet-beta")),
            "https://api.mainnet-beta.solana.com"
        );
        assert_eq!(url_of(Some("l")), "http://localhost:8899");
        assert_eq!(url_of(Some("http://10.0.0.1:8899")), "http://10.0.0.1:8899");
        let config = "---\njson_rpc_url: \"https://rpc.example\"\nwebsocket_url: ''\nkeypair_path: /home/me/.config/solana/id.json\ncommitment: confirmed\n";
        assert_eq!(
            parse_solana_config(config),
            (
                Some("https://rpc.example".to_string()),
                Some(PathBuf::from("/home/me/.config/solana/id.json"))
            )
        );
        assert_eq!(parse_solana_config("websocket_url: ''\n"), (None, None));
    }

    #[test]
    fn confirmation() {
        let ask = |answer: &str, yes: bool, interactive: bool| {
            let mut out = Vec::new();
            confirm_with("pause", yes, interactive, &mut answer.as_bytes(), &mut out)
                .map(|_| String::from_utf8(out).unwrap_or_default())
        };
        assert_eq!(ask("", true, false).ok(), Some(String::new()), "--yes never asks");
        assert_eq!(ask("y\n", false, true).ok(), Some("pause? [y/N] ".to_string()));
        assert!(ask("yes\n", false, true).is_ok());
        assert!(ask("n\n", false, true).is_err());
        assert!(ask("\n", false, true).is_err(), "the default is no");
        let refused = ask("y\n", false, false).expect_err("no terminal, no --yes");
        assert!(refused.to_string().contains("--yes"), "{refused}");
    }

    #[test]
    fn hermes_headers() {
        assert_eq!(
            parse_header("x-api-key: abc:1"),
            Ok(("x-api-key".to_string(), "abc:1".to_string()))
        );
        assert!(parse_header("no-colon").is_err());
        assert!(parse_header(": value").is_err());
    }

    #[test]
    fn parameter_flags() {
        let flags = ParamFlags {
            band: Some("2%".into()),
            exposure_cap: Some("1000.5".into()),
            leverage: Some("5x".into()),
            ..ParamFlags::default()
        };
        let u = flags.update(6).expect("valid");
        assert_eq!(u.band_ppm, Some(20_000));
        assert_eq!(u.exposure_cap, Some(1_000_500_000));
        assert_eq!(u.target_leverage_ppm, Some(5_000_000));
        assert_eq!(u.mint_fee_ppm, None);
        let none = ParamFlags {
            exposure_cap: Some("none".into()),
            ..ParamFlags::default()
        };
        assert_eq!(none.update(6).expect("valid").exposure_cap, Some(u64::MAX));
        let bad = ParamFlags {
            band: Some("2.00000001%".into()),
            ..ParamFlags::default()
        };
        assert!(bad.update(6).is_err());
        assert!(parse_price_account("ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d=7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE").is_ok());
        assert!(parse_price_account("ef0d=7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE").is_err());
    }
}
