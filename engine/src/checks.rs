//! Load-time pre-checks: the entities and requests a placement can build
//! conform to the loaded schema in every shape they can take, so decisions
//! need not check them again.

use std::collections::HashSet;

use cedar_policy::Request;

use crate::describe;
use crate::exports::slicegate::policy::placement::{
    CriticalComponentNotice, CustomerCategory, Equipment, Operation, RemoteSession, Site, Slice,
};
use crate::placement::entities::{equipment_entity, site_entity, slice_entity};
use crate::placement::{peer_value, placement_context, remote_value};
use crate::slicegate::policy::types::Error;
use crate::state::{LoadedPolicySet, PeerShape, RequestKind, parts};
use crate::time::Instant;
use crate::trust::{Applying, Trust};
use crate::values::{cedar_context, core_uid, datetime, operation_name, types, uid};

/// At load: the entities a placement builds conform to the loaded schema in
/// every shape they can take, so decisions need not check them again. Two
/// placements are built and checked: one with every optional attribute
/// (critical-component notice, slice differentiator, site host, and trust
/// records holding every designation the bundle has) and one with none.
/// Attribute types are fixed by this code and checked independently, so
/// every other combination conforms too. A schema that does not accept them
/// does not load.
pub fn check_mapping(set: &LoadedPolicySet) -> Result<(), Error> {
    let (schema, registry) = parts(set)?;
    let types = types()?;
    let Some((model_id, model)) = registry.models.iter().min_by_key(|(id, _)| *id) else {
        return Ok(());
    };
    let Some(country) = registry.jurisdictions.iter().min() else {
        return Ok(());
    };
    let mut vendors: Vec<&str> = registry.vendors.keys().map(String::as_str).collect();
    vendors.sort();
    let every = Trust::of(
        registry,
        vendors.iter().copied(),
        "vendor",
        true,
        Applying::Every,
    )?
    .value(types);
    let maker = registry.vendor(&model.vendor, "vendor")?;
    let full = Equipment {
        id: "shape-check".to_string(),
        vendor: model.vendor.clone(),
        model: model_id.clone(),
        software_version: "0".to_string(),
        software_signed: true,
        sbom: true,
        components: Vec::new(),
        subsidy_funded: true,
        critical_component_notice: Some(CriticalComponentNotice {
            filed: "2026-01-01T00:00:00Z".to_string(),
            prohibited: true,
        }),
    };
    let bare = Equipment {
        critical_component_notice: None,
        ..full.clone()
    };
    let slice = |sd| Slice {
        id: "shape-check".to_string(),
        sst: 1,
        sd,
        category: CustomerCategory::Consumer,
        us_federal: false,
    };
    let site = |host: Option<&str>| Site {
        id: "shape-check".to_string(),
        country: country.clone(),
        sensitive: false,
        host: host.map(str::to_string),
    };
    let full_components = vendors.clone();
    for (equipment, components, slice, site) in [
        (
            full,
            full_components,
            slice(Some(1)),
            site(vendors.first().copied()),
        ),
        (bare, Vec::new(), slice(None), site(None)),
    ] {
        let host_trust = site.host.as_ref().map(|_| every.clone());
        let entities = [
            equipment_entity(
                set,
                types,
                &equipment,
                model,
                maker,
                &components,
                [every.clone(), every.clone()],
            )?,
            slice_entity(types, &slice)?,
            site_entity(registry, types, &site, host_trust)?,
        ]
        .map(cedar_policy::Entity::from);
        set.entities
            .clone()
            .add_entities(entities, Some(schema))
            .map_err(|e| {
                Error::PolicyLoad(format!(
                    "the schema does not accept the entities a placement is made of: {}",
                    describe(&e)
                ))
            })?;
    }
    Ok(())
}

/// Every operation a placement can ask about.
const OPERATIONS: [Operation; 8] = [
    Operation::Place,
    Operation::Scale,
    Operation::Upgrade,
    Operation::Heal,
    Operation::Operate,
    Operation::RemoteManage,
    Operation::Interconnect,
    Operation::Terminate,
];

/// At load: the kinds of request the schema accepts in every shape they can
/// take, so decisions of those kinds need not be checked again. Each kind is
/// checked with trust records holding every designation the bundle has and
/// holding none (their attributes are independent optional attributes, and
/// every other value's type is fixed by this code). A kind the schema
/// refuses is left out: its decisions are checked, and refused, one by one.
pub fn checked_requests(set: &LoadedPolicySet) -> Result<HashSet<RequestKind>, Error> {
    let (schema, registry) = parts(set)?;
    let types = types()?;
    let mut checked = HashSet::new();
    let (Some(network), Some(country), Some(vendor)) = (
        registry.networks.keys().min(),
        registry.jurisdictions.iter().min(),
        registry.vendors.keys().min(),
    ) else {
        return Ok(checked);
    };
    let at = Instant::parse("2026-01-01T00:00:00Z")
        .ok_or_else(|| Error::Internal("the check's instant does not parse".to_string()))?;
    let at = datetime(&at)?;
    let mut vendors: Vec<&str> = registry.vendors.keys().map(String::as_str).collect();
    vendors.sort();
    let every = Trust::of(
        registry,
        vendors.iter().copied(),
        "vendor",
        true,
        Applying::Every,
    )?
    .value(types);
    let none = Trust::of(registry, [], "vendor", false, Applying::Every)?.value(types);
    let remote = RemoteSession {
        from_country: country.clone(),
        provider: vendor.clone(),
        authority_approved: true,
    };
    for operation in OPERATIONS {
        for peer in [
            PeerShape::None,
            PeerShape::KnownCarrier,
            PeerShape::UnknownCarrier,
        ] {
            for remote_session in [false, true] {
                let accepted = [&every, &none].into_iter().all(|trust| {
                    let peer_record = match peer {
                        PeerShape::None => None,
                        PeerShape::KnownCarrier => {
                            Some(peer_value(types, network, Some((vendor, trust.clone()))))
                        }
                        PeerShape::UnknownCarrier => Some(peer_value(types, network, None)),
                    };
                    let context = placement_context(
                        types,
                        at.clone(),
                        network,
                        core_uid(&types.site, "shape-check"),
                        peer_record,
                        remote_session.then(|| remote_value(types, &remote, trust.clone())),
                        [trust.clone(), trust.clone()],
                    );
                    Request::new(
                        uid(&types.equipment, "shape-check"),
                        uid(&types.action, operation_name(operation)),
                        uid(&types.slice, "shape-check"),
                        cedar_context(context),
                        Some(schema),
                    )
                    .is_ok()
                });
                if accepted {
                    checked.insert((operation_name(operation), peer, remote_session));
                }
            }
        }
    }
    Ok(checked)
}
