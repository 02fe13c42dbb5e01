//! Typed placement requests, as an orchestrator writes them (JSON or Rust),
//! and the evaluation time rule: the host's clock, unless a what-if time is
//! permitted.

use serde::{Deserialize, Serialize};

use crate::bindings::exports::slicegate::policy::placement as wit;

/// What the orchestrator wants to do with the equipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The network domain equipment serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Domain {
    /// Radio access network.
    Ran,
    /// Fronthaul, midhaul, backhaul.
    Transport,
    /// 5G core.
    Core,
    /// Operations and maintenance.
    Oam,
    /// Management and orchestration.
    Mano,
    /// Edge computing.
    Edge,
    /// Security functions.
    Security,
    /// Interconnection.
    Interconnect,
}

/// The equipment or network function a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Equipment {
    /// The orchestrator's id for the item.
    pub id: String,
    /// The vendor's id in the bundle's registry.
    pub vendor: String,
    /// The product model.
    pub model: String,
    /// The network function type (`UPF`, `gNB`, ...).
    pub function: String,
    /// The domain.
    pub domain: Domain,
    /// The software version.
    pub software_version: String,
    /// Whether the software package is signed and checked.
    pub software_signed: bool,
}

/// The slice served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Slice {
    /// The orchestrator's id for the slice.
    pub id: String,
    /// Slice/service type.
    pub sst: u8,
    /// Slice differentiator (24 bits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<u32>,
    /// Customer category (consumer, enterprise, ..., diplomatic).
    pub category: String,
}

/// The site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Site {
    /// The orchestrator's id for the site.
    pub id: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Significant to national security.
    pub sensitive: bool,
}

/// One placement question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// A what-if evaluation time (RFC 3339). Honoured only where the
    /// embedder permits what-if evaluation; otherwise the host's clock is used
    /// and a supplied time is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// Which clock a decision is evaluated at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl PlacementRequest {
    pub(crate) fn to_wit(&self, at: &str) -> wit::PlacementRequest {
        wit::PlacementRequest {
            operation: match self.operation {
                Operation::Place => wit::Operation::Place,
                Operation::Scale => wit::Operation::Scale,
                Operation::Upgrade => wit::Operation::Upgrade,
                Operation::Heal => wit::Operation::Heal,
                Operation::Operate => wit::Operation::Operate,
                Operation::RemoteManage => wit::Operation::RemoteManage,
                Operation::Interconnect => wit::Operation::Interconnect,
                Operation::Terminate => wit::Operation::Terminate,
            },
            equipment: wit::Equipment {
                id: self.equipment.id.clone(),
                vendor: self.equipment.vendor.clone(),
                model: self.equipment.model.clone(),
                function: self.equipment.function.clone(),
                domain: match self.equipment.domain {
                    Domain::Ran => wit::Domain::Ran,
                    Domain::Transport => wit::Domain::Transport,
                    Domain::Core => wit::Domain::Core,
                    Domain::Oam => wit::Domain::Oam,
                    Domain::Mano => wit::Domain::Mano,
                    Domain::Edge => wit::Domain::Edge,
                    Domain::Security => wit::Domain::Security,
                    Domain::Interconnect => wit::Domain::Interconnect,
                },
                software_version: self.equipment.software_version.clone(),
                software_signed: self.equipment.software_signed,
            },
            slice: wit::Slice {
                id: self.slice.id.clone(),
                sst: self.slice.sst,
                sd: self.slice.sd,
                category: self.slice.category.clone(),
            },
            site: wit::Site {
                id: self.site.id.clone(),
                country: self.site.country.clone(),
                sensitive: self.site.sensitive,
            },
            network: self.network.clone(),
            at: at.to_string(),
        }
    }
}
