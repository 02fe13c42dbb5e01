//! Deployment plans: what a network has installed and what the orchestrator
//! wants to change, checked item by item and against the plan-level rules
//! (shares of the access network, computed in the guest from the plan).
//!
//! Two shapes: [`DeploymentPlan`] is the typed call (every item carries its
//! slice and site), and [`PlanFile`] is what people write: sites and slices
//! named once, items referring to them by id.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bindings::exports::slicegate::policy::placement as wit;
use crate::decision::{self, Decision, Failure};
use crate::placement::{Equipment, EvaluationTime, Operation, RemoteSession, Site, Slice};

/// What a share counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ShareMetric {
    /// Radio sites.
    Sites,
    /// Cells.
    Cells,
    /// Traffic carried.
    Traffic,
}

/// An item of a plan: equipment where it runs, and its weight in the
/// plan's metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanItem {
    /// The equipment.
    pub equipment: Equipment,
    /// The slice it serves.
    pub slice: Slice,
    /// Where it runs.
    pub site: Site,
    /// Units of the plan's metric it carries (0–4294967295). 0 leaves a
    /// core or other item out of shares; an access-network item with weight
    /// 0 is refused (it must count).
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295u32))]
    pub weight: u32,
}

/// A change a plan makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanChange {
    /// The operation.
    pub operation: Operation,
    /// The item (for terminate, the installed item's id is what counts).
    pub item: PlanItem,
    /// The peer network (interconnect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The remote session (remote-manage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteSession>,
}

/// A deployment plan for a network. Shares and caps are the whole
/// network's: a plan cannot narrow them to one slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentPlan {
    /// The network's id in the bundle's registry.
    pub network: String,
    /// What a share counts (the network's recorded metric, when it has one).
    pub metric: ShareMetric,
    /// What is installed.
    pub installed: Vec<PlanItem>,
    /// What changes.
    pub changes: Vec<PlanChange>,
    /// A what-if evaluation time, honoured only where permitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// The decision on one item of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ItemDecision {
    /// The equipment's id.
    pub equipment_id: String,
    /// The operation decided (`operate` for kept items).
    pub operation: Operation,
    /// The decision.
    pub decision: Decision,
}

/// A share of the access network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Share {
    /// A designation list or a vendor group.
    pub name: String,
    /// Basis points, rounded up.
    pub basis_points: u32,
}

/// The result of checking a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlanResult {
    /// Every item and the plan-level rules allow.
    pub allowed: bool,
    /// Why the whole plan was refused before any decision, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// One per change, then one per kept item.
    pub items: Vec<ItemDecision>,
    /// The plan-level rules.
    pub plan: Decision,
    /// Total weight of access-network items after the plan.
    pub access_weight: u64,
    /// Each designation list's share of the access network.
    pub listed_shares: Vec<Share>,
    /// Each vendor group's share, largest first.
    pub vendor_shares: Vec<Share>,
    /// The evaluation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<EvaluationTime>,
}

impl PlanResult {
    /// A refused plan: nothing was decided.
    pub fn refused(failure: Failure) -> Self {
        PlanResult {
            allowed: false,
            failure: Some(failure.clone()),
            items: Vec::new(),
            plan: Decision::denied(failure),
            access_weight: 0,
            listed_shares: Vec::new(),
            vendor_shares: Vec::new(),
            evaluated_at: None,
        }
    }

    /// The share of designation list `list` (`uk-designated`), if computed.
    pub fn listed_share(&self, list: &str) -> Option<u32> {
        self.listed_shares
            .iter()
            .find(|s| s.name == list)
            .map(|s| s.basis_points)
    }

    pub(crate) fn from_wit(result: wit::PlanResult, at: EvaluationTime) -> Self {
        let items: Vec<ItemDecision> = result
            .items
            .into_iter()
            .map(|item| ItemDecision {
                equipment_id: item.equipment_id,
                operation: Operation::from_wit(item.operation),
                decision: decision::from_guest(item.decision),
            })
            .collect();
        let plan = decision::from_guest(Ok(result.plan));
        let share = |s: wit::Share| Share {
            name: s.name,
            basis_points: s.basis_points,
        };
        // Recomputed here rather than trusted: allowed only if every item and
        // the plan decision allow.
        let allowed = result.allowed && plan.allowed && items.iter().all(|i| i.decision.allowed);
        PlanResult {
            allowed,
            failure: None,
            items,
            plan,
            access_weight: result.access_weight,
            listed_shares: result.listed_shares.into_iter().map(share).collect(),
            vendor_shares: result.vendor_shares.into_iter().map(share).collect(),
            evaluated_at: Some(at),
        }
    }
}

impl ShareMetric {
    fn to_wit(self) -> wit::ShareMetric {
        match self {
            ShareMetric::Sites => wit::ShareMetric::Sites,
            ShareMetric::Cells => wit::ShareMetric::Cells,
            ShareMetric::Traffic => wit::ShareMetric::Traffic,
        }
    }
}

