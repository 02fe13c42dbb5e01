//! # slicegate-server
//!
//! The decision service orchestrators call when they do not embed the
//! library: placements (one or a batch), deployment plans and ETSI SOL003
//! grants over HTTP, answered by the active signed bundle of a
//! [`BundleSlot`] that a [`slicegate::reload::Reloader`] keeps up to date.
//!
//! Every answer names the bundle (name, revision, sha256) that gave it. A
//! decision takes the active bundle when it starts and finishes on it, so a
//! reload never changes an answer halfway. Bad input is a 4xx with a JSON
//! error naming what is wrong; nothing is allowed by accident, and the
//! service keeps serving. With a decision log, each decision is written
//! (hash-chained, durable) before it is answered; a decision that cannot be
//! logged is not answered as an allow.
//!
//! The API is described by `server/openapi.yaml`, served at
//! `/openapi.yaml` and `/openapi.json`.

pub mod metrics;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use slicegate::decision_log::{self, DecisionLog, Entry, LoggedBundle, LoggedDecision};
use slicegate::reload::{ActiveBundle, BundleSlot};
use slicegate::sol003::{self, GrantContext, GrantOutcome, GrantRequest, PackageMap};
use slicegate::{Decision, DeploymentPlan, Failure, PlacementRequest, PlanResult};
use tokio::sync::Semaphore;

pub use metrics::Metrics;

/// The OpenAPI document of this service (also in the repository at
/// `server/openapi.yaml`).
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// How the service behaves.
pub struct Config {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most placements in one batch.
    pub max_batch: usize,
    /// Decisions evaluated at once (each holds a policy instance).
    pub workers: usize,
    /// SOL003 package names → vendor and model ids.
    pub packages: PackageMap,
    /// Where decisions are logged, if anywhere.
    pub log: Option<Arc<DecisionLog>>,
    /// JSON pointers of request fields replaced by `"<masked>"` in the log.
    pub log_mask: Vec<String>,
    /// Whether logged records carry the (masked) request; its hash is
    /// always logged.
    pub log_requests: bool,
    /// Where bundles come from, for `/v1/bundle`.
    pub source: String,
    /// How the service holds up against slow and numerous clients.
    pub connections: ConnectionLimits,
}

/// Protection against slow and numerous clients (slowloris and the like):
/// a client gets this long to send its request headers, each request this
/// long to be read and answered, and at most this many connections are open
/// at once; one over the cap is answered `503` and closed at once, so the
/// clients already connected keep being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// To send a request's headers (also the longest an idle keep-alive
    /// connection waits for its next request).
    pub header_read_timeout: std::time::Duration,
    /// To read a request's body and answer it (`408` after).
    pub request_timeout: std::time::Duration,
    /// Open connections at once.
    pub max_connections: usize,
    /// Requests one keep-alive connection may carry before it is closed.
    pub max_requests_per_connection: u32,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(30),
            max_connections: 1024,
            max_requests_per_connection: 1000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 1 << 20,
            max_batch: 10_000,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            packages: PackageMap::default(),
            log: None,
            log_mask: Vec::new(),
            log_requests: true,
            source: String::new(),
            connections: ConnectionLimits::default(),
        }
    }
}

struct Inner {
    slot: Arc<BundleSlot>,
    config: Config,
    metrics: Metrics,
    workers: Semaphore,
    next_id: AtomicU64,
    started: u128,
}

/// The service's shared state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// A service answering from `slot`.
    pub fn new(slot: Arc<BundleSlot>, config: Config) -> Self {
        let workers = Semaphore::new(config.workers.max(1));
        AppState {
            inner: Arc::new(Inner {
                slot,
                config,
                metrics: Metrics::default(),
                workers,
                next_id: AtomicU64::new(1),
                started: SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis()),
            }),
        }
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    fn request_id(&self, headers: &HeaderMap) -> String {
        let given = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b))
            });
        match given {
            Some(id) => id.to_string(),
            None => format!(
                "{:x}-{}",
                self.inner.started,
                self.inner.next_id.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }
}

