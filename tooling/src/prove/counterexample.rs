//! Counterexamples as a person reads them: the request, readable instants,
//! and the library's own decision on it, replayed with native Cedar.

use std::time::Duration;

use cedar_policy::{PolicySet, RequestEnv};
use cedar_policy_symcc::Env;

use super::{Counterexample, describe_env};

/// A counterexample a person can read, replayed with native Cedar.
pub(crate) fn counterexample(env: &RequestEnv, found: &Env, library: &PolicySet) -> Counterexample {
    let answer =
        cedar_policy::Authorizer::new().is_authorized(&found.request, library, &found.entities);
    let mut determining: Vec<String> = answer
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    determining.sort();
    let mut forbids_erroring: Vec<String> = answer
        .diagnostics()
        .errors()
        .map(|e| {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
            e.policy_id().to_string()
        })
        .filter(|id| {
            library
                .policy(&cedar_policy::PolicyId::new(id))
                .is_some_and(|p| p.effect() == cedar_policy::Effect::Forbid)
        })
        .collect();
    forbids_erroring.sort();
    let request = &found.request;
    let text = |v: Option<String>| v.unwrap_or_default();
    let context = request
        .context()
        .and_then(|c| c.to_json_value().ok())
        .unwrap_or(serde_json::Value::Null);
    let entities = {
        let mut out = Vec::new();
        let _ = found.entities.write_to_json(&mut out);
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
    };
    let mut context = context;
    let mut entities = entities;
    readable_datetimes(&mut context);
    readable_datetimes(&mut entities);
    Counterexample {
        environment: describe_env(env),
        request: serde_json::json!({
            "principal": text(request.principal().map(ToString::to_string)),
            "action": text(request.action().map(ToString::to_string)),
            "resource": text(request.resource().map(ToString::to_string)),
            "context": context,
        }),
        entities,
        // The engine's decision: Cedar's, denied when a forbid errors.
        library_allows: answer.decision() == cedar_policy::Decision::Allow
            && forbids_erroring.is_empty(),
        erroring_forbid: forbids_erroring.first().cloned(),
        determining,
        forbids_erroring,
    }
}

/// The solver writes instants as `offset(datetime("1970-01-01"),
/// duration("…ms"))`; this writes them as the datetime they are
/// (`datetime("2023-12-31T22:59:59.999Z")`), where the arithmetic is exact.
pub fn readable_datetimes(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(instant) = map.get("__extn").and_then(offset_instant) {
                map.insert(
                    "__extn".to_string(),
                    serde_json::json!({"fn": "datetime", "arg": instant}),
                );
                return;
            }
            map.values_mut().for_each(readable_datetimes);
        }
        Value::Array(items) => items.iter_mut().for_each(readable_datetimes),
        _ => {}
    }
}

/// `offset(datetime("1970-01-01"), duration("Nms"))` as an RFC 3339 instant.
fn offset_instant(extn: &serde_json::Value) -> Option<String> {
    if extn["fn"] != "offset" {
        return None;
    }
    let args = extn["args"].as_array()?;
    let [base, duration] = args.as_slice() else {
        return None;
    };
    if base["__extn"]["fn"] != "datetime" || base["__extn"]["arg"] != "1970-01-01" {
        return None;
    }
    if duration["__extn"]["fn"] != "duration" {
        return None;
    }
    let ms: u64 = duration["__extn"]["arg"]
        .as_str()?
        .strip_suffix("ms")?
        .parse()
        .ok()?;
    // RFC 3339 has four-digit years: later instants stay as the solver wrote them.
    const YEAR_10000_MS: u64 = 253_402_300_800_000;
    if ms >= YEAR_10000_MS {
        return None;
    }
    let at = std::time::UNIX_EPOCH.checked_add(Duration::from_millis(ms))?;
    Some(humantime::format_rfc3339_millis(at).to_string())
}
