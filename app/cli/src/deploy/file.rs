//! The deployment file: as written (serde, exact amounts and ratios as text) and checked into specs.

use super::*;
use anchor_lang::prelude::Pubkey;
use lever::constants::{pause, MAX_NAME_LEN, MAX_SYMBOL_LEN, MAX_URI_LEN};
use lever::error::LeverError;
use lever::state::{Config, ConfigBounds, MarketParams, UpdateMarketParams};
use lever_sdk::ops::paused_names;
use lever_sdk::pda::{self};
use lever_sdk::pyth::feed_id_from_hex;
use lever_sdk::units::{format_leverage, format_percent, parse_ppm, parse_units, UnitsError};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// The file as written
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) config: RawConfig,
    #[serde(default, rename = "market")]
    pub(super) markets: Vec<RawMarket>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) pause_authority: String,
    pub(super) fee_receiver: String,
    pub(super) min_leverage: Option<String>,
    pub(super) max_leverage: Option<String>,
    pub(super) max_fee: Option<String>,
    pub(super) max_price_age_secs: Option<u64>,
    pub(super) max_conf: Option<String>,
    pub(super) min_seed: Option<u64>,
}

/// One `[[market]]` entry as written. Its parameters are not spelled out here: every key that is
/// not one of the fields below lands in `params` and is read through [`PARAM_FIELDS`], the one
/// table of file keys, `MarketParams` fields and units (so unknown keys are found there too; serde
/// cannot deny unknown fields next to a flattened map).
#[derive(Deserialize)]
pub(super) struct RawMarket {
    pub(super) name: String,
    pub(super) underlying_mint: String,
    #[serde(default)]
    pub(super) id: u32,
    pub(super) feed_id: String,
    pub(super) seed: AmountText,
    pub(super) lt_name: String,
    pub(super) lt_symbol: String,
    pub(super) ft_name: String,
    pub(super) ft_symbol: String,
    pub(super) uri: String,
    /// Accept an underlying with a freeze authority (fixed at creation; default false).
    #[serde(default)]
    pub(super) allow_freeze_authority: bool,
    #[serde(default)]
    pub(super) paused: Option<PauseText>,
    /// The market parameters, by their file keys ([`PARAM_FIELDS`]).
    #[serde(flatten)]
    pub(super) params: BTreeMap<String, ParamText>,
}

/// A parameter as written: text (a ratio, an amount or "none") or a non-negative integer (seconds,
/// lamports, or an amount).
pub(super) enum ParamText {
    Text(String),
    Int(u64),
}

