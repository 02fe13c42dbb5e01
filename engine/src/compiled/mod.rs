//! The policy compiler: at load (so in the pre-initialised snapshot), each
//! policy's condition is translated into a [`node::Node`] tree that the
//! evaluator in [`eval`] runs without Cedar's request, store or authorizer.
//!
//! A policy the compiler does not handle stays with Cedar's interpreter
//! ([`CompiledSet::rest`]); a decision evaluates the compiled ones itself and
//! the rest with Cedar, and combines them as Cedar's authorizer does. When a
//! compiled condition reaches anything Cedar would report as an error (or a
//! case the evaluator leaves out), the whole decision is made by the
//! interpreter instead, so errors, their messages and the fail-closed rule
//! for erroring forbids are Cedar's own.

pub mod eval;
pub mod node;

use std::collections::HashSet;
use std::sync::Arc;

use cedar_policy::{PolicyId, PolicySet};
use cedar_policy_core::ast;

use eval::{Bail, Env, holds};
use node::{CompiledPolicy, compile_policy};

/// A policy set, split into the compiled policies and the rest.
pub struct CompiledSet {
    pub compiled: Vec<Arc<CompiledPolicy>>,
    /// The policies left to the interpreter (`None` when there are none, or
    /// when nothing is compiled: such a set is never run).
    pub rest: Option<PolicySet>,
    /// How many shared subexpressions the compiled policies keep.
    pub slots: usize,
}

thread_local! {
    /// Decisions made since instantiation: (compiled, interpreted).
    static DECISIONS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// Counts one decision, made by the compiled evaluator or not.
pub fn count(compiled: bool) {
    DECISIONS.with(|cell| {
        let (c, i) = cell.get();
        cell.set(if compiled {
            (c.saturating_add(1), i)
        } else {
            (c, i.saturating_add(1))
        });
    });
}

/// The decisions counted so far: (compiled, interpreted).
pub fn counted() -> (u64, u64) {
    DECISIONS.with(std::cell::Cell::get)
}

/// What the compiled policies of a set say about one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Satisfied {
    pub permits: Vec<PolicyId>,
    pub forbids: Vec<PolicyId>,
}

impl CompiledSet {
    /// A set with nothing compiled: never run (see [`CompiledSet::run`]),
    /// its decisions are the interpreter's over the whole set.
    pub fn none() -> CompiledSet {
        CompiledSet {
            compiled: Vec::new(),
            rest: None,
            slots: 0,
        }
    }

    /// Compiles every policy of `policies` it can (none unless `compile`).
    pub fn build(policies: &PolicySet, compile: bool) -> CompiledSet {
        if !compile {
            return CompiledSet::none();
        }
        let core: &ast::PolicySet = policies.as_ref();
        // Shared subexpressions among the static policies that compile on
        // their own (depth-bounded), so nothing deeper is ever hashed.
        let alone = node::Shared::new();
        let conditions: Vec<ast::Expr> = core
            .policies()
            .filter(|p| p.is_static() && compile_policy(p, &alone).is_some())
            .map(|p| p.condition())
            .collect();
        let shared = node::shared(&conditions);
        let mut compiled = Vec::new();
        let mut rest = PolicySet::new();
        let mut kept = 0usize;
        for policy in core.policies() {
            match compile_policy(policy, &shared) {
                Some(policy) => compiled.push(policy),
                None => {
                    let id = PolicyId::new(policy.id().as_ref());
                    // A static policy is added alone; a linked one that
                    // is not compiled keeps the whole set interpreted.
                    let added = policies
                        .policy(&id)
                        .filter(|p| p.is_static())
                        .is_some_and(|p| rest.add(p.clone()).is_ok());
                    if !added {
                        // Cannot be split exactly: nothing is compiled.
                        return CompiledSet::none();
                    }
                    kept += 1;
                }
            }
        }
        CompiledSet {
            compiled,
            rest: (kept > 0).then_some(rest),
            slots: shared.len(),
        }
    }

