//! Why a placement got its decision: for every policy, whether its scope
//! matched and, condition by condition, which held, which was false and
//! which errored; and the facts the decision read.
//!
//! The analysis runs natively on the engine's own Cedar form of the request
//! (the same request and entities the component decided), one policy at a
//! time: the policy's scope alone, then each top-level conjunct of each
//! `when`/`unless` clause as its own policy. The component's decision is the
//! one enforced; the analysis explains it.

use std::collections::BTreeSet;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityId, EntityTypeName, EntityUid,
    Policy, PolicyId, PolicySet, Request,
};
use serde::Serialize;
use serde_json::Value;

use crate::native::{NativePolicySet, describe, placement_as_cedar};
use slicegate::PolicySources;
use slicegate::{CedarRequest, EntityRef, SourceFile};
use slicegate::{Decision, DeterminingPolicy, Failure, PolicyError};

/// One condition of a policy and how it evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionResult {
    /// Which `when`/`unless` clause of the policy (0-based).
    pub clause: usize,
    /// `when` or `unless`.
    pub kind: String,
    /// The conjunct's Cedar text.
    pub text: String,
    /// `true`, `false`, `error`, or `not evaluated` (an earlier conjunct of
    /// the clause was false or errored, so Cedar never reached it).
    pub value: String,
    /// Cedar's message when it errored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One policy's part in the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyExplanation {
    /// The policy id.
    pub policy_id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// The `@reason` annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the policy applied (it is among the determining policies).
    pub applied: bool,
    /// Whether its scope (principal, action, resource) matched.
    pub scope_matched: bool,
    /// Each top-level conjunct of each condition, when the scope matched.
    pub conditions: Vec<ConditionResult>,
    /// One line: why it did or did not apply.
    pub summary: String,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The component's decision (the one enforced).
    pub decision: Decision,
    /// The Cedar request and per-request entities the placement became.
    pub cedar_form: Value,
    /// The maker's ownership chain, from the maker up.
    pub vendor_chain: Vec<String>,
    /// Facts the decision could read whose values the reference data marks
    /// as examples, not records (`nesasAuditValidUntil of ericsson = ...`).
    pub examples: Vec<String>,
    /// Every policy: the ones that applied first, then the ones whose scope
    /// matched, then the rest.
    pub policies: Vec<PolicyExplanation>,
    /// Who decided, when it was not the component on a placement: a Cedar
    /// request over given entities is decided by native `cedar-policy`
    /// with the engine's rule for erroring forbids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

fn uid(reference: &Value) -> Option<EntityUid> {
    let type_name = EntityTypeName::from_str(reference.get("type")?.as_str()?).ok()?;
    Some(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(reference.get("id")?.as_str()?),
    ))
}

/// The top-level conjuncts of an expression in Cedar's JSON form.
fn conjuncts(expr: &Value, out: &mut Vec<Value>) {
    match expr.get("&&") {
        Some(and) => {
            if let (Some(left), Some(right)) = (and.get("left"), and.get("right")) {
                conjuncts(left, out);
                conjuncts(right, out);
            }
        }
        None => out.push(expr.clone()),
    }
}

/// How one policy (in JSON form) evaluates on the request: `Some(true)`
/// applies, `Some(false)` does not, `None` errored (with the message).
fn evaluate(
    est: Value,
    request: &Request,
    entities: &Entities,
) -> Result<(Option<bool>, Option<String>), String> {
    let policy = Policy::from_json(Some(PolicyId::new("probe")), est).map_err(|e| describe(&e))?;
    let mut set = PolicySet::new();
    set.add(policy).map_err(|e| describe(&e))?;
    let response = Authorizer::new().is_authorized(request, &set, entities);
    if let Some(error) = response.diagnostics().errors().next() {
        return Ok((None, Some(error.to_string())));
    }
    Ok((Some(response.decision() == CedarDecision::Allow), None))
}

