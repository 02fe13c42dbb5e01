//! The ETSI NFV SOL003 *Grant* adapter: an NFVO's grant request for a VNF
//! lifecycle operation becomes placement requests, and their decisions
//! become a grant or a rejection with reasons.
//!
//! A Grant names the VNF instance, its VNFD, the operation and the resources
//! to add; the vendor and product come from the VNF package (`vnfProvider`,
//! `vnfProductName`, `vnfSoftwareVersion`), and where the VNF runs (network,
//! site, slice) from the orchestrator. Anything the adapter cannot map — an
//! unknown operation, a provider with no vendor id — is a rejection: nothing
//! is granted by accident.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decider::Decider;
use crate::decision::Decision;
use crate::placement::{Equipment, Operation, PlacementRequest, RemoteSession, Site, Slice};

/// A resource the grant asks to add (SOL003 `ResourceDefinition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDefinition {
    /// The resource definition id, unique in the request.
    pub id: String,
    /// `COMPUTE`, `VL`, `STORAGE`, `LINKPORT`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The VDU the resource belongs to, for compute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdu_id: Option<String>,
    /// The VNFD's template for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_template_id: Option<String>,
}

/// The SOL003 `GrantRequest` fields the adapter reads; the rest are kept
/// but not interpreted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRequest {
    /// The VNF instance.
    pub vnf_instance_id: String,
    /// The lifecycle operation occurrence.
    pub vnf_lcm_op_occ_id: String,
    /// The VNFD.
    pub vnfd_id: String,
    /// `INSTANTIATE`, `SCALE`, `SCALE_TO_LEVEL`, `CHANGE_FLAVOUR`, `HEAL`,
    /// `OPERATE`, `CHANGE_EXT_CONN`, `CHANGE_VNFPKG`, `TERMINATE`.
    pub operation: String,
    /// Resources to add.
    #[serde(default)]
    pub add_resources: Vec<ResourceDefinition>,
    /// Resources to remove (a heal or a package change replaces them).
    #[serde(default)]
    pub remove_resources: Vec<ResourceDefinition>,
    /// Placement constraints, as sent.
    #[serde(default)]
    pub placement_constraints: Vec<serde_json::Value>,
    /// VIM constraints, as sent.
    #[serde(default)]
    pub vim_constraints: Vec<serde_json::Value>,
}

/// What the Grant does not say: the VNF package's identity and where the
/// VNF runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantContext {
    /// The package's `vnfProvider`.
    pub vnf_provider: String,
    /// The package's `vnfProductName`.
    pub vnf_product_name: String,
    /// The package's `vnfSoftwareVersion`.
    pub vnf_software_version: String,
    /// Whether the package's signature was checked (SOL004).
    pub package_signed: bool,
    /// Whether the package came with an SBOM (NTIA minimum elements).
    #[serde(default)]
    pub package_sbom: bool,
    /// Vendor ids of components the package declares (chipsets, modules).
    #[serde(default)]
    pub components: Vec<String>,
    /// Bought or maintained with a federal subsidy (US).
    pub subsidy_funded: bool,
    /// The network's id in the bundle's registry.
    pub network: String,
    /// Where it runs.
    pub site: Site,
    /// The slice it serves.
    pub slice: Slice,
    /// The peer network, for `CHANGE_EXT_CONN` (interconnect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The remote session, if the operation is run remotely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteSession>,
}

/// Maps the package's `vnfProvider` to a vendor id and its
/// `vnfProductName` to a model id in the bundle's catalog. Names are matched
/// exactly; an unmapped provider or product is rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageMap {
    /// `vnfProvider` → vendor id.
    pub providers: BTreeMap<String, String>,
    /// `vnfProductName` → model id.
    pub products: BTreeMap<String, String>,
}

/// The answer to a Grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
pub enum GrantOutcome {
    /// Granted: every placement the operation implies is allowed.
    Granted {
        /// The VNF instance.
        vnf_instance_id: String,
        /// The operation occurrence.
        vnf_lcm_op_occ_id: String,
        /// The decisions, one per resource (or one for the operation).
        decisions: Vec<Decision>,
    },
    /// Rejected, with a reason per refused placement.
    Rejected {
        /// The VNF instance.
        vnf_instance_id: String,
        /// The operation occurrence.
        vnf_lcm_op_occ_id: String,
        /// Why, one line per reason.
        reasons: Vec<String>,
        /// The decisions taken, if the request could be mapped.
        decisions: Vec<Decision>,
    },
}

/// The placement operation a SOL003 lifecycle operation implies.
pub fn operation(sol003: &str) -> Option<Operation> {
    Some(match sol003 {
        "INSTANTIATE" => Operation::Place,
        "SCALE" | "SCALE_TO_LEVEL" | "CHANGE_FLAVOUR" => Operation::Scale,
        "HEAL" => Operation::Heal,
        "CHANGE_VNFPKG" => Operation::Upgrade,
        "OPERATE" => Operation::Operate,
        "CHANGE_EXT_CONN" => Operation::Interconnect,
        "TERMINATE" => Operation::Terminate,
        _ => return None,
    })
}