impl PlanItem {
    fn to_wit(&self) -> wit::PlanItem {
        wit::PlanItem {
            equipment: self.equipment.to_wit(),
            slice: self.slice.to_wit(),
            site: self.site.to_wit(),
            weight: self.weight,
        }
    }
}

impl DeploymentPlan {
    pub(crate) fn to_wit(&self, at: &str) -> wit::DeploymentPlan {
        wit::DeploymentPlan {
            network: self.network.clone(),
            metric: self.metric.to_wit(),
            installed: self.installed.iter().map(PlanItem::to_wit).collect(),
            changes: self
                .changes
                .iter()
                .map(|c| wit::PlanChange {
                    operation: c.operation.to_wit(),
                    item: c.item.to_wit(),
                    peer: c.peer.clone(),
                    remote: c.remote.as_ref().map(RemoteSession::to_wit),
                })
                .collect(),
            at: at.to_string(),
        }
    }
}

/// An item in a plan file: its site and slice by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileItem {
    /// The equipment.
    pub equipment: Equipment,
    /// A slice id from the file's `slices`.
    pub slice: String,
    /// A site id from the file's `sites`.
    pub site: String,
    /// Units of the plan's metric it carries; 1 when omitted.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// A change in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileChange {
    /// The operation.
    pub operation: Operation,
    /// The equipment.
    pub equipment: Equipment,
    /// A slice id from the file's `slices`.
    pub slice: String,
    /// A site id from the file's `sites`.
    pub site: String,
    /// Units of the plan's metric it carries; 1 when omitted.
    #[serde(default = "one")]
    pub weight: u32,
    /// The peer network (interconnect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The remote session (remote-manage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteSession>,
}

/// A plan as people write it: a network's sites and slices named once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanFile {
    /// A title for people.
    #[serde(default)]
    pub name: String,
    /// What the plan does, for people.
    #[serde(default)]
    pub description: String,
    /// The network's id in the bundle's registry.
    pub network: String,
    /// What a share counts (the network's recorded metric, when it has one).
    pub metric: ShareMetric,
    /// The network's sites.
    pub sites: Vec<Site>,
    /// The network's slices.
    pub slices: Vec<Slice>,
    /// What is installed.
    #[serde(default)]
    pub installed: Vec<FileItem>,
    /// What changes.
    #[serde(default)]
    pub changes: Vec<FileChange>,
    /// A what-if evaluation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// A plan file that cannot be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON does not parse as a plan.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Serde's message, with line and column.
        source: serde_json::Error,
    },
    /// An item names a site or slice the file does not define, or an id is
    /// defined twice.
    #[error("{path}: {message}")]
    Resolve {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl PlanFile {
    /// Reads a plan file (JSON).
    pub fn read(path: &Path) -> Result<Self, PlanFileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
            path: name.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| PlanFileError::Parse { path: name, source })
    }

    /// The typed plan, with every site and slice reference resolved.
    pub fn resolve(&self, path: &str) -> Result<DeploymentPlan, PlanFileError> {
        let error = |message: String| PlanFileError::Resolve {
            path: path.to_string(),
            message,
        };
        let mut sites = HashMap::new();
        for site in &self.sites {
            if sites.insert(site.id.as_str(), site).is_some() {
                return Err(error(format!("site `{}` is defined twice", site.id)));
            }
        }
        let mut slices = HashMap::new();
        for slice in &self.slices {
            if slices.insert(slice.id.as_str(), slice).is_some() {
                return Err(error(format!("slice `{}` is defined twice", slice.id)));
            }
        }
        let item = |item: &FileItem| -> Result<PlanItem, PlanFileError> {
            let site = sites.get(item.site.as_str()).ok_or_else(|| {
                error(format!(
                    "equipment `{}` is at site `{}`, which `sites` does not define",
                    item.equipment.id, item.site
                ))
            })?;
            let slice = slices.get(item.slice.as_str()).ok_or_else(|| {
                error(format!(
                    "equipment `{}` serves slice `{}`, which `slices` does not define",
                    item.equipment.id, item.slice
                ))
            })?;
            Ok(PlanItem {
                equipment: item.equipment.clone(),
                slice: (*slice).clone(),
                site: (*site).clone(),
                weight: item.weight,
            })
        };
        let mut seen = HashSet::new();
        let mut installed = Vec::new();
        for i in &self.installed {
            if !seen.insert(i.equipment.id.as_str()) {
                return Err(error(format!(
                    "equipment `{}` is installed twice",
                    i.equipment.id
                )));
            }
            installed.push(item(i)?);
        }
        let mut changes = Vec::new();
        for change in &self.changes {
            let as_item = FileItem {
                equipment: change.equipment.clone(),
                slice: change.slice.clone(),
                site: change.site.clone(),
                weight: change.weight,
            };
            changes.push(PlanChange {
                operation: change.operation,
                item: item(&as_item)?,
                peer: change.peer.clone(),
                remote: change.remote.clone(),
            });
        }
        Ok(DeploymentPlan {
            network: self.network.clone(),
            metric: self.metric,
            installed,
            changes,
            at: self.at.clone(),
        })
    }
}
