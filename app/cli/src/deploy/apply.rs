//! Applying a plan: send each step, stop at the first failure (a rerun resumes).

use super::*;
use lever_sdk::cluster::{submit, Cluster};
use lever_sdk::errors::describe;
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Signature;
use std::fmt;

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
