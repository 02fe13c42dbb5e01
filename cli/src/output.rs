//! Printing decisions for people.

use slicegate::Decision;

/// One line per reason: the determining policies with their `@reason`, the
/// failure that denied, and erroring policies.
pub fn reasons(decision: &Decision) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(failure) = &decision.failure {
        lines.push(failure.to_string());
    }
    for policy in &decision.determining {
        let effect = if policy.permit { "permit" } else { "forbid" };
        match &policy.reason {
            Some(reason) => lines.push(format!("{effect} {}: {reason}", policy.policy_id)),
            None => lines.push(format!("{effect} {}", policy.policy_id)),
        }
    }
    if decision.determining.is_empty() && decision.failure.is_none() && !decision.allowed {
        lines.push("no permit matched (default deny)".to_string());
    }
    for error in &decision.errors {
        lines.push(format!("error in {}: {}", error.policy_id, error.message));
    }
    lines
}

/// `ALLOW` or `DENY`.
pub fn verdict(decision: &Decision) -> &'static str {
    if decision.allowed { "ALLOW" } else { "DENY" }
}
