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
use std::time::Duration;

use cedar_policy::{Policy, PolicyId, PolicySet, Schema};
use cedar_policy_symcc::CedarSymCompiler;
use cedar_policy_symcc::solver::LocalSolver;
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
    /// Reads every `*.cedar` file under `dir` (subfolders included, the
    /// extension in any case, sorted), each policy a `forbid` or `permit`
    /// with `@id` and `@reason`; forbids annotated `@assumption` are
    /// assumptions. A file that is not UTF-8 Cedar, or holds a template, is
    /// an error.
    pub fn read_dir(dir: &Path) -> Result<Self, ProveError> {
        let mut files = Vec::new();
        collect_cedar(dir, &mut files)?;
        files.sort();
        let label = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut out = Invariants::default();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ProveError::Load(format!("{}: {e}", path.display())))?;
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            out.add_file(&format!("{label}/{}", relative.display()), &text)?;
        }
        Ok(out)
    }

    /// Adds the statements of one file's text.
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<(), ProveError> {
        let parsed = PolicySet::from_str(text)
            .map_err(|e| ProveError::Load(format!("{name}: {}", describe(&e))))?;
        if let Some(template) = parsed.templates().next() {
            return Err(ProveError::Load(format!(
                "{name}: an invariant is a policy, not a template (slots `?principal`, \
                 `?resource`):\n{template}"
            )));
        }
        for policy in parsed.policies() {
            let annotation = |key: &str| {
                policy.annotation(key).map(str::to_string).ok_or_else(|| {
                    ProveError::Load(format!("{name}: every invariant needs @{key}:\n{policy}"))
                })
            };
            let id = annotation("id")?;
            let reason = annotation("reason")?;
            if id.trim().is_empty() || id.chars().any(char::is_control) {
                return Err(ProveError::Load(format!(
                    "{name}: @id {id:?} must be a non-empty name without control characters"
                )));
            }
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
#[serde(rename_all = "camelCase")]
pub struct Counterexample {
    /// The request environment (`Type`, `Action::"…"`, `Type`).
    pub environment: String,
    /// The request: principal, action, resource and context, as
    /// `slicegate authorize` takes them.
    pub request: serde_json::Value,
    /// The entities, as Cedar's entities JSON.
    pub entities: serde_json::Value,
    /// The engine's decision on it: native `cedar-policy`'s on the library
    /// (the assumptions are the proof's, not the engine's), denied when a
    /// forbid errors. Allowed for a never-allowed
    /// promise, denied for an always-allowed one.
    pub library_allows: bool,
    /// The policies that determined Cedar's decision.
    pub determining: Vec<String>,
    /// The forbids that error on it (Cedar skips them; the engine denies).
    pub forbids_erroring: Vec<String>,
    /// When the engine denies because a forbid errors: that forbid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erroring_forbid: Option<String>,
}

/// An invariant's verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// No request in any environment is allowed by the library and forbidden
    /// by the invariant.
    Proved,
    /// The library allows what the invariant forbids.
    Refuted(Box<Counterexample>),
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
    // What the solver encodes is Cedar's semantics for well-typed policies:
    // a set that does not validate (and that `build` refuses) is not proved.
    if !native.validates() {
        return Err(ProveError::Load(
            "the policies do not pass strict validation against the schema (`slicegate build` \
             shows why and refuses them too)"
                .to_string(),
        ));
    }
    let (policies, schema, _) = native.parts();
    let schema = schema
        .cloned()
        .ok_or_else(|| ProveError::Load("proving needs a schema".to_string()))?;
    Ok((schema, policies.clone()))
}

/// Every `*.cedar` file (any case) under `dir`, recursively.
fn collect_cedar(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ProveError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| ProveError::Load(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| ProveError::Load(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            collect_cedar(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("cedar"))
        {
            out.push(path);
        }
    }
    Ok(())
}

mod check;
mod counterexample;
mod engine;

pub(crate) use check::describe_env;
pub use check::prove;
pub(crate) use counterexample::counterexample;
pub use counterexample::readable_datetimes;
pub use engine::{EngineForm, companion_id, engine_form};
