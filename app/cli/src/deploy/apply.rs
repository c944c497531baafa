//! Applying a plan: send each step, stop at the first failure (a rerun resumes).

use super::*;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;
use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_spl::token_interface::spl_token_2022;
use lever::constants::{pause, MAX_NAME_LEN, MAX_SYMBOL_LEN, MAX_URI_LEN};
use lever::error::LeverError;
use lever::instructions::{CreateMarketArgs, InitializeConfigArgs, UpdateConfigArgs};
use lever::state::{Config, ConfigBounds, MarketParams, UpdateMarketParams};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use solana_account::Account;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Signature;
use spl_token_2022::extension::StateWithExtensions;
use lever_sdk::accounts::decode_zero_copy;
use lever_sdk::accounts::decode_market;
use lever_sdk::cluster::{submit, Cluster, ClusterError};
use lever_sdk::errors::describe;
use lever_sdk::ix;
use lever_sdk::ops::paused_names;
use lever_sdk::pda::{self, MarketKeys};
use lever_sdk::pyth::feed_id_from_hex;
use lever_sdk::units::{format_leverage, format_percent, format_units, parse_ppm, parse_units, UnitsError};

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

/// A step that landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// 1-based position in the plan.
    pub step: usize,
    pub what: String,
    #[serde(serialize_with = "display")]
    pub signature: Signature,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}. {}: {}", self.step, self.what, self.signature)
    }
}

/// Send each step of `plan` (one transaction each, simulated first, sent only if the simulation
/// succeeds), in order, stopping at the first failure ([`DeployError::StepFailed`], naming the
/// program's error and the steps that landed before it). An empty plan sends nothing.
pub async fn apply<C: Cluster>(
    cluster: &C,
    plan: &Plan,
    admin: &Keypair,
) -> Result<Vec<Applied>, DeployError> {
    if admin.pubkey() != plan.admin {
        return Err(DeployError::WrongSigner {
            plan: plan.admin,
            signer: admin.pubkey(),
        });
    }
    let mut landed = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let ixs = step.instructions(plan.admin);
        match submit(cluster, &ixs, admin, &[]).await {
            Ok(l) => landed.push(Applied {
                step: i + 1,
                what: step.summary(),
                signature: l.signature,
            }),
            Err(error) => {
                return Err(DeployError::StepFailed(Box::new(StepFailure {
                    step: i + 1,
                    total: plan.steps.len(),
                    what: step.summary(),
                    program_error: error.custom_code().map(describe),
                    error,
                    landed,
                })))
            }
        }
    }
    Ok(landed)
}
