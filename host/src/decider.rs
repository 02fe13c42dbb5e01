//! The fail-closed front door: every request gets a decision, and anything
//! that goes wrong is a deny carrying its reason. A trapped instance is
//! discarded and the next request gets a fresh one.

use serde::{Deserialize, Serialize};

use crate::bindings::exports::slicegate::policy::{authorizer, loader, metadata};
use crate::bindings::slicegate::policy::types as wit;
use crate::decision::{self, Decision, Failure};
use crate::instance::PolicyInstance;
use crate::placement::{EvaluationTime, PlacementRequest};
use crate::plan::{DeploymentPlan, PlanResult};
use crate::runtime::Runtime;
use crate::sources::PolicySources;

/// A Cedar entity reference in a generic request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityRef {
    /// The entity type (`User`, `Slicegate::Vendor`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The entity id.
    pub id: String,
}

/// A generic Cedar request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CedarRequest {
    /// The principal.
    pub principal: EntityRef,
    /// The action.
    pub action: EntityRef,
    /// The resource.
    pub resource: EntityRef,
    /// The context: a JSON object in Cedar's JSON value format.
    #[serde(default = "empty_context")]
    pub context: serde_json::Value,
    /// Check the request against the schema. Leave true unless you know why.
    #[serde(default = "yes")]
    pub validate: bool,
    /// Entities the request brings (Cedar's entity JSON array), added to the
    /// loaded ones for this request only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<serde_json::Value>,
}

fn empty_context() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn yes() -> bool {
    true
}

impl CedarRequest {
    pub(crate) fn to_wit(&self) -> authorizer::Request {
        let uid = |e: &EntityRef| wit::EntityUid {
            type_name: e.type_name.clone(),
            id: e.id.clone(),
        };
        authorizer::Request {
            principal: uid(&self.principal),
            action: uid(&self.action),
            resource: uid(&self.resource),
            context_json: self.context.to_string(),
            validate: self.validate,
            entities_json: self.entities.as_ref().map(ToString::to_string),
        }
    }
}

/// What loading a policy set found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadReport {
    /// Policies loaded.
    pub policy_count: u32,
    /// Entities loaded (reference data and the schema's actions).
    pub entity_count: u32,
    /// Whether the policies pass strict validation against the schema.
    pub validates: bool,
    /// Validation errors, when they do not.
    pub validation_errors: Vec<String>,
    /// Policies compiled (the rest are interpreted).
    #[serde(default)]
    pub compiled_policies: u32,
}

impl From<loader::LoadReport> for LoadReport {
    fn from(r: loader::LoadReport) -> Self {
        LoadReport {
            policy_count: r.policy_count,
            entity_count: r.entity_count,
            validates: r.validates,
            validation_errors: r.validation_errors,
            compiled_policies: r.compiled_policies,
        }
    }
}

/// Decides requests against one policy set, failing closed.
pub struct Decider {
    runtime: Runtime,
    /// The sources to load into each fresh instance; `None` for a
    /// pre-initialised bundle, whose instances are ready as instantiated.
    sources: Option<loader::PolicySources>,
    instance: Option<PolicyInstance>,
    report: LoadReport,
    what_if_permitted: bool,
    /// When a bundle's decider may decide (none for a policy set loaded
    /// from sources).
    validity: Option<crate::validity::Validity>,
}

impl Decider {
    /// Loads `sources` into a fresh instance of `runtime`'s component. A
    /// policy set that does not load is an error here, never a decider that
    /// allows.
    pub fn new(runtime: &Runtime, sources: &PolicySources) -> Result<Self, Failure> {
        Self::loading(runtime, sources.to_wit())
    }

    /// As [`Decider::new`], with every policy left to Cedar's interpreter
    /// (none compiled): the reference the compiled path is checked and
    /// measured against.
    pub fn interpreted(runtime: &Runtime, sources: &PolicySources) -> Result<Self, Failure> {
        let mut wit = sources.to_wit();
        wit.compile = false;
        Self::loading(runtime, wit)
    }

    fn loading(runtime: &Runtime, sources: loader::PolicySources) -> Result<Self, Failure> {
        let sources = Some(sources);
        let (instance, report) = fresh_instance(runtime, sources.as_ref())?;
        Ok(Decider {
            runtime: runtime.clone(),
            sources,
            instance: Some(instance),
            report,
            what_if_permitted: false,
            validity: None,
        })
    }

