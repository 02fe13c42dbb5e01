//! Error answers: one type, one JSON shape (a code, a message, the request
//! id); reading and parsing bodies.

use super::*;

/// A JSON error answer. Handlers return it as their `Err`; as a response it
/// carries itself in the response's extensions, and the service's
/// [`observe`](crate::observe) middleware renders it with the request's id
/// ([`ApiError::render`]).
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The answer: the status and `{requestId, error: {status, code, message}}`.
    pub(crate) fn render(&self, request_id: &str) -> Response {
        let body = json!({
            "requestId": request_id,
            "error": self.json(),
        });
        (self.status, axum::Json(body)).into_response()
    }

    /// The `error` member of an answer.
    pub(crate) fn json(&self) -> Value {
        json!({"status": self.status.as_u16(), "code": self.code, "message": self.message})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The body of a JSON request, or the 4xx it deserves.
pub(crate) fn body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    if headers.get_all(header::CONTENT_TYPE).iter().count() > 1 {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the request has several Content-Type headers; send one: application/json".to_string(),
        ));
    }
    let kind = headers
        .get(header::CONTENT_TYPE)
        .map(|kind| kind.to_str().unwrap_or("(not text)"));
    let essence = kind
        .and_then(|kind| kind.split(';').next())
        .unwrap_or("")
        .trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            match kind {
                Some(kind) => format!("the body must be application/json, not `{kind}`"),
                None => "the body must be application/json: send `Content-Type: application/json`"
                    .to_string(),
            },
        ));
    }
    // A body we cannot read as sent is refused, not read as something else.
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("(not text)");
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-encoding",
                format!(
                    "the body must not be encoded (Content-Encoding `{encoding}`); send plain JSON"
                ),
            ));
        }
    }
    body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body-too-large"
        } else {
            "unreadable-body"
        };
        ApiError::new(status, code, rejection.body_text())
    })
}

pub(crate) fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            format!("invalid {what}: {e}"),
        )
    })
}

/// The identity of a bundle, as every answer carries it.
pub(crate) fn bundle_ref(active: &ActiveBundle) -> LoggedBundle {
    LoggedBundle {
        name: active.bundle().manifest.name.0.clone(),
        revision: active.bundle().manifest.revision.0,
        sha256: active.bundle().sha256.clone(),
    }
}

pub(crate) fn not_ready(state: &AppState) -> ApiError {
    let status = state.inner.slot.status();
    let why = status
        .last_failure
        .map(|f| format!(": {}", f.message))
        .unwrap_or_default();
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-ready",
        format!("no verified bundle is loaded{why}"),
    )
}

/// The answer while the active bundle is outside its validity window: no
/// decision at all (503), until a newer valid bundle is swapped in.
pub(crate) fn expired(active: &ActiveBundle, failure: &Failure) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "bundle-expired",
        format!(
            "bundle {} revision {}: {failure}",
            active.bundle().manifest.name.0,
            active.bundle().manifest.revision.0
        ),
    )
}

/// The active bundle's window, as `/v1/bundle` and `/readyz` show it.
pub(crate) fn validity_json(active: &ActiveBundle) -> Value {
    let v = &active.bundle().validity;
    let at = |t: Option<SystemTime>| t.map(|t| humantime::format_rfc3339_seconds(t).to_string());
    json!({
        "notBefore": at(v.not_before),
        "notAfter": at(v.not_after),
        "limitedBy": v.limited_by,
        "expired": v.expired_at(SystemTime::now()),
    })
}

/// Whether a failure was caused by the request (and so deserves a 4xx).
pub(crate) fn request_caused(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::InvalidRequest(_) | Failure::UnknownEntity(_) | Failure::SchemaViolation(_)
    )
}

/// The error of an answer whose request was decided but could not be
/// evaluated because of what it says (a 422).
pub(crate) fn unprocessable(failure: &Failure) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        failure_code(failure),
        failure.to_string(),
    )
}

pub(crate) fn failure_code(failure: &Failure) -> &'static str {
    match failure {
        Failure::InvalidRequest(_) => "invalid-request",
        Failure::UnknownEntity(_) => "unknown-entity",
        Failure::SchemaViolation(_) => "schema-violation",
        _ => "evaluation-failed",
    }
}
