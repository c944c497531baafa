//! Declarative deployment: bring a cluster's Lever config and markets to what a TOML file says,
//! idempotently. [`plan`] reads the chain and lists the steps (nothing is sent); [`apply`] sends
//! them one transaction each, simulated first, stopping at the first failure. Running it again
//! after a success plans nothing; after a failure it plans what is left.
//!
//! # The file
//!
//! ```toml
//! [config]
//! pause_authority = "admin"          # a public key, or "admin" for the signing admin
//! fee_receiver = "admin"             # owner of the accounts protocol fees are withdrawn to
//! # Bounds every market must sit inside. Each is optional; an omitted one is the program's hard
//! # bound (ConfigBounds::default()): leverage 2x..10x, fee 5%, price age 86400 s, conf 10%,
//! # seed 1000 raw units.
//! min_leverage = "2x"
//! max_leverage = "10x"
//! max_fee = "1%"
//! max_price_age_secs = 300
//! max_conf = "5%"
//! min_seed = 1_000_000               # raw units of any underlying (not whole tokens)
//!
//! [[market]]
//! name = "SOL 3x"                    # a label for plans and errors (unique in the file)
//! underlying_mint = "So11111111111111111111111111111111111111112"
//! id = 0                             # optional, default 0; part of the market's address
//! feed_id = "0xef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d"
//! leverage = "3x"
//! band = "2%"                        # half-width, as a fraction of the leverage
//! mint_fee = "0.1%"
//! redeem_fee = "10bps"
//! deposit_fee = "0%"
//! withdraw_fee = "0%"
//! max_price_age_secs = 60
//! max_conf = "2%"                    # largest accepted confidence / price
//! conf_multiplier = "1x"             # widen the published interval (1x = as published)
//! exposure_cap = "10000"             # whole tokens, or "none"
//! max_utilization = "90%"
//! base_rate = "2%"                   # funding curve, annual rates
//! kink = "80%"
//! slope1 = "8%"
//! slope2 = "100%"
//! seed = "0.01"                      # whole tokens from the admin's associated token account
//! lt_name = "SOL 3x Long"
//! lt_symbol = "SOL3X"
//! ft_name = "SOL 3x Funding"
//! ft_symbol = "fSOL3X"
//! uri = "https://example.org/sol3x.json"
//! paused = ["mint"]                     # optional: names, "all", or the bits as an integer
//! ```
//!
//! - Ratios are strings, parsed exactly by [`parse_ppm`]: `"2%"`, `"30bps"`, `"0.02"`, `"3x"`.
//!   More precision than 1 PPM (`"2.0000001%"`) is refused, never rounded. Amounts (`seed`,
//!   `exposure_cap`) are whole tokens (a string or an integer) parsed by [`parse_units`] at the
//!   mint's decimals, which are read from the mint on the cluster.
//! - Unknown keys are errors. Every market parameter is required: the program has no defaults
//!   for them. The defaults are `id = 0`, the config bounds above (the program's own), and
//!   `paused`, which when omitted is left as it is on chain (a new market starts unpaused), so a
//!   routine deploy never undoes an emergency pause.
//! - Fixed at creation, and therefore refused when they differ from an existing market: the feed
//!   id, the underlying's token program and decimals, and the share tokens' names, symbols and
//!   uri. `seed` is used at creation only. A config whose admin is not the signer is refused.
//! - The seed deposit comes from the admin's associated token account for the underlying (for
//!   wrapped SOL: `spl-token wrap`). The plan checks it exists and holds every seed it must pay;
//!   it never creates it.
//!
//! # Steps
//!
//! [`Step::InitializeConfig`] when the config is absent (the signer becomes admin),
//! [`Step::UpdateConfig`] with only the changed fields set, [`Step::CreateMarket`] when the market
//! address is empty (its pause bits, if any, are set in the same transaction, so it is never open
//! in between), [`Step::UpdateMarket`] with only the changed parameters set, [`Step::SetPause`]
//! when the file names pause bits that differ. A market that matches gets no step. The plan is
//! checked against the program's rules (bounds, seed minimum, metadata lengths, mint extensions)
//! before anything is sent, with the program's own error names.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_spl::token_interface::spl_token_2022;
use lever::constants::{pause, MAX_NAME_LEN, MAX_SYMBOL_LEN, MAX_URI_LEN};
use lever::error::LeverError;
use lever::instructions::{CreateMarketArgs, InitializeConfigArgs, UpdateConfigArgs};
use lever::state::{Config, ConfigBounds, MarketParams, UpdateMarketParams};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use solana_account::Account;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Signature;
use spl_token_2022::extension::StateWithExtensions;

use crate::chain::decode_zero_copy;
use crate::cluster::{decode_market, submit, Cluster, ClusterError};
use crate::errors::describe;
use crate::ix;
use crate::ops::paused_names;
use crate::pda::{self, MarketKeys};
use crate::pyth::feed_id_from_hex;
use crate::units::{format_leverage, format_percent, format_units, parse_ppm, parse_units, UnitsError};

/// Compute-unit limit of a `create_market` transaction (it creates five accounts and writes two
/// metadata entries; the default 200,000 per instruction is too tight for the SBF build).
pub const CREATE_MARKET_COMPUTE_UNITS: u32 = 400_000;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a deploy file was refused, a plan could not be made, or a step failed.
#[derive(Debug)]
pub enum DeployError {
    /// The file could not be read.
    Read { path: String, error: String },
    /// TOML syntax, a missing or unknown key, or a value of the wrong type.
    Syntax(String),
    /// A value in the file that cannot be used; `at` names it (`market \`SOL 3x\`.band`).
    Invalid { at: String, reason: String },
    /// A value the program would refuse, checked before anything is sent; `error` is the
    /// program's error as [`describe`] names it.
    Refused { at: String, error: String },
    /// The config exists and its admin is not the signer.
    NotAdmin {
        admin: Pubkey,
        signer: Pubkey,
        pending_admin: Option<Pubkey>,
    },
    /// Something fixed at a market's creation differs from the file.
    Immutable {
        market: String,
        address: Pubkey,
        field: &'static str,
        on_chain: String,
        file: String,
    },
    /// The underlying mint does not exist or is not an SPL Token / Token-2022 mint.
    NotAMint {
        market: String,
        mint: Pubkey,
        reason: String,
    },
    /// An account the plan reads is not what it should be (a market address holding something
    /// else, an undecodable config).
    Unexpected(String),
    /// The signer's associated token account, source of a seed deposit, does not exist.
    SeedAccountMissing {
        markets: Vec<String>,
        account: Pubkey,
        mint: Pubkey,
        token_program: Pubkey,
    },
    /// The admin's associated token account holds less than the seeds it must pay.
    SeedAccountShort {
        markets: Vec<String>,
        account: Pubkey,
        holds: String,
        needs: String,
    },
    /// Reading the cluster failed.
    Cluster(ClusterError),
    /// The plan was made for another admin than the keypair given to [`apply`].
    WrongSigner { plan: Pubkey, signer: Pubkey },
    /// A step failed (nothing of it landed); the steps before it did.
    StepFailed(Box<StepFailure>),
}

/// Which step of a plan failed, why, and what landed before it.
#[derive(Debug)]
pub struct StepFailure {
    /// 1-based position in the plan.
    pub step: usize,
    pub total: usize,
    pub what: String,
    pub error: ClusterError,
    /// The program's error, named ([`describe`]), when the failure carries a custom code.
    pub program_error: Option<String>,
    /// The steps that landed before this one.
    pub landed: Vec<Applied>,
}

