//! Stateful invariant fuzzer: seeded random sequences of every Lever instruction (and price moves,
//! clock jumps, bad oracle updates, donations) against the real program in the embedded bank,
//! with the books checked after every step and a profit rule checked after each sequence's unwind.
//!
//! ```text
//! cargo test -p lever-tests --test fuzz -- --nocapture                        # CI smoke (defaults)
//! FUZZ_SEQUENCES=900 FUZZ_STEPS=150 cargo test --release -p lever-tests --test fuzz -- --nocapture
//! FUZZ_SEED=<u64> FUZZ_SEQUENCES=1 FUZZ_STEPS=<n> ...                          # replay one sequence
//! ```
//!
//! Budgets: `FUZZ_SEQUENCES` (default 20), `FUZZ_STEPS` actions per sequence (default 120),
//! `FUZZ_SEED` (decimal or 0x-hex; default fixed so CI is reproducible). Sequence 0 runs with the
//! run's seed and every next one with `rng::next_seed` of the previous, so a failure prints the
//! failing sequence's own seed and replays alone. `FUZZ_VERBOSE=1` prints every action as it runs.
//!
//! Each sequence: a fresh chain and a random market (SPL Token or Token-2022 underlying, 6 or 9
//! decimals, 2x-10x, band, fees, price age, confidence limits, funding curve, seed deposit), 2-4 LT
//! holders, 1-3 funding providers, 2-3 keepers; one in five sequences is *quiet* (no price move, no
//! confidence, no clock move), half of the others publish a confidence interval. Actions (weights
//! adapt to the state): `mint_lt`, `redeem_lt` (part or all), `deposit_funding`,
//! `withdraw_funding` (part or all), each sometimes with a bad input (zero, more than held, 1..1000
//! raw units, `min_out` equal to the quote (must land), one above it (must be refused
//! `SlippageExceeded`), `u64::MAX`); `rebalance` by a random keeper (in band it must be refused
//! `WithinBand`, on an empty pool `NothingToRebalance`); price moves (within 1%, 2-30% band
//! crossings, gaps of -50..-99% and +50..+300%, confidence changes), republishing, clock jumps
//! (seconds to three days, so prices go stale), bad oracle updates (zero or negative price, an
//! older publish time, another feed, partial verification, confidence too wide); `set_pause` by
//! the admin or the pause authority (adding bits, random bits, unknown bits, the pause authority
//! trying to unpause, a stranger) and unpausing; `update_market` (1-3 parameters within bounds,
//! sometimes one out of bounds, sometimes a stranger); `withdraw_fees` (part, all, zero, too much,
//! wrong destination, stranger); `reopen_market` (after a wipe-out, or refused); two-step admin
//! transfer (and strangers trying); direct donations to the vault; `update_share_metadata` of the LT
//! or FT (fields kept, changed, emptied or past their limits; a stranger), the metadata read back.
//!
//! Checked after every step, landed or refused (see `seq.rs`; `tests/lib.rs`'s `Harness::check`
//! covers the first two, here without panicking so the seed and log can be printed, and with
//! donations in flight accounted):
//! 1. conservation: the real vault balance == N + I + fee units (+ donations not yet credited);
//! 2. the recorded LT/FT supplies == the mints' supplies;
//! 3. the locked seed FT never move and FT supply never falls below them;
//! 4. book structure: a wiped pool and an LT-less pool have N = D = 0; no debt without exposure;
//!    LT outstanding on a market that is not wiped has exposure behind it (else every mint would
//!    be refused `MarketWiped` with no re-open possible);
//! 5. NAVs at the current mid (`lever::math` on the market's pool: equity, LT/FT NAV, leverage,
//!    utilization, band status) and after accruing funding to now never error; the funding pool is
//!    worth more than zero;
//! 6. fee units never fall except by a landed `withdraw_fees`, which pays exactly its amount to the
//!    fee receiver;
//! 7. a refused instruction changed nothing (`Harness::snapshot` before == after: market, config,
//!    every tracked token balance, both supplies);
//! 8. the outcome (landed, or the exact error) equals the model's: the SDK quotes (the program's own
//!    `*_books` on a copy of the account) for user instructions and rebalances, the admin rules for
//!    the rest; rebalance's refusal is also cross-checked against `band_status` of the accrued pool;
//! 9. a landed user instruction or rebalance returned exactly the quoted outcome, left the market
//!    account equal to the predicted one, moved the user's balances by exactly the returned amounts
//!    and honoured `min_out`;
//! 10. after a landed instruction that could rebalance (a fresh price), the pool is neither
//!     insolvent (E > 0 at the price used, or wiped, or empty) nor above its band (rounding slack
//!     of two units); after a keeper's rebalance the leverage is never above the target;
//! 11. a landed instruction changed no balance, config or market it was not given writable; after
//!     a donation the market account is unchanged.
//!
//! At the end of a sequence everyone exits (unpause, a fresh price, every LT redeemed, re-open if
//! wiped, every FT withdrawn, fees withdrawn); only `ZeroPayout` dust may stay. Then: supplies are
//! the seed (plus dust), no fees left, each user's balance equals their ledger, and the profit
//! rule of `rule.rs` holds for every user.

