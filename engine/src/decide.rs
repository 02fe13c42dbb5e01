//! Deciding a placement: its Cedar form evaluated against the policies
//! that can apply, over the decision store its request can reach.

use std::collections::HashSet;
use std::sync::Arc;

use cedar_policy::{Authorizer, EntityUid, Request, Response};
use cedar_policy_core::ast::{self, Value};

use crate::compiled::eval::{Env, Found};
use crate::compiled::{CompiledSet, Satisfied};
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

/// Evaluates a placement (or plan) already turned into Cedar: the compiled
/// policies by the compiled evaluator over the request's entities and the
/// loaded ones, the rest (or, when the evaluator bails, all) by Cedar.
pub fn evaluate(
    set: &LoadedPolicySet,
    schema: &cedar_policy::Schema,
    placement: CedarPlacement,
) -> Result<Decision, Error> {
    let selected = set
        .index
        .as_ref()
        .and_then(|index| index.select(&placement.action, placement.network.as_deref()));
    let whole = (&set.policies, set.base.as_ref());
    let ((policies, base), compiled) = match &selected {
        Some(s) => (s.policies.unwrap_or(whole), s.compiled),
        None => (whole, &set.compiled),
    };
    if let Some(satisfied) = compiled_verdict(set, schema, compiled, &placement) {
        crate::compiled::count(true);
        let rest = match &compiled.rest {
            Some(rest) => Some(interpret(set, schema, placement, rest, base)?),
            None => None,
        };
        return Ok(decision::from_compiled(set, satisfied, rest.as_ref()));
    }
    crate::compiled::count(false);
    let response = interpret(set, schema, placement, policies, base)?;
    Ok(decision::from_response(set, &response))
}

/// The decision by Cedar's interpreter alone (the compiled policies left
/// out): what the compiled path is measured against natively.
#[cfg(test)]
pub fn interpreted(
    set: &LoadedPolicySet,
    schema: &cedar_policy::Schema,
    placement: CedarPlacement,
) -> Result<Decision, Error> {
    let selected = set
        .index
        .as_ref()
        .and_then(|index| index.select(&placement.action, placement.network.as_deref()));
    let (policies, base) = selected
        .and_then(|s| s.policies)
        .unwrap_or((&set.policies, set.base.as_ref()));
    let response = interpret(set, schema, placement, policies, base)?;
    Ok(decision::from_response(set, &response))
}

/// The compiled policies' verdict, or `None` when the request is one only
/// Cedar's path may decide: its shape or entities not checked at load and
/// refused by the schema now, an entity of its own that the loaded store
/// (or the request) already holds (Cedar refuses the store), or an
/// evaluation the evaluator bails on. (A request checked here against the
/// schema is a plan's, whose entity has no parents: adding it to the store
/// changes no ancestor set, so the store read below is Cedar's.)
///
/// The store read is the request's entities and the loaded ones by uid:
/// the same entities, with the same data, as the decision store Cedar's path
/// builds (see [`stores::closure`]), which holds whatever evaluation can read.
pub fn compiled_verdict(
    set: &LoadedPolicySet,
    schema: &cedar_policy::Schema,
    compiled: &CompiledSet,
    placement: &CedarPlacement,
) -> Option<Satisfied> {
    if compiled.compiled.is_empty() {
        return None;
    }
    if !placement.request_checked {
        Request::new(
            placement.principal.clone(),
            placement.action.clone(),
            placement.resource.clone(),
            cedar_context(placement.context.clone()),
            Some(schema),
        )
        .ok()?;
    }
    if !placement.shapes_checked {
        if placement
            .entities
            .iter()
            .any(|e| e.ancestors().next().is_some())
        {
            return None;
        }
        cedar_policy::Entities::empty()
            .add_entities(
                placement
                    .entities
                    .iter()
                    .cloned()
                    .map(cedar_policy::Entity::from),
                Some(schema),
            )
            .ok()?;
    }
    let by_uid = set.by_uid.as_ref()?;
    let added = &placement.entities;
    for (at, entity) in added.iter().enumerate() {
        let uid = entity.uid();
        if by_uid.contains_key(uid) || added[..at].iter().any(|e| e.uid() == uid) {
            return None;
        }
    }
    let context = Value::record(
        placement
            .context
            .iter()
            .map(|(key, value)| (smol_str::SmolStr::from(*key), value.clone())),
        None,
    );
    let lookup = |uid: &ast::EntityUID| {
        Ok(match added.iter().find(|e| e.uid() == uid) {
            Some(entity) => Found::Data(entity),
            None => by_uid
                .get(uid)
                .map_or(Found::Missing, |entity| Found::Data(entity.as_ref())),
        })
    };
    let [principal, action, resource] =
        [&placement.principal, &placement.action, &placement.resource]
            .map(|uid| Value::from(AsRef::<ast::EntityUID>::as_ref(uid).clone()));
    compiled
        .run(&Env {
            principal: &principal,
            action: &action,
            resource: &resource,
            context: &context,
            lookup: &lookup,
            memo: Default::default(),
        })
        .ok()
}

/// Cedar's response for `policies` (with `base`, their base store) on a
/// placement: the interpreter's path.
fn interpret(
    set: &LoadedPolicySet,
    schema: &cedar_policy::Schema,
    placement: CedarPlacement,
    policies: &cedar_policy::PolicySet,
    base: Option<&cedar_policy_core::entities::Entities>,
) -> Result<Response, Error> {
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
                    return Ok(authorize(&cedar_policy::Entities::from(store?)));
                }
                Err(back) => added = back,
            }
        }
        return Ok(authorize(&with_request_entities(set, added)?));
    }
    let entities = set
        .entities
        .clone()
        .add_entities(
            added.into_iter().map(cedar_policy::Entity::from),
            Some(schema),
        )
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    Ok(authorize(&entities))
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