    /// Decides with a pre-initialised bundle's component: every instance
    /// already holds the policy set, so nothing is parsed at instantiation.
    pub fn preinitialised(runtime: &Runtime) -> Result<Self, Failure> {
        let (mut instance, _) = fresh_instance(runtime, None)?;
        let info = instance.info()?;
        Ok(Decider {
            runtime: runtime.clone(),
            sources: None,
            instance: Some(instance),
            report: LoadReport {
                policy_count: info.policy_count,
                entity_count: info.entity_count,
                // A bundle is only built from a set that passed strict
                // validation (natively and in the engine's own load).
                validates: true,
                validation_errors: Vec::new(),
                compiled_policies: info.compiled_policies,
            },
            what_if_permitted: false,
            validity: None,
        })
    }

    /// Permits caller-supplied evaluation times (what-if evaluation). Off by
    /// default: the host's clock decides, so a deadline cannot be dodged.
    pub fn permit_what_if(mut self, permitted: bool) -> Self {
        self.what_if_permitted = permitted;
        self
    }

    /// Decides only inside `validity`, at the host's clock (whatever
    /// what-if time a request carries): outside it every answer is a deny
    /// with [`Failure::BundleExpired`].
    pub fn within(mut self, validity: crate::validity::Validity) -> Self {
        self.validity = Some(validity);
        self
    }

    /// The refusal every request gets now, if the bundle is out of its window.
    fn out_of_window(&self) -> Option<Failure> {
        self.validity
            .as_ref()
            .and_then(|v| v.check(std::time::SystemTime::now()).err())
    }

    /// What loading found.
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// The live instance, replacing a dead or missing one.
    fn instance(&mut self) -> Result<&mut PolicyInstance, Failure> {
        if self.instance.as_ref().is_none_or(PolicyInstance::is_dead) {
            self.instance = None;
            let (instance, _) = fresh_instance(&self.runtime, self.sources.as_ref())?;
            self.instance = Some(instance);
        }
        self.instance
            .as_mut()
            .ok_or_else(|| Failure::Internal("no instance".to_string()))
    }

    /// Decides a generic Cedar request.
    pub fn authorize(&mut self, request: &CedarRequest) -> Decision {
        if let Some(failure) = self.out_of_window() {
            return Decision::denied(failure);
        }
        let request = request.to_wit();
        match self.instance().and_then(|i| i.authorize(&request)) {
            Ok(result) => decision::from_guest(result),
            Err(failure) => Decision::denied(failure),
        }
    }

    /// Decides generic Cedar requests in one guest call.
    pub fn authorize_batch(&mut self, requests: &[CedarRequest]) -> Vec<Decision> {
        if let Some(failure) = self.out_of_window() {
            return vec![Decision::denied(failure); requests.len()];
        }
        let requests: Vec<_> = requests.iter().map(CedarRequest::to_wit).collect();
        match self.instance().and_then(|i| i.authorize_batch(&requests)) {
            Ok(results) => results.into_iter().map(decision::from_guest).collect(),
            Err(failure) => vec![Decision::denied(failure); requests.len()],
        }
    }

    /// The evaluation time for `request`: the host's clock, or the caller's
    /// what-if time where permitted.
    fn evaluation_time(&self, request: &PlacementRequest) -> Result<EvaluationTime, Failure> {
        self.time_for(request.at.as_ref())
    }

    fn time_for(&self, at: Option<&String>) -> Result<EvaluationTime, Failure> {
        match (at, self.what_if_permitted) {
            (None, _) => Ok(EvaluationTime::now()),
            (Some(at), true) => Ok(EvaluationTime::WhatIf(at.clone())),
            (Some(at), false) => Err(Failure::InvalidRequest(format!(
                "the request sets its own evaluation time ({at}); what-if evaluation is not permitted here, the host's clock decides"
            ))),
        }
    }

    /// Decides one placement.
    pub fn decide(&mut self, request: &PlacementRequest) -> Decision {
        self.decide_batch(std::slice::from_ref(request))
            .pop()
            .unwrap_or_else(|| Decision::denied(Failure::Internal("no decision".to_string())))
    }