/// The Cedar text of one condition expression.
fn condition_text(scope: &Value, body: &Value) -> String {
    let mut est = scope.clone();
    est["effect"] = "permit".into();
    est["conditions"] = serde_json::json!([{"kind": "when", "body": body}]);
    est["annotations"] = serde_json::json!({});
    let Ok(policy) = Policy::from_json(None, est) else {
        return body.to_string();
    };
    let text = policy.to_string();
    match (text.find("when {"), text.rfind('}')) {
        (Some(start), Some(end)) if end > start + 6 => text[start + 6..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        _ => text,
    }
}

/// One line on why a policy did or did not apply.
fn summarise(scope_matched: bool, conditions: &[ConditionResult]) -> String {
    if !scope_matched {
        return "scope does not match this principal, action or resource".to_string();
    }
    if let Some(c) = conditions.iter().find(|c| c.value == "error") {
        return format!(
            "{} condition errored: {} ({})",
            c.kind,
            c.text,
            c.error.as_deref().unwrap_or("")
        );
    }
    if let Some(c) = conditions
        .iter()
        .find(|c| c.kind == "when" && c.value == "false")
    {
        return format!("when condition false: {}", c.text);
    }
    // An `unless` clause blocks the policy when all its conjuncts hold.
    let clauses: BTreeSet<usize> = conditions
        .iter()
        .filter(|c| c.kind == "unless")
        .map(|c| c.clause)
        .collect();
    for clause in clauses {
        let parts: Vec<&ConditionResult> =
            conditions.iter().filter(|c| c.clause == clause).collect();
        if parts.iter().all(|c| c.value == "true") {
            let text: Vec<&str> = parts.iter().map(|c| c.text.as_str()).collect();
            return format!("unless condition held: {}", text.join(" && "));
        }
    }
    match conditions
        .iter()
        .find(|c| c.kind == "unless" && c.value == "false")
    {
        Some(c) => format!("all conditions held (unless condition false: {})", c.text),
        None => "all conditions held".to_string(),
    }
}

/// Explains `decision`, which the component gave for the placement whose
/// Cedar form is `form`, against `sources` (the same policy set).
pub fn explain(
    sources: &PolicySources,
    form: Value,
    decision: Decision,
) -> Result<Explanation, String> {
    let (inventory, generic) = placement_as_cedar(&form)?;
    let mut with_inventory = sources.clone();
    with_inventory.entities.push(inventory);
    let native = NativePolicySet::load(&with_inventory)?;
    let (policies, schema, entities) = native.parts();
    let request = cedar_request(&form, &generic.context, schema)?;

    let determining: BTreeSet<&str> = decision.determining_ids().into_iter().collect();
    let mut explained = Vec::new();
    for policy in policies.policies() {
        explained.push(explain_policy(policy, &request, entities, &determining)?);
    }
    explained.sort_by_key(|p| (!p.applied, !p.scope_matched, p.policy_id.clone()));

    let vendor_chain = vendor_chain(&form, entities);
    let examples = example_values(&form, entities);
    Ok(Explanation {
        decision,
        cedar_form: form,
        vendor_chain,
        examples,
        policies: explained,
        decided_by: None,
    })
}

/// How a Cedar request over given entities is decided (see [`explain_cedar`]).
pub const NATIVE_DECIDER: &str = "native cedar-policy over exactly the given entities (the \
    reference data is not added and no fact is derived), with the engine's rule that a forbid \
    which errors denies";

/// Explains a Cedar request decided over exactly `entities` — the whole
/// entity store, as a counterexample of `slicegate prove` gives it — against
/// the policies and schema of `sources` (their reference data is not added).
/// The decision is native Cedar's with the engine's fail-closed rule: when a
/// forbid errors, the request is denied.
pub fn explain_cedar(
    sources: &PolicySources,
    request: &CedarRequest,
    entities: &Value,
) -> Result<Explanation, String> {
    let mut world = sources.clone();
    world.entities = vec![SourceFile {
        name: "entities".to_string(),
        text: entities.to_string(),
    }];
    let native = NativePolicySet::load(&world)?;
    let (policies, schema, store) = native.parts();
    let reference = |r: &EntityRef| serde_json::json!({"type": r.type_name, "id": r.id});
    let form = serde_json::json!({
        "principal": reference(&request.principal),
        "action": reference(&request.action),
        "resource": reference(&request.resource),
        "context": request.context,
    });
    let cedar = cedar_request(&form, &request.context, schema)?;
    let response = Authorizer::new().is_authorized(&cedar, policies, store);
    let decision = engine_decision(policies, &response);
    let determining: BTreeSet<&str> = decision.determining_ids().into_iter().collect();
    let mut explained = Vec::new();
    for policy in policies.policies() {
        explained.push(explain_policy(policy, &cedar, store, &determining)?);
    }
    explained.sort_by_key(|p| (!p.applied, !p.scope_matched, p.policy_id.clone()));
    let mut cedar_form = form;
    cedar_form["entities"] = entities.clone();
    Ok(Explanation {
        decision,
        cedar_form,
        vendor_chain: Vec::new(),
        examples: Vec::new(),
        policies: explained,
        decided_by: Some(NATIVE_DECIDER.to_string()),
    })
}

/// Native Cedar's answer as the engine gives it: the determining and
/// erroring policies with their annotations, and a deny when Cedar allowed
/// but a forbid errored (it might have denied).
fn engine_decision(policies: &PolicySet, response: &cedar_policy::Response) -> Decision {
    let policy = |id: &PolicyId| policies.policy(id);
    let permit =
        |id: &PolicyId| policy(id).is_some_and(|p| p.effect() == cedar_policy::Effect::Permit);
    let note = |id: &PolicyId, key: &str| {
        policy(id)
            .and_then(|p| p.annotation(key))
            .map(str::to_string)
    };
    let mut determining: Vec<DeterminingPolicy> = response
        .diagnostics()
        .reason()
        .map(|id| DeterminingPolicy {
            policy_id: id.to_string(),
            permit: permit(id),
            pack: note(id, "pack"),
            reason: note(id, "reason"),
            source: note(id, "source"),
        })
        .collect();
    determining.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));
    let mut errors: Vec<PolicyError> = response
        .diagnostics()
        .errors()
        .map(|e| {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
            PolicyError {
                policy_id: e.policy_id().to_string(),
                permit: permit(e.policy_id()),
                message: describe(e.inner()),
            }
        })
        .collect();
    errors.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));
    let cedar_allows = response.decision() == CedarDecision::Allow;
    // The engine's own words (engine/src/decision.rs).
    let failure = errors.iter().find(|e| cedar_allows && !e.permit).map(|e| {
        Failure::ForbidErrored(format!(
            "forbid policy `{}` could not be evaluated ({}); an allow that an erroring \
                 forbid might have prevented is denied",
            e.policy_id, e.message
        ))
    });
    Decision {
        allowed: cedar_allows && failure.is_none(),
        failure,
        determining,
        errors,
        bundle_revision: None,
        evaluated_at: None,
    }
}

