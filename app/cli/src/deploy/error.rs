//! Why a deployment stops: every refusal named, with the file location or the step that failed.

use super::*;
use anchor_lang::prelude::Pubkey;
use lever::error::LeverError;
use lever_sdk::cluster::ClusterError;
use lever_sdk::errors::describe;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a deploy file was refused, a plan could not be made, or a step failed.
#[derive(Debug)]
pub enum DeployError {
    /// The file could not be read.
    Read { path: String, error: String },
    /// TOML syntax, a missing or unknown key, or a value of the wrong type.
    Syntax(String),
    /// A value in the file that cannot be used; `at` names it (`market \`SOL 3x\`.band`).
    Invalid { at: String, reason: String },
    /// A value the program would refuse, checked before anything is sent; `error` is the
    /// program's error as [`describe`] names it.
    Refused { at: String, error: String },
    /// The config exists and its admin is not the signer.
    NotAdmin {
        admin: Pubkey,
        signer: Pubkey,
        pending_admin: Option<Pubkey>,
    },
    /// Something fixed at a market's creation differs from the file.
    Immutable {
        market: String,
        address: Pubkey,
        field: &'static str,
        on_chain: String,
        file: String,
    },
    /// The underlying mint does not exist or is not an SPL Token / Token-2022 mint.
    NotAMint {
        market: String,
        mint: Pubkey,
        reason: String,
    },
    /// An account the plan reads is not what it should be (a market address holding something
    /// else, an undecodable config).
    Unexpected(String),
    /// The signer's associated token account, source of a seed deposit, does not exist.
    SeedAccountMissing {
        markets: Vec<String>,
        account: Pubkey,
        mint: Pubkey,
        token_program: Pubkey,
    },
    /// The admin's associated token account holds less than the seeds it must pay.
    SeedAccountShort {
        markets: Vec<String>,
        account: Pubkey,
        holds: String,
        needs: String,
    },
    /// Reading the cluster failed.
    Cluster(ClusterError),
    /// The plan was made for another admin than the keypair given to [`apply`].
    WrongSigner { plan: Pubkey, signer: Pubkey },
    /// A step failed (nothing of it landed); the steps before it did.
    StepFailed(Box<StepFailure>),
}

/// Which step of a plan failed, why, and what landed before it.
#[derive(Debug)]
pub struct StepFailure {
    /// 1-based position in the plan.
    pub step: usize,
    pub total: usize,
    pub what: String,
    pub error: ClusterError,
    /// The program's error, named ([`describe`]), when the failure carries a custom code.
    pub program_error: Option<String>,
    /// The steps that landed before this one.
    pub landed: Vec<Applied>,
}

impl fmt::Display for DeployError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => write!(f, "cannot read {path}: {error}"),
            Self::Syntax(e) => write!(f, "deploy file: {}", e.trim_end()),
            Self::Invalid { at, reason } => write!(f, "{at}: {reason}"),
            Self::Refused { at, error } => write!(f, "{at}: the program would refuse it: {error}"),
            Self::NotAdmin {
                admin,
                signer,
                pending_admin,
            } => {
                write!(
                    f,
                    "the config's admin is {admin}, not the signer {signer}: sign with the admin's keypair"
                )?;
                if *pending_admin == Some(*signer) {
                    write!(f, " (the signer is the pending admin: run accept_admin first)")?;
                }
                Ok(())
            }
            Self::Immutable {
                market,
                address,
                field,
                on_chain,
                file,
            } => write!(
                f,
                "market `{market}` ({address}): {field} is fixed at creation and cannot be changed \
                 (on chain {on_chain}, file {file}); use another id for a new market"
            ),
            Self::NotAMint { market, mint, reason } => {
                write!(f, "market `{market}`: underlying mint {mint}: {reason}")
            }
            Self::Unexpected(e) => write!(f, "{e}"),
            Self::SeedAccountMissing {
                markets,
                account,
                mint,
                token_program,
            } => write!(
                f,
                "the seed deposit of {} comes from the signer's associated token account {account} \
                 (mint {mint}, token program {token_program}), which does not exist; create and fund \
                 it first (for wrapped SOL: `spl-token wrap <amount>`)",
                quoted(markets)
            ),
            Self::SeedAccountShort {
                markets,
                account,
                holds,
                needs,
            } => write!(
                f,
                "the admin's token account {account} holds {holds} but the seed deposits of {} need {needs}",
                quoted(markets)
            ),
            Self::Cluster(e) => write!(f, "reading the cluster: {e}"),
            Self::WrongSigner { plan, signer } => {
                write!(
                    f,
                    "the plan was made for admin {plan}, not for the signer {signer}"
                )
            }
            Self::StepFailed(failure) => {
                let StepFailure {
                    step,
                    total,
                    what,
                    error,
                    program_error,
                    landed,
                } = failure.as_ref();
                write!(f, "step {step} of {total} ({what}) failed: ")?;
                match program_error {
                    Some(e) => write!(f, "{e}")?,
                    None => write!(f, "{error}")?,
                }
                if let Some(line) = error.logs().iter().rev().find(|l| l.contains("Error")) {
                    write!(f, " [{line}]")?;
                }
                match landed.len() {
                    0 => write!(f, "; nothing was changed"),
                    n => write!(
                        f,
                        "; {n} earlier step(s) landed ({}); run the deploy again to continue",
                        landed
                            .iter()
                            .map(|a| a.signature.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        }
    }
}

impl std::error::Error for DeployError {}

impl From<ClusterError> for DeployError {
    fn from(e: ClusterError) -> Self {
        Self::Cluster(e)
    }
}

pub(super) fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The program's error for a local check, named as the program names it.
pub(super) fn program_error(e: anchor_lang::error::Error) -> String {
    match e {
        anchor_lang::error::Error::AnchorError(a) => describe(a.error_code_number),
        other => other.to_string(),
    }
}

pub(super) fn lever_error(e: LeverError) -> String {
    describe(u32::from(e))
}
