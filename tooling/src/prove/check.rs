//! The proof loop: each invariant, each request environment, solver
//! queries for the promise, for vacuity and (for an always-allowed promise)
//! for forbids that could error.

use std::time::Instant;

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicy, CompiledPolicySet};

use super::*;

/// Proves each invariant against `policies` under `schema`, calling
/// `progress` after each.
///
/// The engine denies whenever a `forbid` errors (fail closed), where Cedar
/// skips an erroring policy: the library is checked in its engine form (see
/// `engine.rs`), each forbid with a companion that applies where it errors,
/// so a counterexample is a request the engine itself allows (or denies).
/// An always-allowed promise additionally needs every `forbid` to be unable
/// to error on the requests of its environment, which is checked. An invariant that matches no
/// request (its scope, its condition or the assumptions exclude every one)
/// is an error: it would hold vacuously.
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
    // The library's forbids in the engine's form; the assumptions as Cedar
    // takes them: one that errors on a request excludes nothing there (an
    // assumption excludes what it states, not what it fails to evaluate).
    let mut engine = super::engine_form(policies, schema);
    engine.policies = with(&engine.policies, &assumptions)?;
    let environments: Vec<RequestEnv> = schema.request_envs().collect();
    let mut reports = Vec::new();
    runtime.block_on(async {
        let mut compiler = solver()?;
        let context = Context {
            schema,
            library: policies,
            engine: &engine.policies,
            inexact: &engine.inexact,
            assumptions: &assumptions,
        };
        for invariant in &invariants.invariants {
            let report = context
                .prove_one(&mut compiler, invariant, &environments)
                .await?;
            progress(&report);
            reports.push(report);
        }
        Ok::<_, ProveError>(())
    })?;
    Ok(reports)
}

struct Context<'a> {
    schema: &'a Schema,
    library: &'a PolicySet,
    /// The library in the engine's form (erroring forbids deny), with the
    /// assumptions.
    engine: &'a PolicySet,
    /// The forbids whose errors `engine` does not capture exactly.
    inexact: &'a [String],
    assumptions: &'a [&'a Statement],
}

impl Context<'_> {
    async fn prove_one(
        &self,
        compiler: &mut CedarSymCompiler<LocalSolver>,
        invariant: &Statement,
        environments: &[RequestEnv],
    ) -> Result<InvariantReport, ProveError> {
        let started = Instant::now();
        let solver_error = |e: cedar_policy_symcc::err::Error| {
            ProveError::Solver(format!(
                "{} `{}`: {e} (each query has a 60 s limit)",
                invariant.file, invariant.id
            ))
        };
        // Never allowed: the library implies the library with the invariant.
        // Always allowed: the invariant (under the assumptions) implies the
        // library.
        let (left, right) = match invariant.promise {
            Promise::NeverAllowed => (self.engine.clone(), with(self.engine, &[invariant])?),
            Promise::AlwaysAllowed => (
                with(
                    &PolicySet::new(),
                    &[&[invariant], self.assumptions].concat(),
                )?,
                self.engine.clone(),
            ),
        };
        // What the invariant matches, as a permit, under the assumptions.
        let matcher = with(
            &PolicySet::new(),
            &[&[&as_permit(invariant)?], self.assumptions].concat(),
        )?;
        let mut verdict = Verdict::Proved;
        let mut matched = 0;
        for env in environments {
            if !scope_may_match(&invariant.policy, env) {
                continue;
            }
            let compile = |set: &PolicySet, what: &str| {
                CompiledPolicySet::compile(set, env, self.schema).map_err(|e| {
                    ProveError::Load(format!(
                        "compiling {what} for `{}` ({}) in {}: {e}",
                        invariant.id,
                        invariant.file,
                        describe_env(env)
                    ))
                })
            };
            let never = compiler
                .check_always_denies_opt(&compile(&matcher, "what the invariant matches")?)
                .await
                .map_err(solver_error)?;
            if never {
                continue;
            }
            matched += 1;
            let (l, r) = (
                compile(&left, "the library with the invariant")?,
                compile(&right, "the library with the invariant")?,
            );
            if let Some(found) = compiler
                .check_implies_with_counterexample_opt(&l, &r)
                .await
                .map_err(solver_error)?
            {
                verdict = Verdict::Refuted(Box::new(counterexample(env, &found, self.library)));
                break;
            }
            if invariant.promise == Promise::AlwaysAllowed
                && let Some(cx) = self
                    .erroring_forbid(compiler, env)
                    .await
                    .map_err(solver_error)?
            {
                verdict = Verdict::Refuted(Box::new(cx));
                break;
            }
        }
        if matched == 0 {
            return Err(ProveError::Load(format!(
                "{}: `{}` matches no request the schema admits{}: it would hold vacuously",
                invariant.file,
                invariant.id,
                if self.assumptions.is_empty() {
                    String::new()
                } else {
                    " under the assumptions".to_string()
                }
            )));
        }
        Ok(InvariantReport {
            id: invariant.id.clone(),
            reason: invariant.reason.clone(),
            promise: invariant.promise,
            file: invariant.file.clone(),
            verdict,
            environments: matched,
            took: started.elapsed(),
        })
    }

    /// A request of `env` on which one of the library's forbids whose errors
    /// the engine form does not capture exactly errors (the engine then
    /// denies), if there is one.
    async fn erroring_forbid(
        &self,
        compiler: &mut CedarSymCompiler<LocalSolver>,
        env: &RequestEnv,
    ) -> Result<Option<Counterexample>, cedar_policy_symcc::err::Error> {
        for forbid in self
            .library
            .policies()
            .filter(|p| p.effect() == Effect::Forbid)
            .filter(|p| self.inexact.contains(&p.id().to_string()))
        {
            let Ok(compiled) = CompiledPolicy::compile(forbid, env, self.schema) else {
                continue;
            };
            if let Some(found) = compiler
                .check_never_errors_with_counterexample_opt(&compiled)
                .await?
            {
                let mut cx = counterexample(env, &found, self.library);
                cx.erroring_forbid = Some(forbid.id().to_string());
                return Ok(Some(cx));
            }
        }
        Ok(None)
    }
}

/// The invariant with the effect `permit`: it allows exactly what the
/// invariant matches.
fn as_permit(invariant: &Statement) -> Result<Statement, ProveError> {
    let mut json = invariant
        .policy
        .to_json()
        .map_err(|e| ProveError::Load(format!("{}: {e}", invariant.file)))?;
    json["effect"] = "permit".into();
    let policy = Policy::from_json(
        Some(PolicyId::new(format!("matches:{}", invariant.id))),
        json,
    )
    .map_err(|e| ProveError::Load(format!("{}: {e}", invariant.file)))?;
    Ok(Statement {
        policy,
        ..invariant.clone()
    })
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