/// The routes.
pub fn router(state: AppState) -> Router {
    let limit = state.inner.config.max_body_bytes;
    Router::new()
        .route("/v1/decisions", post(decisions))
        .route("/v1/plans:check", post(plans_check))
        .route("/v1/sol003/grants", post(grants))
        .route("/v1/bundle", get(bundle))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes; requests
/// in flight then finish. Each connection lives under the state's
/// [`ConnectionLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let limits = state.inner.config.connections;
    let metrics = state.clone();
    let app = router(state).layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let connections = Arc::new(Connections::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, keep serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (id, close) = match connections.admit() {
            Admitted::Yes { id, close, evicted } => {
                if evicted {
                    metrics.inner.metrics.connection_evicted();
                }
                (id, close)
            }
            Admitted::No => {
                metrics.inner.metrics.connection_refused();
                tokio::spawn(refuse_connection(stream, limits.max_connections));
                continue;
            }
        };
        let served = Arc::new(AtomicU64::new(0));
        let max_requests = u64::from(limits.max_requests_per_connection.max(1));
        let app = app.clone();
        let table = connections.clone();
        let service = hyper::service::service_fn(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let app = app.clone();
                let count = served.fetch_add(1, Ordering::Relaxed) + 1;
                // The connection counts as busy once the request is whole
                // (headers and body): a client trickling its body is as
                // idle as one trickling its headers.
                let busy = Arc::new(std::sync::Mutex::new(None));
                let (parts, body) = request.into_parts();
                let body = TrackedBody::new(body, table.clone(), id, busy.clone());
                let request = axum::http::Request::from_parts(parts, axum::body::Body::new(body));
                async move {
                    use tower::ServiceExt;
                    let mut response = app.oneshot(request).await?;
                    drop(busy.lock().unwrap_or_else(|p| p.into_inner()).take());
                    if count >= max_requests {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let table = connections.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection closed");
                    }
                }
                // Evicted to make room: dropping the connection closes it.
                () = close.notified() => tracing::debug!("idle connection evicted"),
            }
            table.remove(id);
        });
    }
    drop(listener);
    // Let the requests in flight finish (bounded by the request timeout).
    let _ = tokio::time::timeout(limits.request_timeout, graceful.shutdown()).await;
    Ok(())
}

/// The open connections, for the cap. At the cap a new connection takes
/// the place of the one idle longest — waiting for its headers (a slow or
/// hostile client) or for its next keep-alive request — so clients that
/// hold connections without sending requests cannot lock others out; only
/// when every connection has a request in flight is a newcomer refused.
struct Connections {
    cap: usize,
    next: AtomicU64,
    open: std::sync::Mutex<std::collections::HashMap<u64, Connection>>,
}

struct Connection {
    /// Requests in flight.
    busy: u32,
    /// Since when it has had none.
    idle_since: std::time::Instant,
    close: Arc<tokio::sync::Notify>,
}

enum Admitted {
    Yes {
        id: u64,
        close: Arc<tokio::sync::Notify>,
        evicted: bool,
    },
    No,
}

/// A request body that marks its connection busy once it has all been
/// received.
struct TrackedBody {
    inner: hyper::body::Incoming,
    table: Arc<Connections>,
    id: u64,
    busy: Arc<std::sync::Mutex<Option<Busy>>>,
}

impl TrackedBody {
    fn new(
        inner: hyper::body::Incoming,
        table: Arc<Connections>,
        id: u64,
        busy: Arc<std::sync::Mutex<Option<Busy>>>,
    ) -> Self {
        let body = TrackedBody {
            inner,
            table,
            id,
            busy,
        };
        if hyper::body::Body::is_end_stream(&body.inner) {
            body.received();
        }
        body
    }

    fn received(&self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if busy.is_none() {
            *busy = Some(self.table.busy(self.id));
        }
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None))
            || hyper::body::Body::is_end_stream(&self.inner)
        {
            self.received();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request in flight on a connection; dropping it marks the connection
/// idle again.
struct Busy {
    table: Arc<Connections>,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut open = self.table.lock();
        if let Some(c) = open.get_mut(&self.id) {
            c.busy = c.busy.saturating_sub(1);
            if c.busy == 0 {
                c.idle_since = std::time::Instant::now();
            }
        }
    }
}

impl Connections {
    fn new(cap: usize) -> Self {
        Connections {
            cap,
            next: AtomicU64::new(0),
            open: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Connection>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn admit(&self) -> Admitted {
        let mut open = self.lock();
        let mut evicted = false;
        if open.len() >= self.cap {
            let idlest = open
                .iter()
                .filter(|(_, c)| c.busy == 0)
                .min_by_key(|(_, c)| c.idle_since)
                .map(|(id, _)| *id);
            let Some(victim) = idlest else {
                return Admitted::No;
            };
            if let Some(c) = open.remove(&victim) {
                c.close.notify_one();
            }
            evicted = true;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(tokio::sync::Notify::new());
        open.insert(
            id,
            Connection {
                busy: 0,
                idle_since: std::time::Instant::now(),
                close: close.clone(),
            },
        );
        Admitted::Yes { id, close, evicted }
    }

    fn busy(self: &Arc<Self>, id: u64) -> Busy {
        if let Some(c) = self.lock().get_mut(&id) {
            c.busy += 1;
        }
        Busy {
            table: self.clone(),
            id,
        }
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Answers a connection over the cap with `503` and closes it, within a
/// second whatever the client does.
async fn refuse_connection(mut stream: tokio::net::TcpStream, cap: usize) {
    use tokio::io::AsyncWriteExt;
    let body = json!({"error": {"status": 503, "code": "too-many-connections",
        "message": format!("the service holds its maximum of {cap} connections; retry shortly")}})
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// A JSON error answer.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn into_response(self, request_id: &str) -> Response {
        let body = json!({
            "requestId": request_id,
            "error": {"status": self.status.as_u16(), "code": self.code, "message": self.message},
        });
        with_id((self.status, axum::Json(body)).into_response(), request_id)
    }
}

fn with_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The body of a JSON request, or the 4xx it deserves.
fn body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
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

fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            format!("invalid {what}: {e}"),
        )
    })
}

