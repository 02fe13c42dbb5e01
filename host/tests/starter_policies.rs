//! Decisions on the starter 5G policies, through the component: allow and
//! deny with the right determining policies, deadlines at their instant,
//! and fail-closed answers for unknown entities and bad requests.

use std::path::Path;
use std::sync::OnceLock;

use slicegate::{
    Decider, Decision, Domain, Equipment, Failure, Limits, Operation, PlacementRequest,
    PolicySources, Runtime, Site, Slice,
};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(Limits::default()).expect("runtime"))
}

fn decider() -> Decider {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let sources = PolicySources::from_dir(&dir).expect("starter policies read");
    Decider::new(runtime(), &sources)
        .expect("starter policies load")
        .permit_what_if(true)
}

fn placement(operation: Operation, vendor: &str, domain: Domain, at: &str) -> PlacementRequest {
    PlacementRequest {
        operation,
        equipment: Equipment {
            id: "eq-1".into(),
            vendor: vendor.into(),
            model: "M1".into(),
            function: "UPF".into(),
            domain,
            software_version: "1.0".into(),
            software_signed: true,
        },
        slice: Slice {
            id: "embb".into(),
            sst: 1,
            sd: None,
            category: "consumer".into(),
        },
        site: Site {
            id: "lon-1".into(),
            country: "GB".into(),
            sensitive: false,
        },
        network: "gb-example-mobile".into(),
        at: Some(at.into()),
    }
}

fn ids(decision: &Decision) -> Vec<&str> {
    decision.determining_ids()
}

#[test]
fn trusted_vendor_is_allowed_by_the_baseline_permit() {
    let decision = decider().decide(&placement(
        Operation::Place,
        "ericsson",
        Domain::Ran,
        "2026-01-01T00:00:00Z",
    ));
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(ids(&decision), ["baseline/known-vendor"]);
    let permit = &decision.determining[0];
    assert_eq!(permit.pack.as_deref(), Some("baseline-procurement"));
    assert!(
        permit
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("ultimate owner")
    );
    assert!(
        permit
            .source
            .as_deref()
            .unwrap_or_default()
            .contains("Prague")
    );
    assert_eq!(decision.bundle_revision, Some(0));
}

#[test]
fn huawei_core_is_allowed_the_instant_before_the_uk_deadline_and_denied_at_it() {
    let mut decider = decider();
    let before = decider.decide(&placement(
        Operation::Operate,
        "huawei",
        Domain::Core,
        "2023-12-31T23:59:59Z",
    ));
    assert!(before.allowed, "{before:?}");
    let at = decider.decide(&placement(
        Operation::Operate,
        "huawei",
        Domain::Core,
        "2024-01-01T00:00:00Z",
    ));
    assert!(!at.allowed);
    assert_eq!(ids(&at), ["uk-hrv/huawei-out-of-core"]);
    assert!(!at.determining[0].permit);
}

#[test]
fn a_subsidiary_is_caught_through_the_ownership_chain() {
    // The fictional test vendor is `in` Vendor::"huawei" in the reference data.
    let decision = decider().decide(&placement(
        Operation::Place,
        "test-huawei-subsidiary",
        Domain::Ran,
        "2026-01-01T00:00:00Z",
    ));
    assert!(!decision.allowed);
    assert_eq!(ids(&decision), ["uk-hrv/no-new-huawei-5g"]);
}

#[test]
fn terminate_is_never_blocked() {
    let decision = decider().decide(&placement(
        Operation::Terminate,
        "huawei",
        Domain::Core,
        "2026-01-01T00:00:00Z",
    ));
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(ids(&decision), ["baseline/removal-never-blocked"]);
}

#[test]
fn an_unknown_vendor_is_denied_before_evaluation() {
    let decision = decider().decide(&placement(
        Operation::Place,
        "no-such-vendor",
        Domain::Ran,
        "2026-01-01T00:00:00Z",
    ));
    assert!(!decision.allowed);
    match &decision.failure {
        Some(Failure::UnknownEntity(message)) => {
            assert!(message.contains("no-such-vendor"), "{message}")
        }
        other => panic!("expected an unknown-entity deny, got {other:?}"),
    }
}

