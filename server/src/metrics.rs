//! Prometheus metrics, in the text exposition format, kept by hand: a few
//! counters and one histogram do not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use slicegate::Decision;
use slicegate::reload::BundleSlot;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    /// (outcome, pack) → decisions.
    decisions: BTreeMap<(&'static str, String), u64>,
    /// endpoint → request latency.
    latency: BTreeMap<&'static str, Histogram>,
    /// (endpoint, status) → responses.
    responses: BTreeMap<(&'static str, u16), u64>,
    log_failures: u64,
    refused_connections: u64,
    evicted_connections: u64,
}

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
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
        self.with(|m| {
            for pack in packs {
                *m.decisions.entry((outcome, pack)).or_default() += 1;
            }
        });
    }

    /// Records one answered HTTP request.
    pub fn response(&self, endpoint: &'static str, status: u16, took: Duration) {
        self.with(|m| {
            *m.responses.entry((endpoint, status)).or_default() += 1;
            let h = m.latency.entry(endpoint).or_default();
            let seconds = took.as_secs_f64();
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        });
    }

    /// Records a decision that could not be written to the decision log.
    pub fn log_failure(&self) {
        self.with(|m| m.log_failures += 1);
    }

    /// Records a connection refused because the cap was reached.
    pub fn connection_refused(&self) {
        self.with(|m| m.refused_connections += 1);
    }

    /// Records an idle connection closed to make room for a new one.
    pub fn connection_evicted(&self) {
        self.with(|m| m.evicted_connections += 1);
    }

    /// The exposition text, with the active bundle and reload state from
    /// `slot`.
    pub fn render(&self, slot: &BundleSlot) -> String {
        let mut out = String::new();
        let status = slot.status();
        let active = slot.current();
        self.with(|m| {
            let _ = writeln!(
                out,
                "# HELP slicegate_decisions_total Decisions, by outcome and by the pack of a determining policy.\n# TYPE slicegate_decisions_total counter"
            );
            for ((outcome, pack), n) in &m.decisions {
                let _ = writeln!(
                    out,
                    "slicegate_decisions_total{{outcome=\"{outcome}\",pack=\"{}\"}} {n}",
                    escape(pack)
                );
            }
            let _ = writeln!(
                out,
                "# HELP slicegate_request_duration_seconds Time to answer a request, by endpoint.\n# TYPE slicegate_request_duration_seconds histogram"
            );
            for (endpoint, h) in &m.latency {
                for (bound, count) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        out,
                        "slicegate_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "slicegate_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}\nslicegate_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {}\nslicegate_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
            let _ = writeln!(
                out,
                "# HELP slicegate_http_responses_total Responses, by endpoint and status.\n# TYPE slicegate_http_responses_total counter"
            );
            for ((endpoint, code), n) in &m.responses {
                let _ = writeln!(
                    out,
                    "slicegate_http_responses_total{{endpoint=\"{endpoint}\",status=\"{code}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "# HELP slicegate_decision_log_failures_total Decisions refused because the decision log could not be written.\n# TYPE slicegate_decision_log_failures_total counter\nslicegate_decision_log_failures_total {}",
                m.log_failures
            );
            let _ = writeln!(
                out,
                "# HELP slicegate_connections_refused_total Connections answered 503 and closed because the connection cap was reached and every connection had a request in flight.\n# TYPE slicegate_connections_refused_total counter\nslicegate_connections_refused_total {}",
                m.refused_connections
            );
            let _ = writeln!(
                out,
                "# HELP slicegate_connections_evicted_total Idle connections (no request in flight: waiting for headers or for their next request) closed to make room for a new one at the connection cap.\n# TYPE slicegate_connections_evicted_total counter\nslicegate_connections_evicted_total {}",
                m.evicted_connections
            );
        });
        let _ = writeln!(
            out,
            "# HELP slicegate_bundle_revision The active bundle's revision (absent when none is loaded).\n# TYPE slicegate_bundle_revision gauge"
        );
        if let Some(active) = &active {
            let manifest = &active.bundle().manifest;
            let _ = writeln!(
                out,
                "slicegate_bundle_revision{{name=\"{}\",sha256=\"{}\"}} {}",
                escape(&manifest.name.0),
                active.bundle().sha256,
                manifest.revision.0
            );
        }
        let now = std::time::SystemTime::now();
        let expired = active
            .as_ref()
            .is_some_and(|a| a.bundle().validity.expired_at(now));
        let _ = writeln!(
            out,
            "# HELP slicegate_ready 1 when a verified bundle inside its validity window is loaded.\n# TYPE slicegate_ready gauge\nslicegate_ready {}",
            u8::from(active.is_some() && !expired)
        );
        let _ = writeln!(
            out,
            "# HELP slicegate_bundle_expired 1 when the active bundle is outside its validity window (it decides nothing).\n# TYPE slicegate_bundle_expired gauge\nslicegate_bundle_expired {}",
            u8::from(expired)
        );
        if let Some(end) = active.as_ref().and_then(|a| a.bundle().validity.not_after) {
            let seconds = end
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let _ = writeln!(
                out,
                "# HELP slicegate_bundle_not_after_seconds When the active bundle stops deciding (Unix seconds).\n# TYPE slicegate_bundle_not_after_seconds gauge\nslicegate_bundle_not_after_seconds {seconds}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP slicegate_bundle_reloads_total Newer bundles swapped in after the first.\n# TYPE slicegate_bundle_reloads_total counter\nslicegate_bundle_reloads_total {}",
            status.reloads
        );
        let _ = writeln!(
            out,
            "# HELP slicegate_bundle_reload_failures_total Bundles or fetches refused (the active bundle stayed).\n# TYPE slicegate_bundle_reload_failures_total counter\nslicegate_bundle_reload_failures_total {}",
            status.failures
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
