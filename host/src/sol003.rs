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

/// A SOL003 resource type. Anything else (another spelling, another case)
/// does not parse: a resource the adapter cannot classify could hide
/// compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceType {
    /// A virtual machine or container: the capacity the rules judge.
    Compute,
    /// A virtual link.
    Vl,
    /// Virtual storage.
    Storage,
    /// A link port.
    Linkport,
}

/// Which resource in the VIM a definition names (SOL003 `ResourceHandle`):
/// what is removed or modified is this, not the grant-local `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceHandle {
    /// The VIM connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vim_connection_id: Option<String>,
    /// The resource provider (when no VIM connection is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_provider_id: Option<String>,
    /// The resource's id in the VIM.
    pub resource_id: String,
    /// The VIM's type for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vim_level_resource_type: Option<String>,
}

/// A resource the grant asks to add, remove, modify or create for the
/// operation's duration (SOL003 `ResourceDefinition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDefinition {
    /// The resource definition id, unique in the request.
    pub id: String,
    /// `COMPUTE`, `VL`, `STORAGE`, `LINKPORT`.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// The VDU the resource belongs to, for compute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdu_id: Option<String>,
    /// The VNFD's template for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_template_id: Option<String>,
    /// A second template (SOL003 v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_resource_template_id: Option<String>,
    /// The resource in the VIM: required for resources to remove or modify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceHandle>,
}

impl ResourceDefinition {
    fn is_compute(&self) -> bool {
        self.resource_type == ResourceType::Compute
    }
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
    /// Resources created for the operation's duration only: new capacity
    /// all the same.
    #[serde(default)]
    pub temp_resources: Vec<ResourceDefinition>,
    /// Resources to remove (a heal or a package change replaces them).
    #[serde(default)]
    pub remove_resources: Vec<ResourceDefinition>,
    /// Resources to modify.
    #[serde(default)]
    pub update_resources: Vec<ResourceDefinition>,
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
    /// For `CHANGE_VNFPKG`: the `vnfProvider` of the package being replaced
    /// (required: a package change to another vendor or product is a new
    /// installation, not an upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_vnf_provider: Option<String>,
    /// For `CHANGE_VNFPKG`: the `vnfProductName` of the package being
    /// replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_vnf_product_name: Option<String>,
    /// For `CHANGE_VNFPKG`: the component vendors the package being
    /// replaced declared (none when absent). A new package bringing other
    /// components is a new installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_components: Option<Vec<String>>,
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

/// The placement requests a grant implies: one per compute resource it adds
/// or modifies (the equipment id is `<vnfInstanceId>/<resource id>`), or
/// one for the VNF instance when it names no such compute; and one per
/// temporary compute resource. Every compute resource the grant names is either
/// decided or the grant is refused:
///
/// - added compute is decided under the operation; only an operation that
///   brings capacity in (INSTANTIATE, SCALE, SCALE_TO_LEVEL, CHANGE_FLAVOUR)
///   may add freely; a HEAL or CHANGE_VNFPKG adds, per VDU, at most as many
///   as it removes of distinct VIM resources of that VDU (a replacement);
///   TERMINATE, OPERATE and CHANGE_EXT_CONN add none;
/// - temporary compute (`tempResources`) is new capacity in every
///   operation: each is decided as a new installation (`place`);
/// - modified compute (`updateResources`) is decided under the operation;
///   a TERMINATE modifies nothing;
/// - every removed or modified resource names its VIM resource (`resource`),
///   and no VIM resource is named twice; ids are unique in the grant;
/// - a CHANGE_VNFPKG says which package it replaces; one to another vendor
///   or product, or bringing other components, is decided as a new
///   installation.
pub fn placements(
    request: &GrantRequest,
    context: &GrantContext,
    packages: &PackageMap,
) -> Result<Vec<PlacementRequest>, String> {
    let mut operation = operation(&request.operation).ok_or_else(|| {
        format!(
            "lifecycle operation `{}` is not one slicegate knows how to decide",
            request.operation
        )
    })?;
    let op = &request.operation;
    let vendor = map_provider(packages, &context.vnf_provider)?;
    let model = map_product(packages, &context.vnf_product_name)?;
    // A package change: to another vendor or product, it is a new
    // installation (a terminate plus a place), judged as one.
    match (
        operation,
        &context.source_vnf_provider,
        &context.source_vnf_product_name,
    ) {
        (Operation::Upgrade, Some(provider), Some(product)) => {
            let source_vendor = map_provider(packages, provider)?;
            let source_model = map_product(packages, product)?;
            let set = |c: &[String]| c.iter().cloned().collect::<std::collections::BTreeSet<_>>();
            let source_components = set(context.source_components.as_deref().unwrap_or(&[]));
            if source_vendor != vendor
                || source_model != model
                || set(&context.components) != source_components
            {
                operation = Operation::Place;
            }
        }
        (Operation::Upgrade, _, _) => {
            return Err(format!(
                "a {op} grant must say which package it replaces \
                 (context.sourceVnfProvider and context.sourceVnfProductName): a change to \
                 another vendor or product is a new installation"
            ));
        }
        (_, None, None) if context.source_components.is_none() => {}
        (_, _, _) => {
            return Err(format!(
                "context.sourceVnfProvider, sourceVnfProductName and sourceComponents are for \
                 CHANGE_VNFPKG, not {op}"
            ));
        }
    }
    check_resources(request, op, operation)?;

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
    let placement = |operation: Operation, id: String| PlacementRequest {
        operation,
        equipment: equipment(id),
        slice: context.slice.clone(),
        site: context.site.clone(),
        network: context.network.clone(),
        peer: context.peer.clone(),
        remote: context.remote.clone(),
        at: None,
    };
    let id = |r: &ResourceDefinition| format!("{}/{}", request.vnf_instance_id, r.id);
    let mut out: Vec<PlacementRequest> = Vec::new();
    for r in request.add_resources.iter().filter(|r| r.is_compute()) {
        out.push(placement(operation, id(r)));
    }
    for r in request.update_resources.iter().filter(|r| r.is_compute()) {
        out.push(placement(operation, id(r)));
    }
    if out.is_empty() {
        out.push(placement(operation, request.vnf_instance_id.clone()));
    }
    // Temporary compute: a new installation, decided as one besides the
    // operation's own decisions (it is not the interconnect, so no peer).
    for r in request.temp_resources.iter().filter(|r| r.is_compute()) {
        let mut temp = placement(Operation::Place, id(r));
        temp.peer = None;
        out.push(temp);
    }
    Ok(out)
}

fn map_provider(packages: &PackageMap, provider: &str) -> Result<String, String> {
    packages
        .providers
        .get(provider)
        .cloned()
        .ok_or_else(|| format!("vnfProvider `{provider}` maps to no vendor in the registry"))
}

fn map_product(packages: &PackageMap, product: &str) -> Result<String, String> {
    packages
        .products
        .get(product)
        .cloned()
        .ok_or_else(|| format!("vnfProductName `{product}` maps to no model in the catalog"))
}

/// The identity of a VIM resource id, so that one VM named two ways is one
/// VM: printable ASCII only (no invisible, look-alike or non-ASCII
/// characters), trimmed, in one case, and a UUID in any of its spellings
/// (`urn:uuid:`, braces, with or without hyphens) as its 32 hex digits.
pub fn vm_identity(resource_id: &str) -> Result<String, String> {
    let id = resource_id.trim_matches(|c: char| c.is_ascii_whitespace());
    if id.is_empty() {
        return Err("an empty resource id".to_string());
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "resource id `{}` has the character {c:?}: only printable ASCII names a VM",
            id.escape_debug()
        ));
    }
    let lower = id.to_ascii_lowercase();
    let bare = lower.strip_prefix("urn:uuid:").unwrap_or(&lower);
    let bare = bare
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or(bare);
    let hex: String = bare.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(hex);
    }
    Ok(lower)
}

