//! The service's state: the active bundle, health, readiness, metrics, the OpenAPI document, and the answers to unknown routes.

use super::*;

pub(crate) async fn bundle(State(state): State<AppState>, RequestId(id): RequestId) -> Response {
    let reload = state.inner.slot.status();
    match state.inner.slot.current() {
        None => {
            // Not ready: still say what reloading has seen.
            let e = not_ready(&state);
            (
                e.status,
                axum::Json(json!({
                    "requestId": id,
                    "error": e.json(),
                    "source": state.inner.config.source,
                    "plainHttp": state.inner.config.plain_http,
                    "reload": reload,
                })),
            )
                .into_response()
        }
        Some(active) => {
            let b = active.bundle();
            let mut answer = json!({
                "name": b.manifest.name.0,
                "revision": b.manifest.revision.0,
                "sha256": b.sha256,
                "signers": b.signers.iter().map(|k| k.0.clone()).collect::<Vec<_>>(),
                "loadedAt": humantime::format_rfc3339_seconds(active.loaded_at()).to_string(),
                "createdAt": b.manifest.created_at,
                "packs": b.manifest.packs,
                "policyCount": b.manifest.policy_count,
                "validity": validity_json(&active),
                "source": state.inner.config.source,
                "plainHttp": state.inner.config.plain_http,
                "reload": reload,
            });
            if let Some(origin) = active.origin() {
                answer["origin"] = origin.clone();
            }
            axum::Json(answer).into_response()
        }
    }
}

pub(crate) async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.inner.slot.current() {
        Some(active) => match active.bundle().validity.check(SystemTime::now()) {
            Ok(()) => axum::Json(json!({
                "status": "ready",
                "revision": active.bundle().manifest.revision.0,
            }))
            .into_response(),
            Err(failure) => (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({
                    "status": "bundle-expired",
                    "revision": active.bundle().manifest.revision.0,
                    "message": expired(&active, &failure).message,
                    "validity": validity_json(&active),
                })),
            )
                .into_response(),
        },
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not-ready", "message": not_ready(&state).message})),
        )
            .into_response(),
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.inner.metrics.render(),
    )
        .into_response()
}

pub(crate) async fn openapi_yaml() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

pub(crate) async fn openapi_json() -> Result<Response, ApiError> {
    match serde_norway::from_str::<Value>(OPENAPI_YAML) {
        Ok(value) => Ok(axum::Json(value).into_response()),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the built-in OpenAPI document does not parse: {e}"),
        )),
    }
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no such endpoint: {}; see /openapi.yaml", uri.path()),
    )
}

pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{method} is not allowed on {}; see /openapi.yaml",
            uri.path()
        ),
    )
}