/// The Cedar request of the placement whose Cedar form is `form`, with its
/// `context` (validated against `schema` when there is one).
fn cedar_request(
    form: &Value,
    context: &Value,
    schema: Option<&cedar_policy::Schema>,
) -> Result<Request, String> {
    let principal = uid(&form["principal"]).ok_or("the Cedar form has no principal")?;
    let action = uid(&form["action"]).ok_or("the Cedar form has no action")?;
    let resource = uid(&form["resource"]).ok_or("the Cedar form has no resource")?;
    let context = Context::from_json_value(context.clone(), schema.map(|s| (s, &action)))
        .map_err(|e| describe(&e))?;
    Request::new(principal, action, resource, context, schema).map_err(|e| describe(&e))
}

/// One policy's part in the decision: whether its scope matched, how each
/// condition evaluated, and whether it applied (is among `determining`).
fn explain_policy(
    policy: &Policy,
    request: &Request,
    entities: &Entities,
    determining: &BTreeSet<&str>,
) -> Result<PolicyExplanation, String> {
    let id = policy.id().to_string();
    let est = policy.to_json().map_err(|e| describe(&e))?;
    let effect = est["effect"].as_str().unwrap_or("permit").to_string();
    let mut scope = est.clone();
    scope["effect"] = "permit".into();
    scope["conditions"] = serde_json::json!([]);
    let (scope_matched, _) = evaluate(scope.clone(), request, entities)?;
    let scope_matched = scope_matched == Some(true);
    let conditions = if scope_matched {
        evaluate_conditions(&est, &scope, request, entities)?
    } else {
        Vec::new()
    };
    let applied = determining.contains(id.as_str());
    let mut summary = summarise(scope_matched, &conditions);
    if !applied && effect == "permit" && summary.starts_with("all conditions held") {
        summary = "all conditions held, but a forbid applied and overrides it".to_string();
    }
    Ok(PolicyExplanation {
        policy_id: id,
        effect,
        reason: policy.annotation("reason").map(str::to_string),
        applied,
        scope_matched,
        conditions,
        summary,
    })
}