    /// Decides placements in one guest call; answers are in request order.
    pub fn decide_batch(&mut self, requests: &[PlacementRequest]) -> Vec<Decision> {
        if let Some(failure) = self.out_of_window() {
            return vec![Decision::denied(failure); requests.len()];
        }
        let times: Vec<Result<EvaluationTime, Failure>> =
            requests.iter().map(|r| self.evaluation_time(r)).collect();
        let (indices, wit_requests): (Vec<usize>, Vec<_>) = requests
            .iter()
            .zip(&times)
            .enumerate()
            .filter_map(|(i, (r, t))| t.as_ref().ok().map(|t| (i, r.to_wit(t.instant()))))
            .unzip();
        let mut answers: Vec<Option<Decision>> = vec![None; requests.len()];
        if !wit_requests.is_empty() {
            let results = match self.instance().and_then(|i| i.decide_batch(&wit_requests)) {
                Ok(results) => results.into_iter().map(decision::from_guest).collect(),
                Err(failure) => vec![Decision::denied(failure); wit_requests.len()],
            };
            for (index, answer) in indices.into_iter().zip(results) {
                answers[index] = Some(answer);
            }
        }
        answers
            .into_iter()
            .zip(times)
            .map(|(answer, time)| match (answer, time) {
                (Some(mut decision), Ok(time)) => {
                    decision.evaluated_at = Some(time);
                    decision
                }
                (_, Err(failure)) => Decision::denied(failure),
                (None, Ok(_)) => Decision::denied(Failure::Internal("no answer".to_string())),
            })
            .collect()
    }

    /// Checks a deployment plan: every change and every kept item, then the
    /// plan-level rules on shares the guest computes from the plan.
    pub fn check_plan(&mut self, plan: &DeploymentPlan) -> PlanResult {
        if let Some(failure) = self.out_of_window() {
            return PlanResult::refused(failure);
        }
        let at = match self.time_for(plan.at.as_ref()) {
            Ok(at) => at,
            Err(failure) => return PlanResult::refused(failure),
        };
        let wit_plan = plan.to_wit(at.instant());
        match self.instance().and_then(|i| i.check_plan(&wit_plan)) {
            Ok(Ok(result)) => PlanResult::from_wit(result, at),
            Ok(Err(error)) => PlanResult::refused(Failure::from(error)),
            Err(failure) => PlanResult::refused(failure),
        }
    }

    /// The Cedar request a placement becomes, as JSON (`principal`,
    /// `action`, `resource`, `context`, and the per-request `entities`), for
    /// cross-checking with native Cedar and explaining.
    pub fn cedar_form(&mut self, request: &PlacementRequest) -> Result<serde_json::Value, Failure> {
        let at = self.evaluation_time(request)?;
        let wit_request = request.to_wit(at.instant());
        let text = self
            .instance()?
            .cedar_form(&wit_request)?
            .map_err(Failure::from)?;
        serde_json::from_str(&text)
            .map_err(|e| Failure::Internal(format!("the engine's Cedar form is not JSON: {e}")))
    }

    /// The fuel (roughly, WebAssembly instructions) the last guest call
    /// used, if an instance has run one: independent of the machine's load,
    /// unlike wall-clock time (it varies by a few tenths of a percent between
    /// instances, whose hash tables are seeded apart), so benchmarks report
    /// it beside medians.
    pub fn last_fuel(&self) -> Option<u64> {
        self.instance.as_ref().map(PolicyInstance::last_fuel)
    }

    /// Describes the loaded policy set.
    pub fn info(&mut self) -> Result<metadata::PolicySetInfo, Failure> {
        self.instance()?.info()
    }
}

/// A fresh instance, with `sources` loaded into it when given. The report
/// is empty for a pre-initialised instance.
fn fresh_instance(
    runtime: &Runtime,
    sources: Option<&loader::PolicySources>,
) -> Result<(PolicyInstance, LoadReport), Failure> {
    let mut instance = runtime
        .instantiate()
        .map_err(|e| Failure::Internal(e.to_string()))?;
    let report = match sources {
        Some(sources) => instance.load(sources)?.into(),
        None => LoadReport {
            policy_count: 0,
            entity_count: 0,
            validates: true,
            validation_errors: Vec::new(),
            compiled_policies: 0,
        },
    };
    Ok((instance, report))
}