impl<'de> Deserialize<'de> for ParamText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ParamText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string (\"2%\", \"3x\", \"1000\", \"none\") or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParamText, E> {
                Ok(ParamText::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ParamText, E> {
                Ok(ParamText::Int(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ParamText, E> {
                u64::try_from(v)
                    .map(ParamText::Int)
                    .map_err(|_| E::custom(format!("a parameter cannot be negative ({v})")))
            }
        }
        d.deserialize_any(V)
    }
}

/// An amount as written: a string ("1.5", "none") or a non-negative integer.
pub(super) struct AmountText(String);

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
pub(super) enum PauseText {
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

pub(super) fn pause_label(bits: u8) -> String {
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
    /// Every parameter but the amounts (u64::MAX here; see [`MarketEntry::params`]).
    pub(super) ratios: MarketParams,
    /// The parameters in whole tokens (exposure cap, instant slot cap), by file key.
    pub(super) caps: Caps,
    /// Whole tokens.
    pub seed: String,
    pub lt_name: String,
    pub lt_symbol: String,
    pub ft_name: String,
    pub ft_symbol: String,
    pub uri: String,
    /// Accept an underlying mint with a freeze authority (`create_market` refuses it otherwise).
    pub allow_freeze_authority: bool,
    /// `None`: leave the pause bits as they are.
    pub paused: Option<u8>,
}

impl MarketEntry {
    pub(super) fn at(&self) -> String {
        format!("market `{}`", self.name)
    }

    /// The market's parameters at the mint's `decimals`.
    pub fn params(&self, decimals: u8) -> Result<MarketParams, DeployError> {
        let mut amounts = UpdateMarketParams::default();
        for f in PARAM_FIELDS.iter() {
            let Some((_, cap)) = self.caps.iter().find(|(key, _)| *key == f.key) else {
                continue;
            };
            let units = match cap {
                Cap::None => u64::MAX,
                Cap::Tokens(t) => parse_units(t, decimals).map_err(|e| DeployError::Invalid {
                    at: format!("{}.{}", self.at(), f.key),
                    reason: format!("{e} (the mint has {decimals} decimals)"),
                })?,
            };
            (f.set)(&mut amounts, units);
        }
        Ok(self.ratios.apply(&amounts))
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

pub(super) fn invalid(at: &str, key: &str, reason: impl fmt::Display) -> DeployError {
    DeployError::Invalid {
        at: format!("{at}.{key}"),
        reason: reason.to_string(),
    }
}

pub(super) fn ratio(at: &str, key: &str, text: &str) -> Result<u64, DeployError> {
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

pub(super) fn role(at: &str, key: &str, text: &str) -> Result<Role, DeployError> {
    if text.trim() == "admin" {
        return Ok(Role::Admin);
    }
    key_of(at, key, text).map(Role::Key)
}

pub(super) fn key_of(at: &str, key: &str, text: &str) -> Result<Pubkey, DeployError> {
    text.trim()
        .parse::<Pubkey>()
        .map_err(|_| invalid(at, key, format!("`{text}` is not a base58 public key")))
}

pub(super) fn parse_config(c: &RawConfig) -> Result<ConfigSpec, DeployError> {
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
pub(super) fn check_amount(at: &str, key: &str, text: &str, expected: &str) -> Result<(), DeployError> {
    match parse_units(text, 0) {
        Err(e @ (UnitsError::Empty | UnitsError::NotANumber(_))) => {
            Err(invalid(at, key, format!("{e}; expected {expected}")))
        }
        _ => Ok(()),
    }
}

pub(super) fn parse_market(m: &RawMarket) -> Result<MarketEntry, DeployError> {
    let at = format!("market `{}`", m.name);
    let at = at.as_str();
    if m.name.trim().is_empty() {
        return Err(invalid("market", "name", "empty name"));
    }
    let feed_id = feed_id_from_hex(m.feed_id.trim())
        .ok_or_else(|| invalid(at, "feed_id", format!("`{}` is not 64 hex digits", m.feed_id)))?;
    let (ratios, caps) = parse_params(at, &m.params)?;
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
            Some(lever_sdk::ops::pause_bits(names).map_err(|e| invalid(at, "paused", e.to_string()))?)
        }
    };
    Ok(MarketEntry {
        name: m.name.clone(),
        underlying_mint: key_of(at, "underlying_mint", &m.underlying_mint)?,
        id: m.id,
        feed_id,
        ratios,
        caps,
        seed: m.seed.0.trim().to_string(),
        lt_name: m.lt_name.clone(),
        lt_symbol: m.lt_symbol.clone(),
        ft_name: m.ft_name.clone(),
        ft_symbol: m.ft_symbol.clone(),
        uri: m.uri.clone(),
        allow_freeze_authority: m.allow_freeze_authority,
        paused,
    })
}

/// The parameters of a `[[market]]` entry, key by key through [`PARAM_FIELDS`]: ratios as text,
/// seconds and lamports as integers, amounts ("none" or whole tokens) kept as text until the
/// mint's decimals are known. Every key must be known and every parameter present.
/// The amount parameters of an entry by file key, waiting for the mint's decimals.
pub(super) type Caps = Vec<(&'static str, Cap)>;

pub(super) fn parse_params(
    at: &str,
    raw: &BTreeMap<String, ParamText>,
) -> Result<(MarketParams, Caps), DeployError> {
    if let Some(key) = raw
        .keys()
        .find(|k| !PARAM_FIELDS.iter().any(|f| f.key == k.as_str()))
    {
        let expected: Vec<&str> = PARAM_FIELDS.iter().map(|f| f.key).collect();
        return Err(DeployError::Syntax(format!(
            "{at}: unknown field `{key}`; the parameters are {}",
            expected.join(", ")
        )));
    }
    let mut update = UpdateMarketParams::default();
    let mut caps = Vec::new();
    for f in &PARAM_FIELDS {
        let value = raw
            .get(f.key)
            .ok_or_else(|| DeployError::Syntax(format!("{at}: missing field `{}`", f.key)))?;
        let wrong = |expected: &str| DeployError::Syntax(format!("{at}.{}: expected {expected}", f.key));
        let v = match (f.unit, value) {
            (Unit::Leverage | Unit::Percent, ParamText::Text(t)) => ratio(at, f.key, t)?,
            (Unit::Leverage | Unit::Percent, ParamText::Int(_)) => {
                return Err(wrong("a ratio as a string (\"2%\", \"30bps\", \"0.02\", \"3x\")"))
            }
            (Unit::Seconds | Unit::Lamports, ParamText::Int(v)) => *v,
            (Unit::Seconds | Unit::Lamports, ParamText::Text(_)) => return Err(wrong("an integer")),
            (Unit::Tokens, value) => {
                let text = match value {
                    ParamText::Text(t) => t.trim().to_string(),
                    ParamText::Int(v) => v.to_string(),
                };
                let cap = if text == "none" {
                    Cap::None
                } else {
                    check_amount(at, f.key, &text, "whole tokens (\"10000\", \"0.5\") or \"none\"")?;
                    Cap::Tokens(text)
                };
                caps.push((f.key, cap));
                u64::MAX
            }
        };
        (f.set)(&mut update, v);
    }
    let params = update
        .complete()
        .ok_or_else(|| DeployError::Syntax(format!("{at}: a parameter is missing")))?;
    Ok((params, caps))
}
