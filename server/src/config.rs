//! The service's configuration: limits, workers, the decision log, connections.

use super::*;

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
    /// Whether a remote source may be reached without TLS
    /// (`--plain-http`), for `/v1/bundle`.
    pub plain_http: bool,
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
            plain_http: false,
            connections: ConnectionLimits::default(),
        }
    }
}
