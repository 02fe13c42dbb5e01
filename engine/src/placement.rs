//! The typed orchestrator interface: equipment, slice, site, network and
//! operation become a Cedar request against the 5G schema in `policies/`.
//!
//! Reference data (vendors, networks) is in the loaded entities; the live
//! inventory named by the request (equipment, slice, site) is built here per
//! decision. A request naming a vendor or network the bundle does not know is
//! refused before evaluation: an unknown party is never silently trusted.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use cedar_policy::{
    Authorizer, Context, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
};

use crate::decision;
use crate::describe;
use crate::exports::slicegate::policy::placement::{
    Domain, Equipment, Operation, PlacementRequest, Site, Slice,
};
use crate::load::LoadedPolicySet;
use crate::slicegate::policy::types::{Decision, Error};

/// Decides one placement.
pub fn decide(set: &LoadedPolicySet, request: &PlacementRequest) -> Result<Decision, Error> {
    let Some(schema) = set.schema.as_ref() else {
        return Err(Error::InvalidRequest(
            "placement requests need a policy set loaded with the 5G schema".to_string(),
        ));
    };
    let types = types()?;
    let vendor = known_entity(
        set,
        &types.vendor,
        &request.equipment.vendor,
        "vendor registry",
    )?;
    let network = known_entity(set, &types.network, &request.network, "network registry")?;

    let equipment = equipment_entity(types, &request.equipment, &vendor)?;
    let slice = slice_entity(types, &request.slice)?;
    let site = site_entity(types, &request.site)?;
    let principal = equipment.uid();
    let resource = slice.uid();
    let site_uid = site.uid();

    let entities = set
        .entities
        .clone()
        .add_entities([equipment, slice, site], Some(schema))
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;

    let context = Context::from_pairs([
        ("at".to_string(), evaluation_time(&request.at)?),
        (
            "network".to_string(),
            RestrictedExpression::new_entity_uid(network),
        ),
        (
            "site".to_string(),
            RestrictedExpression::new_entity_uid(site_uid),
        ),
    ])
    .map_err(|e| Error::InvalidRequest(describe(&e)))?;

    let action = uid(&types.action, operation_name(request.operation));
    let cedar_request = Request::new(principal, action, resource, context, Some(schema))
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let response = Authorizer::new().is_authorized(&cedar_request, &set.policies, &entities);
    Ok(decision::from_response(set, &response))
}

/// The entity types of the 5G schema, parsed once per process: Cedar's
/// parser is far too slow to run for every decision.
struct PlacementTypes {
    action: EntityTypeName,
    equipment: EntityTypeName,
    network: EntityTypeName,
    site: EntityTypeName,
    slice: EntityTypeName,
    vendor: EntityTypeName,
}

fn types() -> Result<&'static PlacementTypes, Error> {
    static TYPES: OnceLock<Result<PlacementTypes, String>> = OnceLock::new();
    let parse = |name: &str| {
        name.parse::<EntityTypeName>()
            .map_err(|e| format!("type name `{name}`: {e}"))
    };
    TYPES
        .get_or_init(|| {
            Ok(PlacementTypes {
                action: parse("Action")?,
                equipment: parse("Equipment")?,
                network: parse("Network")?,
                site: parse("Site")?,
                slice: parse("Slice")?,
                vendor: parse("Vendor")?,
            })
        })
        .as_ref()
        .map_err(|e| Error::Internal(e.clone()))
}

/// Parses the schema's type names now, so that a pre-initialised snapshot
/// holds them and no decision pays for it.
pub fn warm_up() {
    let _ = types();
}

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

/// The uid of a reference-data entity, which must exist in the bundle.
fn known_entity(
    set: &LoadedPolicySet,
    type_name: &EntityTypeName,
    id: &str,
    registry: &str,
) -> Result<EntityUid, Error> {
    let uid = uid(type_name, id);
    if set.entities.get(&uid).is_none() {
        return Err(Error::UnknownEntity(format!(
            "{type_name} `{id}` is not in the bundle's {registry}"
        )));
    }
    Ok(uid)
}

/// The evaluation time as a Cedar `datetime`. Only the characters of an
/// RFC 3339 instant are accepted, so the text cannot escape the string.
fn evaluation_time(at: &str) -> Result<RestrictedExpression, Error> {
    let plausible = !at.is_empty()
        && at.len() <= 40
        && at
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, 'T' | 'Z' | ':' | '-' | '+' | '.'));
    if !plausible {
        return Err(Error::InvalidRequest(format!(
            "evaluation time `{at}` is not an RFC 3339 instant like 2024-01-01T00:00:00Z"
        )));
    }
    Ok(RestrictedExpression::new_datetime(at))
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_string())
}

fn entity(
    uid: EntityUid,
    attrs: impl IntoIterator<Item = (&'static str, RestrictedExpression)>,
) -> Result<Entity, Error> {
    let attrs: HashMap<String, RestrictedExpression> =
        attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Entity::new(uid, attrs, HashSet::new()).map_err(|e| Error::InvalidRequest(describe(&e)))
}

fn equipment_entity(
    types: &PlacementTypes,
    equipment: &Equipment,
    vendor: &EntityUid,
) -> Result<Entity, Error> {
    entity(
        uid(&types.equipment, &equipment.id),
        [
            (
                "vendor",
                RestrictedExpression::new_entity_uid(vendor.clone()),
            ),
            ("model", string(&equipment.model)),
            ("function", string(&equipment.function)),
            ("domain", string(domain_name(equipment.domain))),
            ("softwareVersion", string(&equipment.software_version)),
            (
                "softwareSigned",
                RestrictedExpression::new_bool(equipment.software_signed),
            ),
        ],
    )
}

fn slice_entity(types: &PlacementTypes, slice: &Slice) -> Result<Entity, Error> {
    let mut attrs = vec![
        ("sst", RestrictedExpression::new_long(i64::from(slice.sst))),
        ("category", string(&slice.category)),
    ];
    if let Some(sd) = slice.sd {
        if sd > 0x00ff_ffff {
            return Err(Error::InvalidRequest(format!(
                "slice differentiator {sd:#x} does not fit in 24 bits"
            )));
        }
        attrs.push(("sd", RestrictedExpression::new_long(i64::from(sd))));
    }
    entity(uid(&types.slice, &slice.id), attrs)
}

fn site_entity(types: &PlacementTypes, site: &Site) -> Result<Entity, Error> {
    entity(
        uid(&types.site, &site.id),
        [
            ("country", string(&site.country)),
            ("sensitive", RestrictedExpression::new_bool(site.sensitive)),
        ],
    )
}

/// The Cedar action id of an operation.
pub fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Place => "place",
        Operation::Scale => "scale",
        Operation::Upgrade => "upgrade",
        Operation::Heal => "heal",
        Operation::Operate => "operate",
        Operation::RemoteManage => "remote-manage",
        Operation::Interconnect => "interconnect",
        Operation::Terminate => "terminate",
    }
}

/// The schema's name for a domain.
pub fn domain_name(domain: Domain) -> &'static str {
    match domain {
        Domain::Ran => "ran",
        Domain::Transport => "transport",
        Domain::Core => "core",
        Domain::Oam => "oam",
        Domain::Mano => "mano",
        Domain::Edge => "edge",
        Domain::Security => "security",
        Domain::Interconnect => "interconnect",
    }
}
