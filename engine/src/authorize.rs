//! Generic Cedar requests: entity uids and a JSON context.

use std::str::FromStr;

use cedar_policy::{Authorizer, Context, EntityId, EntityTypeName, EntityUid, Request};
use cedar_policy_core::ast;

use crate::decision;
use crate::describe;
use crate::exports::slicegate::policy::authorizer::Request as WitRequest;
use crate::load::LoadedPolicySet;
use crate::slicegate::policy::types::{Decision, EntityUid as WitUid, Error};

/// Largest context accepted, in bytes of JSON.
const MAX_CONTEXT_BYTES: usize = 1 << 20;

/// Decides one generic request against the loaded set.
pub fn authorize(set: &LoadedPolicySet, request: &WitRequest) -> Result<Decision, Error> {
    let principal = known_uid(set, &request.principal, "principal")?;
    let action = known_uid(set, &request.action, "action")?;
    let resource = known_uid(set, &request.resource, "resource")?;

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
    let policies = set
        .index
        .as_ref()
        .and_then(|index| index.select(&action, network.as_deref()))
        .map_or(&set.policies, |(policies, _)| policies);
    let cedar_request = Request::new(principal, action, resource, context, schema)
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let response = match &request.entities_json {
        None => Authorizer::new().is_authorized(&cedar_request, policies, &set.entities),
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
            Authorizer::new().is_authorized(&cedar_request, policies, &entities)
        }
    };
    Ok(decision::from_response(set, &response))
}

/// The network id the context's `network` attribute names, when it is an
/// entity of the 5G schema's `Network` type.
fn network_of(set: &LoadedPolicySet, context: &Context) -> Option<String> {
    set.index.as_ref()?;
    let network_type = crate::placement::types().ok()?.network.as_ref();
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
