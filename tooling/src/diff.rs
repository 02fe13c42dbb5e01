//! Two policy sets compared by meaning: for each request environment the
//! schema admits, whether they decide every request (and every entity
//! store) alike, and where not, a witness request one allows and the other
//! denies, with the policies that decide it on each side.

use std::collections::BTreeMap;
use std::time::Instant;

use cedar_policy::{PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::CompiledPolicySet;
use serde::Serialize;

use crate::prove::{Counterexample, ProveError, counterexample, describe_env, solver};

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
    /// NEW's decision on it.
    pub new_allows: bool,
    /// The policies that decided it in NEW.
    pub new_determining: Vec<String>,
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
            let (o, n) = (compile(old, "OLD")?, compile(new, "NEW")?);
            let found = compiler
                .check_equivalent_with_counterexample_opt(&o, &n)
                .await
                .map_err(|e| ProveError::Solver(e.to_string()))?;
            progress(&describe_env(env), found.is_none());
            if let Some(found) = found {
                let witness = counterexample(env, &found, old);
                let newly = counterexample(env, &found, new);
                differences.push(Difference {
                    environment: describe_env(env),
                    old_allows: witness.library_allows,
                    old_determining: witness.determining.clone(),
                    new_allows: newly.library_allows,
                    new_determining: newly.determining,
                    witness,
                });
            }
        }
        Ok::<_, ProveError>(())
    })?;
    Ok(DiffReport {
        environments: environments.len(),
        differences,
        policies: policy_changes(old, new),
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    })
}
