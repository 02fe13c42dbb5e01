//! Proving a library's promises for every request: invariants checked
//! symbolically with `cedar-policy-symcc` and the cvc5 SMT solver.
//!
//! An invariant is a Cedar `forbid` with `@id` and `@reason` stating what
//! the library must never allow. It **holds** when adding it to the policy
//! set changes no decision, for every request and every entity store the
//! schema admits: for each request environment (principal type, action,
//! resource type) the policy set must imply the policy set with the
//! invariant (everything the library allows, it still allows with the
//! invariant added — so the library already denies whatever the invariant
//! forbids).
//!
//! An invariant may also be a `permit`: what the library must **always**
//! allow (removal is never blocked). It holds when every request it matches
//! is allowed by the library.
//!
//! Invariant files (`invariants/*.cedar` beside `packs/`) may also hold
//! **assumptions**: `forbid` policies annotated `@assumption` that exclude
//! requests the engine never makes (facts it guarantees but the schema does
//! not state). They are added to both sides of every check, and every
//! report lists them: nothing is assumed silently.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{Policy, PolicyId, PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicySet, Env};
use serde::Serialize;

use crate::native::{NativePolicySet, describe};
use slicegate::PolicySources;

/// The install command a missing solver's error names.
pub const INSTALL_HINT: &str =
    "install cvc5 (`apt-get install cvc5`, or scripts/install-cvc5.sh), or set CVC5 to its path";

/// What went wrong before any invariant could be judged.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The policies, schema or invariants do not load.
    #[error("{0}")]
    Load(String),
    /// The solver could not be started or failed.
    #[error("the SMT solver: {0}")]
    Solver(String),
}

/// What an invariant promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Promise {
    /// A `forbid`: the library never allows what it matches.
    NeverAllowed,
    /// A `permit`: the library always allows what it matches.
    AlwaysAllowed,
}

/// One invariant, or assumption, from an invariant file.
#[derive(Debug, Clone)]
pub struct Statement {
    /// Its `@id`.
    pub id: String,
    /// What it promises.
    pub promise: Promise,
    /// Its `@reason`.
    pub reason: String,
    /// The file it is in.
    pub file: String,
    /// The policy.
    pub policy: Policy,
}

/// The invariants and assumptions of a library.
#[derive(Debug, Clone, Default)]
pub struct Invariants {
    /// What must hold.
    pub invariants: Vec<Statement>,
    /// What is assumed (excluded requests), stated in the files.
    pub assumptions: Vec<Statement>,
}

impl Invariants {
    /// Reads every `*.cedar` file of `dir` (sorted), each policy a `forbid`
    /// with `@id` and `@reason`; those annotated `@assumption` are
    /// assumptions.
    pub fn read_dir(dir: &Path) -> Result<Self, ProveError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| ProveError::Load(format!("{}: {e}", dir.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
            .collect();
        files.sort();
        let mut out = Invariants::default();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ProveError::Load(format!("{}: {e}", path.display())))?;
            let name = path.file_name().map_or_else(String::new, |n| {
                format!("invariants/{}", n.to_string_lossy())
            });
            out.add_file(&name, &text)?;
        }
        Ok(out)
    }

    /// Adds the statements of one file's text.
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<(), ProveError> {
        let parsed = PolicySet::from_str(text)
            .map_err(|e| ProveError::Load(format!("{name}: {}", describe(&e))))?;
        for policy in parsed.policies() {
            let annotation = |key: &str| {
                policy.annotation(key).map(str::to_string).ok_or_else(|| {
                    ProveError::Load(format!("{name}: every invariant needs @{key}:\n{policy}"))
                })
            };
            let id = annotation("id")?;
            let reason = annotation("reason")?;
            let assumption = policy.annotation("assumption").is_some();
            let promise = match policy.effect() {
                cedar_policy::Effect::Forbid => Promise::NeverAllowed,
                cedar_policy::Effect::Permit if !assumption => Promise::AlwaysAllowed,
                cedar_policy::Effect::Permit => {
                    return Err(ProveError::Load(format!(
                        "{name}: assumption `{id}` is a permit; an assumption is a forbid that \
                         excludes requests the engine never makes"
                    )));
                }
            };
            let all = self.invariants.iter().chain(&self.assumptions);
            if all.clone().any(|s| s.id == id) {
                return Err(ProveError::Load(format!(
                    "{name}: @id `{id}` is used twice"
                )));
            }
            let statement = Statement {
                id: id.clone(),
                promise,
                reason,
                file: name.to_string(),
                policy: policy.new_id(PolicyId::new(format!("invariant:{id}"))),
            };
            if assumption {
                self.assumptions.push(statement);
            } else {
                self.invariants.push(statement);
            }
        }
        Ok(())
    }
}