/// Each top-level conjunct of each condition of the policy `est` (in JSON
/// form; `scope` is its scope alone), and how it evaluated.
///
/// Cedar evaluates the clauses in order and each clause's `&&` left to
/// right, stopping at the first conjunct that is not true (and at a `when`
/// that fails or an `unless` that holds). Every conjunct reached had all
/// earlier ones hold, so evaluating it on its own gives exactly its value in
/// the policy.
fn evaluate_conditions(
    est: &Value,
    scope: &Value,
    request: &Request,
    entities: &Entities,
) -> Result<Vec<ConditionResult>, String> {
    let mut conditions = Vec::new();
    let mut policy_reached = true;
    let clauses = est["conditions"].as_array().cloned().unwrap_or_default();
    for (clause, condition) in clauses.iter().enumerate() {
        let kind = condition["kind"].as_str().unwrap_or("when").to_string();
        let mut parts = Vec::new();
        conjuncts(&condition["body"], &mut parts);
        let mut reached = policy_reached;
        let mut body_true = true;
        let mut errored = false;
        for part in parts {
            let text = condition_text(scope, &part);
            if !reached {
                conditions.push(ConditionResult {
                    clause,
                    kind: kind.clone(),
                    text,
                    value: "not evaluated".to_string(),
                    error: None,
                });
                continue;
            }
            let mut probe = scope.clone();
            probe["conditions"] = serde_json::json!([{"kind": "when", "body": part}]);
            let (value, error) = evaluate(probe, request, entities)?;
            reached = value == Some(true);
            body_true &= value == Some(true);
            errored |= value.is_none();
            conditions.push(ConditionResult {
                clause,
                kind: kind.clone(),
                text,
                value: match value {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "error",
                }
                .to_string(),
                error,
            });
        }
        if policy_reached {
            policy_reached = !errored && (body_true == (kind == "when"));
        }
    }
    Ok(conditions)
}

/// The maker's ownership chain, from the maker up (empty when the Cedar
/// form names no maker).
fn vendor_chain(form: &Value, entities: &Entities) -> Vec<String> {
    let maker = form["entities"][0]["attrs"]["vendor"]["__entity"].clone();
    let Some(maker) = uid(&maker) else {
        return Vec::new();
    };
    let mut chain: Vec<(usize, String)> = std::iter::once(maker.clone())
        .chain(entities.ancestors(&maker).into_iter().flatten().cloned())
        .map(|v| {
            let depth = entities.ancestors(&v).map_or(0, Iterator::count);
            (depth, v.id().unescaped().to_string())
        })
        .collect();
    chain.sort_by_key(|(depth, _)| std::cmp::Reverse(*depth));
    chain.into_iter().map(|(_, id)| id).collect()
}

/// The example values among the facts of the equipment's maker and model:
/// each attribute an entity's `exampleValues` names, with its value.
fn example_values(form: &Value, entities: &Entities) -> Vec<String> {
    let equipment = &form["entities"][0]["attrs"];
    let mut lines = Vec::new();
    for reference in [&equipment["vendor"], &equipment["model"]] {
        let Some(uid) = uid(&reference["__entity"]) else {
            continue;
        };
        let Some(entity) = entities.get(&uid) else {
            continue;
        };
        let Some(Ok(cedar_policy::EvalResult::Set(names))) = entity.attr("exampleValues") else {
            continue;
        };
        for name in names.iter() {
            let cedar_policy::EvalResult::String(name) = name else {
                continue;
            };
            let value = match entity.attr(name) {
                Some(Ok(value)) => value.to_string(),
                _ => "(not set)".to_string(),
            };
            lines.push(format!(
                "{name} of {} {} = {value} is an example, not a record: replace it with your own",
                uid.type_name(),
                uid.id().unescaped()
            ));
        }
    }
    lines
}
