//! Typed placement requests, as an orchestrator writes them (JSON or Rust),
//! and the evaluation time rule: the host's clock, unless a what-if time is
//! permitted.

use serde::{Deserialize, Serialize};

use crate::bindings::exports::slicegate::policy::placement as wit;

/// What the orchestrator wants to do with the equipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Instantiate.
    Place,
    /// Scale out.
    Scale,
    /// Upgrade software or hardware.
    Upgrade,
    /// Heal (repair, restart, replace like for like).
    Heal,
    /// Keep running.
    Operate,
    /// Manage remotely.
    RemoteManage,
    /// Interconnect with a peer network.
    Interconnect,
    /// Remove. Never blocked.
    Terminate,
}

/// The customer a slice serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum CustomerCategory {
    /// Consumer.
    Consumer,
    /// Enterprise.
    Enterprise,
    /// Critical infrastructure.
    CriticalInfrastructure,
    /// Public safety.
    PublicSafety,
    /// Government.
    Government,
    /// Defense.
    Defense,
    /// Diplomatic.
    Diplomatic,
}

/// A BSI Act critical-component notification (German networks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CriticalComponentNotice {
    /// When the operator notified the Interior Ministry (RFC 3339).
    pub filed: String,
    /// Whether the ministry prohibited the use.
    pub prohibited: bool,
}

/// The equipment or network function a request is about. Its function and
/// domain come from the model in the bundle's catalog; its vendor's
/// ownership and designations from the bundle's registry.
///
/// Omitted `softwareSigned` and `sbom` read as `false`, which can only deny.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Equipment {
    /// The orchestrator's id for the item.
    pub id: String,
    /// The maker's id in the bundle's vendor registry.
    pub vendor: String,
    /// The model's id in the bundle's product catalog.
    pub model: String,
    /// The software version.
    pub software_version: String,
    /// Whether the software package is signed and checked.
    #[serde(default)]
    pub software_signed: bool,
    /// Whether an SBOM with the NTIA minimum elements was supplied.
    #[serde(default)]
    pub sbom: bool,
    /// Vendor ids of components inside (chipsets, radio modules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Bought or maintained with a federal subsidy (US).
    pub subsidy_funded: bool,
    /// The critical-component notification, if one was filed (DE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_component_notice: Option<CriticalComponentNotice>,
}

/// The slice served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Slice {
    /// The orchestrator's id for the slice.
    pub id: String,
    /// Slice/service type (0–255).
    #[cfg_attr(feature = "openapi", schema(maximum = 255))]
    pub sst: u8,
    /// Slice differentiator (24 bits: 0–16777215).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(maximum = 16777215))]
    pub sd: Option<u32>,
    /// Customer category.
    pub category: CustomerCategory,
    /// Serves a US federal customer.
    pub us_federal: bool,
}

/// The site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Site {
    /// The orchestrator's id for the site.
    pub id: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Significant to national security.
    pub sensitive: bool,
    /// The cloud provider hosting the site (a vendor id), if hosted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A remote-management session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteSession {
    /// ISO 3166-1 alpha-2 code of the country the session comes from.
    pub from_country: String,
    /// The managed-service provider (a vendor id).
    pub provider: String,
    /// Whether the national authority approved the session.
    #[serde(default)]
    pub authority_approved: bool,
}

/// One placement question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementRequest {
    /// What to do.
    pub operation: Operation,
    /// With what.
    pub equipment: Equipment,
    /// For which slice.
    pub slice: Slice,
    /// Where.
    pub site: Site,
    /// The network's id in the bundle's registry.
    pub network: String,
    /// The peer network (required for `interconnect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The remote session (required for `remote-manage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteSession>,
    /// A what-if evaluation time (RFC 3339, `T` and `Z` in capitals, at
    /// most millisecond precision; anything else is refused). Honoured only where the
    /// embedder permits what-if evaluation; otherwise the host's clock is used
    /// and a supplied time is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// Which clock a decision is evaluated at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "at", rename_all = "kebab-case")]
pub enum EvaluationTime {
    /// The host's clock, at this instant.
    HostClock(String),
    /// A caller-supplied time, permitted by the embedder.
    WhatIf(String),
}

impl EvaluationTime {
    /// The instant, RFC 3339.
    pub fn instant(&self) -> &str {
        match self {
            EvaluationTime::HostClock(at) | EvaluationTime::WhatIf(at) => at,
        }
    }

    /// Now, from the host's clock.
    pub fn now() -> Self {
        EvaluationTime::HostClock(
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        )
    }
}

impl Operation {
    pub(crate) fn to_wit(self) -> wit::Operation {
        match self {
            Operation::Place => wit::Operation::Place,
            Operation::Scale => wit::Operation::Scale,
            Operation::Upgrade => wit::Operation::Upgrade,
            Operation::Heal => wit::Operation::Heal,
            Operation::Operate => wit::Operation::Operate,
            Operation::RemoteManage => wit::Operation::RemoteManage,
            Operation::Interconnect => wit::Operation::Interconnect,
            Operation::Terminate => wit::Operation::Terminate,
        }
    }

