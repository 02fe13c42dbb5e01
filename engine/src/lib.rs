//! The slicegate guest: Cedar policy evaluation inside a WebAssembly
//! component. It implements `wit/slicegate.wit`, keeps the parsed policy set
//! in instance state, and touches no file, clock, network or environment.

mod authorize;
mod checks;
mod compiled;
mod decide;
mod decision;
mod index;
mod load;
mod placement;
mod plan;
mod registry;
mod state;
mod stores;
mod time;
mod trust;
mod values;

use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../wit",
    world: "policy-component",
    // Plans compare a change's record with the installed one.
    additional_derives: [PartialEq, Eq],
});

use exports::slicegate::policy::{authorizer, loader, metadata, placement as placement_api};
use slicegate::policy::types::{Decision, Error};

use state::LoadedPolicySet;

/// The component's implementation of every exported interface.
struct PolicyEngine;

thread_local! {
    /// The policy set loaded into this instance (by `load`, usually during
    /// pre-initialisation at build time).
    static LOADED: RefCell<Option<LoadedPolicySet>> = const { RefCell::new(None) };
}

/// Runs `f` with the loaded policy set, or fails with `not-loaded`.
fn with_loaded<T>(f: impl FnOnce(&LoadedPolicySet) -> Result<T, Error>) -> Result<T, Error> {
    LOADED.with(|cell| match cell.borrow().as_ref() {
        Some(set) => f(set),
        None => Err(Error::NotLoaded),
    })
}

/// Cedar's top-level error messages are terse; the detail is in the source
/// chain. Joins the whole chain into one line.
pub(crate) fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl loader::Guest for PolicyEngine {
    fn load(sources: loader::PolicySources) -> Result<loader::LoadReport, Error> {
        let (set, report) = load::load(sources)?;
        LOADED.with(|cell| *cell.borrow_mut() = Some(set));
        values::warm_up();
        Ok(report)
    }
}

impl authorizer::Guest for PolicyEngine {
    fn authorize(request: authorizer::Request) -> Result<Decision, Error> {
        with_loaded(|set| authorize::authorize(set, &request))
    }

    fn authorize_batch(requests: Vec<authorizer::Request>) -> Vec<Result<Decision, Error>> {
        requests
            .iter()
            .map(|request| with_loaded(|set| authorize::authorize(set, request)))
            .collect()
    }
}

impl placement_api::Guest for PolicyEngine {
    fn decide(request: placement_api::PlacementRequest) -> Result<Decision, Error> {
        with_loaded(|set| decide::decide(set, &request))
    }

    fn decide_batch(
        requests: Vec<placement_api::PlacementRequest>,
    ) -> Vec<Result<Decision, Error>> {
        requests
            .iter()
            .map(|request| with_loaded(|set| decide::decide(set, request)))
            .collect()
    }

    fn check_plan(plan: placement_api::DeploymentPlan) -> Result<placement_api::PlanResult, Error> {
        with_loaded(|set| plan::check(set, &plan))
    }

    fn cedar_form(request: placement_api::PlacementRequest) -> Result<String, Error> {
        with_loaded(|set| decide::cedar_form(set, &request))
    }
}

impl metadata::Guest for PolicyEngine {
    fn info() -> Result<metadata::PolicySetInfo, Error> {
        with_loaded(|set| {
            let (compiled_decisions, interpreted_decisions) = compiled::counted();
            Ok(metadata::PolicySetInfo {
                compiled_decisions,
                interpreted_decisions,
                ..set.info.clone()
            })
        })
    }
}

export!(PolicyEngine);