/// A request and entities the library allows and the invariant forbids (or,
/// for an always-allowed promise, that the invariant matches and the library
/// denies).
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    /// The request environment (`Type`, `Action::"…"`, `Type`).
    pub environment: String,
    /// The request: principal, action, resource and context, as
    /// `slicegate authorize` takes them.
    pub request: serde_json::Value,
    /// The entities, as Cedar's entities JSON.
    pub entities: serde_json::Value,
    /// The library's decision on it, replayed with native `cedar-policy`
    /// (assumptions included): allowed for a never-allowed promise, denied
    /// for an always-allowed one.
    pub library_allows: bool,
    /// The policies that determined the library's decision.
    pub determining: Vec<String>,
}

/// An invariant's verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// No request in any environment is allowed by the library and forbidden
    /// by the invariant.
    Proved,
    /// The library allows what the invariant forbids.
    Refuted(Counterexample),
}

/// One invariant's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvariantReport {
    /// Its `@id`.
    pub id: String,
    /// Its `@reason`.
    pub reason: String,
    /// What it promises.
    pub promise: Promise,
    /// Its file.
    pub file: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Request environments checked (those where the invariant can match).
    pub environments: usize,
    /// Time taken.
    #[serde(serialize_with = "seconds")]
    pub took: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// The policy set to prove against: the library's policies and the
/// assumptions.
fn with(base: &PolicySet, extra: &[&Statement]) -> Result<PolicySet, ProveError> {
    let mut set = base.clone();
    for statement in extra {
        set.add(statement.policy.clone())
            .map_err(|e| ProveError::Load(format!("{}: {}", statement.file, describe(&e))))?;
    }
    Ok(set)
}

/// Makes sure a cvc5 executable can be found (`CVC5`, or `cvc5` on PATH),
/// installing it with `scripts/install-cvc5.sh` from a checkout when it is
/// missing (as the tests and CI do); otherwise an error naming the install
/// command.
pub fn ensure_solver() -> Result<(), ProveError> {
    let found = || {
        let program = std::env::var("CVC5").unwrap_or_else(|_| "cvc5".to_string());
        std::process::Command::new(program)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if found() {
        return Ok(());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-cvc5.sh");
    if script.is_file() {
        let _ = std::process::Command::new("bash").arg(&script).status();
        if found() {
            return Ok(());
        }
    }
    Err(ProveError::Solver(format!(
        "cvc5 was not found: {INSTALL_HINT}"
    )))
}

/// A new solver session.
pub(crate) fn solver() -> Result<CedarSymCompiler<LocalSolver>, ProveError> {
    let local = LocalSolver::cvc5().map_err(|e| {
        ProveError::Solver(format!("cvc5 could not be started ({e}): {INSTALL_HINT}"))
    })?;
    CedarSymCompiler::new(local).map_err(|e| ProveError::Solver(e.to_string()))
}

/// The schema and policies of `sources`, parsed natively.
pub fn load(sources: &PolicySources) -> Result<(Schema, PolicySet), ProveError> {
    let native = NativePolicySet::load(sources).map_err(ProveError::Load)?;
    let (policies, schema, _) = native.parts();
    let schema = schema
        .cloned()
        .ok_or_else(|| ProveError::Load("proving needs a schema".to_string()))?;
    Ok((schema, policies.clone()))
}

/// Proves each invariant against `policies` under `schema`, calling
/// `progress` after each.
pub fn prove(
    schema: &Schema,
    policies: &PolicySet,
    invariants: &Invariants,
    mut progress: impl FnMut(&InvariantReport),
) -> Result<Vec<InvariantReport>, ProveError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ProveError::Solver(e.to_string()))?;
    let assumptions: Vec<&Statement> = invariants.assumptions.iter().collect();
    let base = with(policies, &assumptions)?;
    let environments: Vec<RequestEnv> = schema.request_envs().collect();
    let mut reports = Vec::new();
    runtime.block_on(async {
        let mut compiler = solver()?;
        for invariant in &invariants.invariants {
            let started = Instant::now();
            // Never allowed: the library implies the library with the
            // invariant. Always allowed: the invariant (under the
            // assumptions) implies the library.
            let (left, right) = match invariant.promise {
                Promise::NeverAllowed => (base.clone(), with(&base, &[invariant])?),
                Promise::AlwaysAllowed => (
                    with(
                        &PolicySet::new(),
                        &[&[invariant], assumptions.as_slice()].concat(),
                    )?,
                    base.clone(),
                ),
            };
            let mut verdict = Verdict::Proved;
            let mut checked = 0;
            for env in &environments {
                if !scope_may_match(&invariant.policy, env) {
                    continue;
                }
                checked += 1;
                let compile = |set: &PolicySet| {
                    CompiledPolicySet::compile(set, env, schema).map_err(|e| {
                        ProveError::Load(format!(
                            "{}: `{}` in {}: {e}",
                            invariant.file,
                            invariant.id,
                            describe_env(env)
                        ))
                    })
                };
                let (left, right) = (compile(&left)?, compile(&right)?);
                let found = compiler
                    .check_implies_with_counterexample_opt(&left, &right)
                    .await
                    .map_err(|e| ProveError::Solver(e.to_string()))?;
                if let Some(found) = found {
                    verdict = Verdict::Refuted(counterexample(env, &found, &base));
                    break;
                }
            }
            if checked == 0 {
                return Err(ProveError::Load(format!(
                    "{}: `{}` matches no request the schema admits (no action of its scope \
                     applies to any principal and resource): it would hold vacuously",
                    invariant.file, invariant.id
                )));
            }
            let report = InvariantReport {
                id: invariant.id.clone(),
                reason: invariant.reason.clone(),
                promise: invariant.promise,
                file: invariant.file.clone(),
                verdict,
                environments: checked,
                took: started.elapsed(),
            };
            progress(&report);
            reports.push(report);
        }
        Ok::<_, ProveError>(())
    })?;
    Ok(reports)
}

