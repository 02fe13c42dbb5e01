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

mod authzen;
mod config;
mod connections;
mod decide;
mod errors;
mod grants;
mod info;
mod logging;
pub mod metrics;
pub mod openapi;
mod plans;

pub use config::{Config, ConnectionLimits};
pub use connections::serve;
use decide::*;
use errors::*;
use grants::*;
use info::*;
use logging::*;
use plans::*;

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

/// The OpenAPI document of this service, as checked in at
/// `server/openapi.yaml` (made by [`openapi::document`]).
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

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
                slot: slot.clone(),
                config,
                metrics: Metrics::new(slot.clone()),
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

    pub(crate) fn new_request_id(&self) -> String {
        format!(
            "{:x}-{}",
            self.inner.started,
            self.inner.next_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The request-id header, read from callers and set on every answer.
const REQUEST_ID: &str = "x-request-id";

/// The request's id, as the request-id layers of [`router`] set it (the
/// caller's when it is a safe token, a new one otherwise).
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    fn of(headers: &HeaderMap) -> String {
        headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestId(RequestId::of(&parts.headers)))
    }
}

/// The metrics label of a route: its path without the leading `/` or `/v1/`
/// (`decisions`, `plans:check`, `healthz`); `unmatched` for no route.
fn endpoint(request: &axum::extract::Request) -> String {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |path| {
            let path = path.as_str();
            path.strip_prefix("/v1/")
                .or_else(|| path.strip_prefix('/'))
                .unwrap_or(path)
        })
        .to_string()
}

/// An error answer without a body of ours (from a tower layer), as an
/// [`ApiError`].
fn unshaped_error(response: &Response) -> Option<ApiError> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return None;
    }
    let (code, message) = match status {
        StatusCode::REQUEST_TIMEOUT => (
            "request-timeout",
            "the request was not read and answered within the service's request timeout",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "the body is too large"),
        _ => ("internal", "the request could not be answered"),
    };
    Some(ApiError::new(status, code, message))
}

/// The middleware every route answers through: renders an [`ApiError`]
/// answer with the request's id, and records the answer's status and time
/// in the metrics.
async fn observe(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let endpoint = endpoint(&request);
    let id = RequestId::of(request.headers());
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        response = error.render(&id);
    } else if let Some(error) = unshaped_error(&response) {
        // An error made by a layer (the request timeout, the body limit):
        // the same shape as every other.
        response = error.render(&id);
    }
    state
        .inner
        .metrics
        .response(&endpoint, response.status().as_u16(), started.elapsed());
    response
}

/// A caller's request id is kept only when it is a short token that logs
/// and headers carry safely.
fn safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b))
}

/// New request ids for tower-http's `SetRequestId` layer.
#[derive(Clone)]
struct RequestIds(AppState);

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        HeaderValue::from_str(&self.0.new_request_id())
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// Drops a caller's request id that is not a safe token, so the layer
/// after it makes a new one.
fn drop_unsafe_request_id<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let unsafe_id = request
        .headers()
        .get_all(REQUEST_ID)
        .iter()
        .map(|v| v.to_str().ok().filter(|id| safe_request_id(id)))
        .collect::<Vec<_>>();
    if unsafe_id.len() != 1 || unsafe_id[0].is_none() {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// The routes.
pub fn router(state: AppState) -> Router {
    let limit = state.inner.config.max_body_bytes;
    Router::new()
        .route("/v1/decisions", post(decisions))
        .route("/access/v1/evaluation", post(authzen::evaluation))
        .route("/access/v1/evaluations", post(authzen::evaluations))
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
        // Inside `observe`: a timeout's 408 is rendered and measured too.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.inner.config.connections.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(limit))
        .layer(
            // Outermost first: a request id for every request (the
            // caller's if safe), a tracing span carrying it, and the id
            // on every answer.
            tower::ServiceBuilder::new()
                .layer(tower::util::MapRequestLayer::new(drop_unsafe_request_id))
                .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
                    RequestIds(state.clone()),
                ))
                .layer(
                    tower_http::trace::TraceLayer::new_for_http().make_span_with(
                        |request: &axum::http::Request<axum::body::Body>| {
                            let id = request
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                path = request.uri().path(),
                                id,
                            )
                        },
                    ),
                )
                .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}

/// Binds `listen`, calls `on_listening` with the bound address, and serves
/// until Ctrl-C or SIGTERM (see [`shutdown_signal`]); requests in flight then
/// finish. Builds its own multi-threaded runtime, for callers that have
/// none.
pub fn serve_blocking(
    listen: std::net::SocketAddr,
    state: AppState,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(listen)?;
    run_blocking(listener, state, shutdown_signal(), on_listening)
}

/// [`serve_blocking`] on a listener already bound (bind first, then open
/// what a failed start must not touch, such as the decision log), until
/// `stop` is set (for example by signal handlers the caller registered
/// before opening anything).
pub fn serve_listener_blocking(
    listener: std::net::TcpListener,
    state: AppState,
    stop: Arc<std::sync::atomic::AtomicBool>,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let stopped = async move {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tracing::info!("shutting down; answering the requests in flight");
    };
    run_blocking(listener, state, stopped, on_listening)
}

fn run_blocking(
    listener: std::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("slicegate-serve")
        .build()?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        on_listening(listener.local_addr()?);
        serve(listener, state, shutdown).await
    })
}

/// Completes on Ctrl-C or (on Unix) SIGTERM, SIGHUP or SIGQUIT: each stops
/// the service cleanly (requests in flight answered, the decision log
/// closed with a final checkpoint).
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        let wait = |kind| async move {
            match signal(kind) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(SignalKind::terminate()) => {},
            () = wait(SignalKind::hangup()) => {},
            () = wait(SignalKind::quit()) => {},
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
