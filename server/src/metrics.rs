//! The service's metrics, kept and rendered by `prometheus-client` in the
//! OpenMetrics text format (which Prometheus scrapes): counters and a
//! latency histogram the service updates, and the active bundle's state
//! read from the [`BundleSlot`] at each scrape.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use slicegate::Decision;
use slicegate::reload::BundleSlot;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: &'static str,
    pack: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    endpoint: String,
    status: u16,
}

/// The service's metrics: what it counts, and the registry that renders
/// them with the bundle's state.
pub struct Metrics {
    registry: Registry,
    decisions: Family<DecisionLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    responses: Family<ResponseLabels, Counter>,
    log_failures: Counter,
    refused_connections: Counter,
    evicted_connections: Counter,
}

impl Metrics {
    /// Metrics whose scrapes show the state of `slot`'s active bundle.
    pub fn new(slot: Arc<BundleSlot>) -> Self {
        let mut registry = Registry::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "slicegate_decisions",
            "Decisions, by outcome and by the pack of a determining policy",
            decisions.clone(),
        );
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(BUCKETS)) as fn() -> Histogram,
        );
        registry.register_with_unit(
            "slicegate_request_duration",
            "Time to answer a request, by endpoint",
            Unit::Seconds,
            latency.clone(),
        );
        let responses = Family::<ResponseLabels, Counter>::default();
        registry.register(
            "slicegate_http_responses",
            "Responses, by endpoint and status",
            responses.clone(),
        );
        let log_failures = Counter::default();
        registry.register(
            "slicegate_decision_log_failures",
            "Decisions refused because the decision log could not be written",
            log_failures.clone(),
        );
        let refused_connections = Counter::default();
        registry.register(
            "slicegate_connections_refused",
            "Connections answered 503 and closed because the connection cap was reached and \
             every connection had a request in flight",
            refused_connections.clone(),
        );
        let evicted_connections = Counter::default();
        registry.register(
            "slicegate_connections_evicted",
            "Idle connections (no whole request being answered: waiting for headers, for the \
             rest of a body, or for their next request) closed to make room for a new one at \
             the connection cap",
            evicted_connections.clone(),
        );
        registry.register_collector(Box::new(BundleState(slot)));
        Metrics {
            registry,
            decisions,
            latency,
            responses,
            log_failures,
            refused_connections,
            evicted_connections,
        }
    }

    /// Counts a decision once per pack among its determining policies
    /// (`none` when no policy determined it: a default deny or a failure).
    pub fn decision(&self, decision: &Decision) {
        let outcome = if decision.allowed { "allow" } else { "deny" };
        let mut packs: Vec<String> = decision
            .determining
            .iter()
            .map(|p| p.pack.clone().unwrap_or_else(|| "none".to_string()))
            .collect();
        packs.sort();
        packs.dedup();
        if packs.is_empty() {
            packs.push("none".to_string());
        }
        for pack in packs {
            self.decisions
                .get_or_create(&DecisionLabels { outcome, pack })
                .inc();
        }
    }

    /// Records one answered HTTP request.
    pub fn response(&self, endpoint: &str, status: u16, took: Duration) {
        let endpoint = endpoint.to_string();
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.clone(),
            })
            .observe(took.as_secs_f64());
        self.responses
            .get_or_create(&ResponseLabels { endpoint, status })
            .inc();
    }

    /// Records a decision that could not be written to the decision log.
    pub fn log_failure(&self) {
        self.log_failures.inc();
    }

    /// Records a connection refused because the cap was reached.
    pub fn connection_refused(&self) {
        self.refused_connections.inc();
    }

    /// Records an idle connection closed to make room for a new one.
    pub fn connection_evicted(&self) {
        self.evicted_connections.inc();
    }

    /// The exposition text (OpenMetrics; see [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("the metrics could not be rendered: {e}");
        }
        out
    }
}

/// The active bundle's state and the reloader's counts, read at each scrape.
struct BundleState(Arc<BundleSlot>);

impl std::fmt::Debug for BundleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BundleState")
    }
}

impl Collector for BundleState {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.0.status();
        let active = self.0.current();
        if let Some(active) = &active {
            let manifest = &active.bundle().manifest;
            let gauge = ConstGauge::new(i64::try_from(manifest.revision.0).unwrap_or(i64::MAX));
            let mut metric = encoder.encode_descriptor(
                "slicegate_bundle_revision",
                "The active bundle's revision (absent when none is loaded)",
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric.encode_family(&[
                ("name", manifest.name.0.as_str()),
                ("sha256", active.bundle().sha256.as_str()),
            ])?)?;
        }
        let expired = active
            .as_ref()
            .is_some_and(|a| a.bundle().validity.expired_at(SystemTime::now()));
        let gauges = [
            (
                "slicegate_ready",
                "1 when a verified bundle inside its validity window is loaded",
                i64::from(active.is_some() && !expired),
            ),
            (
                "slicegate_bundle_expired",
                "1 when the active bundle is outside its validity window (it decides nothing)",
                i64::from(expired),
            ),
        ];
        for (name, help, value) in gauges {
            gauge(&mut encoder, name, help, value)?;
        }
        if let Some(end) = active.as_ref().and_then(|a| a.bundle().validity.not_after) {
            let seconds = end
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            gauge(
                &mut encoder,
                "slicegate_bundle_not_after_seconds",
                "When the active bundle stops deciding (Unix seconds)",
                i64::try_from(seconds).unwrap_or(i64::MAX),
            )?;
        }
        let counters = [
            (
                "slicegate_bundle_reloads",
                "Newer bundles swapped in after the first",
                status.reloads,
            ),
            (
                "slicegate_bundle_reload_failures",
                "Bundles or fetches refused (the active bundle stayed)",
                status.failures,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
    gauge.encode(metric)
}
