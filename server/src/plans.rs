//! `POST /v1/plans/check`: a deployment plan checked whole.

use super::*;

pub(crate) async fn plans_check(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    check_plan(state, id, body(&headers, raw)?).await
}

pub(crate) fn plan_summary(result: &PlanResult) -> LoggedDecision {
    let denied = result.items.iter().filter(|i| !i.decision.allowed).count();
    let failure = match &result.failure {
        Some(failure) => Some(failure.to_string()),
        None if !result.allowed => Some(format!(
            "{denied} of {} items denied; plan-level rules {}",
            result.items.len(),
            if result.plan.allowed { "allow" } else { "deny" }
        )),
        None => None,
    };
    LoggedDecision {
        allowed: result.allowed,
        determining: result
            .plan
            .determining
            .iter()
            .map(|p| p.policy_id.clone())
            .collect(),
        failure,
    }
}

/// Every request that implies several decisions — a batch, a plan's items,
/// a grant's resources — is held to `--max-batch`: one request cannot buy
/// more decisions than a batch may.
pub(crate) fn within_batch(
    state: &AppState,
    count: usize,
    what: &str,
    unit: &str,
) -> Result<(), ApiError> {
    let max = state.inner.config.max_batch;
    if count > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch-too-large",
            format!(
                "{what} {count} {unit}; at most {max} are decided in one request (--max-batch)"
            ),
        ));
    }
    Ok(())
}

pub(crate) async fn check_plan(
    state: AppState,
    id: String,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (state, id) = (&state, id.as_str());
    let plan: DeploymentPlan = parse(&bytes, "deployment plan")?;
    within_batch(
        state,
        plan.installed.len().saturating_add(plan.changes.len()),
        "the plan has",
        "installed items and changes",
    )?;
    let worker_state = state.clone();
    let request_id = id.to_string();
    let raw = bytes.clone();
    let (bundle, result) = evaluate(state, move |active| {
        let bundle = bundle_ref(active);
        let result = active
            .with_decider(|d| d.check_plan(&plan))
            .unwrap_or_else(PlanResult::refused);
        let record = entry(
            &worker_state,
            request_id,
            "plan",
            &raw,
            plan_summary(&result),
            result.evaluated_at.as_ref(),
            &bundle,
        );
        write_log(&worker_state, vec![record])?;
        Ok((bundle, result))
    })
    .await?;
    result
        .items
        .iter()
        .for_each(|i| state.inner.metrics.decision(&i.decision));
    let status = match result.failure.as_ref().filter(|f| request_caused(f)) {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let mut body = json!({"requestId": id, "bundle": bundle, "result": result});
    if let Some(failure) = result.failure.as_ref().filter(|f| request_caused(f)) {
        body["error"] = unprocessable(failure).json();
    }
    Ok((status, axum::Json(body)).into_response())
}
