//! One live policy instance. After any trap it is dead and refuses every
//! further call: a trapped instance is never reused.

use wasmtime::{Store, Trap};

use crate::bindings::PolicyComponent;
use crate::bindings::exports::slicegate::policy::{authorizer, loader, metadata, placement};
use crate::bindings::slicegate::policy::types as wit;
use crate::decision::Failure;
use crate::limits::{LimitKind, Limits};
use crate::store::HostState;

/// A policy component instance in its own store.
pub struct PolicyInstance {
    store: Store<HostState>,
    bindings: PolicyComponent,
    limits: Limits,
    /// Set after a trap; the instance must be discarded.
    dead: Option<Failure>,
    /// Fuel the last call used.
    last_fuel: u64,
}

impl PolicyInstance {
    pub(crate) fn new(store: Store<HostState>, bindings: PolicyComponent, limits: Limits) -> Self {
        PolicyInstance {
            store,
            bindings,
            limits,
            dead: None,
            last_fuel: 0,
        }
    }

    /// The fuel (roughly, WebAssembly instructions) the last call used:
    /// independent of the machine's load, so a low-noise measure of guest
    /// work for benchmarks (hash tables seeded per instance move it by a few
    /// tenths of a percent).
    pub fn last_fuel(&self) -> u64 {
        self.last_fuel
    }

    /// Whether an earlier call trapped; a dead instance answers nothing.
    pub fn is_dead(&self) -> bool {
        self.dead.is_some()
    }

    /// Runs one guest call with `fuel`, turning a trap into a failure and
    /// marking the instance dead.
    fn call<T>(
        &mut self,
        fuel: u64,
        f: impl FnOnce(&PolicyComponent, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, Failure> {
        if let Some(failure) = &self.dead {
            return Err(failure.clone());
        }
        if let Err(e) = self.store.set_fuel(fuel) {
            return Err(Failure::Internal(format!("setting fuel: {e:#}")));
        }
        let result = f(&self.bindings, &mut self.store);
        self.last_fuel = fuel.saturating_sub(self.store.get_fuel().unwrap_or(0));
        match result {
            Ok(value) => Ok(value),
            Err(error) => {
                let failure = self.classify(&error);
                self.dead = Some(failure.clone());
                Err(failure)
            }
        }
    }

    fn classify(&self, error: &wasmtime::Error) -> Failure {
        if self.store.data().memory.refused {
            return Failure::Limit(LimitKind::Memory);
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => Failure::Limit(LimitKind::Fuel),
            Some(Trap::StackOverflow) => Failure::Limit(LimitKind::Stack),
            Some(trap) => Failure::Trap(trap.to_string()),
            None => Failure::Trap(format!("{error:#}")),
        }
    }

    /// Loads a policy set into this instance.
    pub fn load(&mut self, sources: &loader::PolicySources) -> Result<loader::LoadReport, Failure> {
        let fuel = self.limits.fuel_per_load;
        self.call(fuel, |b, store| {
            b.slicegate_policy_loader().call_load(store, sources)
        })?
        .map_err(Failure::from)
    }

    /// Decides one generic Cedar request.
    pub fn authorize(
        &mut self,
        request: &authorizer::Request,
    ) -> Result<Result<wit::Decision, wit::Error>, Failure> {
        let fuel = self.limits.fuel_per_decision;
        self.call(fuel, |b, store| {
            b.slicegate_policy_authorizer()
                .call_authorize(store, request)
        })
    }

    /// Decides several generic Cedar requests in one call; the fuel budget
    /// is one decision's per request.
    pub fn authorize_batch(
        &mut self,
        requests: &[authorizer::Request],
    ) -> Result<Vec<Result<wit::Decision, wit::Error>>, Failure> {
        let fuel = self.batch_fuel(requests.len());
        self.call(fuel, |b, store| {
            b.slicegate_policy_authorizer()
                .call_authorize_batch(store, requests)
        })
    }

    /// Decides one placement.
    pub fn decide(
        &mut self,
        request: &placement::PlacementRequest,
    ) -> Result<Result<wit::Decision, wit::Error>, Failure> {
        let fuel = self.limits.fuel_per_decision;
        self.call(fuel, |b, store| {
            b.slicegate_policy_placement().call_decide(store, request)
        })
    }

    /// Decides several placements in one call.
    pub fn decide_batch(
        &mut self,
        requests: &[placement::PlacementRequest],
    ) -> Result<Vec<Result<wit::Decision, wit::Error>>, Failure> {
        let fuel = self.batch_fuel(requests.len());
        self.call(fuel, |b, store| {
            b.slicegate_policy_placement()
                .call_decide_batch(store, requests)
        })
    }

    /// Checks a deployment plan; the budget is one decision's per item,
    /// plus one for the plan-level rules.
    pub fn check_plan(
        &mut self,
        plan: &placement::DeploymentPlan,
    ) -> Result<Result<placement::PlanResult, wit::Error>, Failure> {
        let fuel = self.batch_fuel(plan.installed.len() + plan.changes.len() + 1);
        self.call(fuel, |b, store| {
            b.slicegate_policy_placement().call_check_plan(store, plan)
        })
    }

    /// The Cedar form of a placement (JSON).
    pub fn cedar_form(
        &mut self,
        request: &placement::PlacementRequest,
    ) -> Result<Result<String, wit::Error>, Failure> {
        let fuel = self.limits.fuel_per_decision;
        self.call(fuel, |b, store| {
            b.slicegate_policy_placement()
                .call_cedar_form(store, request)
        })
    }

    /// Describes the loaded policy set.
    pub fn info(&mut self) -> Result<metadata::PolicySetInfo, Failure> {
        let fuel = self.limits.fuel_per_decision;
        self.call(fuel, |b, store| {
            b.slicegate_policy_metadata().call_info(store)
        })?
        .map_err(Failure::from)
    }

    fn batch_fuel(&self, requests: usize) -> u64 {
        self.limits
            .fuel_per_decision
            .saturating_mul(u64::try_from(requests.max(1)).unwrap_or(u64::MAX))
    }
}