/// The identity of a bundle, as every answer carries it.
fn bundle_ref(active: &ActiveBundle) -> LoggedBundle {
    LoggedBundle {
        name: active.bundle().manifest.name.0.clone(),
        revision: active.bundle().manifest.revision.0,
        sha256: active.bundle().sha256.clone(),
    }
}

fn not_ready(state: &AppState) -> ApiError {
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
fn expired(active: &ActiveBundle, failure: &Failure) -> ApiError {
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
fn validity_json(active: &ActiveBundle) -> Value {
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
fn request_caused(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::InvalidRequest(_) | Failure::UnknownEntity(_) | Failure::SchemaViolation(_)
    )
}

fn failure_code(failure: &Failure) -> &'static str {
    match failure {
        Failure::InvalidRequest(_) => "invalid-request",
        Failure::UnknownEntity(_) => "unknown-entity",
        Failure::SchemaViolation(_) => "schema-violation",
        _ => "evaluation-failed",
    }
}

fn logged(decision: &Decision) -> LoggedDecision {
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
fn entry(
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
fn write_log(state: &AppState, entries: Vec<Entry>) -> Result<(), ApiError> {
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

/// Runs `work` on a blocking thread, at most `workers` at once, with the
/// bundle active when it starts.
async fn evaluate<R: Send + 'static>(
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

fn finish(
    state: &AppState,
    endpoint: &'static str,
    started: Instant,
    request_id: &str,
    result: Result<Response, ApiError>,
) -> Response {
    let response = match result {
        Ok(response) => with_id(response, request_id),
        Err(error) => error.into_response(request_id),
    };
    state
        .inner
        .metrics
        .response(endpoint, response.status().as_u16(), started.elapsed());
    response
}

/// Answers a POST with a JSON body: the request id, the body (or the 4xx
/// it deserves), `work`, and the metrics.
async fn answer<F, Fut>(
    state: AppState,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    endpoint: &'static str,
    work: F,
) -> Response
where
    F: FnOnce(AppState, String, Bytes) -> Fut,
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    let started = Instant::now();
    let id = state.request_id(&headers);
    let result = match body(&headers, raw) {
        Ok(bytes) => work(state.clone(), id.clone(), bytes).await,
        Err(error) => Err(error),
    };
    finish(&state, endpoint, started, &id, result)
}

/// The body's top-level members, borrowed as they were sent: picks a batch
/// (`{"requests": [...]}`) or a single request without building a value.
type Members<'a> = std::collections::BTreeMap<std::borrow::Cow<'a, str>, &'a RawValue>;

/// The placement requests of a body, each with its bytes as sent (what the
/// decision log hashes): one request, or a batch's. Each is parsed once.
fn placement_requests(
    state: &AppState,
    bytes: &[u8],
) -> Result<(bool, Vec<(PlacementRequest, Vec<u8>)>), ApiError> {
    let members: Members<'_> = parse(
        bytes,
        "request: the body must be a placement request object, or {\"requests\": [...]} for a batch",
    )?;
    let Some(requests) = members.get("requests") else {
        let request = parse::<PlacementRequest>(bytes, "placement request")?;
        return Ok((false, vec![(request, bytes.to_vec())]));
    };
    if let Some(other) = members.keys().find(|k| *k != "requests") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            format!("invalid batch: unknown field `{other}`, expected `requests`"),
        ));
    }
    let items: Vec<&RawValue> = parse(
        requests.get().as_bytes(),
        "batch: `requests` must be a list",
    )?;
    if items.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "the batch has no requests",
        ));
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

async fn decisions(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    answer(state, headers, raw, "decisions", decide).await
}