#[test]
fn an_unknown_network_is_denied() {
    let mut request = placement(
        Operation::Place,
        "ericsson",
        Domain::Ran,
        "2026-01-01T00:00:00Z",
    );
    request.network = "xx-nowhere".into();
    let decision = decider().decide(&request);
    assert!(!decision.allowed);
    assert!(matches!(decision.failure, Some(Failure::UnknownEntity(_))));
}

#[test]
fn a_malformed_evaluation_time_is_denied_with_its_reason() {
    for at in [
        "yesterday",
        "2024-13-45T00:00:00Z",
        "2024-01-01\")||true||(\"",
    ] {
        let decision = decider().decide(&placement(Operation::Place, "ericsson", Domain::Ran, at));
        assert!(!decision.allowed, "{at}: {decision:?}");
        assert!(
            matches!(decision.failure, Some(Failure::InvalidRequest(_))),
            "{at}: {:?}",
            decision.failure
        );
    }
}

#[test]
fn a_caller_supplied_time_is_refused_unless_what_if_is_permitted() {
    let mut strict = decider().permit_what_if(false);
    let decision = strict.decide(&placement(
        Operation::Place,
        "ericsson",
        Domain::Ran,
        "2020-01-01T00:00:00Z",
    ));
    assert!(!decision.allowed);
    assert!(
        matches!(decision.failure, Some(Failure::InvalidRequest(ref m)) if m.contains("what-if"))
    );

    // Without a time, the host's clock decides and says so.
    let mut request = placement(Operation::Place, "ericsson", Domain::Ran, "");
    request.at = None;
    let decision = strict.decide(&request);
    assert!(decision.allowed, "{decision:?}");
    assert!(matches!(
        decision.evaluated_at,
        Some(slicegate::EvaluationTime::HostClock(_))
    ));
}

#[test]
fn batch_answers_are_in_request_order() {
    let requests = [
        placement(
            Operation::Place,
            "ericsson",
            Domain::Ran,
            "2026-01-01T00:00:00Z",
        ),
        placement(
            Operation::Place,
            "nope",
            Domain::Ran,
            "2026-01-01T00:00:00Z",
        ),
        placement(
            Operation::Operate,
            "huawei",
            Domain::Core,
            "2026-01-01T00:00:00Z",
        ),
    ];
    let decisions = decider().decide_batch(&requests);
    let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed).collect();
    assert_eq!(allowed, [true, false, false]);
    assert!(matches!(
        decisions[1].failure,
        Some(Failure::UnknownEntity(_))
    ));
    assert_eq!(ids(&decisions[2]), ["uk-hrv/huawei-out-of-core"]);
}

#[test]
fn a_policy_without_an_id_or_failing_validation_does_not_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut sources = PolicySources::from_dir(&dir).expect("read");
    sources.policies[0]
        .text
        .push_str("\npermit(principal, action, resource);\n");
    match Decider::new(runtime(), &sources) {
        Err(Failure::PolicyLoad(message)) => assert!(message.contains("@id"), "{message}"),
        Err(other) => panic!("expected a load failure, got {other}"),
        Ok(_) => panic!("a policy without @id loaded"),
    }

    let mut sources = PolicySources::from_dir(&dir).expect("read");
    sources.policies[0].text.push_str(
        "\n@id(\"typo\") permit(principal, action, resource) when { principal.vendorr.highRisk };\n",
    );
    match Decider::new(runtime(), &sources) {
        Err(Failure::PolicyLoad(message)) => {
            assert!(message.contains("strict validation"), "{message}")
        }
        Err(other) => panic!("expected a validation failure, got {other}"),
        Ok(_) => panic!("a policy failing strict validation loaded"),
    }
}
