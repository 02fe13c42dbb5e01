//! The decision an orchestrator enforces, and why a request was denied
//! without a policy saying so.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bindings::slicegate::policy::types as wit;
use crate::limits::LimitKind;
use crate::placement::EvaluationTime;

/// A policy that determined a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeterminingPolicy {
    /// The policy id (its `@id`, or Cedar's positional id).
    pub policy_id: String,
    /// `permit` (true) or `forbid` (false).
    pub permit: bool,
    /// The `@pack` annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    /// The `@reason` annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The `@source` annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A policy whose evaluation errored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PolicyError {
    /// The policy id.
    pub policy_id: String,
    /// `permit` (true) or `forbid` (false).
    pub permit: bool,
    /// Cedar's message.
    pub message: String,
}

/// Why a request was denied other than by a policy. Every variant is a deny.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Failure {
    /// Cedar allowed, but a `forbid` errored and might have denied.
    ForbidErrored(String),
    /// The request is malformed.
    InvalidRequest(String),
    /// The request names an entity the bundle does not know.
    UnknownEntity(String),
    /// The request violates the schema.
    SchemaViolation(String),
    /// No policy set could be loaded.
    PolicyLoad(String),
    /// The instance holds no policy set.
    NotLoaded,
    /// A limit was hit; the instance was discarded.
    Limit(LimitKind),
    /// The instance trapped for another reason; it was discarded.
    Trap(String),
    /// The engine reported an internal fault.
    Internal(String),
    /// The bundle is outside its validity window at the host's clock (its
    /// `not-after` passed, or too few of its signing keys are still valid):
    /// it decides nothing until a newer valid bundle replaces it.
    BundleExpired(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::ForbidErrored(m) => write!(f, "denied, fail closed: {m}"),
            Failure::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Failure::UnknownEntity(m) => write!(f, "unknown entity: {m}"),
            Failure::SchemaViolation(m) => write!(f, "schema violation: {m}"),
            Failure::PolicyLoad(m) => write!(f, "policy set could not be loaded: {m}"),
            Failure::NotLoaded => write!(f, "no policy set is loaded"),
            Failure::Limit(limit) => write!(f, "{limit} exceeded; the instance was discarded"),
            Failure::Trap(m) => write!(f, "the policy instance trapped ({m}); it was discarded"),
            Failure::Internal(m) => write!(f, "internal engine fault: {m}"),
            Failure::BundleExpired(m) => write!(f, "the bundle may not decide now: {m}"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<wit::Error> for Failure {
    fn from(error: wit::Error) -> Self {
        match error {
            wit::Error::InvalidRequest(m) => Failure::InvalidRequest(m),
            wit::Error::UnknownEntity(m) => Failure::UnknownEntity(m),
            wit::Error::SchemaViolation(m) => Failure::SchemaViolation(m),
            wit::Error::PolicyLoad(m) => Failure::PolicyLoad(m),
            wit::Error::NotLoaded => Failure::NotLoaded,
            wit::Error::LimitExceeded(m) => Failure::InvalidRequest(format!("limit exceeded: {m}")),
            wit::Error::Internal(m) => Failure::Internal(m),
        }
    }
}

/// The answer to one request. `allowed` is the only field to enforce; the
/// rest explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Allow (true) or deny (false).
    pub allowed: bool,
    /// Why the request was denied other than by a policy, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The policies that determined Cedar's decision.
    pub determining: Vec<DeterminingPolicy>,
    /// The policies whose evaluation errored.
    pub errors: Vec<PolicyError>,
    /// The revision of the policy set that decided, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_revision: Option<u64>,
    /// For placements: the time the decision was evaluated at, and whether
    /// it was the host's clock or a permitted what-if time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<EvaluationTime>,
}

impl Decision {
    /// A deny that no policy made: the request failed before or during
    /// evaluation.
    pub fn denied(failure: Failure) -> Self {
        Decision {
            allowed: false,
            failure: Some(failure),
            determining: Vec::new(),
            errors: Vec::new(),
            bundle_revision: None,
            evaluated_at: None,
        }
    }

    /// Cedar's own decision, before slicegate's fail-closed rule for erroring
    /// forbids; `None` when Cedar did not decide (the request failed).
    pub fn cedar_allowed(&self) -> Option<bool> {
        match &self.failure {
            None => Some(self.allowed),
            Some(Failure::ForbidErrored(_)) => Some(true),
            Some(_) => None,
        }
    }

    /// The determining policy ids, in order.
    pub fn determining_ids(&self) -> Vec<&str> {
        self.determining
            .iter()
            .map(|p| p.policy_id.as_str())
            .collect()
    }
}

impl From<wit::Decision> for Decision {
    fn from(d: wit::Decision) -> Self {
        Decision {
            allowed: d.allowed,
            failure: d.fail_closed.map(Failure::ForbidErrored),
            determining: d
                .determining
                .into_iter()
                .map(|p| DeterminingPolicy {
                    policy_id: p.policy_id,
                    permit: p.permit,
                    pack: p.pack,
                    reason: p.reason,
                    source: p.source,
                })
                .collect(),
            errors: d
                .errors
                .into_iter()
                .map(|e| PolicyError {
                    policy_id: e.policy_id,
                    permit: e.permit,
                    message: e.message,
                })
                .collect(),
            bundle_revision: Some(d.bundle_revision),
            evaluated_at: None,
        }
    }
}

/// Converts the guest's answer for one request into a decision, failing
/// closed on an error.
pub(crate) fn from_guest(result: Result<wit::Decision, wit::Error>) -> Decision {
    match result {
        Ok(decision) => {
            let decision = Decision::from(decision);
            // The guest sets `allowed` false with a fail-closed reason; never
            // trust an allow that carries a failure.
            if decision.failure.is_some() {
                Decision {
                    allowed: false,
                    ..decision
                }
            } else {
                decision
            }
        }
        Err(error) => Decision::denied(Failure::from(error)),
    }
}