/// The grant's resource lists, checked against what its operation may do
/// (see [`placements`]).
fn check_resources(request: &GrantRequest, op: &str, operation: Operation) -> Result<(), String> {
    use std::collections::{BTreeMap, BTreeSet};
    let lists: [(&str, &[ResourceDefinition]); 4] = [
        ("addResources", &request.add_resources),
        ("tempResources", &request.temp_resources),
        ("removeResources", &request.remove_resources),
        ("updateResources", &request.update_resources),
    ];
    // Ids are unique in the grant.
    let mut ids = BTreeSet::new();
    for (list, resources) in &lists {
        for r in *resources {
            if r.id.is_empty() {
                return Err(format!("{list}: a resource definition without an id"));
            }
            if !ids.insert(r.id.as_str()) {
                return Err(format!(
                    "{list}: resource id `{}` is used twice in the grant",
                    r.id
                ));
            }
        }
    }
    // What is removed or modified is a VIM resource, named once.
    let mut handles = BTreeSet::new();
    for (list, resources) in [lists[2], lists[3]] {
        for r in resources {
            let Some(handle) = &r.resource else {
                return Err(format!(
                    "{list}: `{}` does not name the VIM resource (`resource`), which SOL003 \
                     requires for what is removed or modified",
                    r.id
                ));
            };
            // One VM named two ways is still one VM: the resource id alone,
            // trimmed and in one case, is what is compared (a VIM
            // connection or provider id, which the caller also writes,
            // proves nothing). Two VIMs reusing an id are refused, not
            // counted twice.
            let key = vm_identity(&handle.resource_id)
                .map_err(|why| format!("{list}: `{}`: {why}", r.id))?;
            if !handles.insert(key) {
                return Err(format!(
                    "{list}: `{}` names VIM resource `{}` again: one resource listed twice",
                    r.id, handle.resource_id
                ));
            }
        }
    }
    let added = request.add_resources.iter().filter(|r| r.is_compute());
    match operation {
        Operation::Place | Operation::Scale => {}
        Operation::Heal | Operation::Upgrade => {
            // A replacement, VDU by VDU: no more added than removed.
            let mut balance: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
            for r in added {
                let vdu = r
                    .vdu_id
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        format!("addResources: compute `{}` names no VDU (`vduId`)", r.id)
                    })?;
                balance.entry(vdu).or_default().0 += 1;
            }
            for r in request.remove_resources.iter().filter(|r| r.is_compute()) {
                if let Some(vdu) = r.vdu_id.as_deref().filter(|v| !v.is_empty()) {
                    balance.entry(vdu).or_default().1 += 1;
                }
            }
            for (vdu, (adds, removes)) in balance {
                if adds > removes {
                    return Err(format!(
                        "a {op} grant adds {adds} compute resource(s) to VDU `{vdu}` but \
                         replaces only {removes} there: new capacity is an INSTANTIATE or a \
                         SCALE, decided as one"
                    ));
                }
            }
        }
        _ => {
            if let Some(r) = request.add_resources.first() {
                return Err(format!(
                    "a {op} grant cannot add resources (`{}`): new capacity is an INSTANTIATE \
                     or a SCALE, decided as one",
                    r.id
                ));
            }
            if operation == Operation::Terminate
                && let Some(r) = request.update_resources.first()
            {
                return Err(format!("a {op} grant cannot modify resources (`{}`)", r.id));
            }
        }
    }
    Ok(())
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
