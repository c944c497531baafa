//! Lever on an in-process bank, for tests, the simulator and `lever localnet`: the embedded chain
//! ([`chain::Chain`]: solana-program-test running the program natively beside the real SPL Token
//! and Token-2022 programs), its [`lever_sdk::cluster::Cluster`] implementation
//! ([`embedded::Embedded`]), ready-made markets ([`local`]) and a JSON-RPC node over the chain
//! ([`localnet`]), and native stand-ins for the Wormhole and Pyth receiver programs that a full
//! Pyth post goes through ([`pyth_stand_in`]), with a local Hermes answering from real responses
//! ([`hermes_server`]).

pub mod chain;
pub mod embedded;
pub mod hermes_server;
pub mod local;
pub mod localnet;
pub mod native;
pub mod pyth_stand_in;

pub use lever_sdk;
