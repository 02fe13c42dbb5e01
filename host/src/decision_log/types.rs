//! What the decision log records: entries, records, and its errors.

use serde::{Deserialize, Serialize};

/// The bundle that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BundleRef))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggedBundle {
    /// The bundle's name.
    pub name: String,
    /// Its revision.
    pub revision: u64,
    /// sha256 of its signed content.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// What was decided, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggedDecision {
    /// Allowed or not.
    pub allowed: bool,
    /// The policy ids that determined it.
    pub determining: Vec<String>,
    /// Why it was denied other than by a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One decision, as the caller hands it to the log. The log adds the
/// sequence number, the time and the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// The caller's request id (with `#n` for the n-th request of a batch).
    pub request_id: String,
    /// `placement`, `plan`, `sol003-grant`.
    pub kind: String,
    /// sha256 of the request as received (before masking), hex.
    pub request_sha256: String,
    /// The request, with masked fields replaced; absent if not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
    /// The decision.
    pub decision: LoggedDecision,
    /// The evaluation time, and whether it was a caller's what-if time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<String>,
    /// True when the caller set the evaluation time.
    #[serde(default)]
    pub what_if: bool,
    /// The bundle that decided; absent when none was loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<LoggedBundle>,
}

/// A record as it is written: the entry, its place in the log and the hash
/// of the previous record's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// 1 for the first record, then one more per record.
    pub seq: u64,
    /// When it was logged (RFC 3339, microseconds, UTC).
    pub time: String,
    /// The decision.
    #[serde(flatten)]
    pub entry: Entry,
    /// sha256 (hex) of the previous record's line, without its newline;
    /// [`GENESIS`] for the first.
    pub prev: String,
}

/// How hard an append works to survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fdatasync` before `append` returns: survives a power loss.
    #[default]
    Sync,
    /// Written to the operating system only: survives the process being
    /// killed, not the machine losing power.
    Write,
}

/// Errors of the decision log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O error, with the file.
    #[error("decision log {path}: {message}")]
    Io {
        /// The log file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The existing log (or its side file) does not verify: the service
    /// does not append to, nor sign over, a log whose past it cannot vouch
    /// for.
    #[error(
        "decision log {path} does not verify: {message}. Nothing was appended: check it with \
         `slicegate log verify`, keep it as evidence, and start a new log"
    )]
    Untrusted {
        /// The log file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The log was closed with a final checkpoint: a record after it would
    /// make the log fail verification, so none is written.
    #[error(
        "decision log {path} was closed with a final checkpoint; nothing more is written to it"
    )]
    Closed {
        /// The log file.
        path: String,
    },
    /// Another process holds the log.
    #[error(
        "decision log {path} is being written by another process (it holds the file's lock): \
         two writers would fork the chain"
    )]
    Locked {
        /// The log file.
        path: String,
    },
    /// The existing log does not end in a well-formed record.
    #[error(
        "decision log {path}: the last complete record (line {line}) is not a record: {message}"
    )]
    BadTail {
        /// The log file.
        path: String,
        /// Its line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}