async fn decide(state: AppState, id: String, bytes: Bytes) -> Result<Response, ApiError> {
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
                "error": {"status": 422, "code": failure_code(failure), "message": failure.to_string()},
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

async fn plans_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    answer(state, headers, raw, "plans:check", check_plan).await
}

fn plan_summary(result: &PlanResult) -> LoggedDecision {
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
fn within_batch(state: &AppState, count: usize, what: &str, unit: &str) -> Result<(), ApiError> {
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

async fn check_plan(state: AppState, id: String, bytes: Bytes) -> Result<Response, ApiError> {
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
        body["error"] =
            json!({"status": 422, "code": failure_code(failure), "message": failure.to_string()});
    }
    Ok((status, axum::Json(body)).into_response())
}

/// A SOL003 Grant as the service takes it: the NFVO's `GrantRequest` and
/// what it does not say (package identity, network, site, slice).
#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GrantBody {
    grant_request: GrantRequest,
    context: GrantContext,
}

async fn grants(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    answer(state, headers, raw, "sol003/grants", grant).await
}

async fn grant(state: AppState, id: String, bytes: Bytes) -> Result<Response, ApiError> {
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

async fn bundle(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let id = state.request_id(&headers);
    let reload = state.inner.slot.status();
    let response = match state.inner.slot.current() {
        None => {
            // Not ready: still say what reloading has seen.
            let e = not_ready(&state);
            (
                e.status,
                axum::Json(json!({
                    "requestId": id,
                    "error": {"status": e.status.as_u16(), "code": e.code, "message": e.message},
                    "source": state.inner.config.source,
                    "reload": reload,
                })),
            )
                .into_response()
        }
        Some(active) => {
            let b = active.bundle();
            axum::Json(json!({
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
                "reload": reload,
            }))
            .into_response()
        }
    };
    finish(&state, "bundle", started, &id, Ok(response))
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
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

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.inner.metrics.render(&state.inner.slot),
    )
        .into_response()
}

async fn openapi_yaml() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn openapi_json() -> Response {
    match serde_norway::from_str::<Value>(OPENAPI_YAML) {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the built-in OpenAPI document does not parse: {e}"),
        )
        .into_response(""),
    }
}

async fn not_found(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let id = state.request_id(&headers);
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no such endpoint: {}; see /openapi.yaml", uri.path()),
    )
    .into_response(&id)
}

async fn method_not_allowed(
    State(state): State<AppState>,
    headers: HeaderMap,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Response {
    let id = state.request_id(&headers);
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{method} is not allowed on {}; see /openapi.yaml",
            uri.path()
        ),
    )
    .into_response(&id)
}

/// Binds `listen`, calls `on_listening` with the bound address, and serves
/// until Ctrl-C or SIGTERM; requests in flight then finish. Builds its own
/// multi-threaded runtime, for callers that have none.
pub fn serve_blocking(
    listen: std::net::SocketAddr,
    state: AppState,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("slicegate-serve")
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        on_listening(listener.local_addr()?);
        serve(listener, state, shutdown_signal()).await
    })
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down; answering the requests in flight");
}

#[cfg(test)]
mod connection_tests {
    use super::*;

    fn id(admitted: Admitted) -> u64 {
        match admitted {
            Admitted::Yes { id, .. } => id,
            Admitted::No => panic!("refused"),
        }
    }

    #[test]
    fn at_the_cap_the_idlest_connection_makes_room_and_busy_ones_never_do() {
        let table = Arc::new(Connections::new(2));
        let a = id(table.admit());
        let b = id(table.admit());
        // `a` has a request in flight; `b` is waiting (for headers, a body
        // or its next request).
        let a_busy = table.busy(a);
        let Admitted::Yes { id: c, evicted, .. } = table.admit() else {
            panic!("refused while an idle connection could make room");
        };
        assert!(evicted);
        assert!(!table.lock().contains_key(&b), "the idle one was evicted");
        assert!(table.lock().contains_key(&a), "the busy one stays");
        // Every connection busy: the newcomer is refused.
        let c_busy = table.busy(c);
        assert!(matches!(table.admit(), Admitted::No));
        // A request done: its connection is idle again and can make room.
        drop(c_busy);
        assert!(matches!(table.admit(), Admitted::Yes { evicted: true, .. }));
        drop(a_busy);
    }

    #[test]
    fn the_connection_idle_longest_goes_first() {
        let table = Arc::new(Connections::new(3));
        let first = id(table.admit());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let second = id(table.admit());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let third = id(table.admit());
        // `first` just finished a request: now the idlest is `second`.
        drop(table.busy(first));
        let _ = table.admit();
        let open = table.lock();
        assert!(open.contains_key(&first) && open.contains_key(&third));
        assert!(!open.contains_key(&second));
    }
}
