//! The entities a decision can read, so that a decision works on a store of
//! those alone and its cost does not grow with the reference data.
//!
//! Cedar reads an entity's data only when evaluation holds that entity's uid
//! as a value: attribute and tag access (`e.a`, `e has a`) and `e in ...`
//! (which reads `e`'s ancestors). Such a uid is the request's principal,
//! action or resource, a uid in the context, a literal in a policy, or a uid
//! in an attribute or tag of an entity already read. The closure of those
//! roots over attribute and tag values is every entity evaluation can look
//! up; looking up any other uid is impossible. So a store holding the
//! closure gives the same results, errors included, as the whole store:
//! an entity missing from the whole store is missing from the closure too.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cedar_policy::PolicySet;
use cedar_policy_core::ast::{self, EntityUID, ExprKind, Literal, PartialValue, Value, ValueKind};
use cedar_policy_core::entities::{Dereference, Entities, TCComputation};
use cedar_policy_core::extensions::Extensions;

use crate::describe;
use crate::slicegate::policy::types::Error;

/// Every entity uid written in `policies` (scope and conditions), or `None`
/// when the set has template-linked policies (their slots are filled
/// elsewhere; such a set is evaluated on the whole store).
pub fn literal_uids(policies: &PolicySet) -> Option<Vec<EntityUID>> {
    let core: &ast::PolicySet = policies.as_ref();
    let mut uids = HashSet::new();
    for policy in core.policies() {
        if !policy.is_static() {
            return None;
        }
        let condition = policy.condition();
        for expr in condition.subexpressions() {
            if let ExprKind::Lit(Literal::EntityUID(uid)) = expr.expr_kind() {
                uids.insert(uid.as_ref().clone());
            }
        }
    }
    let mut uids: Vec<EntityUID> = uids.into_iter().collect();
    uids.sort();
    Some(uids)
}

/// Pushes every entity uid inside `value` onto `out`.
pub fn uids_in(value: &Value, out: &mut Vec<EntityUID>) {
    match value.value_kind() {
        ValueKind::Lit(Literal::EntityUID(uid)) => out.push(uid.as_ref().clone()),
        ValueKind::Lit(_) | ValueKind::ExtensionValue(_) => {}
        ValueKind::Set(set) => set.iter().for_each(|v| uids_in(v, out)),
        ValueKind::Record(record) => record.values().for_each(|v| uids_in(v, out)),
    }
}

fn uids_in_entity(entity: &ast::Entity, out: &mut Vec<EntityUID>) {
    for (_, value) in entity.attrs().chain(entity.tags()) {
        match value {
            PartialValue::Value(value) => uids_in(value, out),
            // Never followed: `by_uid` and `closure` refuse such entities.
            PartialValue::Residual(_) => {}
        }
    }
}

/// The loaded entities by uid, shared (Cedar's store lends them only by
/// reference).
pub type ByUid = HashMap<EntityUID, Arc<ast::Entity>, foldhash::fast::FixedState>;

/// Every entity of `store`, by uid; `None` if one has an unevaluated
/// attribute (its uids could not be followed).
pub fn by_uid(store: &Entities) -> Option<ByUid> {
    store
        .iter()
        .map(|entity| {
            (!has_residual(entity)).then(|| (entity.uid().clone(), Arc::new(entity.clone())))
        })
        .collect()
}

/// A store of the entities of `by_uid`, sharing them (their transitive
/// closure was computed when they were first loaded).
pub fn shared_store(by_uid: &ByUid) -> Result<cedar_policy::Entities, Error> {
    add_closed(Entities::new(), by_uid.values().cloned())
        .map(cedar_policy::Entities::from)
        .map_err(|e| Error::PolicyLoad(format!("entities: {e}")))
}

/// A policy set's base store: the entities reachable from the uids its
/// policies name, and every action entity (the request's action is a root of
/// every decision). Built once, at load; `None` when the set has linked
/// templates or the store could not be indexed.
pub fn base(store: Option<&ByUid>, policies: &PolicySet) -> Option<Entities> {
    let store = store?;
    let mut roots = literal_uids(policies)?;
    roots.extend(store.keys().filter(|uid| uid.is_action()).cloned());
    let mut kept = Vec::new();
    follow(
        store,
        &Entities::new(),
        roots,
        &mut HashSet::new(),
        &mut kept,
    );
    add_closed(Entities::new(), kept).ok()
}

/// `store` with `entities` added, their ancestor sets taken as already
/// closed (so Cedar does not recompute the transitive closure of the whole
/// store) and no schema check (their shapes were checked at load). The
/// error is Cedar's, described.
pub fn add_closed(
    store: Entities,
    entities: impl IntoIterator<Item = Arc<ast::Entity>>,
) -> Result<Entities, String> {
    store
        .add_entities(
            entities,
            None::<&cedar_policy_core::validator::CoreSchema<'_>>,
            TCComputation::AssumeAlreadyComputed,
            Extensions::all_available(),
        )
        .map_err(|e| describe(&e))
}

