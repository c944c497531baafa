//! `lever sim`: replay a real price series through the program on the embedded chain, and measure
//! how the leveraged token tracks its promise against the ideal and the peers.
//!
//! - [`prices`] loads and checks the series (CSV, errors name the file and line).
//! - [`engine`] runs the market on the chain bar by bar, predicting every transaction with the
//!   SDK's quotes and failing the run on any difference.
//! - [`peers`] replays the ideal token and the peer rule sets in pure math.
//! - [`report`] writes the per-bar CSV and the chart.
//! - [`attack`] runs the latency attacker (`--attacker latency`) through the program.
//! - [`study`] sweeps settings by running `lever sim --json` in child processes.
//! - [`time`] converts UTC calendar dates.

pub mod attack;
pub mod engine;
pub mod peers;
pub mod prices;
pub mod report;
pub mod study;
pub mod time;

pub use engine::{run, ConfMode, PeerSummary, SimConfig, SimOutput, Summary};