    /// The part of this set (the whole loaded set, `policies`) that the
    /// subset of the policies `ids` keeps: the same compiled policies
    /// (shared, in this set's order, with this set's shared-subexpression
    /// slots) and the subset's others for the interpreter (none kept when
    /// nothing is compiled). `None` when an id is not in `policies`.
    pub fn restrict(&self, ids: &[PolicyId], policies: &PolicySet) -> Option<CompiledSet> {
        let wanted: HashSet<&PolicyId> = ids.iter().collect();
        let compiled: Vec<Arc<CompiledPolicy>> = self
            .compiled
            .iter()
            .filter(|p| wanted.contains(&p.id))
            .cloned()
            .collect();
        let done: HashSet<&PolicyId> = compiled.iter().map(|p| &p.id).collect();
        let others: Vec<PolicyId> = ids
            .iter()
            .filter(|id| !done.contains(id))
            .cloned()
            .collect();
        // With nothing compiled the set is never run (see `run`): the
        // interpreter takes the subset itself, so no copy is kept here.
        let rest = if others.is_empty() || compiled.is_empty() {
            None
        } else {
            Some(crate::index::lean_subset(policies, &others)?)
        };
        Some(CompiledSet {
            slots: if compiled.is_empty() { 0 } else { self.slots },
            compiled,
            rest,
        })
    }

    /// Evaluates the compiled policies; `Err(Bail)` when one reaches an
    /// error or a case left to the interpreter, and when there are none (a
    /// set with nothing compiled is decided by the interpreter alone).
    pub fn run<'a>(&'a self, env: &Env<'a>) -> Result<Satisfied, Bail> {
        if self.compiled.is_empty() {
            return Err(Bail);
        }
        let mut satisfied = Satisfied::default();
        env.memo.replace(vec![None; self.slots]);
        for policy in &self.compiled {
            if holds(&policy.condition, env)? {
                if policy.forbid {
                    satisfied.forbids.push(policy.id.clone());
                } else {
                    satisfied.permits.push(policy.id.clone());
                }
            }
        }
        Ok(satisfied)
    }
}

/// The parts of a Cedar request the compiled evaluator reads, or `None`
/// for a request with unknowns (left to the interpreter).
pub fn parts_of(
    request: &cedar_policy::Request,
) -> Option<(ast::Value, ast::Value, ast::Value, ast::Value)> {
    let uid = |u: Option<&cedar_policy::EntityUid>| {
        u.map(|u| ast::Value::from(AsRef::<ast::EntityUID>::as_ref(u).clone()))
    };
    let context = match request.context().map(AsRef::<ast::Context>::as_ref)? {
        ast::Context::Value(attrs) => ast::Value::record_arc(Arc::clone(attrs), None),
        ast::Context::RestrictedResidual(_) => return None,
    };
    Some((
        uid(request.principal())?,
        uid(request.action())?,
        uid(request.resource())?,
        context,
    ))
}

/// Decides a Cedar request against `policies` (whose compiled form is
/// `compiled`) over `entities`: the compiled policies by the evaluator, the
/// rest by Cedar; the whole set by Cedar when the evaluator bails.
pub fn decide(
    set: &crate::state::LoadedPolicySet,
    compiled: &CompiledSet,
    policies: &PolicySet,
    request: &cedar_policy::Request,
    entities: &cedar_policy::Entities,
) -> crate::slicegate::policy::types::Decision {
    let authorize = |policies: &PolicySet| {
        cedar_policy::Authorizer::new().is_authorized(request, policies, entities)
    };
    let parts = parts_of(request);
    let store: &cedar_policy_core::entities::Entities = entities.as_ref();
    let lookup = |uid: &ast::EntityUID| match store.entity(uid) {
        cedar_policy_core::entities::Dereference::Data(entity) => Ok(eval::Found::Data(entity)),
        cedar_policy_core::entities::Dereference::NoSuchEntity => Ok(eval::Found::Missing),
        #[allow(unreachable_patterns)]
        _ => Err(Bail),
    };
    let verdict = match &parts {
        Some((principal, action, resource, context)) => compiled.run(&Env {
            principal,
            action,
            resource,
            context,
            lookup: &lookup,
            memo: Default::default(),
        }),
        None => Err(Bail),
    };
    match verdict {
        Ok(satisfied) => {
            count(true);
            let rest = compiled.rest.as_ref().map(authorize);
            crate::decision::from_compiled(set, satisfied, rest.as_ref())
        }
        Err(Bail) => {
            count(false);
            crate::decision::from_response(set, &authorize(policies))
        }
    }
}

#[cfg(test)]
pub mod profile;