/// Follows `pending` uids through `store`, keeping (in `kept`) each entity
/// reached that `base` does not already hold.
fn follow(
    store: &ByUid,
    base: &Entities,
    mut pending: Vec<EntityUID>,
    seen: &mut HashSet<EntityUID>,
    kept: &mut Vec<Arc<ast::Entity>>,
) {
    while let Some(uid) = pending.pop() {
        if !seen.insert(uid.clone()) || matches!(base.entity(&uid), Dereference::Data(_)) {
            continue;
        }
        if let Some(entity) = store.get(&uid) {
            uids_in_entity(entity, &mut pending);
            kept.push(Arc::clone(entity));
        }
    }
}

/// The store a decision needs: the policy set's `base` store, the request's
/// own `added` entities, and the entities of `store` reachable from `roots`
/// (the request's principal, action, resource and context uids) and from the
/// added entities. (The base is closed already: what it holds was followed
/// at load.) `Err(added)` when the closure cannot be taken exactly (an added
/// entity already in the store, or with an unevaluated attribute): the
/// caller then uses the whole store.
pub fn closure(
    store: &ByUid,
    base: &Entities,
    added: Vec<ast::Entity>,
    roots: Vec<EntityUID>,
) -> Result<Result<Entities, Error>, Vec<ast::Entity>> {
    if added
        .iter()
        .any(|e| has_residual(e) || store.contains_key(e.uid()))
    {
        return Err(added);
    }
    let mut pending = roots;
    let mut seen: HashSet<EntityUID> = HashSet::new();
    let mut kept: Vec<Arc<ast::Entity>> = Vec::with_capacity(added.len() + 8);
    for entity in added {
        uids_in_entity(&entity, &mut pending);
        seen.insert(entity.uid().clone());
        kept.push(Arc::new(entity));
    }
    follow(store, base, pending, &mut seen, &mut kept);
    Ok(add_closed(base.clone(), kept).map_err(Error::SchemaViolation))
}

fn has_residual(entity: &ast::Entity) -> bool {
    entity
        .attrs()
        .chain(entity.tags())
        .any(|(_, v)| matches!(v, PartialValue::Residual(_)))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use cedar_policy::{Entities, PolicySet};
    use cedar_policy_core::ast::EntityUID;

    use super::{base, by_uid, closure, literal_uids};

    fn uid(text: &str) -> EntityUID {
        EntityUID::from_str(text).expect("a uid")
    }

    fn store() -> Entities {
        // V1 -> J1 through an attribute, V2 -> V3 through a record in a set;
        // J9 is reachable from nothing.
        Entities::from_json_str(
            r#"[
              {"uid": {"type": "V", "id": "1"}, "attrs": {"home": {"__entity": {"type": "J", "id": "1"}}}, "parents": [{"type": "G", "id": "g"}]},
              {"uid": {"type": "J", "id": "1"}, "attrs": {}, "parents": []},
              {"uid": {"type": "V", "id": "2"}, "attrs": {"owners": [{"who": {"__entity": {"type": "V", "id": "3"}}}]}, "parents": []},
              {"uid": {"type": "V", "id": "3"}, "attrs": {}, "parents": []},
              {"uid": {"type": "J", "id": "9"}, "attrs": {}, "parents": []},
              {"uid": {"type": "G", "id": "g"}, "attrs": {}, "parents": []}
            ]"#,
            None,
        )
        .expect("entities")
    }

    fn held(entities: &cedar_policy_core::entities::Entities) -> Vec<String> {
        let mut uids: Vec<String> = entities.iter().map(|e| e.uid().to_string()).collect();
        uids.sort();
        uids
    }

    #[test]
    fn a_decision_store_holds_exactly_what_the_roots_and_policies_reach() {
        let entities = store();
        let index = by_uid(entities.as_ref()).expect("no residuals");
        let policies = PolicySet::from_str(
            r#"permit (principal, action, resource) when { V::"2".owners.contains({who: principal}) };"#,
        )
        .expect("policies");
        assert_eq!(literal_uids(&policies), Some(vec![uid(r#"V::"2""#)]));
        let base = base(Some(&index), &policies).expect("a base store");
        assert_eq!(held(&base), vec![r#"V::"2""#, r#"V::"3""#]);

        // A request entity naming V1: V1 and what it reaches (J1) join the
        // base; the ancestor G is a uid only (ancestors are not read as
        // entities), and J9 is never reached.
        let added = cedar_policy_core::ast::Entity::new_with_attr_partial_value(
            uid(r#"E::"e""#),
            [(
                "vendor".into(),
                cedar_policy_core::ast::PartialValue::Value(uid(r#"V::"1""#).into()),
            )],
            Default::default(),
            Default::default(),
            [],
        );
        let decision = closure(&index, &base, vec![added], vec![uid(r#"A::"a""#)])
            .expect("a closure")
            .expect("a store");
        assert_eq!(
            held(&decision),
            vec![
                r#"E::"e""#,
                r#"J::"1""#,
                r#"V::"1""#,
                r#"V::"2""#,
                r#"V::"3""#
            ]
        );

        // A request entity that is already in the store: no closure (the
        // whole-store path reports the duplicate).
        let duplicate = cedar_policy_core::ast::Entity::new_with_attr_partial_value(
            uid(r#"J::"9""#),
            [],
            Default::default(),
            Default::default(),
            [],
        );
        assert!(closure(&index, &base, vec![duplicate], Vec::new()).is_err());
    }
}
