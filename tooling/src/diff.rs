//! Two policy sets compared by meaning: for each request environment the
//! schema admits, whether they decide every request (and every entity
//! store) alike, and where not, a witness request one allows and the other
//! denies, with the policies that decide it on each side.

use std::collections::BTreeMap;
use std::time::Instant;

use cedar_policy::{Effect, PolicyId, PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::{CompiledPolicy, CompiledPolicySet};
use serde::Serialize;

use crate::prove::{Counterexample, ProveError, counterexample, describe_env, engine_form, solver};

/// How the policies changed by id (`@id`), read as text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyChanges {
    /// In NEW only.
    pub added: Vec<String>,
    /// In OLD only.
    pub removed: Vec<String>,
    /// In both, written differently.
    pub changed: Vec<String>,
}

/// A request environment where OLD and NEW differ.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// The environment (`Type, Action::"…", Type`).
    pub environment: String,
    /// A request (and entities) decided differently.
    pub witness: Counterexample,
    /// OLD's decision on it.
    pub old_allows: bool,
    /// The policies that decided it in OLD.
    pub old_determining: Vec<String>,
    /// The forbids that error on it in OLD (the engine denies).
    pub old_erroring: Vec<String>,
    /// NEW's decision on it.
    pub new_allows: bool,
    /// The policies that decided it in NEW.
    pub new_determining: Vec<String>,
    /// The forbids that error on it in NEW (the engine denies).
    pub new_erroring: Vec<String>,
    /// When the two could not be shown equivalent because a forbid that
    /// differs between them can error (the engine denies when a forbid
    /// errors, Cedar skips it): that forbid, erroring on the witness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erroring_forbid: Option<String>,
}

/// What `diff` found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    /// Request environments compared.
    pub environments: usize,
    /// Those where the decisions differ, with a witness each.
    pub differences: Vec<Difference>,
    /// The policies changed, as text.
    pub policies: PolicyChanges,
    /// Seconds taken.
    pub seconds: f64,
}

impl DiffReport {
    /// Whether OLD and NEW decide every request alike.
    pub fn equivalent(&self) -> bool {
        self.differences.is_empty()
    }
}

/// The policies added, removed and changed from `old` to `new`, by id.
pub fn policy_changes(old: &PolicySet, new: &PolicySet) -> PolicyChanges {
    let text = |set: &PolicySet| -> BTreeMap<String, String> {
        set.policies()
            .map(|p| (p.id().to_string(), p.to_string()))
            .collect()
    };
    let (old, new) = (text(old), text(new));
    PolicyChanges {
        added: new
            .keys()
            .filter(|id| !old.contains_key(*id))
            .cloned()
            .collect(),
        removed: old
            .keys()
            .filter(|id| !new.contains_key(*id))
            .cloned()
            .collect(),
        changed: old
            .iter()
            .filter(|(id, text)| new.get(*id).is_some_and(|other| other != *text))
            .map(|(id, _)| id.clone())
            .collect(),
    }
}