    pub(crate) fn from_wit(op: wit::Operation) -> Self {
        match op {
            wit::Operation::Place => Operation::Place,
            wit::Operation::Scale => Operation::Scale,
            wit::Operation::Upgrade => Operation::Upgrade,
            wit::Operation::Heal => Operation::Heal,
            wit::Operation::Operate => Operation::Operate,
            wit::Operation::RemoteManage => Operation::RemoteManage,
            wit::Operation::Interconnect => Operation::Interconnect,
            wit::Operation::Terminate => Operation::Terminate,
        }
    }

    /// Every operation, in declaration order.
    pub const ALL: [Operation; 8] = [
        Operation::Place,
        Operation::Scale,
        Operation::Upgrade,
        Operation::Heal,
        Operation::Operate,
        Operation::RemoteManage,
        Operation::Interconnect,
        Operation::Terminate,
    ];

    /// The operation's name (`remote-manage`): its serde name, which is the
    /// WIT enum's case name, written once (the `rename_all` above).
    pub fn name(self) -> &'static str {
        static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        let names = NAMES.get_or_init(|| {
            Operation::ALL
                .iter()
                .map(|op| match serde_json::to_value(op) {
                    Ok(serde_json::Value::String(name)) => &*Box::leak(name.into_boxed_str()),
                    _ => "unknown",
                })
                .collect()
        });
        names[self as usize]
    }
}

impl Equipment {
    pub(crate) fn to_wit(&self) -> wit::Equipment {
        wit::Equipment {
            id: self.id.clone(),
            vendor: self.vendor.clone(),
            model: self.model.clone(),
            software_version: self.software_version.clone(),
            software_signed: self.software_signed,
            sbom: self.sbom,
            components: self.components.clone(),
            subsidy_funded: self.subsidy_funded,
            critical_component_notice: self.critical_component_notice.as_ref().map(|n| {
                wit::CriticalComponentNotice {
                    filed: n.filed.clone(),
                    prohibited: n.prohibited,
                }
            }),
        }
    }
}

impl Slice {
    pub(crate) fn to_wit(&self) -> wit::Slice {
        wit::Slice {
            id: self.id.clone(),
            sst: self.sst,
            sd: self.sd,
            category: match self.category {
                CustomerCategory::Consumer => wit::CustomerCategory::Consumer,
                CustomerCategory::Enterprise => wit::CustomerCategory::Enterprise,
                CustomerCategory::CriticalInfrastructure => {
                    wit::CustomerCategory::CriticalInfrastructure
                }
                CustomerCategory::PublicSafety => wit::CustomerCategory::PublicSafety,
                CustomerCategory::Government => wit::CustomerCategory::Government,
                CustomerCategory::Defense => wit::CustomerCategory::Defense,
                CustomerCategory::Diplomatic => wit::CustomerCategory::Diplomatic,
            },
            us_federal: self.us_federal,
        }
    }
}

impl Site {
    pub(crate) fn to_wit(&self) -> wit::Site {
        wit::Site {
            id: self.id.clone(),
            country: self.country.clone(),
            sensitive: self.sensitive,
            host: self.host.clone(),
        }
    }
}

impl RemoteSession {
    pub(crate) fn to_wit(&self) -> wit::RemoteSession {
        wit::RemoteSession {
            from_country: self.from_country.clone(),
            provider: self.provider.clone(),
            authority_approved: self.authority_approved,
        }
    }
}

impl PlacementRequest {
    pub(crate) fn to_wit(&self, at: &str) -> wit::PlacementRequest {
        wit::PlacementRequest {
            operation: self.operation.to_wit(),
            equipment: self.equipment.to_wit(),
            slice: self.slice.to_wit(),
            site: self.site.to_wit(),
            network: self.network.clone(),
            peer: self.peer.clone(),
            remote: self.remote.as_ref().map(RemoteSession::to_wit),
            at: at.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_serde_name_and_survives_the_wit_crossing() {
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            // `ALL` is in declaration order, so `name` indexes it right.
            assert_eq!(op as usize, i);
            let name = op.name();
            assert_eq!(serde_json::to_value(op).unwrap(), name);
            assert_eq!(
                serde_json::from_value::<Operation>(name.into()).unwrap(),
                op
            );
            assert_eq!(Operation::from_wit(op.to_wit()), op);
        }
        // Exhaustive: a new operation must be added to `ALL`.
        let count = |op: Operation| match op {
            Operation::Place
            | Operation::Scale
            | Operation::Upgrade
            | Operation::Heal
            | Operation::Operate
            | Operation::RemoteManage
            | Operation::Interconnect
            | Operation::Terminate => Operation::ALL.len(),
        };
        assert_eq!(count(Operation::Place), 8);
    }
}
