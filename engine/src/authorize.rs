//! Generic Cedar requests: entity uids and a JSON context.

use std::str::FromStr;

use cedar_policy::{Authorizer, Context, EntityId, EntityTypeName, EntityUid, Request};

use crate::decision;
use crate::describe;
use crate::exports::slicegate::policy::authorizer::Request as WitRequest;
use crate::load::LoadedPolicySet;
use crate::slicegate::policy::types::{Decision, EntityUid as WitUid, Error};

/// Largest context accepted, in bytes of JSON.
const MAX_CONTEXT_BYTES: usize = 1 << 20;

/// Decides one generic request against the loaded set.
pub fn authorize(set: &LoadedPolicySet, request: &WitRequest) -> Result<Decision, Error> {
    let principal = entity_uid(&request.principal, "principal")?;
    let action = entity_uid(&request.action, "action")?;
    let resource = entity_uid(&request.resource, "resource")?;

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
    let cedar_request = Request::new(principal, action, resource, context, schema)
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let response = match &request.entities_json {
        None => Authorizer::new().is_authorized(&cedar_request, &set.policies, &set.entities),
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
            Authorizer::new().is_authorized(&cedar_request, &set.policies, &entities)
        }
    };
    Ok(decision::from_response(set, &response))
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
