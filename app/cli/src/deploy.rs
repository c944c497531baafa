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
//! settle_delay_secs = 10             # two-step: a request settles at the update covering now + this
//! settle_window_secs = 300           # then it may still settle this long; after, anyone cancels it
//! min_settle_tip_lamports = 5000     # least prepaid tip for whoever settles a request
//! instant_max_age_secs = 2           # instant path: largest update age (0: the path is off)
//! instant_fee = "0.3%"               # fee of every instant operation (at least the floor)
//! instant_max_conf = "1%"            # instant path: largest confidence / price
//! instant_slot_cap = "none"          # instant path: most whole tokens per slot, or "none"
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
//!   `exposure_cap`, `instant_slot_cap`) are whole tokens (a string or an integer) parsed by [`parse_units`] at the
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

mod error;
pub use error::*;
mod file;
pub use file::*;
mod params;
pub use params::*;
mod step;
pub use step::*;
mod plan;
pub use plan::*;
mod apply;
pub use apply::*;

/// Compute-unit limit of a `create_market` transaction (it creates five accounts and writes two
/// metadata entries; the default 200,000 per instruction is too tight for the SBF build).
pub const CREATE_MARKET_COMPUTE_UNITS: u32 = 400_000;

#[cfg(test)]
mod tests {
    use super::*;
    use lever::constants::pause;
    use lever::state::{MarketParams, UpdateMarketParams};
    use lever_sdk::ops::paused_names;
    use std::collections::HashSet;

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
            settle_delay_secs: p + 15,
            settle_window_secs: p + 16,
            min_settle_tip_lamports: p + 17,
            instant_max_age_secs: p + 18,
            instant_fee_ppm: p + 19,
            instant_max_conf_ppm: p + 20,
            instant_slot_cap: p + 21,
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
        // Every parameter (all are u64) has its field.
        assert_eq!(seen.len(), std::mem::size_of::<MarketParams>() / 8);
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