/// The placement requests a grant implies: one per compute resource to add
/// (the equipment id is `<vnfInstanceId>/<resource id>`), or one for the VNF
/// instance when the operation adds no compute.
pub fn placements(
    request: &GrantRequest,
    context: &GrantContext,
    packages: &PackageMap,
) -> Result<Vec<PlacementRequest>, String> {
    let operation = operation(&request.operation).ok_or_else(|| {
        format!(
            "lifecycle operation `{}` is not one slicegate knows how to decide",
            request.operation
        )
    })?;
    let vendor = packages
        .providers
        .get(&context.vnf_provider)
        .ok_or_else(|| {
            format!(
                "vnfProvider `{}` maps to no vendor in the registry",
                context.vnf_provider
            )
        })?;
    let model = packages
        .products
        .get(&context.vnf_product_name)
        .ok_or_else(|| {
            format!(
                "vnfProductName `{}` maps to no model in the catalog",
                context.vnf_product_name
            )
        })?;
    let equipment = |id: String| Equipment {
        id,
        vendor: vendor.clone(),
        model: model.clone(),
        software_version: context.vnf_software_version.clone(),
        software_signed: context.package_signed,
        sbom: context.package_sbom,
        components: context.components.clone(),
        subsidy_funded: context.subsidy_funded,
        critical_component_notice: None,
    };
    let placement = |id: String| PlacementRequest {
        operation,
        equipment: equipment(id),
        slice: context.slice.clone(),
        site: context.site.clone(),
        network: context.network.clone(),
        peer: context.peer.clone(),
        remote: context.remote.clone(),
        at: None,
    };
    // New capacity is decided as new capacity: only an operation that
    // brings it in (INSTANTIATE, SCALE, ...) may add resources, and a heal or
    // package change only as many as it removes (a replacement). Anything
    // else would let added compute escape the rules on new installation.
    let adds_capacity = matches!(operation, Operation::Place | Operation::Scale);
    let replaces = matches!(operation, Operation::Heal | Operation::Upgrade);
    // Distinct compute resources: an id listed twice is one resource.
    let compute_ids = |list: &[ResourceDefinition]| -> std::collections::BTreeSet<String> {
        list.iter()
            .filter(|r| r.resource_type == "COMPUTE")
            .map(|r| r.id.clone())
            .collect()
    };
    if !adds_capacity && !request.add_resources.is_empty() {
        if !replaces {
            return Err(format!(
                "a {} grant cannot add resources: new capacity is an INSTANTIATE or a SCALE, \
                 decided as one",
                request.operation
            ));
        }
        let added = compute_ids(&request.add_resources);
        // What it replaces: compute it removes that is not what it adds.
        let removed: std::collections::BTreeSet<String> = compute_ids(&request.remove_resources)
            .difference(&added)
            .cloned()
            .collect();
        let listed_twice = request
            .add_resources
            .iter()
            .filter(|r| r.resource_type == "COMPUTE")
            .count()
            > added.len();
        if listed_twice || added.len() > removed.len() {
            return Err(format!(
                "a {} grant adds {} compute resource(s) but replaces only {} distinct other \
                 one(s): new capacity is an INSTANTIATE or a SCALE, decided as one",
                request.operation,
                added.len(),
                removed.len()
            ));
        }
    }
    let compute: Vec<&ResourceDefinition> = request
        .add_resources
        .iter()
        .filter(|r| r.resource_type == "COMPUTE")
        .collect();
    if compute.is_empty() {
        return Ok(vec![placement(request.vnf_instance_id.clone())]);
    }
    Ok(compute
        .into_iter()
        .map(|r| placement(format!("{}/{}", request.vnf_instance_id, r.id)))
        .collect())
}

/// Decides a grant: granted only if every implied placement is allowed.
pub fn decide(
    decider: &mut Decider,
    request: &GrantRequest,
    context: &GrantContext,
    packages: &PackageMap,
) -> GrantOutcome {
    let rejected = |reasons: Vec<String>, decisions: Vec<Decision>| GrantOutcome::Rejected {
        vnf_instance_id: request.vnf_instance_id.clone(),
        vnf_lcm_op_occ_id: request.vnf_lcm_op_occ_id.clone(),
        reasons,
        decisions,
    };
    let placements = match placements(request, context, packages) {
        Ok(placements) => placements,
        Err(reason) => return rejected(vec![reason], Vec::new()),
    };
    let decisions = decider.decide_batch(&placements);
    let reasons: Vec<String> = placements
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| !d.allowed)
        .map(|(p, d)| format!("{}: {}", p.equipment.id, deny_reason(d)))
        .collect();
    if reasons.is_empty() && !decisions.is_empty() {
        GrantOutcome::Granted {
            vnf_instance_id: request.vnf_instance_id.clone(),
            vnf_lcm_op_occ_id: request.vnf_lcm_op_occ_id.clone(),
            decisions,
        }
    } else {
        rejected(reasons, decisions)
    }
}

/// One line saying why `decision` denied.
fn deny_reason(decision: &Decision) -> String {
    if let Some(failure) = &decision.failure {
        return failure.to_string();
    }
    let forbids: Vec<String> = decision
        .determining
        .iter()
        .filter(|p| !p.permit)
        .map(|p| match &p.reason {
            Some(reason) => format!("{} ({reason})", p.policy_id),
            None => p.policy_id.clone(),
        })
        .collect();
    if forbids.is_empty() {
        "no policy permits it (default deny)".to_string()
    } else {
        format!("forbidden by {}", forbids.join("; "))
    }
}
