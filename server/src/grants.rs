//! `POST /v1/sol003/grants`: SOL003 grants.

use super::*;

/// A SOL003 Grant as the service takes it: the NFVO's `GrantRequest` and
/// what it does not say (package identity, network, site, slice).
#[derive(Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantBody {
    /// The NFVO's SOL003 `GrantRequest`.
    pub(crate) grant_request: GrantRequest,
    /// The package's identity and where the VNF runs.
    pub(crate) context: GrantContext,
}

pub(crate) async fn grants(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    grant(state, id, body(&headers, raw)?).await
}

pub(crate) async fn grant(state: AppState, id: String, bytes: Bytes) -> Result<Response, ApiError> {
    let (state, id) = (&state, id.as_str());
    let grant: GrantBody = parse(&bytes, "grant")?;
    let request = &grant.grant_request;
    within_batch(
        state,
        [
            &request.add_resources,
            &request.temp_resources,
            &request.remove_resources,
            &request.update_resources,
        ]
        .iter()
        .map(|list| list.len())
        .sum(),
        "the grant names",
        "resources",
    )?;
    let worker_state = state.clone();
    let request_id = id.to_string();
    let raw = bytes.clone();
    let (bundle, outcome) = evaluate(state, move |active| {
        let bundle = bundle_ref(active);
        let packages = &worker_state.inner.config.packages;
        let outcome = active
            .with_decider(|d| sol003::decide(d, &grant.grant_request, &grant.context, packages))
            .unwrap_or_else(|failure| GrantOutcome::Rejected {
                vnf_instance_id: grant.grant_request.vnf_instance_id.clone(),
                vnf_lcm_op_occ_id: grant.grant_request.vnf_lcm_op_occ_id.clone(),
                reasons: vec![failure.to_string()],
                decisions: Vec::new(),
            });
        let (granted, reasons, decisions) = match &outcome {
            GrantOutcome::Granted { decisions, .. } => (true, Vec::new(), decisions),
            GrantOutcome::Rejected {
                reasons, decisions, ..
            } => (false, reasons.clone(), decisions),
        };
        let mut determining: Vec<String> = decisions
            .iter()
            .flat_map(|d| d.determining.iter().map(|p| p.policy_id.clone()))
            .collect();
        determining.sort();
        determining.dedup();
        let record = entry(
            &worker_state,
            request_id,
            "sol003-grant",
            &raw,
            LoggedDecision {
                allowed: granted,
                determining,
                failure: (!granted).then(|| reasons.join("; ")),
            },
            decisions.first().and_then(|d| d.evaluated_at.as_ref()),
            &bundle,
        );
        write_log(&worker_state, vec![record])?;
        Ok((bundle, outcome))
    })
    .await?;
    let status = match &outcome {
        GrantOutcome::Granted { decisions, .. } => {
            decisions
                .iter()
                .for_each(|d| state.inner.metrics.decision(d));
            StatusCode::CREATED
        }
        GrantOutcome::Rejected { decisions, .. } => {
            decisions
                .iter()
                .for_each(|d| state.inner.metrics.decision(d));
            StatusCode::FORBIDDEN
        }
    };
    Ok((
        status,
        axum::Json(json!({"requestId": id, "bundle": bundle, "grant": outcome})),
    )
        .into_response())
}