/// Whether the invariant's scope can match requests of `env` (a cheap
/// filter on the action; the solver decides the rest).
fn scope_may_match(policy: &Policy, env: &RequestEnv) -> bool {
    use cedar_policy::ActionConstraint;
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => uid == *env.action(),
        // `in` reaches groups and their members: leave it to the solver.
        ActionConstraint::In(_) => true,
    }
}

pub(crate) fn describe_env(env: &RequestEnv) -> String {
    format!("{}, {}, {}", env.principal(), env.action(), env.resource())
}

/// A counterexample a person (and `slicegate authorize`) can read.
pub(crate) fn counterexample(env: &RequestEnv, found: &Env, library: &PolicySet) -> Counterexample {
    let answer =
        cedar_policy::Authorizer::new().is_authorized(&found.request, library, &found.entities);
    let mut determining: Vec<String> = answer
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    determining.sort();
    let request = &found.request;
    let text = |v: Option<String>| v.unwrap_or_default();
    let context = request
        .context()
        .and_then(|c| c.to_json_value().ok())
        .unwrap_or(serde_json::Value::Null);
    let entities = {
        let mut out = Vec::new();
        let _ = found.entities.write_to_json(&mut out);
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
    };
    let mut context = context;
    let mut entities = entities;
    readable_datetimes(&mut context);
    readable_datetimes(&mut entities);
    Counterexample {
        environment: describe_env(env),
        request: serde_json::json!({
            "principal": text(request.principal().map(ToString::to_string)),
            "action": text(request.action().map(ToString::to_string)),
            "resource": text(request.resource().map(ToString::to_string)),
            "context": context,
        }),
        entities,
        library_allows: answer.decision() == cedar_policy::Decision::Allow,
        determining,
    }
}

/// The solver writes instants as `offset(datetime("1970-01-01"),
/// duration("…ms"))`; this writes them as the datetime they are
/// (`datetime("2023-12-31T22:59:59.999Z")`), where the arithmetic is exact.
pub fn readable_datetimes(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(instant) = map.get("__extn").and_then(offset_instant) {
                map.insert(
                    "__extn".to_string(),
                    serde_json::json!({"fn": "datetime", "arg": instant}),
                );
                return;
            }
            map.values_mut().for_each(readable_datetimes);
        }
        Value::Array(items) => items.iter_mut().for_each(readable_datetimes),
        _ => {}
    }
}

/// `offset(datetime("1970-01-01"), duration("Nms"))` as an RFC 3339 instant.
fn offset_instant(extn: &serde_json::Value) -> Option<String> {
    if extn["fn"] != "offset" {
        return None;
    }
    let args = extn["args"].as_array()?;
    let [base, duration] = args.as_slice() else {
        return None;
    };
    if base["__extn"]["fn"] != "datetime" || base["__extn"]["arg"] != "1970-01-01" {
        return None;
    }
    if duration["__extn"]["fn"] != "duration" {
        return None;
    }
    let ms: u64 = duration["__extn"]["arg"]
        .as_str()?
        .strip_suffix("ms")?
        .parse()
        .ok()?;
    // RFC 3339 has four-digit years: later instants stay as the solver wrote them.
    const YEAR_10000_MS: u64 = 253_402_300_800_000;
    if ms >= YEAR_10000_MS {
        return None;
    }
    let at = std::time::UNIX_EPOCH.checked_add(Duration::from_millis(ms))?;
    Some(humantime::format_rfc3339_millis(at).to_string())
}