/// Compares `old` and `new` under `schema` (NEW's: OLD's policies must
/// type-check under it), one request environment at a time.
pub fn diff(
    schema: &Schema,
    old: &PolicySet,
    new: &PolicySet,
    mut progress: impl FnMut(&str, bool),
) -> Result<DiffReport, ProveError> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ProveError::Solver(e.to_string()))?;
    let environments: Vec<RequestEnv> = schema.request_envs().collect();
    let mut differences = Vec::new();
    let changes = policy_changes(old, new);
    let is_forbid = |id: &String| {
        [old, new].iter().any(|set| {
            set.policy(&PolicyId::new(id))
                .is_some_and(|p| p.effect() == Effect::Forbid)
        })
    };
    // Both sides in the engine's form (an erroring forbid denies), so the
    // comparison is of the engine's decisions.
    let (old_engine, new_engine) = (engine_form(old, schema), engine_form(new, schema));
    let inexact = |id: &String| old_engine.inexact.contains(id) || new_engine.inexact.contains(id);
    let differing_forbids: Vec<String> = changes
        .added
        .iter()
        .chain(&changes.removed)
        .chain(&changes.changed)
        .filter(|id| is_forbid(id) && inexact(id))
        .cloned()
        .collect();
    runtime.block_on(async {
        let mut compiler = solver()?;
        for env in &environments {
            let compile = |set: &PolicySet, side: &str| {
                CompiledPolicySet::compile(set, env, schema).map_err(|e| {
                    ProveError::Load(format!(
                        "{side}'s policies in {} (under NEW's schema): {e}",
                        describe_env(env)
                    ))
                })
            };
            let (o, n) = (
                compile(&old_engine.policies, "OLD")?,
                compile(&new_engine.policies, "NEW")?,
            );
            let found = compiler
                .check_equivalent_with_counterexample_opt(&o, &n)
                .await
                .map_err(|e| ProveError::Solver(e.to_string()))?;
            // A forbid in one and not the other (or written differently)
            // whose errors the engine forms do not capture exactly and that
            // can error: the engine denies there, so the equivalence does
            // not carry over. Forbids the two share error alike on both
            // sides.
            let mut erroring = None;
            if found.is_none() {
                for id in &differing_forbids {
                    for set in [old, new] {
                        let Some(policy) = set.policy(&PolicyId::new(id)) else {
                            continue;
                        };
                        let Ok(compiled) = CompiledPolicy::compile(policy, env, schema) else {
                            continue;
                        };
                        if erroring.is_none()
                            && let Some(cx) = compiler
                                .check_never_errors_with_counterexample_opt(&compiled)
                                .await
                                .map_err(|e| ProveError::Solver(e.to_string()))?
                        {
                            erroring = Some((id.clone(), cx));
                        }
                    }
                }
            }
            progress(&describe_env(env), found.is_none() && erroring.is_none());
            let (found, erroring_forbid) = match (found, erroring) {
                (Some(found), _) => (found, None),
                (None, Some((id, found))) => (found, Some(id)),
                (None, None) => continue,
            };
            let witness = counterexample(env, &found, old);
            let newly = counterexample(env, &found, new);
            // The engine's decisions: an erroring forbid denies.
            differences.push(Difference {
                environment: describe_env(env),
                old_allows: witness.library_allows && witness.forbids_erroring.is_empty(),
                old_determining: witness.determining.clone(),
                old_erroring: witness.forbids_erroring.clone(),
                new_allows: newly.library_allows && newly.forbids_erroring.is_empty(),
                new_determining: newly.determining,
                new_erroring: newly.forbids_erroring,
                witness,
                erroring_forbid,
            });
        }
        Ok::<_, ProveError>(())
    })?;
    Ok(DiffReport {
        environments: environments.len(),
        differences,
        policies: changes,
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    })
}

/// What changed in the sources besides the policies: the schema (the
/// comparison runs under NEW's, so a changed action hierarchy or attribute
/// changes what the policies mean) and the reference data (compared by
/// entity, not symbolically: `impact` shows what it changes).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceChanges {
    /// The schema text differs.
    pub schema_changed: bool,
    /// Packs (from the policies' `@pack`, which is what tells the engine
    /// which regimes a bundle holds rules for) in NEW only.
    pub packs_added: Vec<String>,
    /// Packs in OLD only.
    pub packs_removed: Vec<String>,
    /// Entities (`Type::"id"`) in NEW only.
    pub entities_added: Vec<String>,
    /// Entities in OLD only.
    pub entities_removed: Vec<String>,
    /// Entities in both, with different attributes or parents.
    pub entities_changed: Vec<String>,
}

impl SourceChanges {
    /// Whether the schema or any entity differs.
    pub fn any(&self) -> bool {
        self.schema_changed
            || !self.packs_added.is_empty()
            || !self.packs_removed.is_empty()
            || !self.entities_added.is_empty()
            || !self.entities_removed.is_empty()
            || !self.entities_changed.is_empty()
    }
}

/// The schema and reference-data changes from `old` to `new`.
pub fn source_changes(
    old: &slicegate::PolicySources,
    new: &slicegate::PolicySources,
) -> SourceChanges {
    let schema =
        |s: &slicegate::PolicySources| s.schema.as_ref().map(|f| f.text.trim().to_string());
    let entities = |s: &slicegate::PolicySources| -> BTreeMap<String, serde_json::Value> {
        let mut out = BTreeMap::new();
        for file in &s.entities {
            if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&file.text) {
                for item in items {
                    let uid = format!(
                        "{}::{}",
                        item["uid"]["type"].as_str().unwrap_or("?"),
                        item["uid"]["id"]
                    );
                    out.insert(uid, item);
                }
            }
        }
        out
    };
    let (old_e, new_e) = (entities(old), entities(new));
    let packs = |s: &slicegate::PolicySources| -> std::collections::BTreeSet<String> {
        s.policies
            .iter()
            .filter_map(|f| f.text.parse::<PolicySet>().ok())
            .flat_map(|set| {
                set.policies()
                    .filter_map(|p| p.annotation("pack").map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let (old_p, new_p) = (packs(old), packs(new));
    SourceChanges {
        schema_changed: schema(old) != schema(new),
        packs_added: new_p.difference(&old_p).cloned().collect(),
        packs_removed: old_p.difference(&new_p).cloned().collect(),
        entities_added: new_e
            .keys()
            .filter(|k| !old_e.contains_key(*k))
            .cloned()
            .collect(),
        entities_removed: old_e
            .keys()
            .filter(|k| !new_e.contains_key(*k))
            .cloned()
            .collect(),
        entities_changed: old_e
            .iter()
            .filter(|(k, v)| new_e.get(*k).is_some_and(|w| w != *v))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}
