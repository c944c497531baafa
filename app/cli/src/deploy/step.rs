//! The plan's steps: what each changes, shown for people and as JSON.

use super::*;
use anchor_lang::prelude::Pubkey;
use lever::instructions::{CreateMarketArgs, InitializeConfigArgs, UpdateConfigArgs};
use lever::state::{MarketParams, UpdateMarketParams};
use lever_sdk::ix;
use lever_sdk::ops::paused_names;
use lever_sdk::pda::{self, MarketKeys};
use lever_sdk::units::format_units;
use serde::{Serialize, Serializer};
use solana_instruction::Instruction;
use std::collections::BTreeMap;
use std::fmt;

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
        /// Boxed: 22 optional fields, far larger than the other steps.
        update: Box<UpdateMarketParams>,
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
            Self::UpdateMarket { market, update, .. } => vec![ix::update_market(admin, *market, **update)],
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

pub(super) fn field_names(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| c.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn feed_hex(feed: &[u8; 32]) -> String {
    format!("0x{}", lever_sdk::pyth::to_hex(feed))
}

pub(super) fn token_program_name(p: &Pubkey) -> &'static str {
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
                if a.allow_freeze_authority {
                    writeln!(
                        f,
                        "     allow_freeze_authority: the underlying's issuer may freeze the vault"
                    )?;
                }
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

pub(super) fn display<S: Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[derive(Serialize)]
pub(super) struct PauseView {
    pub(super) bits: u8,
    pub(super) names: Vec<&'static str>,
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
pub(super) enum StepView<'a> {
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
        params_raw: BTreeMap<&'static str, u64>,
        seed: String,
        seed_units: u64,
        admin_underlying: String,
        lt_name: &'a str,
        lt_symbol: &'a str,
        ft_name: &'a str,
        ft_symbol: &'a str,
        uri: &'a str,
        allow_freeze_authority: bool,
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
pub(super) struct BoundsRaw {
    pub(super) min_leverage_ppm: u64,
    pub(super) max_leverage_ppm: u64,
    pub(super) max_fee_ppm: u64,
    pub(super) max_price_age_secs: u64,
    pub(super) max_conf_ppm: u64,
    pub(super) min_seed_units: u64,
}

/// Every market parameter under its on-chain field name, raw (PPM, seconds, lamports, raw units).
pub(super) fn params_raw(p: &MarketParams) -> BTreeMap<&'static str, u64> {
    PARAM_FIELDS.iter().map(|f| (f.field, (f.get)(p))).collect()
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
                    params_raw: params_raw(&a.params),
                    seed: format_units(a.seed_units, c.decimals),
                    seed_units: a.seed_units,
                    admin_underlying: c.admin_underlying.to_string(),
                    lt_name: &a.lt_name,
                    lt_symbol: &a.lt_symbol,
                    ft_name: &a.ft_name,
                    ft_symbol: &a.ft_symbol,
                    uri: &a.uri,
                    allow_freeze_authority: a.allow_freeze_authority,
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
