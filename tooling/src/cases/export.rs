//! Every case of a library (and its example plans and placements) as the
//! plain request a host hands the component, with this host's decision: the
//! input of the cross-host conformance run, in which other hosts (Python,
//! Node) decide the same requests on the same signed bundle and must give
//! the same answers.
//!
//! A decision is compared by what an orchestrator enforces and why: allow
//! or deny, the kind of failure that denied without a policy, the
//! determining policies and the erroring ones (ids, in order). A plan adds
//! every item's decision, the plan-level decision and the shares.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};
use slicegate::{CedarRequest, Decision, DeploymentPlan, PlacementRequest, PlanFile, PlanResult};

use super::{CaseFile, CaseKind, Runner};

/// One request and the decision this host made on it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedCase {
    /// Where it comes from (a case file, or an example file).
    pub file: String,
    /// The case's name (or the example's label).
    pub name: String,
    /// `placement`, `plan` or `cedar`.
    pub kind: &'static str,
    /// The request as the component's WIT takes it, in JSON (camelCase
    /// field names; a generic Cedar request carries its context and
    /// entities as JSON text).
    pub input: Value,
    /// This host's decision, summarised (see [`summary`]).
    pub decision: Value,
}

/// The export: the cases and how long this host took per placement.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Export {
    /// The requests, in file order.
    pub cases: Vec<ExportedCase>,
    /// Median wall-clock microseconds of one placement decision (one
    /// `decide` call each) on this host.
    pub placement_median_micros: f64,
}

/// What is compared of a decision.
pub fn summary(decision: &Decision) -> Value {
    let failure = decision.failure.as_ref().map(|f| {
        serde_json::to_value(f)
            .ok()
            .and_then(|v| v.get("kind").cloned())
            .unwrap_or(Value::Null)
    });
    json!({
        "allowed": decision.allowed,
        "failure": failure,
        "determining": decision.determining_ids(),
        "errors": decision.errors.iter().map(|e| e.policy_id.as_str()).collect::<Vec<_>>(),
    })
}

/// What is compared of a plan's result.
pub fn plan_summary(result: &PlanResult) -> Value {
    let shares = |shares: &[slicegate::plan::Share]| {
        shares
            .iter()
            .map(|s| json!([s.name, s.basis_points]))
            .collect::<Vec<_>>()
    };
    json!({
        "allowed": result.allowed,
        "failure": result.failure.as_ref().map(|_| "refused"),
        "items": result.items.iter().map(|i| json!({
            "equipmentId": i.equipment_id,
            "operation": i.operation.name(),
            "decision": summary(&i.decision),
        })).collect::<Vec<_>>(),
        "plan": summary(&result.plan),
        "accessWeight": result.access_weight,
        "listedShares": shares(&result.listed_shares),
        "vendorShares": shares(&result.vendor_shares),
    })
}

/// A placement request as the WIT takes it: `at` set (a case always sets
/// its own time; the other hosts are told to permit what-if times too).
fn placement_input(request: &PlacementRequest) -> Value {
    serde_json::to_value(request).unwrap_or(Value::Null)
}

fn plan_input(plan: &DeploymentPlan) -> Value {
    serde_json::to_value(plan).unwrap_or(Value::Null)
}

fn cedar_input(request: &CedarRequest) -> Value {
    let uid = |e: &slicegate::EntityRef| json!({"typeName": e.type_name, "id": e.id});
    json!({
        "principal": uid(&request.principal),
        "action": uid(&request.action),
        "resource": uid(&request.resource),
        "contextJson": request.context.to_string(),
        "validate": request.validate,
        "entitiesJson": request.entities.as_ref().map(ToString::to_string),
    })
}