impl fmt::Display for DeployError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => write!(f, "cannot read {path}: {error}"),
            Self::Syntax(e) => write!(f, "deploy file: {}", e.trim_end()),
            Self::Invalid { at, reason } => write!(f, "{at}: {reason}"),
            Self::Refused { at, error } => write!(f, "{at}: the program would refuse it: {error}"),
            Self::NotAdmin {
                admin,
                signer,
                pending_admin,
            } => {
                write!(
                    f,
                    "the config's admin is {admin}, not the signer {signer}: sign with the admin's keypair"
                )?;
                if *pending_admin == Some(*signer) {
                    write!(f, " (the signer is the pending admin: run accept_admin first)")?;
                }
                Ok(())
            }
            Self::Immutable {
                market,
                address,
                field,
                on_chain,
                file,
            } => write!(
                f,
                "market `{market}` ({address}): {field} is fixed at creation and cannot be changed \
                 (on chain {on_chain}, file {file}); use another id for a new market"
            ),
            Self::NotAMint { market, mint, reason } => {
                write!(f, "market `{market}`: underlying mint {mint}: {reason}")
            }
            Self::Unexpected(e) => write!(f, "{e}"),
            Self::SeedAccountMissing {
                markets,
                account,
                mint,
                token_program,
            } => write!(
                f,
                "the seed deposit of {} comes from the signer's associated token account {account} \
                 (mint {mint}, token program {token_program}), which does not exist; create and fund \
                 it first (for wrapped SOL: `spl-token wrap <amount>`)",
                quoted(markets)
            ),
            Self::SeedAccountShort {
                markets,
                account,
                holds,
                needs,
            } => write!(
                f,
                "the admin's token account {account} holds {holds} but the seed deposits of {} need {needs}",
                quoted(markets)
            ),
            Self::Cluster(e) => write!(f, "reading the cluster: {e}"),
            Self::WrongSigner { plan, signer } => {
                write!(
                    f,
                    "the plan was made for admin {plan}, not for the signer {signer}"
                )
            }
            Self::StepFailed(failure) => {
                let StepFailure {
                    step,
                    total,
                    what,
                    error,
                    program_error,
                    landed,
                } = failure.as_ref();
                write!(f, "step {step} of {total} ({what}) failed: ")?;
                match program_error {
                    Some(e) => write!(f, "{e}")?,
                    None => write!(f, "{error}")?,
                }
                if let Some(line) = error.logs().iter().rev().find(|l| l.contains("Error")) {
                    write!(f, " [{line}]")?;
                }
                match landed.len() {
                    0 => write!(f, "; nothing was changed"),
                    n => write!(
                        f,
                        "; {n} earlier step(s) landed ({}); run the deploy again to continue",
                        landed
                            .iter()
                            .map(|a| a.signature.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        }
    }
}

impl std::error::Error for DeployError {}

impl From<ClusterError> for DeployError {
    fn from(e: ClusterError) -> Self {
        Self::Cluster(e)
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The program's error for a local check, named as the program names it.
fn program_error(e: anchor_lang::error::Error) -> String {
    match e {
        anchor_lang::error::Error::AnchorError(a) => describe(a.error_code_number),
        other => other.to_string(),
    }
}

fn lever_error(e: LeverError) -> String {
    describe(u32::from(e))
}

// ---------------------------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    config: RawConfig,
    #[serde(default, rename = "market")]
    markets: Vec<RawMarket>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    pause_authority: String,
    fee_receiver: String,
    min_leverage: Option<String>,
    max_leverage: Option<String>,
    max_fee: Option<String>,
    max_price_age_secs: Option<u64>,
    max_conf: Option<String>,
    min_seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMarket {
    name: String,
    underlying_mint: String,
    #[serde(default)]
    id: u32,
    feed_id: String,
    leverage: String,
    band: String,
    mint_fee: String,
    redeem_fee: String,
    deposit_fee: String,
    withdraw_fee: String,
    max_price_age_secs: u64,
    max_conf: String,
    conf_multiplier: String,
    exposure_cap: AmountText,
    max_utilization: String,
    base_rate: String,
    kink: String,
    slope1: String,
    slope2: String,
    seed: AmountText,
    lt_name: String,
    lt_symbol: String,
    ft_name: String,
    ft_symbol: String,
    uri: String,
    #[serde(default)]
    paused: Option<PauseText>,
}

/// An amount as written: a string ("1.5", "none") or a non-negative integer.
struct AmountText(String);

impl<'de> Deserialize<'de> for AmountText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AmountText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("whole tokens as a string (\"1.5\") or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AmountText, E> {
                Ok(AmountText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AmountText, E> {
                Ok(AmountText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AmountText, E> {
                if v < 0 {
                    return Err(E::custom(format!("an amount cannot be negative ({v})")));
                }
                Ok(AmountText(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Pause bits as written: an integer, a name, or a list of names.
enum PauseText {
    Bits(i64),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for PauseText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PauseText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("pause bits: a list of names (\"mint\", \"redeem\", \"fund\", \"withdraw\", \"rebalance\"), \"all\", or an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PauseText, E> {
                Ok(PauseText::Bits(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PauseText, E> {
                Ok(PauseText::Bits(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PauseText, E> {
                Ok(PauseText::Names(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PauseText, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(PauseText::Names(names))
            }
        }
        d.deserialize_any(V)
    }
}

fn pause_label(bits: u8) -> String {
    match bits {
        0 => "none".into(),
        _ => paused_names(bits).join(", "),
    }
}

// ---------------------------------------------------------------------------------------------
// The file, checked
// ---------------------------------------------------------------------------------------------

/// A key named in the file, or the signing admin (`"admin"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Key(Pubkey),
}

impl Role {
    pub fn resolve(&self, admin: Pubkey) -> Pubkey {
        match self {
            Self::Admin => admin,
            Self::Key(k) => *k,
        }
    }
}

/// The `[config]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSpec {
    pub pause_authority: Role,
    pub fee_receiver: Role,
    pub bounds: ConfigBounds,
}

/// An exposure cap: none, or whole tokens (parsed at the mint's decimals).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cap {
    None,
    Tokens(String),
}

/// One `[[market]]` entry. Ratios are already in PPM; the two amounts wait for the mint's
/// decimals ([`MarketEntry::params`], [`MarketEntry::seed_units`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketEntry {
    pub name: String,
    pub underlying_mint: Pubkey,
    pub id: u32,
    pub feed_id: [u8; 32],
    /// Every parameter but `exposure_cap` (u64::MAX here; see [`MarketEntry::params`]).
    ratios: MarketParams,
    pub exposure_cap: Cap,
    /// Whole tokens.
    pub seed: String,
    pub lt_name: String,
    pub lt_symbol: String,
    pub ft_name: String,
    pub ft_symbol: String,
    pub uri: String,
    /// `None`: leave the pause bits as they are.
    pub paused: Option<u8>,
}

impl MarketEntry {
    fn at(&self) -> String {
        format!("market `{}`", self.name)
    }

    /// The market's parameters at the mint's `decimals`.
    pub fn params(&self, decimals: u8) -> Result<MarketParams, DeployError> {
        let exposure_cap = match &self.exposure_cap {
            Cap::None => u64::MAX,
            Cap::Tokens(t) => parse_units(t, decimals).map_err(|e| DeployError::Invalid {
                at: format!("{}.exposure_cap", self.at()),
                reason: format!("{e} (the mint has {decimals} decimals)"),
            })?,
        };
        Ok(MarketParams {
            exposure_cap,
            ..self.ratios
        })
    }

    /// The seed deposit in raw units at the mint's `decimals`.
    pub fn seed_units(&self, decimals: u8) -> Result<u64, DeployError> {
        parse_units(&self.seed, decimals).map_err(|e| DeployError::Invalid {
            at: format!("{}.seed", self.at()),
            reason: format!("{e} (the mint has {decimals} decimals)"),
        })
    }

    /// The market's address.
    pub fn address(&self) -> Pubkey {
        pda::market(&self.underlying_mint, self.id)
    }
}

/// A deploy file, parsed and checked as far as it can be without the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployFile {
    pub config: ConfigSpec,
    pub markets: Vec<MarketEntry>,
}

impl DeployFile {
    /// Read and parse the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DeployError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| DeployError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Self::parse(&text).map_err(|e| match e {
            DeployError::Syntax(s) => DeployError::Syntax(format!("{}: {s}", path.display())),
            other => other,
        })
    }

    /// Parse TOML text (see the module documentation for the format).
    pub fn parse(text: &str) -> Result<Self, DeployError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| DeployError::Syntax(e.to_string()))?;
        let config = parse_config(&raw.config)?;
        let mut markets = Vec::with_capacity(raw.markets.len());
        let mut names = HashSet::new();
        let mut addresses: BTreeMap<(Pubkey, u32), String> = BTreeMap::new();
        for m in &raw.markets {
            let entry = parse_market(m)?;
            if !names.insert(entry.name.clone()) {
                return Err(DeployError::Invalid {
                    at: entry.at(),
                    reason: "the name is used by two markets".into(),
                });
            }
            if let Some(other) = addresses.insert((entry.underlying_mint, entry.id), entry.name.clone()) {
                return Err(DeployError::Invalid {
                    at: entry.at(),
                    reason: format!(
                        "same underlying mint and id ({}) as market `{other}`: one address holds one market",
                        entry.id
                    ),
                });
            }
            markets.push(entry);
        }
        Ok(Self { config, markets })
    }
}

fn invalid(at: &str, key: &str, reason: impl fmt::Display) -> DeployError {
    DeployError::Invalid {
        at: format!("{at}.{key}"),
        reason: reason.to_string(),
    }
}

fn ratio(at: &str, key: &str, text: &str) -> Result<u64, DeployError> {
    parse_ppm(text).map_err(|e| match e {
        UnitsError::TooPrecise { .. } => invalid(
            at,
            key,
            format!(
                "`{text}` is finer than 1 PPM, the program's unit: at most 4 decimals in a percentage \
                 (\"0.0001%\"), 2 in basis points (\"0.01bps\"), 6 in a fraction or a leverage \
                 (\"0.000001\", \"2.000001x\"); nothing is rounded"
            ),
        ),
        other => invalid(
            at,
            key,
            format!("{other}; write a ratio as a string: \"2%\", \"30bps\", \"0.02\" or \"3x\""),
        ),
    })
}

fn role(at: &str, key: &str, text: &str) -> Result<Role, DeployError> {
    if text.trim() == "admin" {
        return Ok(Role::Admin);
    }
    key_of(at, key, text).map(Role::Key)
}

fn key_of(at: &str, key: &str, text: &str) -> Result<Pubkey, DeployError> {
    text.trim()
        .parse::<Pubkey>()
        .map_err(|_| invalid(at, key, format!("`{text}` is not a base58 public key")))
}

fn parse_config(c: &RawConfig) -> Result<ConfigSpec, DeployError> {
    let at = "config";
    let d = ConfigBounds::default();
    let opt_ratio = |key: &str, v: &Option<String>, default: u64| match v {
        Some(t) => ratio(at, key, t),
        None => Ok(default),
    };
    let bounds = ConfigBounds {
        min_leverage_ppm: opt_ratio("min_leverage", &c.min_leverage, d.min_leverage_ppm)?,
        max_leverage_ppm: opt_ratio("max_leverage", &c.max_leverage, d.max_leverage_ppm)?,
        max_fee_ppm: opt_ratio("max_fee", &c.max_fee, d.max_fee_ppm)?,
        max_price_age_secs: c.max_price_age_secs.unwrap_or(d.max_price_age_secs),
        max_conf_ppm: opt_ratio("max_conf", &c.max_conf, d.max_conf_ppm)?,
        min_seed_units: c.min_seed.unwrap_or(d.min_seed_units),
    };
    Config::validate_bounds(&bounds).map_err(|e| DeployError::Refused {
        at: format!(
            "config bounds (leverage {}..{}, max_fee {}, max_price_age_secs {}, max_conf {}, min_seed {}; \
             the program allows leverage {}..{}, fees up to {}, ages 1..{} s, conf up to {}, a seed of at \
             least {} raw units)",
            format_leverage(bounds.min_leverage_ppm),
            format_leverage(bounds.max_leverage_ppm),
            format_percent(bounds.max_fee_ppm),
            bounds.max_price_age_secs,
            format_percent(bounds.max_conf_ppm),
            bounds.min_seed_units,
            format_leverage(d.min_leverage_ppm),
            format_leverage(d.max_leverage_ppm),
            format_percent(d.max_fee_ppm),
            d.max_price_age_secs,
            format_percent(d.max_conf_ppm),
            d.min_seed_units,
        ),
        error: program_error(e),
    })?;
    Ok(ConfigSpec {
        pause_authority: role(at, "pause_authority", &c.pause_authority)?,
        fee_receiver: role(at, "fee_receiver", &c.fee_receiver)?,
        bounds,
    })
}

/// An amount's syntax, checked now; its precision and size wait for the mint's decimals.
fn check_amount(at: &str, key: &str, text: &str, expected: &str) -> Result<(), DeployError> {
    match parse_units(text, 0) {
        Err(e @ (UnitsError::Empty | UnitsError::NotANumber(_))) => {
            Err(invalid(at, key, format!("{e}; expected {expected}")))
        }
        _ => Ok(()),
    }
}

fn parse_market(m: &RawMarket) -> Result<MarketEntry, DeployError> {
    let at = format!("market `{}`", m.name);
    let at = at.as_str();
    if m.name.trim().is_empty() {
        return Err(invalid("market", "name", "empty name"));
    }
    let feed_id = feed_id_from_hex(m.feed_id.trim())
        .ok_or_else(|| invalid(at, "feed_id", format!("`{}` is not 64 hex digits", m.feed_id)))?;
    let ratios = MarketParams {
        target_leverage_ppm: ratio(at, "leverage", &m.leverage)?,
        band_ppm: ratio(at, "band", &m.band)?,
        mint_fee_ppm: ratio(at, "mint_fee", &m.mint_fee)?,
        redeem_fee_ppm: ratio(at, "redeem_fee", &m.redeem_fee)?,
        deposit_fee_ppm: ratio(at, "deposit_fee", &m.deposit_fee)?,
        withdraw_fee_ppm: ratio(at, "withdraw_fee", &m.withdraw_fee)?,
        max_price_age_secs: m.max_price_age_secs,
        max_conf_ppm: ratio(at, "max_conf", &m.max_conf)?,
        conf_multiplier_ppm: ratio(at, "conf_multiplier", &m.conf_multiplier)?,
        exposure_cap: u64::MAX,
        max_utilization_ppm: ratio(at, "max_utilization", &m.max_utilization)?,
        base_rate_ppm: ratio(at, "base_rate", &m.base_rate)?,
        kink_ppm: ratio(at, "kink", &m.kink)?,
        slope1_ppm: ratio(at, "slope1", &m.slope1)?,
        slope2_ppm: ratio(at, "slope2", &m.slope2)?,
    };
    let exposure_cap = match m.exposure_cap.0.trim() {
        "none" => Cap::None,
        t => {
            check_amount(
                at,
                "exposure_cap",
                t,
                "whole tokens (\"10000\", \"0.5\") or \"none\"",
            )?;
            Cap::Tokens(t.to_string())
        }
    };
    check_amount(at, "seed", &m.seed.0, "whole tokens (\"1\", \"0.01\")")?;
    for (key, text, max) in [
        ("lt_name", &m.lt_name, MAX_NAME_LEN),
        ("ft_name", &m.ft_name, MAX_NAME_LEN),
        ("lt_symbol", &m.lt_symbol, MAX_SYMBOL_LEN),
        ("ft_symbol", &m.ft_symbol, MAX_SYMBOL_LEN),
    ] {
        if text.is_empty() || text.len() > max {
            return Err(DeployError::Refused {
                at: format!("{at}.{key} (`{text}`: 1 to {max} bytes)"),
                error: lever_error(LeverError::InvalidMetadata),
            });
        }
    }
    if m.uri.len() > MAX_URI_LEN {
        return Err(DeployError::Refused {
            at: format!("{at}.uri (at most {MAX_URI_LEN} bytes)"),
            error: lever_error(LeverError::InvalidMetadata),
        });
    }
    let paused = match &m.paused {
        None => None,
        Some(PauseText::Bits(b)) => match u8::try_from(*b) {
            Ok(bits) if bits & !pause::ALL == 0 => Some(bits),
            _ => {
                return Err(invalid(
                    at,
                    "paused",
                    format!("{b} is not a set of pause bits (0..={})", pause::ALL),
                ))
            }
        },
        Some(PauseText::Names(names)) => {
            Some(crate::ops::pause_bits(names).map_err(|e| invalid(at, "paused", e.to_string()))?)
        }
    };
    Ok(MarketEntry {
        name: m.name.clone(),
        underlying_mint: key_of(at, "underlying_mint", &m.underlying_mint)?,
        id: m.id,
        feed_id,
        ratios,
        exposure_cap,
        seed: m.seed.0.trim().to_string(),
        lt_name: m.lt_name.clone(),
        lt_symbol: m.lt_symbol.clone(),
        ft_name: m.ft_name.clone(),
        ft_symbol: m.ft_symbol.clone(),
        uri: m.uri.clone(),
        paused,
    })
}

// ---------------------------------------------------------------------------------------------
// Parameters, field by field
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Unit {
    Leverage,
    Percent,
    Seconds,
    Tokens,
}

/// One market parameter: its name in the file, how to read it, how to set it in an update.
struct ParamField {
    key: &'static str,
    get: fn(&MarketParams) -> u64,
    set: fn(&mut UpdateMarketParams, u64),
    unit: Unit,
}

macro_rules! field {
    ($key:literal, $f:ident, $unit:ident) => {
        ParamField {
            key: $key,
            get: |p| p.$f,
            set: |u, v| u.$f = Some(v),
            unit: Unit::$unit,
        }
    };
}

const PARAM_FIELDS: [ParamField; 15] = [
    field!("leverage", target_leverage_ppm, Leverage),
    field!("band", band_ppm, Percent),
    field!("mint_fee", mint_fee_ppm, Percent),
    field!("redeem_fee", redeem_fee_ppm, Percent),
    field!("deposit_fee", deposit_fee_ppm, Percent),
    field!("withdraw_fee", withdraw_fee_ppm, Percent),
    field!("max_price_age_secs", max_price_age_secs, Seconds),
    field!("max_conf", max_conf_ppm, Percent),
    field!("conf_multiplier", conf_multiplier_ppm, Leverage),
    field!("exposure_cap", exposure_cap, Tokens),
    field!("max_utilization", max_utilization_ppm, Percent),
    field!("base_rate", base_rate_ppm, Percent),
    field!("kink", kink_ppm, Percent),
    field!("slope1", slope1_ppm, Percent),
    field!("slope2", slope2_ppm, Percent),
];

fn show(unit: Unit, v: u64, decimals: u8) -> String {
    match unit {
        Unit::Leverage => format_leverage(v),
        Unit::Percent => format_percent(v),
        Unit::Seconds => format!("{v}s"),
        Unit::Tokens if v == u64::MAX => "none".into(),
        Unit::Tokens => format_units(v, decimals),
    }
}

/// Each parameter as the file names it, formatted (whole tokens, percentages, leverage).
fn param_lines(p: &MarketParams, decimals: u8) -> Vec<(&'static str, String)> {
    PARAM_FIELDS
        .iter()
        .map(|f| (f.key, show(f.unit, (f.get)(p), decimals)))
        .collect()
}

/// What differs between two sets of market parameters: the update with only those fields set,
/// and the list of changes (`lever market update` prints these too).
pub fn diff_params(
    on_chain: &MarketParams,
    file: &MarketParams,
    decimals: u8,
) -> (UpdateMarketParams, Vec<Change>) {
    let mut update = UpdateMarketParams::default();
    let mut changes = Vec::new();
    for f in &PARAM_FIELDS {
        let (old, new) = ((f.get)(on_chain), (f.get)(file));
        if old != new {
            (f.set)(&mut update, new);
            changes.push(Change {
                field: f.key.to_string(),
                from: show(f.unit, old, decimals),
                to: show(f.unit, new, decimals),
            });
        }
    }
    (update, changes)
}

fn bound_lines(b: &ConfigBounds) -> Vec<(&'static str, String)> {
    vec![
        ("min_leverage", format_leverage(b.min_leverage_ppm)),
        ("max_leverage", format_leverage(b.max_leverage_ppm)),
        ("max_fee", format_percent(b.max_fee_ppm)),
        ("max_price_age_secs", format!("{}s", b.max_price_age_secs)),
        ("max_conf", format_percent(b.max_conf_ppm)),
        ("min_seed", format!("{} raw units", b.min_seed_units)),
    ]
}

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

/// One field that changes: its name in the file, the value on chain and the file's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// A market to create.
#[derive(Clone, Debug)]
pub struct CreateMarketStep {
    pub name: String,
    pub keys: MarketKeys,
    pub decimals: u8,
    /// The admin's associated token account the seed comes from.
    pub admin_underlying: Pubkey,
    pub args: CreateMarketArgs,
    /// Pause bits set in the same transaction (0: none).
    pub paused: u8,
}

/// One transaction of a plan.
#[derive(Clone, Debug)]
pub enum Step {
    /// The config does not exist: create it (the signer becomes admin).
    InitializeConfig { args: InitializeConfigArgs },
    /// Change the config fields that differ (the others are `None`).
    UpdateConfig {
        args: UpdateConfigArgs,
        changes: Vec<Change>,
    },
    /// The market address is empty: create the market with its seed deposit.
    CreateMarket(Box<CreateMarketStep>),
    /// Change the market parameters that differ (the others are `None`).
    UpdateMarket {
        name: String,
        market: Pubkey,
        update: UpdateMarketParams,
        changes: Vec<Change>,
    },
    /// Set the market's pause bits to `to`.
    SetPause {
        name: String,
        market: Pubkey,
        from: u8,
        to: u8,
    },
}

impl Step {
    /// The instructions of this step's transaction, signed by `admin`.
    pub fn instructions(&self, admin: Pubkey) -> Vec<Instruction> {
        match self {
            Self::InitializeConfig { args } => vec![ix::initialize_config(admin, *args)],
            Self::UpdateConfig { args, .. } => vec![ix::update_config(admin, *args)],
            Self::CreateMarket(c) => {
                let mut ixs = vec![
                    solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(
                        CREATE_MARKET_COMPUTE_UNITS,
                    ),
                    ix::create_market(admin, &c.keys, c.admin_underlying, c.args.clone()),
                ];
                if c.paused != 0 {
                    ixs.push(ix::set_pause(admin, c.keys.market, c.paused));
                }
                ixs
            }
            Self::UpdateMarket { market, update, .. } => vec![ix::update_market(admin, *market, *update)],
            Self::SetPause { market, to, .. } => vec![ix::set_pause(admin, *market, *to)],
        }
    }

    /// One line saying what the step does.
    pub fn summary(&self) -> String {
        match self {
            Self::InitializeConfig { .. } => format!("initialize config {}", pda::config()),
            Self::UpdateConfig { changes, .. } => format!("update config ({})", field_names(changes)),
            Self::CreateMarket(c) => format!("create market `{}` at {}", c.name, c.keys.market),
            Self::UpdateMarket {
                name,
                market,
                changes,
                ..
            } => format!("update market `{name}` at {market} ({})", field_names(changes)),
            Self::SetPause { name, market, to, .. } => {
                format!("set pause of market `{name}` at {market} to {}", pause_label(*to))
            }
        }
    }
}

fn field_names(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| c.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn feed_hex(feed: &[u8; 32]) -> String {
    format!("0x{}", crate::pyth::to_hex(feed))
}

fn token_program_name(p: &Pubkey) -> &'static str {
    if *p == anchor_spl::token::ID {
        "SPL Token"
    } else if *p == anchor_spl::token_2022::ID {
        "Token-2022"
    } else {
        "unknown token program"
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        match self {
            Self::InitializeConfig { args } => {
                writeln!(f, "     pause_authority {}", args.pause_authority)?;
                writeln!(f, "     fee_receiver {}", args.fee_receiver)?;
                let b = bound_lines(&args.bounds)
                    .into_iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>();
                writeln!(f, "     {}", b.join(", "))?;
            }
            Self::UpdateConfig { changes, .. } | Self::UpdateMarket { changes, .. } => {
                for c in changes {
                    writeln!(f, "     {}: {} -> {}", c.field, c.from, c.to)?;
                }
            }
            Self::CreateMarket(c) => {
                let a = &c.args;
                writeln!(
                    f,
                    "     underlying {} ({}, {} decimals), id {}, feed {}",
                    c.keys.underlying_mint,
                    token_program_name(&c.keys.underlying_token_program),
                    c.decimals,
                    a.id,
                    feed_hex(&a.feed_id)
                )?;
                let params = param_lines(&a.params, c.decimals)
                    .into_iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>();
                for chunk in params.chunks(5) {
                    writeln!(f, "     {}", chunk.join(", "))?;
                }
                writeln!(
                    f,
                    "     seed {} tokens ({} raw units) from {}",
                    format_units(a.seed_units, c.decimals),
                    a.seed_units,
                    c.admin_underlying
                )?;
                writeln!(
                    f,
                    "     LT \"{}\" ({}), FT \"{}\" ({}), uri \"{}\"",
                    a.lt_name, a.lt_symbol, a.ft_name, a.ft_symbol, a.uri
                )?;
                if c.paused != 0 {
                    writeln!(
                        f,
                        "     paused: {} (in the same transaction)",
                        pause_label(c.paused)
                    )?;
                }
            }
            Self::SetPause { from, to, .. } => {
                writeln!(f, "     paused: {} -> {}", pause_label(*from), pause_label(*to))?;
            }
        }
        Ok(())
    }
}

/// A market that already matches the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpToDate {
    pub name: String,
    #[serde(serialize_with = "display")]
    pub market: Pubkey,
}

/// What a deploy would do, in order. Made by [`plan`], carried out by [`apply`].
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    #[serde(serialize_with = "display")]
    pub program: Pubkey,
    #[serde(serialize_with = "display")]
    pub config: Pubkey,
    /// The signer the plan was made for (the config's admin, or its future admin).
    #[serde(serialize_with = "display")]
    pub admin: Pubkey,
    pub steps: Vec<Step>,
    pub up_to_date: Vec<UpToDate>,
    /// Things worth knowing that need no step (markets on chain not in the file, a wiped
    /// market, a pending admin transfer).
    pub notes: Vec<String>,
}

impl Plan {
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Lever program {}, config {}, admin {}",
            self.program, self.config, self.admin
        )?;
        if self.steps.is_empty() {
            writeln!(
                f,
                "Nothing to do: the config and {} market(s) match the file.",
                self.up_to_date.len()
            )?;
        } else {
            writeln!(f, "{} step(s), one transaction each:", self.steps.len())?;
            for (i, step) in self.steps.iter().enumerate() {
                write!(f, "  {}. {step}", i + 1)?;
            }
            for m in &self.up_to_date {
                writeln!(f, "  up to date: market `{}` at {}", m.name, m.market)?;
            }
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}

// JSON: keys and signatures as base58 strings, parameters both formatted and raw.

fn display<S: Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[derive(Serialize)]
struct PauseView {
    bits: u8,
    names: Vec<&'static str>,
}

impl From<u8> for PauseView {
    fn from(bits: u8) -> Self {
        Self {
            bits,
            names: paused_names(bits),
        }
    }
}

/// What a step looks like in JSON: built for one `serialize` call and dropped.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StepView<'a> {
    InitializeConfig {
        summary: String,
        pause_authority: String,
        fee_receiver: String,
        bounds: BTreeMap<&'static str, String>,
        bounds_raw: BoundsRaw,
    },
    UpdateConfig {
        summary: String,
        changes: &'a [Change],
    },
    CreateMarket {
        summary: String,
        name: &'a str,
        market: String,
        underlying_mint: String,
        underlying_token_program: String,
        decimals: u8,
        id: u32,
        feed_id: String,
        params: BTreeMap<&'static str, String>,
        params_raw: ParamsRaw,
        seed: String,
        seed_units: u64,
        admin_underlying: String,
        lt_name: &'a str,
        lt_symbol: &'a str,
        ft_name: &'a str,
        ft_symbol: &'a str,
        uri: &'a str,
        paused: PauseView,
    },
    UpdateMarket {
        summary: String,
        name: &'a str,
        market: String,
        changes: &'a [Change],
    },
    SetPause {
        summary: String,
        name: &'a str,
        market: String,
        from: PauseView,
        to: PauseView,
    },
}

#[derive(Serialize)]
struct BoundsRaw {
    min_leverage_ppm: u64,
    max_leverage_ppm: u64,
    max_fee_ppm: u64,
    max_price_age_secs: u64,
    max_conf_ppm: u64,
    min_seed_units: u64,
}

#[derive(Serialize)]
struct ParamsRaw {
    target_leverage_ppm: u64,
    band_ppm: u64,
    mint_fee_ppm: u64,
    redeem_fee_ppm: u64,
    deposit_fee_ppm: u64,
    withdraw_fee_ppm: u64,
    max_price_age_secs: u64,
    max_conf_ppm: u64,
    conf_multiplier_ppm: u64,
    exposure_cap: u64,
    max_utilization_ppm: u64,
    base_rate_ppm: u64,
    kink_ppm: u64,
    slope1_ppm: u64,
    slope2_ppm: u64,
}

impl From<&MarketParams> for ParamsRaw {
    fn from(p: &MarketParams) -> Self {
        Self {
            target_leverage_ppm: p.target_leverage_ppm,
            band_ppm: p.band_ppm,
            mint_fee_ppm: p.mint_fee_ppm,
            redeem_fee_ppm: p.redeem_fee_ppm,
            deposit_fee_ppm: p.deposit_fee_ppm,
            withdraw_fee_ppm: p.withdraw_fee_ppm,
            max_price_age_secs: p.max_price_age_secs,
            max_conf_ppm: p.max_conf_ppm,
            conf_multiplier_ppm: p.conf_multiplier_ppm,
            exposure_cap: p.exposure_cap,
            max_utilization_ppm: p.max_utilization_ppm,
            base_rate_ppm: p.base_rate_ppm,
            kink_ppm: p.kink_ppm,
            slope1_ppm: p.slope1_ppm,
            slope2_ppm: p.slope2_ppm,
        }
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let summary = self.summary();
        let view = match self {
            Self::InitializeConfig { args } => {
                let b = &args.bounds;
                StepView::InitializeConfig {
                    summary,
                    pause_authority: args.pause_authority.to_string(),
                    fee_receiver: args.fee_receiver.to_string(),
                    bounds: bound_lines(b).into_iter().collect(),
                    bounds_raw: BoundsRaw {
                        min_leverage_ppm: b.min_leverage_ppm,
                        max_leverage_ppm: b.max_leverage_ppm,
                        max_fee_ppm: b.max_fee_ppm,
                        max_price_age_secs: b.max_price_age_secs,
                        max_conf_ppm: b.max_conf_ppm,
                        min_seed_units: b.min_seed_units,
                    },
                }
            }
            Self::UpdateConfig { changes, .. } => StepView::UpdateConfig { summary, changes },
            Self::CreateMarket(c) => {
                let a = &c.args;
                StepView::CreateMarket {
                    summary,
                    name: &c.name,
                    market: c.keys.market.to_string(),
                    underlying_mint: c.keys.underlying_mint.to_string(),
                    underlying_token_program: c.keys.underlying_token_program.to_string(),
                    decimals: c.decimals,
                    id: a.id,
                    feed_id: feed_hex(&a.feed_id),
                    params: param_lines(&a.params, c.decimals).into_iter().collect(),
                    params_raw: ParamsRaw::from(&a.params),
                    seed: format_units(a.seed_units, c.decimals),
                    seed_units: a.seed_units,
                    admin_underlying: c.admin_underlying.to_string(),
                    lt_name: &a.lt_name,
                    lt_symbol: &a.lt_symbol,
                    ft_name: &a.ft_name,
                    ft_symbol: &a.ft_symbol,
                    uri: &a.uri,
                    paused: c.paused.into(),
                }
            }
            Self::UpdateMarket {
                name,
                market,
                changes,
                ..
            } => StepView::UpdateMarket {
                summary,
                name,
                market: market.to_string(),
                changes,
            },
            Self::SetPause {
                name,
                market,
                from,
                to,
            } => StepView::SetPause {
                summary,
                name,
                market: market.to_string(),
                from: (*from).into(),
                to: (*to).into(),
            },
        };
        view.serialize(s)
    }
}

/// What the plan learnt about an underlying mint.
#[derive(Clone, Copy)]
struct MintInfo {
    token_program: Pubkey,
    decimals: u8,
}

/// Read `mint`: SPL Token or Token-2022, initialised, with extensions the program accepts.
fn mint_info(entry: &MarketEntry, account: Option<Account>) -> Result<MintInfo, DeployError> {
    let not_a_mint = |reason: String| DeployError::NotAMint {
        market: entry.name.clone(),
        mint: entry.underlying_mint,
        reason,
    };
    let mut account = account.ok_or_else(|| not_a_mint("no such account on this cluster".into()))?;
    let token_program = account.owner;
    if token_program != anchor_spl::token::ID && token_program != anchor_spl::token_2022::ID {
        return Err(not_a_mint(format!(
            "owned by {token_program}, not by SPL Token or Token-2022"
        )));
    }
    let decimals = match StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data) {
        Ok(state) if state.base.is_initialized => state.base.decimals,
        _ => return Err(not_a_mint("not an initialised mint".into())),
    };
    // The program's own check of the mint's extensions.
    let mut lamports = account.lamports;
    let info = AccountInfo::new(
        &entry.underlying_mint,
        false,
        false,
        &mut lamports,
        &mut account.data,
        &token_program,
        false,
    );
    lever::instructions::validate_underlying_mint(&info).map_err(|e| DeployError::Refused {
        at: format!(
            "market `{}`.underlying_mint {}",
            entry.name, entry.underlying_mint
        ),
        error: program_error(e),
    })?;
    Ok(MintInfo {
        token_program,
        decimals,
    })
}

/// The seed deposits one admin token account pays.
struct SeedSource {
    mint: Pubkey,
    token_program: Pubkey,
    decimals: u8,
    /// Raw units, summed over `markets`.
    needs: u128,
    markets: Vec<String>,
}

/// Name, symbol and uri of a share mint's on-mint metadata.
fn share_metadata(account: Option<&Account>) -> Option<(String, String, String)> {
    crate::ops::token_metadata(&account?.data)
}

/// Read the chain and list the steps that bring it to `file`, signed by `admin`. Nothing is sent.
/// Refused as a whole (no plan) when the file cannot be applied: a value the program would
/// refuse, something fixed at creation that differs, a config administered by another key, a
/// missing or short seed account.
pub async fn plan<C: Cluster>(cluster: &C, file: &DeployFile, admin: Pubkey) -> Result<Plan, DeployError> {
    let config_key = pda::config();
    let pause_authority = file.config.pause_authority.resolve(admin);
    let fee_receiver = file.config.fee_receiver.resolve(admin);
    let bounds = file.config.bounds;
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let mut up_to_date = Vec::new();

    // The config.
    match cluster.account(&config_key).await? {
        None => steps.push(Step::InitializeConfig {
            args: InitializeConfigArgs {
                pause_authority,
                fee_receiver,
                bounds,
            },
        }),
        Some(account) => {
            if account.owner != lever::ID {
                return Err(DeployError::Unexpected(format!(
                    "the config address {config_key} is owned by {}, not by the program",
                    account.owner
                )));
            }
            let config = decode_zero_copy::<Config>(&account.data).map_err(|e| {
                DeployError::Unexpected(format!("the config at {config_key} does not decode: {e}"))
            })?;
            if config.admin != admin {
                return Err(DeployError::NotAdmin {
                    admin: config.admin,
                    signer: admin,
                    pending_admin: (config.pending_admin != Pubkey::default())
                        .then_some(config.pending_admin),
                });
            }
            if config.pending_admin != Pubkey::default() {
                notes.push(format!(
                    "an admin transfer to {} is pending (accept_admin not yet called)",
                    config.pending_admin
                ));
            }
            let mut args = UpdateConfigArgs::default();
            let mut changes = Vec::new();
            if config.pause_authority != pause_authority {
                args.pause_authority = Some(pause_authority);
                changes.push(Change {
                    field: "pause_authority".into(),
                    from: config.pause_authority.to_string(),
                    to: pause_authority.to_string(),
                });
            }
            if config.fee_receiver != fee_receiver {
                args.fee_receiver = Some(fee_receiver);
                changes.push(Change {
                    field: "fee_receiver".into(),
                    from: config.fee_receiver.to_string(),
                    to: fee_receiver.to_string(),
                });
            }
            let old = config.bounds();
            if old != bounds {
                args.bounds = Some(bounds);
                for ((key, from), (_, to)) in bound_lines(&old).into_iter().zip(bound_lines(&bounds)) {
                    if from != to {
                        changes.push(Change {
                            field: key.to_string(),
                            from,
                            to,
                        });
                    }
                }
            }
            if !changes.is_empty() {
                steps.push(Step::UpdateConfig { args, changes });
            }
        }
    }

    // The config as it will be once the steps above land: what every market is checked against.
    let mut target: Config = bytemuck::Zeroable::zeroed();
    target.set_bounds(&bounds);

    // The underlying mints.
    let mut mint_keys: Vec<Pubkey> = Vec::new();
    for m in &file.markets {
        if !mint_keys.contains(&m.underlying_mint) {
            mint_keys.push(m.underlying_mint);
        }
    }
    let mint_accounts = cluster.accounts(&mint_keys).await?;
    let mint_accounts: BTreeMap<Pubkey, Option<Account>> = mint_keys.into_iter().zip(mint_accounts).collect();

    // The markets.
    let market_keys: Vec<Pubkey> = file.markets.iter().map(MarketEntry::address).collect();
    let market_accounts = cluster.accounts(&market_keys).await?;
    // What each admin token account must pay in seeds.
    let mut seed_sources: BTreeMap<Pubkey, SeedSource> = BTreeMap::new();
    for ((entry, address), account) in file.markets.iter().zip(&market_keys).zip(market_accounts) {
        let mint = mint_info(
            entry,
            mint_accounts.get(&entry.underlying_mint).cloned().flatten(),
        )?;
        let params = entry.params(mint.decimals)?;
        params.validate(&target).map_err(|e| DeployError::Refused {
            at: match bounds_hint(&e, &params, &bounds) {
                hint if hint.is_empty() => entry.at(),
                hint => format!("{} ({hint})", entry.at()),
            },
            error: program_error(e),
        })?;
        let keys = MarketKeys::derive(entry.underlying_mint, entry.id, mint.token_program);
        debug_assert_eq!(keys.market, *address);
        match account {
            None => {
                let seed_units = entry.seed_units(mint.decimals)?;
                if seed_units < bounds.min_seed_units {
                    return Err(DeployError::Refused {
                        at: format!(
                            "{}.seed ({} raw units; the config's min_seed is {} raw units)",
                            entry.at(),
                            seed_units,
                            bounds.min_seed_units
                        ),
                        error: lever_error(LeverError::SeedTooSmall),
                    });
                }
                let admin_underlying =
                    pda::associated_token_account(&admin, &entry.underlying_mint, &mint.token_program);
                let source = seed_sources.entry(admin_underlying).or_insert(SeedSource {
                    mint: entry.underlying_mint,
                    token_program: mint.token_program,
                    decimals: mint.decimals,
                    needs: 0,
                    markets: Vec::new(),
                });
                source.needs += u128::from(seed_units);
                source.markets.push(entry.name.clone());
                steps.push(Step::CreateMarket(Box::new(CreateMarketStep {
                    name: entry.name.clone(),
                    keys,
                    decimals: mint.decimals,
                    admin_underlying,
                    args: CreateMarketArgs {
                        id: entry.id,
                        feed_id: entry.feed_id,
                        params,
                        seed_units,
                        lt_name: entry.lt_name.clone(),
                        lt_symbol: entry.lt_symbol.clone(),
                        ft_name: entry.ft_name.clone(),
                        ft_symbol: entry.ft_symbol.clone(),
                        uri: entry.uri.clone(),
                    },
                    paused: entry.paused.unwrap_or(0),
                })));
            }
            Some(account) => {
                let market = decode_market(&account).ok_or_else(|| {
                    DeployError::Unexpected(format!(
                        "market `{}`: the address {address} holds an account that is not a Lever market",
                        entry.name
                    ))
                })?;
                let immutable =
                    |field: &'static str, on_chain: String, file: String| DeployError::Immutable {
                        market: entry.name.clone(),
                        address: *address,
                        field,
                        on_chain,
                        file,
                    };
                if market.config != config_key {
                    return Err(DeployError::Unexpected(format!(
                        "market `{}` at {address} belongs to config {}, not {config_key}",
                        entry.name, market.config
                    )));
                }
                if market.feed_id != entry.feed_id {
                    return Err(immutable(
                        "feed_id",
                        feed_hex(&market.feed_id),
                        feed_hex(&entry.feed_id),
                    ));
                }
                if market.underlying_token_program != mint.token_program {
                    return Err(immutable(
                        "underlying token program",
                        market.underlying_token_program.to_string(),
                        mint.token_program.to_string(),
                    ));
                }
                if market.decimals != mint.decimals {
                    return Err(immutable(
                        "decimals",
                        market.decimals.to_string(),
                        mint.decimals.to_string(),
                    ));
                }
                let shares = cluster.accounts(&[market.lt_mint, market.ft_mint]).await?;
                for (side, account, name_key, symbol_key, name, symbol) in [
                    (
                        "LT",
                        shares[0].as_ref(),
                        "lt_name",
                        "lt_symbol",
                        &entry.lt_name,
                        &entry.lt_symbol,
                    ),
                    (
                        "FT",
                        shares[1].as_ref(),
                        "ft_name",
                        "ft_symbol",
                        &entry.ft_name,
                        &entry.ft_symbol,
                    ),
                ] {
                    let (on_name, on_symbol, on_uri) = share_metadata(account).ok_or_else(|| {
                        DeployError::Unexpected(format!(
                            "market `{}`: the {side} mint has no readable token metadata",
                            entry.name
                        ))
                    })?;
                    for (field, on_chain, wanted) in [
                        (name_key, on_name, name),
                        (symbol_key, on_symbol, symbol),
                        ("uri", on_uri, &entry.uri),
                    ] {
                        if on_chain != *wanted {
                            return Err(immutable(
                                field,
                                format!("\"{on_chain}\""),
                                format!("\"{wanted}\""),
                            ));
                        }
                    }
                }
                if market.is_wiped() {
                    notes.push(format!(
                        "market `{}` at {address} is wiped: LT mints are refused until reopen_market",
                        entry.name
                    ));
                }
                let (update, changes) = diff_params(&market.params(), &params, mint.decimals);
                let mut touched = false;
                if !changes.is_empty() {
                    touched = true;
                    steps.push(Step::UpdateMarket {
                        name: entry.name.clone(),
                        market: *address,
                        update,
                        changes,
                    });
                }
                if let Some(bits) = entry.paused {
                    if bits != market.paused {
                        touched = true;
                        steps.push(Step::SetPause {
                            name: entry.name.clone(),
                            market: *address,
                            from: market.paused,
                            to: bits,
                        });
                    }
                }
                if !touched {
                    up_to_date.push(UpToDate {
                        name: entry.name.clone(),
                        market: *address,
                    });
                }
            }
        }
    }

    // Every seed source exists, is the admin's account of the right mint, and holds enough.
    let sources: Vec<Pubkey> = seed_sources.keys().copied().collect();
    let source_accounts = cluster.accounts(&sources).await?;
    for ((account_key, source), account) in seed_sources.into_iter().zip(source_accounts) {
        let SeedSource {
            mint,
            token_program,
            decimals,
            needs,
            markets,
        } = source;
        let missing = || DeployError::SeedAccountMissing {
            markets: markets.clone(),
            account: account_key,
            mint,
            token_program,
        };
        let account = account.ok_or_else(missing)?;
        let data = &account.data;
        let is_admins = account.owner == token_program
            && data.len() >= 72
            && data[0..32] == mint.to_bytes()
            && data[32..64] == admin.to_bytes();
        if !is_admins {
            return Err(DeployError::Unexpected(format!(
                "{account_key} should be the admin's associated token account for {mint} but is not a \
                 token account of that mint owned by {admin}"
            )));
        }
        let holds = u64::from_le_bytes(data[64..72].try_into().unwrap_or_default());
        if u128::from(holds) < needs {
            return Err(DeployError::SeedAccountShort {
                markets,
                account: account_key,
                holds: format!("{} tokens", format_units(holds, decimals)),
                needs: format!(
                    "{} tokens",
                    u64::try_from(needs).map_or_else(|_| needs.to_string(), |n| format_units(n, decimals))
                ),
            });
        }
    }

    // Markets on chain that the file does not name (where the cluster can list them).
    if let Ok(listed) = cluster.markets().await {
        for (key, _) in listed {
            if !market_keys.contains(&key) {
                notes.push(format!(
                    "market {key} is on chain but not in the file (left as it is)"
                ));
            }
        }
    }

    Ok(Plan {
        program: lever::ID,
        config: config_key,
        admin,
        steps,
        up_to_date,
        notes,
    })
}

/// The value the program's bounds check refused, and what it allows, for an error message.
fn bounds_hint(e: &anchor_lang::error::Error, p: &MarketParams, b: &ConfigBounds) -> String {
    use lever::constants::*;
    let code = match e {
        anchor_lang::error::Error::AnchorError(a) => a.error_code_number,
        _ => return String::new(),
    };
    let is = |e: LeverError| code == u32::from(e);
    if is(LeverError::LeverageOutOfBounds) {
        format!(
            "leverage {}; allowed {}..{} (the config's bounds inside the program's {}..{})",
            format_leverage(p.target_leverage_ppm),
            format_leverage(b.min_leverage_ppm.max(MIN_LEVERAGE_PPM)),
            format_leverage(b.max_leverage_ppm.min(MAX_LEVERAGE_PPM)),
            format_leverage(MIN_LEVERAGE_PPM),
            format_leverage(MAX_LEVERAGE_PPM),
        )
    } else if is(LeverError::BandOutOfBounds) {
        format!(
            "band {}; allowed {}..{}",
            format_percent(p.band_ppm),
            format_percent(MIN_BAND_PPM),
            format_percent(MAX_BAND_PPM)
        )
    } else if is(LeverError::FeeOutOfBounds) {
        format!(
            "mint/redeem/deposit/withdraw fees {}/{}/{}/{}; each at most {}",
            format_percent(p.mint_fee_ppm),
            format_percent(p.redeem_fee_ppm),
            format_percent(p.deposit_fee_ppm),
            format_percent(p.withdraw_fee_ppm),
            format_percent(b.max_fee_ppm.min(MAX_FEE_PPM))
        )
    } else if is(LeverError::PriceAgeOutOfBounds) {
        format!(
            "max_price_age_secs {}; allowed 1..{}",
            p.max_price_age_secs,
            b.max_price_age_secs.min(MAX_PRICE_AGE_SECS)
        )
    } else if is(LeverError::ConfidenceLimitOutOfBounds) {
        format!(
            "max_conf {}; allowed {}..{}",
            format_percent(p.max_conf_ppm),
            format_percent(1),
            format_percent(b.max_conf_ppm.min(MAX_CONF_PPM))
        )
    } else if is(LeverError::ConfMultiplierOutOfBounds) {
        format!(
            "conf_multiplier {}; allowed {}..{}",
            format_leverage(p.conf_multiplier_ppm),
            format_leverage(MIN_CONF_MULTIPLIER_PPM),
            format_leverage(MAX_CONF_MULTIPLIER_PPM)
        )
    } else if is(LeverError::UtilizationCapOutOfBounds) {
        format!(
            "max_utilization {}; allowed {}..{}",
            format_percent(p.max_utilization_ppm),
            format_percent(MIN_MAX_UTILIZATION_PPM),
            format_percent(PPM)
        )
    } else if is(LeverError::FundingCurveOutOfBounds) {
        format!(
            "base_rate {} (at most {}), kink {} ({}..{}), slope1 {} and slope2 {} (each at most {})",
            format_percent(p.base_rate_ppm),
            format_percent(MAX_BASE_RATE_PPM),
            format_percent(p.kink_ppm),
            format_percent(MIN_KINK_PPM),
            format_percent(MAX_KINK_PPM),
            format_percent(p.slope1_ppm),
            format_percent(p.slope2_ppm),
            format_percent(MAX_SLOPE_PPM)
        )
    } else {
        String::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

/// A step that landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// 1-based position in the plan.
    pub step: usize,
    pub what: String,
    #[serde(serialize_with = "display")]
    pub signature: Signature,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}. {}: {}", self.step, self.what, self.signature)
    }
}

