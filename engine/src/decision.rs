//! Turning Cedar's response into the component's decision record, with the
//! annotations that explain it and the fail-closed rule for erroring forbids.

use cedar_policy::{AuthorizationError, PolicyId, Response};

use crate::compiled::Satisfied;
use crate::describe;
use crate::slicegate::policy::types::{Decision, DeterminingPolicy, PolicyError};
use crate::state::LoadedPolicySet;

/// Builds the decision for `response`. Cedar skips a policy whose evaluation
/// errors; if that policy is a `forbid` and Cedar allowed, the error could
/// have changed the outcome, so the verdict becomes a deny (fail closed).
pub fn from_response(set: &LoadedPolicySet, response: &Response) -> Decision {
    let cedar_allowed = response.decision() == cedar_policy::Decision::Allow;
    let reason: Vec<PolicyId> = response.diagnostics().reason().cloned().collect();
    build(set, cedar_allowed, reason, errors_of(set, response))
}

/// Builds the decision from the compiled policies' verdicts and, when some
/// policies of the set were left to the interpreter, Cedar's response for
/// those: combined as Cedar's authorizer combines policies (any satisfied
/// forbid denies and is the reason; otherwise a satisfied permit allows and
/// the satisfied permits are the reason).
pub fn from_compiled(
    set: &LoadedPolicySet,
    satisfied: Satisfied,
    rest: Option<&Response>,
) -> Decision {
    let Satisfied {
        mut permits,
        mut forbids,
    } = satisfied;
    let mut errors = Vec::new();
    if let Some(response) = rest {
        let reason = response.diagnostics().reason().cloned();
        if response.decision() == cedar_policy::Decision::Allow {
            permits.extend(reason);
        } else {
            // A deny's reasons are its satisfied forbids (none when it
            // denies for want of a permit).
            forbids.extend(reason);
        }
        errors = errors_of(set, response);
    }
    if forbids.is_empty() {
        let allowed = !permits.is_empty();
        build(set, allowed, permits, errors)
    } else {
        build(set, false, forbids, errors)
    }
}

fn errors_of(set: &LoadedPolicySet, response: &Response) -> Vec<PolicyError> {
    response
        .diagnostics()
        .errors()
        .map(|err| {
            let AuthorizationError::PolicyEvaluationError(err) = err;
            PolicyError {
                policy_id: err.policy_id().to_string(),
                permit: is_permit(set, err.policy_id()),
                message: describe(err.inner()),
            }
        })
        .collect()
}

fn build(
    set: &LoadedPolicySet,
    cedar_allowed: bool,
    mut reason: Vec<PolicyId>,
    mut errors: Vec<PolicyError>,
) -> Decision {
    reason.sort();
    reason.dedup();
    let determining = reason.iter().map(|id| determining(set, id)).collect();
    errors.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));

    let fail_closed = if cedar_allowed {
        errors.iter().find(|e| !e.permit).map(|e| {
            format!(
                "forbid policy `{}` could not be evaluated ({}); an allow that an erroring forbid might have prevented is denied",
                e.policy_id, e.message
            )
        })
    } else {
        None
    };

    Decision {
        allowed: cedar_allowed && fail_closed.is_none(),
        fail_closed,
        determining,
        errors,
        bundle_revision: set.revision,
    }
}

fn is_permit(set: &LoadedPolicySet, id: &PolicyId) -> bool {
    // An id that is not in the set cannot be a trusted permit.
    set.facts.get(id).is_some_and(|facts| facts.permit)
}

fn determining(set: &LoadedPolicySet, id: &PolicyId) -> DeterminingPolicy {
    let facts = set.facts.get(id);
    DeterminingPolicy {
        policy_id: id.to_string(),
        permit: is_permit(set, id),
        pack: facts.and_then(|f| f.pack.clone()),
        reason: facts.and_then(|f| f.reason.clone()),
        source: facts.and_then(|f| f.source.clone()),
    }
}
