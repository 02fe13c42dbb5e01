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

use crate::decider::Decider;
use crate::decision::Decision;
use crate::placement::{Equipment, Operation, PlacementRequest};

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
    // The wrappers a UUID is spelled with, in any order and nesting
    // (`{urn:uuid:…}`, `urn:uuid:{…}`), peeled until none is left.
    let mut bare = lower.as_str();
    loop {
        let peeled = bare
            .strip_prefix("urn:uuid:")
            .or_else(|| bare.strip_prefix('{').and_then(|b| b.strip_suffix('}')))
            .unwrap_or(bare);
        if peeled == bare {
            break;
        }
        bare = peeled;
    }
    let hex: String = bare.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(hex);
    }
    // Not a UUID: the same peeling still names one VM (`{vm-1}` is `vm-1`),
    // so two spellings never count as two removals.
    Ok(bare.to_string())
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

mod types;
pub use types::{
    GrantContext, GrantOutcome, GrantRequest, PackageMap, ResourceDefinition, ResourceHandle,
    ResourceType,
};
