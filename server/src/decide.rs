//! `POST /v1/decisions`: one placement or a batch, decided on a worker.

use super::*;

/// Runs `work` on a blocking thread, at most `workers` at once, with the
/// bundle active when it starts.
pub(crate) async fn evaluate<R: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&ActiveBundle) -> Result<R, ApiError> + Send + 'static,
) -> Result<R, ApiError> {
    let active = state.inner.slot.current().ok_or_else(|| not_ready(state))?;
    if let Err(failure) = active.bundle().validity.check(SystemTime::now()) {
        return Err(expired(&active, &failure));
    }
    let _permit = state.inner.workers.acquire().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "the service is stopping",
        )
    })?;
    tokio::task::spawn_blocking(move || work(&active))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the decision task failed: {e}"),
            )
        })?
}

/// The body's top-level members, borrowed as they were sent, in order and
/// with duplicates kept (so a body naming `requests` twice is refused, not
/// read one way here and another way elsewhere).
pub(crate) struct Members<'a>(Vec<(std::borrow::Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Members<'a>, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// Placement requests, each with its bytes as sent.
pub(crate) type Sent = Vec<(PlacementRequest, Vec<u8>)>;

/// The placement requests of a body, each with its bytes as sent (what the
/// decision log hashes): one request, or a batch's (`true`). Each is parsed
/// once.
pub(crate) fn placement_requests(state: &AppState, bytes: &[u8]) -> Result<(bool, Sent), ApiError> {
    let Members(members) = parse(
        bytes,
        "request: the body must be a placement request object, or {\"requests\": [...]} for a batch",
    )?;
    if !members.iter().any(|(k, _)| k == "requests") {
        let request = parse::<PlacementRequest>(bytes, "placement request")?;
        return Ok((false, vec![(request, bytes.to_vec())]));
    }
    let malformed =
        |message: String| ApiError::new(StatusCode::BAD_REQUEST, "malformed-request", message);
    let requests = match members.as_slice() {
        [(_, requests)] => requests,
        _ => match members.iter().find(|(k, _)| k != "requests") {
            Some((other, _)) => {
                return Err(malformed(format!(
                    "invalid batch: unknown field `{other}`, expected `requests`"
                )));
            }
            None => {
                return Err(malformed(
                    "invalid batch: duplicate field `requests`".to_string(),
                ));
            }
        },
    };
    let items: Vec<&RawValue> = parse(
        requests.get().as_bytes(),
        "batch: `requests` must be a list",
    )?;
    if items.is_empty() {
        return Err(malformed("the batch has no requests".to_string()));
    }
    within_batch(state, items.len(), "the batch has", "requests")?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let raw = item.get().as_bytes();
        let request = parse::<PlacementRequest>(raw, &format!("batch request #{i}"))?;
        out.push((request, raw.to_vec()));
    }
    Ok((true, out))
}

pub(crate) async fn decisions(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    decide(state, id, body(&headers, raw)?).await
}

pub(crate) async fn decide(
    state: AppState,
    id: String,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let (state, id) = (&state, id.as_str());
    let (batch, items) = placement_requests(state, &bytes)?;
    let (requests, raws): (Vec<PlacementRequest>, Vec<Vec<u8>>) = items.into_iter().unzip();
    let worker_state = state.clone();
    let request_id = id.to_string();
    let (bundle, decisions) = evaluate(state, move |active| {
        let bundle = bundle_ref(active);
        let decisions = active
            .with_decider(|d| d.decide_batch(&requests))
            .unwrap_or_else(|failure| vec![Decision::denied(failure); requests.len()]);
        let entries = raws
            .iter()
            .zip(&decisions)
            .enumerate()
            .map(|(i, (raw, decision))| {
                let rid = if batch {
                    format!("{request_id}#{i}")
                } else {
                    request_id.clone()
                };
                entry(
                    &worker_state,
                    rid,
                    "placement",
                    raw,
                    logged(decision),
                    decision.evaluated_at.as_ref(),
                    &bundle,
                )
            })
            .collect();
        write_log(&worker_state, entries)?;
        Ok((bundle, decisions))
    })
    .await?;
    decisions
        .iter()
        .for_each(|d| state.inner.metrics.decision(d));
    if batch {
        return Ok(axum::Json(json!({
            "requestId": id,
            "bundle": bundle,
            "decisions": decisions,
        }))
        .into_response());
    }
    let decision = &decisions[0];
    match decision.failure.as_ref().filter(|f| request_caused(f)) {
        Some(failure) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "requestId": id,
                "error": unprocessable(failure).json(),
                "bundle": bundle,
                "decision": decision,
            })),
        )
            .into_response()),
        None => Ok(axum::Json(json!({
            "requestId": id,
            "bundle": bundle,
            "decision": decision,
        }))
        .into_response()),
    }
}