/// Exports every case of `files` the runner's bundle applies to, then the
/// example plans (`examples/plans/*.json`) and placements
/// (`examples/demo-placements.json`) under `examples`, when present.
/// A case that does not parse is an error: the export must hold every case.
pub fn export(
    runner: &mut Runner<'_>,
    files: &[CaseFile],
    examples: Option<&Path>,
) -> Result<Export, String> {
    let mut out = Vec::new();
    let mut micros = Vec::new();
    for file in files {
        let path = file.path.display().to_string();
        for (_, case) in &file.cases {
            if !runner.applies(case) {
                continue;
            }
            let value = runner.resolve(case)?;
            let exported = match case.kind {
                CaseKind::Placement => {
                    let request: PlacementRequest = parse(value, &path, &case.name)?;
                    place(runner, &request, &mut micros)
                }
                CaseKind::Plan => {
                    let plan_file: PlanFile = parse(value, &path, &case.name)?;
                    let plan = plan_file.resolve(&path).map_err(|e| e.to_string())?;
                    plan_case(runner, &plan)
                }
                CaseKind::Cedar => {
                    let request = crate::native::request_from_json(&value.to_string())
                        .map_err(|e| format!("{path}: case `{}`: {e}", case.name))?;
                    let decision = runner.decider().authorize(&request);
                    ("cedar", cedar_input(&request), summary(&decision))
                }
            };
            out.push(exported_case(&path, &case.name, exported));
        }
    }
    if let Some(examples) = examples {
        export_examples(runner, examples, &mut out, &mut micros)?;
    }
    micros.sort_by(f64::total_cmp);
    let median = micros.get(micros.len() / 2).copied().unwrap_or(0.0);
    Ok(Export {
        cases: out,
        placement_median_micros: median,
    })
}

fn exported_case(file: &str, name: &str, (kind, input, decision): Decided) -> ExportedCase {
    ExportedCase {
        file: file.to_string(),
        name: name.to_string(),
        kind,
        input,
        decision,
    }
}

type Decided = (&'static str, Value, Value);

fn parse<T: serde::de::DeserializeOwned>(
    value: Value,
    file: &str,
    name: &str,
) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("{file}: case `{name}`: {e}"))
}

fn place(runner: &mut Runner<'_>, request: &PlacementRequest, micros: &mut Vec<f64>) -> Decided {
    let started = Instant::now();
    let decision = runner.decider().decide(request);
    micros.push(started.elapsed().as_secs_f64() * 1e6);
    ("placement", placement_input(request), summary(&decision))
}

fn plan_case(runner: &mut Runner<'_>, plan: &DeploymentPlan) -> Decided {
    let result = runner.decider().check_plan(plan);
    ("plan", plan_input(plan), plan_summary(&result))
}

/// The example plans and placements under `examples`.
fn export_examples(
    runner: &mut Runner<'_>,
    examples: &Path,
    out: &mut Vec<ExportedCase>,
    micros: &mut Vec<f64>,
) -> Result<(), String> {
    let plans = examples.join("plans");
    if plans.is_dir() {
        let mut paths: Vec<_> = std::fs::read_dir(&plans)
            .map_err(|e| format!("{}: {e}", plans.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let shown = path.display().to_string();
            let file = PlanFile::read(&path).map_err(|e| e.to_string())?;
            let plan = file.resolve(&shown).map_err(|e| e.to_string())?;
            let name = if file.name.is_empty() {
                shown.clone()
            } else {
                file.name.clone()
            };
            out.push(exported_case(&shown, &name, plan_case(runner, &plan)));
        }
    }
    let placements = examples.join("demo-placements.json");
    if placements.is_file() {
        let shown = placements.display().to_string();
        let text = std::fs::read_to_string(&placements).map_err(|e| format!("{shown}: {e}"))?;
        let labelled: Vec<Labelled> =
            serde_json::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
        for entry in labelled {
            out.push(exported_case(
                &shown,
                &entry.label,
                place(runner, &entry.request, micros),
            ));
        }
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Labelled {
    label: String,
    request: PlacementRequest,
}
