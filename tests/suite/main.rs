//! The Lever integration suite: the real program natively, the real Token and Token-2022
//! programs, real-layout Pyth accounts. Every step is followed by the conservation check.

mod attacks;
mod confidence;
mod epoch;
mod errors;
mod extensions;
mod freeze;
mod gap;
mod happy;
mod layout;
mod loosening;
mod metadata;
mod oracle;
mod prefund;
mod rebase;
mod scenario;
mod security;
mod sim;
mod slot_pin;
mod two_step;
