//! Generic Cedar requests: entity uids and a JSON context.

use std::str::FromStr;

use cedar_policy::{Context, EntityId, EntityTypeName, EntityUid, Request};
use cedar_policy_core::ast;

use crate::describe;
use crate::exports::slicegate::policy::authorizer::Request as WitRequest;
use crate::slicegate::policy::types::{Decision, EntityUid as WitUid, Error};
use crate::state::LoadedPolicySet;

/// Largest context accepted, in bytes of JSON.
const MAX_CONTEXT_BYTES: usize = 1 << 20;

/// Decides one generic request against the loaded set.
pub fn authorize(set: &LoadedPolicySet, request: &WitRequest) -> Result<Decision, Error> {
    let principal = known_uid(set, &request.principal, "principal")?;
    let action = known_uid(set, &request.action, "action")?;
    let resource = known_uid(set, &request.resource, "resource")?;
    typed_only(set, &principal, &action, request.entities_json.as_deref())?;

    if request.context_json.len() > MAX_CONTEXT_BYTES {
        return Err(Error::LimitExceeded(format!(
            "context is {} bytes; the limit is {MAX_CONTEXT_BYTES}",
            request.context_json.len()
        )));
    }
    let context_value: serde_json::Value = serde_json::from_str(&request.context_json)
        .map_err(|e| Error::InvalidRequest(format!("context is not valid JSON: {e}")))?;
    let context = Context::from_json_value(
        context_value,
        set.schema.as_ref().map(|schema| (schema, &action)),
    )
    .map_err(|e| Error::SchemaViolation(format!("context: {}", describe(&e))))?;

    let schema = if request.validate {
        set.schema.as_ref()
    } else {
        None
    };
    // Only the policies that can apply (see `index`): the network is the
    // context's `network` when that names a network of the registry (whose
    // regimes are the bundle's; a request cannot restate that entity).
    let network = network_of(set, &context);
    let selected = set
        .index
        .as_ref()
        .and_then(|index| index.select(&action, network.as_deref()));
    let (policies, compiled) = selected
        .as_ref()
        .map_or((&set.policies, &set.compiled), |s| {
            (s.policies.map_or(&set.policies, |(p, _)| p), s.compiled)
        });
    let cedar_request = Request::new(principal, action, resource, context, schema)
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let decide = |entities: &cedar_policy::Entities| {
        crate::compiled::decide(set, compiled, policies, &cedar_request, entities)
    };
    Ok(match &request.entities_json {
        None => decide(&set.entities),
        Some(json) => {
            if json.len() > MAX_CONTEXT_BYTES {
                return Err(Error::LimitExceeded(format!(
                    "request entities are {} bytes; the limit is {MAX_CONTEXT_BYTES}",
                    json.len()
                )));
            }
            let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
                Error::InvalidRequest(format!("request entities are not valid JSON: {e}"))
            })?;
            let entities = set
                .entities
                .clone()
                .add_entities_from_json_value(value, set.schema.as_ref())
                .map_err(|e| {
                    Error::SchemaViolation(format!("request entities: {}", describe(&e)))
                })?;
            decide(&entities)
        }
    })
}

/// The entity types of the 5G schema: reference data the bundle holds and
/// the inventory the typed interface builds.
const FIVE_G_TYPES: [&str; 12] = [
    "Jurisdiction",
    "Regime",
    "Vendor",
    "DesignationScope",
    "Designation",
    "NetworkFunction",
    "Model",
    "Network",
    "Site",
    "Slice",
    "Equipment",
    "Plan",
];

/// On a bundle with the 5G schema, the decisions the typed `placement`
/// interface makes are not open to the generic authorizer: it would take the
/// derived facts (every party's trust facts, the designations, a plan's
/// shares) and the evaluation time from the caller. Refused are a request
/// whose principal is equipment or a plan (every placement and plan action),
/// and entities a request brings of a 5G type (inventory the engine builds,
/// or reference data the bundle holds). Actions and types a custom schema
/// adds beside the 5G ones stay open.
fn typed_only(
    set: &LoadedPolicySet,
    principal: &EntityUid,
    action: &EntityUid,
    entities_json: Option<&str>,
) -> Result<(), Error> {
    let (Some(_), Some(schema)) = (set.registry.as_ref(), set.schema.as_ref()) else {
        return Ok(());
    };
    let types = crate::values::types()?;
    let derived = [&types.equipment, &types.plan];
    let applies_to_derived = schema
        .principals_for_action(action)
        .is_some_and(|mut principals| principals.any(|p| derived.contains(&p)));
    if derived.contains(&principal.type_name()) || applies_to_derived {
        return Err(Error::InvalidRequest(format!(
            "`{action}` on this bundle is decided through the typed placement interface \
             (decide, decide-batch, check-plan), which derives every party's facts and \
             takes the time from the host; the generic authorizer would take them from \
             the caller"
        )));
    }
    let Some(json) = entities_json else {
        return Ok(());
    };
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::InvalidRequest(format!("request entities are not valid JSON: {e}")))?;
    for entity in value.as_array().map(Vec::as_slice).unwrap_or_default() {
        let type_name = entity
            .pointer("/uid/type")
            .or_else(|| entity.pointer("/uid/__entity/type"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if FIVE_G_TYPES.contains(&type_name) {
            return Err(Error::InvalidRequest(format!(
                "a request may not bring a `{type_name}` entity on this bundle: the bundle \
                 holds its reference data and the typed placement interface builds its \
                 inventory"
            )));
        }
    }
    Ok(())
}

/// The network id the context's `network` attribute names, when it is an
/// entity of the 5G schema's `Network` type.
fn network_of(set: &LoadedPolicySet, context: &Context) -> Option<String> {
    set.index.as_ref()?;
    let network_type = crate::values::types().ok()?.network.as_ref();
    let ast::Context::Value(attrs) = context.as_ref() else {
        return None;
    };
    match attrs.get("network")?.value_kind() {
        ast::ValueKind::Lit(ast::Literal::EntityUID(uid)) if uid.entity_type() == network_type => {
            Some(uid.eid().as_ref().to_string())
        }
        _ => None,
    }
}

/// A uid whose type is one the loaded schema or entities name, without
/// running Cedar's parser (far too slow per request); any other type name is
/// parsed.
fn known_uid(set: &LoadedPolicySet, uid: &WitUid, role: &str) -> Result<EntityUid, Error> {
    match set.type_names.get(&uid.type_name) {
        Some(type_name) => Ok(EntityUid::from_type_name_and_id(
            type_name.clone(),
            EntityId::new(&uid.id),
        )),
        None => entity_uid(uid, role),
    }
}

/// Builds a Cedar uid from its parts; the type name must parse as a Cedar
/// (possibly namespaced) name. The id may be any string.
pub fn entity_uid(uid: &WitUid, role: &str) -> Result<EntityUid, Error> {
    let type_name = EntityTypeName::from_str(&uid.type_name).map_err(|e| {
        Error::InvalidRequest(format!(
            "{role} type `{}` is not a Cedar type name: {}",
            uid.type_name,
            describe(&e)
        ))
    })?;
    Ok(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(&uid.id),
    ))
}
