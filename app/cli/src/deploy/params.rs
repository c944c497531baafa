//! Market parameters and config bounds, field by field: display and diffs.

use super::*;
use lever::state::{ConfigBounds, MarketParams, UpdateMarketParams};
use lever_sdk::units::{format_leverage, format_percent, format_units};

// ---------------------------------------------------------------------------------------------
// Parameters, field by field
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub(super) enum Unit {
    Leverage,
    Percent,
    Seconds,
    Lamports,
    Tokens,
}

/// One market parameter: its name in the file, how to read it, how to set it in an update.
pub(super) struct ParamField {
    pub(super) key: &'static str,
    /// The field's name in `MarketParams` (and in the JSON plan's `params_raw`).
    pub(super) field: &'static str,
    pub(super) get: fn(&MarketParams) -> u64,
    pub(super) set: fn(&mut UpdateMarketParams, u64),
    pub(super) unit: Unit,
}

macro_rules! field {
    ($key:literal, $f:ident, $unit:ident) => {
        ParamField {
            key: $key,
            field: stringify!($f),
            get: |p| p.$f,
            set: |u, v| u.$f = Some(v),
            unit: Unit::$unit,
        }
    };
}

pub(super) const PARAM_FIELDS: [ParamField; 22] = [
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
    field!("settle_delay_secs", settle_delay_secs, Seconds),
    field!("settle_window_secs", settle_window_secs, Seconds),
    field!("min_settle_tip_lamports", min_settle_tip_lamports, Lamports),
    field!("instant_max_age_secs", instant_max_age_secs, Seconds),
    field!("instant_fee", instant_fee_ppm, Percent),
    field!("instant_max_conf", instant_max_conf_ppm, Percent),
    field!("instant_slot_cap", instant_slot_cap, Tokens),
];

pub(super) fn show(unit: Unit, v: u64, decimals: u8) -> String {
    match unit {
        Unit::Leverage => format_leverage(v),
        Unit::Percent => format_percent(v),
        Unit::Seconds => format!("{v}s"),
        Unit::Lamports => format!("{v} lamports"),
        Unit::Tokens if v == u64::MAX => "none".into(),
        Unit::Tokens => format_units(v, decimals),
    }
}

/// Each parameter as the file names it, formatted (whole tokens, percentages, leverage).
pub(super) fn param_lines(p: &MarketParams, decimals: u8) -> Vec<(&'static str, String)> {
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

pub(super) fn bound_lines(b: &ConfigBounds) -> Vec<(&'static str, String)> {
    vec![
        ("min_leverage", format_leverage(b.min_leverage_ppm)),
        ("max_leverage", format_leverage(b.max_leverage_ppm)),
        ("max_fee", format_percent(b.max_fee_ppm)),
        ("max_price_age_secs", format!("{}s", b.max_price_age_secs)),
        ("max_conf", format_percent(b.max_conf_ppm)),
        ("min_seed", format!("{} raw units", b.min_seed_units)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_table_covers_every_parameter_once_in_order() {
        let fields: Vec<&str> = PARAM_FIELDS.iter().map(|f| f.field).collect();
        assert_eq!(fields, MarketParams::FIELDS);
        // Each entry reads and sets the field it names.
        let mut update = UpdateMarketParams::default();
        for (i, f) in PARAM_FIELDS.iter().enumerate() {
            (f.set)(&mut update, 100 + i as u64);
        }
        let params = update.complete().expect("every field set");
        for (i, f) in PARAM_FIELDS.iter().enumerate() {
            assert_eq!(params.field(f.field), Some(100 + i as u64), "{}", f.key);
            assert_eq!((f.get)(&params), 100 + i as u64, "{}", f.key);
        }
    }
}
