//! Cedar values and the 5G schema's names, built directly (no Cedar
//! expression is parsed or evaluated to build a request): entity uids,
//! datetimes, records, entities, the action and category names.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use cedar_policy::{Context, EntityTypeName, EntityUid};
use cedar_policy_core::ast::{self, PartialValue, Value};
use cedar_policy_core::extensions::Extensions;

use crate::describe;
use crate::exports::slicegate::policy::placement::{CustomerCategory, Operation};
use crate::slicegate::policy::types::Error;
use crate::time::Instant;

/// The entity types of the 5G schema, parsed once per process: Cedar's
/// parser is far too slow to run for every decision.
pub struct PlacementTypes {
    pub action: EntityTypeName,
    pub equipment: EntityTypeName,
    pub function: EntityTypeName,
    pub jurisdiction: EntityTypeName,
    pub model: EntityTypeName,
    pub network: EntityTypeName,
    pub plan: EntityTypeName,
    pub site: EntityTypeName,
    pub slice: EntityTypeName,
    pub vendor: EntityTypeName,
}

pub fn types() -> Result<&'static PlacementTypes, Error> {
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
                function: parse("NetworkFunction")?,
                jurisdiction: parse("Jurisdiction")?,
                model: parse("Model")?,
                network: parse("Network")?,
                plan: parse("Plan")?,
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

pub fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from(core_uid(type_name, id))
}

/// An entity uid of Cedar's core form (what values and entities hold).
pub fn core_uid(type_name: &EntityTypeName, id: &str) -> ast::EntityUID {
    ast::EntityUID::from_components(type_name.as_ref().clone(), ast::Eid::new(id), None)
}

/// The evaluation time, checked and normalised to Cedar's `datetime` form.
pub fn evaluation_time(at: &str) -> Result<Instant, Error> {
    Instant::parse_exact(at).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "evaluation time `{at}` is not an RFC 3339 instant like 2024-01-01T00:00:00Z \
             (with a zone, to the millisecond at most)"
        ))
    })
}

/// Cedar's `datetime` value of an instant, made by calling the extension
/// function itself. (`RestrictedExpression::new_datetime` parses the name
/// `datetime` with Cedar's policy parser on every call, and evaluating the
/// expression costs more again: together most of a decision's time.)
pub fn datetime(at: &Instant) -> Result<Value, Error> {
    static NAME: OnceLock<Result<ast::Name, String>> = OnceLock::new();
    let name = NAME
        .get_or_init(|| ast::Name::parse_unqualified_name("datetime").map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Internal(e.clone()))?;
    let function = Extensions::all_available()
        .func(name)
        .map_err(|e| Error::Internal(describe(&e)))?;
    match function.call(&[Value::from(at.cedar.as_str())]) {
        Ok(PartialValue::Value(value)) => Ok(value),
        Ok(PartialValue::Residual(_)) => Err(Error::Internal(
            "datetime() gave a residual for a concrete string".to_string(),
        )),
        Err(e) => Err(Error::InvalidRequest(format!(
            "instant `{}`: {}",
            at.cedar,
            describe(&e)
        ))),
    }
}

pub fn string(value: &str) -> Value {
    Value::from(value)
}

pub fn long(value: i64) -> Value {
    Value::from(value)
}

pub fn boolean(value: bool) -> Value {
    Value::from(value)
}

pub fn entity_ref(type_name: &EntityTypeName, id: &str) -> Value {
    Value::from(core_uid(type_name, id))
}

pub fn record(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::record(pairs, None)
}

/// An entity of Cedar's core form with these attribute values.
pub fn entity(
    uid: ast::EntityUID,
    attrs: Vec<(&'static str, Value)>,
    parents: HashSet<ast::EntityUID>,
) -> ast::Entity {
    ast::Entity::new_with_attr_partial_value(
        uid,
        attrs
            .into_iter()
            .map(|(key, value)| (key.into(), PartialValue::Value(value))),
        HashSet::new(),
        parents,
        [],
    )
}

pub fn cedar_context(pairs: Vec<(&'static str, Value)>) -> Context {
    Context::from(ast::Context::Value(Arc::new(
        pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value))
            .collect::<BTreeMap<_, _>>(),
    )))
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

/// The schema's name for a customer category.
pub fn category_name(category: CustomerCategory) -> &'static str {
    match category {
        CustomerCategory::Consumer => "consumer",
        CustomerCategory::Enterprise => "enterprise",
        CustomerCategory::CriticalInfrastructure => "critical-infrastructure",
        CustomerCategory::PublicSafety => "public-safety",
        CustomerCategory::Government => "government",
        CustomerCategory::Defense => "defense",
        CustomerCategory::Diplomatic => "diplomatic",
    }
}
