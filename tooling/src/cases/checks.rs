//! Checking one decision against what its case expects.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

/// The case's value as `what`, or a problem recorded: a case that does not
/// parse is a broken case, never a deny.
pub(super) fn parsed<T>(
    value: Result<T, String>,
    what: &str,
    result: &mut CaseResult,
) -> Option<T> {
    value
        .map_err(|e| result.problems.push(format!("the case is not {what}: {e}")))
        .ok()
}

/// Records a problem unless native Cedar decided as the component did, by
/// the same policies.
pub(super) fn compare_with_native(
    decision: &Decision,
    answer: Result<native::NativeDecision, String>,
    result: &mut CaseResult,
) {
    match answer {
        Ok(native) => {
            let component: BTreeSet<String> = decision
                .determining_ids()
                .into_iter()
                .map(String::from)
                .collect();
            if decision.cedar_allowed() != Some(native.allowed) || component != native.reason {
                result.problems.push(format!(
                    "component and native Cedar disagree: component {} by {:?}, native {} by {:?}",
                    verdict(decision.cedar_allowed()),
                    component,
                    verdict(Some(native.allowed)),
                    native.reason
                ));
            }
        }
        Err(message) => result.problems.push(format!(
            "native Cedar could not decide the request: {message}"
        )),
    }
}

pub(super) fn name(expect: Expect) -> &'static str {
    match expect {
        Expect::Allow => "allow",
        Expect::Deny => "deny",
    }
}

pub(super) fn verdict(allowed: Option<bool>) -> &'static str {
    match allowed {
        Some(true) => "allow",
        Some(false) => "deny",
        None => "no decision",
    }
}

pub(super) fn record(decision: &Decision, result: &mut CaseResult) {
    if let Some(failure) = &decision.failure {
        result.explanation.push(format!("refused: {failure}"));
    }
    for policy in &decision.determining {
        if !result.determining.contains(&policy.policy_id) {
            result.determining.push(policy.policy_id.clone());
            result.explanation.push(format!(
                "{} {}: {}",
                if policy.permit { "permit" } else { "forbid" },
                policy.policy_id,
                policy.reason.as_deref().unwrap_or("(no @reason)")
            ));
        }
    }
    for error in &decision.errors {
        if !result.errored.contains(&error.policy_id) {
            result.errored.push(error.policy_id.clone());
            result
                .explanation
                .push(format!("error in {}: {}", error.policy_id, error.message));
        }
    }
}

pub(super) fn compare_ids(
    expected: &[String],
    decision: &Decision,
    what: &str,
    result: &mut CaseResult,
) {
    let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    let got: BTreeSet<&str> = decision.determining_ids().into_iter().collect();
    if want != got {
        result.problems.push(format!(
            "expected {what} determined by {want:?}, got {got:?}"
        ));
    }
}

pub(super) fn check_decision(case: &Case, decision: &Decision, result: &mut CaseResult) {
    let got = if decision.allowed {
        Expect::Allow
    } else {
        Expect::Deny
    };
    if got != case.expect {
        let why = match &decision.failure {
            Some(failure) => format!(" ({failure})"),
            None => format!(" by [{}]", decision.determining_ids().join(", ")),
        };
        result.problems.push(format!(
            "expected {}, got {}{why}",
            name(case.expect),
            name(got)
        ));
    }
    if let Some(expected) = &case.determining {
        compare_ids(expected, decision, "the decision", result);
    }
    check_failure(case, decision.failure.as_ref(), result);
}

/// The case's expected failure against the one that refused the request
/// (or plan) before evaluation, if any.
pub(super) fn check_failure(
    case: &Case,
    failure: Option<&slicegate::Failure>,
    result: &mut CaseResult,
) {
    let kind = failure.and_then(|f| {
        serde_json::to_value(f)
            .ok()
            .and_then(|v| v.get("kind").and_then(Value::as_str).map(String::from))
    });
    match (&case.failure, kind.as_deref()) {
        (Some(want), got) if got != Some(want.as_str()) => result.problems.push(format!(
            "expected failure `{want}`, got {}",
            got.map_or("none".to_string(), |g| format!("`{g}`"))
        )),
        // A deny by a failure the case did not name is not the deny it
        // describes (an erroring forbid is still a policy's deny).
        (None, Some(got)) if got != "forbid-errored" => result.problems.push(format!(
            "denied by failure `{got}` ({}), not by a policy",
            failure.map(ToString::to_string).unwrap_or_default()
        )),
        _ => {}
    }
}
