//! Planning: read the cluster, compare with the file, and list the steps (immutable differences refused).

use super::*;
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_spl::token_interface::spl_token_2022;
use lever::error::LeverError;
use lever::instructions::{CreateMarketArgs, InitializeConfigArgs, UpdateConfigArgs};
use lever::state::{Config, ConfigBounds, Market, MarketParams};
use lever_sdk::accounts::decode_market;
use lever_sdk::accounts::decode_zero_copy;
use lever_sdk::cluster::Cluster;
use lever_sdk::pda::{self, MarketKeys};
use lever_sdk::units::{format_leverage, format_percent, format_units};
use solana_account::Account;
use spl_token_2022::extension::StateWithExtensions;
use std::collections::BTreeMap;

/// What the plan learnt about an underlying mint.
#[derive(Clone, Copy)]
pub(super) struct MintInfo {
    pub(super) token_program: Pubkey,
    pub(super) decimals: u8,
    /// The mint's freeze authority, if any (a new market refuses it unless the file allows it).
    pub(super) freeze_authority: Option<Pubkey>,
}

/// Read `mint`: SPL Token or Token-2022, initialised, with extensions the program accepts.
pub(super) fn mint_info(entry: &MarketEntry, account: Option<Account>) -> Result<MintInfo, DeployError> {
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
    let (decimals, freeze_authority) =
        match StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&account.data) {
            Ok(state) if state.base.is_initialized => {
                (state.base.decimals, Option::from(state.base.freeze_authority))
            }
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
        freeze_authority,
    })
}

/// The seed deposits one admin token account pays.
pub(super) struct SeedSource {
    pub(super) mint: Pubkey,
    pub(super) token_program: Pubkey,
    pub(super) decimals: u8,
    /// Raw units, summed over `markets`.
    pub(super) needs: u128,
    pub(super) markets: Vec<String>,
}

/// Name, symbol and uri of a share mint's on-mint metadata.
pub(super) fn share_metadata(account: Option<&Account>) -> Option<(String, String, String)> {
    lever_sdk::accounts::token_metadata(&account?.data)
}

/// Read the chain and list the steps that bring it to `file`, signed by `admin`. Nothing is sent.
/// Refused as a whole (no plan) when the file cannot be applied: a value the program would
/// refuse, something fixed at creation that differs, a config administered by another key, a
/// missing or short seed account.
pub async fn plan<C: Cluster>(cluster: &C, file: &DeployFile, admin: Pubkey) -> Result<Plan, DeployError> {
    let bounds = file.config.bounds;
    let mut planner = Planner {
        config_key: pda::config(),
        admin,
        bounds,
        steps: Vec::new(),
        notes: Vec::new(),
        up_to_date: Vec::new(),
        seed_sources: BTreeMap::new(),
    };
    planner.config(cluster, file).await?;

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
            None => planner.new_market(entry, &mint, keys, params)?,
            Some(account) => {
                planner
                    .existing_market(cluster, entry, address, &account, &mint, &params)
                    .await?
            }
        }
    }
    planner.seed_sources_hold_enough(cluster).await?;

    // Markets on chain that the file does not name (where the cluster can list them).
    if let Ok(listed) = cluster.markets().await {
        for (key, _) in listed {
            if !market_keys.contains(&key) {
                planner.notes.push(format!(
                    "market {key} is on chain but not in the file (left as it is)"
                ));
            }
        }
    }

    Ok(Plan {
        program: lever::ID,
        config: planner.config_key,
        admin,
        steps: planner.steps,
        up_to_date: planner.up_to_date,
        notes: planner.notes,
    })
}

/// What [`plan`] builds, section by section: the config, each new or existing market, the seeds.
struct Planner {
    config_key: Pubkey,
    admin: Pubkey,
    bounds: ConfigBounds,
    steps: Vec<Step>,
    notes: Vec<String>,
    up_to_date: Vec<UpToDate>,
    /// What each admin token account must pay in seeds.
    seed_sources: BTreeMap<Pubkey, SeedSource>,
}

