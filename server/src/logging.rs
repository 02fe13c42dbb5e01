//! Decision-log entries for what the service decided.

use super::*;

pub(crate) fn logged(decision: &Decision) -> LoggedDecision {
    LoggedDecision {
        allowed: decision.allowed,
        determining: decision
            .determining
            .iter()
            .map(|p| p.policy_id.clone())
            .collect(),
        failure: decision.failure.as_ref().map(ToString::to_string),
    }
}

/// The log record of a request, with the request masked as configured.
/// A decision-log entry for the request whose bytes, as the caller sent
/// them, are `raw`: their sha256, and (unless requests are omitted) the
/// request itself with the masked fields replaced.
pub(crate) fn entry(
    state: &AppState,
    request_id: String,
    kind: &str,
    raw: &[u8],
    decision: LoggedDecision,
    evaluated_at: Option<&slicegate::EvaluationTime>,
    bundle: &LoggedBundle,
) -> Entry {
    let config = &state.inner.config;
    let request = config.log_requests.then(|| {
        let mut value: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
        decision_log::mask(&mut value, &config.log_mask);
        value
    });
    Entry {
        request_id,
        kind: kind.to_string(),
        request_sha256: decision_log::sha256_hex(raw),
        request,
        decision,
        evaluated_at: evaluated_at.map(|t| t.instant().to_string()),
        what_if: matches!(evaluated_at, Some(slicegate::EvaluationTime::WhatIf(_))),
        bundle: Some(bundle.clone()),
    }
}

/// Writes `entries` to the decision log (if any). A failure here means the
/// decisions must not be answered.
pub(crate) fn write_log(state: &AppState, entries: Vec<Entry>) -> Result<(), ApiError> {
    let Some(log) = &state.inner.config.log else {
        return Ok(());
    };
    log.append(entries).map_err(|e| {
        state.inner.metrics.log_failure();
        tracing::error!("{e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "decision-log-failed",
            format!("the decision could not be logged, so it is not answered: {e}"),
        )
    })
}