/// Send each step of `plan` (one transaction each, simulated first, sent only if the simulation
/// succeeds), in order, stopping at the first failure ([`DeployError::StepFailed`], naming the
/// program's error and the steps that landed before it). An empty plan sends nothing.
pub async fn apply<C: Cluster>(
    cluster: &C,
    plan: &Plan,
    admin: &Keypair,
) -> Result<Vec<Applied>, DeployError> {
    if admin.pubkey() != plan.admin {
        return Err(DeployError::WrongSigner {
            plan: plan.admin,
            signer: admin.pubkey(),
        });
    }
    let mut landed = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let ixs = step.instructions(plan.admin);
        match submit(cluster, &ixs, admin, &[]).await {
            Ok(l) => landed.push(Applied {
                step: i + 1,
                what: step.summary(),
                signature: l.signature,
            }),
            Err(error) => {
                return Err(DeployError::StepFailed(Box::new(StepFailure {
                    step: i + 1,
                    total: plan.steps.len(),
                    what: step.summary(),
                    program_error: error.custom_code().map(describe),
                    error,
                    landed,
                })))
            }
        }
    }
    Ok(landed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(p: u64) -> MarketParams {
        MarketParams {
            target_leverage_ppm: p,
            band_ppm: p + 1,
            mint_fee_ppm: p + 2,
            redeem_fee_ppm: p + 3,
            deposit_fee_ppm: p + 4,
            withdraw_fee_ppm: p + 5,
            max_price_age_secs: p + 6,
            max_conf_ppm: p + 7,
            conf_multiplier_ppm: p + 8,
            exposure_cap: p + 9,
            max_utilization_ppm: p + 10,
            base_rate_ppm: p + 11,
            kink_ppm: p + 12,
            slope1_ppm: p + 13,
            slope2_ppm: p + 14,
        }
    }

    #[test]
    fn each_field_reads_and_updates_its_own_parameter() {
        let base = sample(100);
        let mut seen = HashSet::new();
        for f in &PARAM_FIELDS {
            let v = (f.get)(&base);
            assert!(
                seen.insert(v),
                "{} reads the same parameter as another field",
                f.key
            );
            let mut u = UpdateMarketParams::default();
            (f.set)(&mut u, 7);
            let after = base.apply(&u);
            assert_eq!((f.get)(&after), 7, "{} sets what it reads", f.key);
            let unchanged = PARAM_FIELDS
                .iter()
                .filter(|g| g.key != f.key)
                .all(|g| (g.get)(&after) == (g.get)(&base));
            assert!(unchanged, "{} touches another parameter", f.key);
        }
        assert_eq!(seen.len(), 15);
    }

    #[test]
    fn diff_sets_only_what_changed() {
        let old = sample(100);
        let mut new = old;
        new.band_ppm = 30_000;
        new.exposure_cap = u64::MAX;
        let (u, changes) = diff_params(&old, &new, 2);
        assert_eq!(
            u,
            UpdateMarketParams {
                band_ppm: Some(30_000),
                exposure_cap: Some(u64::MAX),
                ..UpdateMarketParams::default()
            }
        );
        assert_eq!(
            changes,
            vec![
                Change {
                    field: "band".into(),
                    from: "0.0101%".into(),
                    to: "3%".into()
                },
                Change {
                    field: "exposure_cap".into(),
                    from: "1.09".into(),
                    to: "none".into()
                },
            ]
        );
        assert_eq!(old.apply(&u), new);
        let (u, changes) = diff_params(&old, &old, 2);
        assert_eq!(u, UpdateMarketParams::default());
        assert!(changes.is_empty());
    }

    #[test]
    fn the_documented_example_parses() {
        let source = include_str!("deploy.rs");
        let doc: String = source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                format!(
                    "{}\n",
                    l.trim_start_matches("//!").strip_prefix(' ').unwrap_or("")
                )
            })
            .collect();
        let example = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a TOML example in the module documentation");
        let file = DeployFile::parse(example).expect("the documented example parses");
        assert_eq!(file.config.bounds.max_fee_ppm, 10_000);
        let m = &file.markets[0];
        assert_eq!(m.params(9).expect("params").redeem_fee_ppm, 1_000);
        assert_eq!(m.seed_units(9).expect("seed"), 10_000_000);
        assert_eq!(m.paused, Some(pause::MINT_LT));
    }

    #[test]
    fn pause_bits_by_name() {
        assert_eq!(paused_names(pause::ALL).len(), 5);
        assert_eq!(pause_label(0), "none");
        assert_eq!(pause_label(pause::MINT_LT | pause::REBALANCE), "mint, rebalance");
    }
}