mod names;
mod repro;
mod rng;
mod rule;
mod seq;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use seq::Stats;

const DEFAULT_SEED: u64 = 0x1e7e_5eed_2025;
const DEFAULT_SEQUENCES: u64 = 20;
const DEFAULT_STEPS: usize = 120;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={v}: {e}")))
}

fn table<K: std::fmt::Display, V: std::fmt::Display>(items: impl IntoIterator<Item = (K, V)>) -> String {
    items
        .into_iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn fuzz() {
    let seed = env_u64("FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let sequences = env_u64("FUZZ_SEQUENCES").unwrap_or(DEFAULT_SEQUENCES);
    let steps = env_u64("FUZZ_STEPS").map_or(DEFAULT_STEPS, |s| s as usize);
    let opts = seq::Options {
        verbose: env_u64("FUZZ_VERBOSE").unwrap_or(0) != 0,
    };
    println!("fuzz: seed {seed} ({seed:#x}), {sequences} sequences of {steps} actions");
    let started = Instant::now();
    let mut total = Stats::default();
    let mut failures = Vec::new();
    let mut seq_seed = seed;
    for n in 0..sequences {
        let log: seq::Log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        let this_seed = seq_seed;
        let handle = std::thread::Builder::new()
            .name(format!("fuzz-{n}"))
            .stack_size(64 << 20)
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(seq::run(this_seed, steps, shared, opts))
            })
            .expect("thread");
        let failure = match handle.join() {
            Ok((stats, outcome)) => {
                total.merge(&stats);
                outcome.err().map(|v| (v.step, v.msg))
            }
            Err(panic) => {
                total.sequences += 1;
                total.violations += 1;
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Some((usize::MAX, format!("panic: {msg}")))
            }
        };
        if let Some((step, msg)) = failure {
            let lines = log.lock().map(|l| l.clone()).unwrap_or_default();
            let at = if step == usize::MAX {
                "a panic".to_string()
            } else {
                format!("step {step}")
            };
            println!("fuzz: VIOLATION in sequence {n} (seed {this_seed}), at {at}: {msg}");
            println!("fuzz: replay: FUZZ_SEED={this_seed} FUZZ_SEQUENCES=1 FUZZ_STEPS={steps}");
            println!("fuzz: action log of sequence {n}:");
            for line in &lines {
                println!("fuzz:   {line}");
            }
            failures.push(format!("sequence {n} seed {this_seed} step {step}: {msg}"));
        }
        if (n + 1) % 50 == 0 {
            println!(
                "fuzz: {} sequences, {} instructions, {:.0} s",
                n + 1,
                total.sent,
                started.elapsed().as_secs_f64()
            );
        }
        seq_seed = rng::next_seed(seq_seed);
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "fuzz: SUMMARY seed {seed}: sequences {} ({} quiet), actions {}, instructions sent {}, landed {}, \
         refused {}, invariant checks {}, violations {}, wipe-outs {}, wall {wall:.1} s",
        total.sequences,
        total.quiet_sequences,
        total.actions,
        total.sent,
        total.landed,
        total.refused_total(),
        total.checks,
        total.violations,
        total.wipeouts,
    );
    println!(
        "fuzz: sent/landed by instruction: {}",
        table(total.by_kind.iter().map(|(k, (s, l))| (k, format!("{s}/{l}"))))
    );
    println!("fuzz: refused by error: {}", table(total.refused.iter()));
    println!("fuzz: price and clock steps: {}", table(total.steps.iter()));
    println!("fuzz: notable outcomes: {}", table(total.outcomes.iter()));
    assert!(failures.is_empty(), "fuzz violations:\n{}", failures.join("\n"));
}
