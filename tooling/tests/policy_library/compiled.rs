//! Every case of the library and every example, decided on the compiled
//! path and with compiling off (Cedar's interpreter in the engine): the
//! same decision record, reasons, errors and messages included, and the
//! compiled evaluator, not the interpreter, deciding them.

use slicegate::{Decider, DeploymentPlan, PlacementRequest, Runtime};
use slicegate_tooling::cases::export::export;
use slicegate_tooling::cases::{CaseFile, Runner};

use crate::support::{policies, shipped_decider, sources};

#[test]
fn every_case_decides_alike_compiled_and_interpreted() {
    let files = CaseFile::discover(&policies()).expect("case files read");
    let mut shipped = shipped_decider();
    let mut runner = Runner::new(&mut shipped, None, &files)
        .expect("fixtures")
        .with_packs(&sources().packs())
        .with_network_regimes(sources());
    let exported = export(&mut runner, &files, Some(&policies().join("examples"))).expect("export");
    let runtime = Runtime::new(slicegate::Limits::default()).expect("runtime");
    let mut compiled = Decider::new(&runtime, sources())
        .expect("loads")
        .permit_what_if(true);
    let mut interpreted = Decider::interpreted(&runtime, sources())
        .expect("loads")
        .permit_what_if(true);
    assert_eq!(
        compiled.load_report().compiled_policies,
        compiled.load_report().policy_count,
        "every library policy compiles"
    );
    let (mut placements, mut plans) = (0, 0);
    let mut handed = Vec::new();
    for case in &exported.cases {
        let name = format!("{} / {}", case.file, case.name);
        let before = compiled.info().expect("info").interpreted_decisions;
        match case.kind {
            "placement" => {
                let request: PlacementRequest =
                    serde_json::from_value(case.input.clone()).expect("a placement");
                assert_eq!(
                    compiled.decide(&request),
                    interpreted.decide(&request),
                    "{name}"
                );
                placements += 1;
            }
            "plan" => {
                let plan: DeploymentPlan =
                    serde_json::from_value(case.input.clone()).expect("a plan");
                assert_eq!(
                    compiled.check_plan(&plan),
                    interpreted.check_plan(&plan),
                    "{name}"
                );
                plans += 1;
            }
            _ => {}
        }
        if compiled.info().expect("info").interpreted_decisions != before {
            handed.push(name);
        }
    }
    // Every decision the library makes is the compiled evaluator's (plans'
    // adoption decisions included): none of its policies errors on a
    // request the typed interface accepts.
    assert!(
        handed.is_empty(),
        "decided by the interpreter alone: {handed:#?}"
    );
    assert!(
        placements > 250 && plans > 20,
        "{placements} placements, {plans} plans"
    );
    let info = compiled.info().expect("info");
    let shipped_info = shipped.info().expect("info");
    assert_eq!(shipped_info.compiled_policies, shipped_info.policy_count);
    assert_eq!(info.interpreted_decisions, 0, "{info:?}");
    assert!(info.compiled_decisions > 0, "{info:?}");
    assert_eq!(interpreted.info().expect("info").compiled_decisions, 0);
}
