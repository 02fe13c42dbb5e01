//! Deciding a placement: its Cedar form evaluated against the policies
//! that can apply, over the decision store its request can reach.

use std::collections::HashSet;
use std::sync::Arc;

use cedar_policy::{Authorizer, EntityUid, Request};
use cedar_policy_core::ast::{self, Value};

use crate::decision;
use crate::describe;
use crate::exports::slicegate::policy::placement::PlacementRequest;
use crate::placement::{CedarPlacement, to_cedar};
use crate::slicegate::policy::types::{Decision, Error};
use crate::state::{LoadedPolicySet, parts};
use crate::stores;
use crate::values::{cedar_context, core_uid, entity, evaluation_time, types};

/// Decides one placement.
pub fn decide(set: &LoadedPolicySet, request: &PlacementRequest) -> Result<Decision, Error> {
    let (schema, registry) = parts(set)?;
    let at = evaluation_time(&request.at)?;
    let placement = to_cedar(set, registry, request, &at)?;
    evaluate(set, schema, placement)
}

/// Evaluates a placement (or plan) already turned into Cedar.
pub fn evaluate(
    set: &LoadedPolicySet,
    schema: &cedar_policy::Schema,
    placement: CedarPlacement,
) -> Result<Decision, Error> {
    let (policies, base) = set
        .index
        .as_ref()
        .and_then(|index| index.select(&placement.action, placement.network.as_deref()))
        .unwrap_or((&set.policies, set.base.as_ref()));
    // The request's roots of the entities evaluation can read (see `reach`).
    let mut roots: Vec<ast::EntityUID> = Vec::new();
    for uid in [&placement.principal, &placement.action, &placement.resource] {
        roots.push(uid.as_ref().clone());
    }
    for (_, value) in &placement.context {
        stores::uids_in(value, &mut roots);
    }
    let context = cedar_context(placement.context);
    let cedar_request = Request::new(
        placement.principal,
        placement.action,
        placement.resource,
        context,
        (!placement.request_checked).then_some(schema),
    )
    .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let authorize = |entities: &cedar_policy::Entities| {
        Authorizer::new().is_authorized(&cedar_request, policies, entities)
    };
    let mut added = placement.entities;
    if placement.shapes_checked {
        // The request's entities and what evaluation can reach from them, the
        // request and the policies: flat in the size of the reference data.
        if let (Some(by_uid), Some(base)) = (set.by_uid.as_ref(), base) {
            match stores::closure(by_uid, base, added, roots) {
                Ok(store) => {
                    let store = store?;
                    return Ok(decision::from_response(
                        set,
                        &authorize(&cedar_policy::Entities::from(store)),
                    ));
                }
                Err(back) => added = back,
            }
        }
        return Ok(decision::from_response(
            set,
            &authorize(&with_request_entities(set, added)?),
        ));
    }
    let entities = set
        .entities
        .clone()
        .add_entities(
            added.into_iter().map(cedar_policy::Entity::from),
            Some(schema),
        )
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    Ok(decision::from_response(set, &authorize(&entities)))
}

/// The loaded entities with a request's own entities (equipment, slice,
/// site) added; their shapes were checked against the schema at load. (The
/// fallback when a decision's closure cannot be taken, see `evaluate`.)
///
/// The reference entities' transitive closure was computed at load, and the
/// request's entities come with their ancestors already closed (see
/// [`closed_parents`]) and are nobody's ancestors, so the closure is not
/// recomputed (Cedar's public `add_entities` recomputes it over the whole
/// store, copying every entity): only the store's map is copied.
pub fn with_request_entities(
    set: &LoadedPolicySet,
    added: Vec<ast::Entity>,
) -> Result<cedar_policy::Entities, Error> {
    let core: &cedar_policy_core::entities::Entities = set.entities.as_ref();
    stores::add_closed(core.clone(), added.into_iter().map(Arc::new))
        .map(cedar_policy::Entities::from)
        .map_err(Error::SchemaViolation)
}

/// The Cedar form of a placement as JSON: `{principal, action, resource,
/// context, entities}` in Cedar's JSON formats. `entities` holds only the
/// per-request entities; the reference data is the bundle's.
pub fn cedar_form(set: &LoadedPolicySet, request: &PlacementRequest) -> Result<String, Error> {
    let (schema, registry) = parts(set)?;
    let at = evaluation_time(&request.at)?;
    let placement = to_cedar(set, registry, request, &at)?;
    // Checked exactly as a decision checks them, so the form is one Cedar
    // accepts.
    let entities: Vec<cedar_policy::Entity> = placement
        .entities
        .iter()
        .cloned()
        .map(cedar_policy::Entity::from)
        .collect();
    set.entities
        .clone()
        .add_entities(entities.clone(), Some(schema))
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let uid_json = |uid: &EntityUid| serde_json::json!({"type": uid.type_name().to_string(), "id": uid.id().unescaped()});
    let entities = entities
        .iter()
        .map(|entity| {
            entity
                .to_json_value()
                .map_err(|e| Error::Internal(describe(&e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Cedar has no JSON writer for a context; a record attribute of a
    // throwaway entity serialises the same values in the same format.
    let holder = cedar_policy::Entity::from(entity(
        core_uid(&types()?.plan, "context"),
        vec![("context", Value::record(placement.context, None))],
        HashSet::new(),
    ));
    let context = holder
        .to_json_value()
        .map_err(|e| Error::Internal(describe(&e)))?
        .pointer("/attrs/context")
        .cloned()
        .unwrap_or_default();
    let form = serde_json::json!({
        "principal": uid_json(&placement.principal),
        "action": uid_json(&placement.action),
        "resource": uid_json(&placement.resource),
        "context": context,
        "entities": entities,
    });
    Ok(form.to_string())
}