impl Planner {
    /// The config: create it, or update the fields that differ (the signer must be its admin).
    async fn config<C: Cluster>(&mut self, cluster: &C, file: &DeployFile) -> Result<(), DeployError> {
        let (config_key, admin, bounds) = (self.config_key, self.admin, self.bounds);
        let pause_authority = file.config.pause_authority.resolve(admin);
        let fee_receiver = file.config.fee_receiver.resolve(admin);
        match cluster.account(&config_key).await? {
            None => self.steps.push(Step::InitializeConfig {
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
                    self.notes.push(format!(
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
                    self.steps.push(Step::UpdateConfig { args, changes });
                }
            }
        }
        Ok(())
    }

    /// A market the cluster does not have: its creation, and the seed it takes.
    fn new_market(
        &mut self,
        entry: &MarketEntry,
        mint: &MintInfo,
        keys: MarketKeys,
        params: MarketParams,
    ) -> Result<(), DeployError> {
        let (admin, bounds) = (self.admin, self.bounds);
        if let (Some(authority), false) = (mint.freeze_authority, entry.allow_freeze_authority) {
            return Err(DeployError::Refused {
                at: format!(
                    "{}.underlying_mint {} (freeze authority {authority}: set allow_freeze_authority = true \
                     to accept that its issuer may freeze the vault)",
                    entry.at(),
                    entry.underlying_mint
                ),
                error: lever_error(LeverError::MintHasFreezeAuthority),
            });
        }
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
        let source = self.seed_sources.entry(admin_underlying).or_insert(SeedSource {
            mint: entry.underlying_mint,
            token_program: mint.token_program,
            decimals: mint.decimals,
            needs: 0,
            markets: Vec::new(),
        });
        source.needs += u128::from(seed_units);
        source.markets.push(entry.name.clone());
        self.steps.push(Step::CreateMarket(Box::new(CreateMarketStep {
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
                allow_freeze_authority: entry.allow_freeze_authority,
            },
            paused: entry.paused.unwrap_or(0),
        })));
        Ok(())
    }

    /// A market the cluster has: what is fixed at creation must match, the rest is diffed.
    async fn existing_market<C: Cluster>(
        &mut self,
        cluster: &C,
        entry: &MarketEntry,
        address: &Pubkey,
        account: &Account,
        mint: &MintInfo,
        params: &MarketParams,
    ) -> Result<(), DeployError> {
        let market = decode_market(account).ok_or_else(|| {
            DeployError::Unexpected(format!(
                "market `{}`: the address {address} holds an account that is not a Lever market",
                entry.name
            ))
        })?;
        fixed_at_creation(cluster, entry, address, &market, mint, self.config_key).await?;
        if market.is_wiped() {
            self.notes.push(format!(
                "market `{}` at {address} is wiped: LT mints are refused until reopen_market",
                entry.name
            ));
        }
        let (update, changes) = diff_params(&market.params(), params, mint.decimals);
        let mut touched = false;
        if !changes.is_empty() {
            loosening_allowed(cluster, entry, &market, params).await?;
            touched = true;
            self.steps.push(Step::UpdateMarket {
                name: entry.name.clone(),
                market: *address,
                update: Box::new(update),
                changes,
            });
        }
        if let Some(bits) = entry.paused {
            if bits != market.paused {
                touched = true;
                self.steps.push(Step::SetPause {
                    name: entry.name.clone(),
                    market: *address,
                    from: market.paused,
                    to: bits,
                });
            }
        }
        if !touched {
            self.up_to_date.push(UpToDate {
                name: entry.name.clone(),
                market: *address,
            });
        }
        Ok(())
    }

    /// Every seed source exists, is the admin's account of the right mint, and holds enough.
    async fn seed_sources_hold_enough<C: Cluster>(&mut self, cluster: &C) -> Result<(), DeployError> {
        let admin = self.admin;
        let sources: Vec<Pubkey> = self.seed_sources.keys().copied().collect();
        let source_accounts = cluster.accounts(&sources).await?;
        for ((account_key, source), account) in std::mem::take(&mut self.seed_sources)
            .into_iter()
            .zip(source_accounts)
        {
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
                        u64::try_from(needs)
                            .map_or_else(|_| needs.to_string(), |n| format_units(n, decimals))
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The program loosens a risk parameter by one step (x2 up, /2 down) per update and at most once
/// a day (`LooseningTooLarge`, `LooseningTooFast`): a file that asks for more is refused here,
/// naming the step to deploy first or when the next loosening may land, rather than planning an
/// update the program would refuse. Tightening is never held back.
async fn loosening_allowed<C: Cluster>(
    cluster: &C,
    entry: &MarketEntry,
    market: &Market,
    params: &MarketParams,
) -> Result<(), DeployError> {
    use lever::constants::{LOOSEN_INTERVAL_SECS, LOOSEN_MAX_FACTOR};
    let before = market.params();
    let loosens = before.loosening(params).map_err(|e| DeployError::Refused {
        at: format!(
            "{} (a risk parameter may be loosened by at most x{LOOSEN_MAX_FACTOR} up or /{LOOSEN_MAX_FACTOR} \
             down per update, one update a day: deploy an intermediate value first)",
            entry.at()
        ),
        error: program_error(e),
    })?;
    if loosens && market.last_loosened_at != 0 {
        let now = cluster.clock().await?.unix_timestamp;
        let next = market.last_loosened_at.saturating_add(LOOSEN_INTERVAL_SECS);
        if now < next {
            return Err(DeployError::Refused {
                at: format!(
                    "{} (last loosened at unix {}; the next loosening may land from unix {next}, in {} s; \
                     tightening is allowed now)",
                    entry.at(),
                    market.last_loosened_at,
                    next - now
                ),
                error: lever_error(LeverError::LooseningTooFast),
            });
        }
    }
    Ok(())
}

/// What is fixed at creation (the config, the feed, the token program, the decimals and the share
/// tokens' metadata) must be what the file says: refused otherwise, never silently changed.
async fn fixed_at_creation<C: Cluster>(
    cluster: &C,
    entry: &MarketEntry,
    address: &Pubkey,
    market: &Market,
    mint: &MintInfo,
    config_key: Pubkey,
) -> Result<(), DeployError> {
    let immutable = |field: &'static str, on_chain: String, file: String| DeployError::Immutable {
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
    Ok(())
}

pub(super) fn bounds_hint(e: &anchor_lang::error::Error, p: &MarketParams, b: &ConfigBounds) -> String {
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
    } else if is(LeverError::SettleDelayOutOfBounds) {
        format!(
            "settle_delay_secs {}; allowed {MIN_SETTLE_DELAY_SECS}..{MAX_SETTLE_DELAY_SECS}",
            p.settle_delay_secs
        )
    } else if is(LeverError::SettleWindowOutOfBounds) {
        format!(
            "settle_window_secs {}; allowed {MIN_SETTLE_WINDOW_SECS}..{MAX_SETTLE_WINDOW_SECS}",
            p.settle_window_secs
        )
    } else if is(LeverError::SettleTipOutOfBounds) {
        format!(
            "min_settle_tip_lamports {}; at most {MAX_MIN_SETTLE_TIP_LAMPORTS}",
            p.min_settle_tip_lamports
        )
    } else if is(LeverError::InstantParamsOutOfBounds) {
        format!(
            "instant_max_age_secs {} (at most {MAX_INSTANT_AGE_SECS} and max_price_age_secs), instant_fee {} \
             (at least {} at this leverage and age, at most max_fee), instant_max_conf {} (1 PPM..max_conf), \
             instant_slot_cap above 0",
            p.instant_max_age_secs,
            format_percent(p.instant_fee_ppm),
            format_percent(p.instant_fee_floor_ppm().unwrap_or(u64::MAX)),
            format_percent(p.instant_max_conf_ppm)
        )
    } else {
        String::new()
    }
}
