//! The library behind the `lever` binary: the declarative deployment planner ([`deploy`]).

pub mod deploy;
