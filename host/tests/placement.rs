//! The typed placement interface on the default library, through the
//! component: evaluation time rules, batches, plans refused as a whole, and
//! policy sets that must not load. Rule-by-rule boundaries are in the case
//! files under `policies/` (see `tooling/tests/policy_library/`).

use std::path::Path;
use std::sync::OnceLock;

use slicegate::plan::PlanFile;
use slicegate::{Decider, Failure, Limits, PlacementRequest, PolicySources, Runtime};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(Limits::default()).expect("runtime"))
}

fn policies() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn decider() -> Decider {
    let sources = PolicySources::from_dir(&policies()).expect("policies read");
    Decider::new(runtime(), &sources)
        .expect("policies load")
        .permit_what_if(true)
}

fn placement(vendor: &str, model: &str, operation: &str, at: Option<&str>) -> PlacementRequest {
    let mut value = serde_json::json!({
        "operation": operation,
        "equipment": {"id": "eq-1", "vendor": vendor, "model": model,
                      "softwareVersion": "1.0", "softwareSigned": true, "sbom": true,
                      "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "lon-1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile"
    });
    if let Some(at) = at {
        value["at"] = at.into();
    }
    serde_json::from_value(value).expect("request parses")
}

#[test]
fn an_allow_names_the_permit_with_its_annotations_and_the_revision() {
    let decision = decider().decide(&placement(
        "ericsson",
        "ericsson-gnb",
        "place",
        Some("2026-01-01T00:00:00Z"),
    ));
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(decision.determining_ids(), ["baseline/known-vendor"]);
    let permit = &decision.determining[0];
    assert!(permit.permit);
    assert_eq!(permit.pack.as_deref(), Some("baseline-procurement"));
    assert!(
        permit
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("ultimate parent")
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
fn a_caller_supplied_time_is_refused_unless_what_if_is_permitted() {
    let mut strict = decider().permit_what_if(false);
    let decision = strict.decide(&placement(
        "ericsson",
        "ericsson-gnb",
        "place",
        Some("2020-01-01T00:00:00Z"),
    ));
    assert!(!decision.allowed);
    assert!(
        matches!(decision.failure, Some(Failure::InvalidRequest(ref m)) if m.contains("what-if"))
    );
    // Without a time, the host's clock decides and says so.
    let decision = strict.decide(&placement("ericsson", "ericsson-gnb", "place", None));
    assert!(decision.allowed, "{decision:?}");
    assert!(matches!(
        decision.evaluated_at,
        Some(slicegate::EvaluationTime::HostClock(_))
    ));
    // The same holds for a plan.
    let mut plan = example_plan("gb-example-mobile.json");
    plan.at = Some("2020-01-01T00:00:00Z".into());
    let result = strict.check_plan(&plan);
    assert!(!result.allowed);
    assert!(result.items.is_empty());
    assert!(
        matches!(result.failure, Some(Failure::InvalidRequest(ref m)) if m.contains("what-if"))
    );
}

#[test]
fn batch_answers_are_in_request_order() {
    let at = Some("2026-01-01T00:00:00Z");
    let requests = [
        placement("ericsson", "ericsson-gnb", "place", at),
        placement("nope", "ericsson-gnb", "place", at),
        placement("huawei", "huawei-upf-x", "operate", at),
    ];
    let decisions = decider().decide_batch(&requests);
    let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed).collect();
    assert_eq!(allowed, [true, false, false]);
    assert!(matches!(
        decisions[1].failure,
        Some(Failure::UnknownEntity(_))
    ));
    assert_eq!(decisions[2].determining_ids(), ["uk-hrv/out-of-core"]);
}

#[test]
fn malformed_requests_are_errors_with_the_field_named() {
    let mut value =
        serde_json::to_value(placement("ericsson", "ericsson-gnb", "place", None)).unwrap();
    value["equipment"]["domain"] = "ran".into();
    let error = serde_json::from_value::<PlacementRequest>(value.clone())
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `domain`"), "{error}");

    value["equipment"].as_object_mut().unwrap().remove("domain");
    value["slice"].as_object_mut().unwrap().remove("usFederal");
    let error = serde_json::from_value::<PlacementRequest>(value.clone())
        .unwrap_err()
        .to_string();
    assert!(error.contains("missing field `usFederal`"), "{error}");

    value["slice"]["usFederal"] = false.into();
    value["slice"]["category"] = "royalty".into();
    let error = serde_json::from_value::<PlacementRequest>(value)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown variant `royalty`"), "{error}");
}

fn example_plan(name: &str) -> slicegate::DeploymentPlan {
    let path = policies().join("examples/plans").join(name);
    PlanFile::read(&path)
        .expect("plan file reads")
        .resolve(name)
        .expect("plan resolves")
}

#[test]
fn the_example_uk_plan_is_checked_item_by_item_with_the_share_from_the_plan() {
    let result = decider().check_plan(&example_plan("gb-example-mobile.json"));
    assert!(!result.allowed);
    // 4 of the 11 access sites stay Huawei: 36.37 %, over the 35 % cap.
    assert_eq!(result.access_weight, 11);
    assert_eq!(result.listed_share("uk-designated"), Some(3637));
    assert_eq!(result.plan.determining_ids(), ["uk-hrv/access-share-cap"]);
    let denied: Vec<(&str, Vec<&str>)> = result
        .items
        .iter()
        .filter(|i| !i.decision.allowed)
        .map(|i| (i.equipment_id.as_str(), i.decision.determining_ids()))
        .collect();
    assert_eq!(
        denied,
        [
            ("gnb-man-10", vec!["uk-hrv/no-new-installation"]),
            ("gnb-man-05", vec!["baseline/signed-software"]),
        ]
    );
    // One decision per change, then one `operate` per kept item.
    assert_eq!(result.items.len(), 6 + 10);
}

#[test]
fn a_plan_that_contradicts_itself_is_refused_whole() {
    let mut plan = example_plan("fr-example-telecom.json");
    let mut twice = plan.installed[0].clone();
    twice.weight = 7;
    plan.installed.push(twice);
    let result = decider().check_plan(&plan);
    assert!(!result.allowed);
    assert!(result.items.is_empty());
    assert!(
        matches!(result.failure, Some(Failure::InvalidRequest(ref m)) if m.contains("installed twice")),
        "{:?}",
        result.failure
    );

    let mut plan = example_plan("fr-example-telecom.json");
    let mut upgrade = plan.changes[0].clone();
    upgrade.operation = slicegate::Operation::Upgrade;
    upgrade.item.equipment.id = "not-installed".into();
    plan.changes.push(upgrade);
    let result = decider().check_plan(&plan);
    assert!(!result.allowed);
    assert!(
        matches!(result.failure, Some(Failure::InvalidRequest(ref m)) if m.contains("not installed")),
        "{:?}",
        result.failure
    );
}

#[test]
fn a_plan_file_with_a_dangling_reference_is_an_error() {
    let path = policies().join("examples/plans/fr-example-telecom.json");
    let mut file = PlanFile::read(&path).unwrap();
    file.installed[0].site = "fr-nowhere".into();
    let error = file.resolve("fr.json").unwrap_err().to_string();
    assert!(error.contains("fr-nowhere"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"network\": \"x\", \"metric\": \"parsecs\"}").unwrap();
    let error = PlanFile::read(&broken).unwrap_err().to_string();
    assert!(
        error.contains("broken.json") && error.contains("parsecs"),
        "{error}"
    );
}

#[test]
fn a_policy_without_an_id_or_failing_validation_does_not_load() {
    let mut sources = PolicySources::from_dir(&policies()).expect("read");
    sources.policies[0]
        .text
        .push_str("\npermit(principal, action, resource);\n");
    match Decider::new(runtime(), &sources) {
        Err(Failure::PolicyLoad(message)) => assert!(message.contains("@id"), "{message}"),
        Err(other) => panic!("expected a load failure, got {other}"),
        Ok(_) => panic!("a policy without @id loaded"),
    }
    let mut sources = PolicySources::from_dir(&policies()).expect("read");
    sources.policies[0].text.push_str(
        "\n@id(\"typo\") permit(principal, action, resource) when { principal.vendorr.stateControlled };\n",
    );
    match Decider::new(runtime(), &sources) {
        Err(Failure::PolicyLoad(message)) => {
            assert!(message.contains("strict validation"), "{message}")
        }
        Err(other) => panic!("expected a validation failure, got {other}"),
        Ok(_) => panic!("a policy failing strict validation loaded"),
    }
}

#[test]
fn reference_data_that_breaks_the_ownership_model_does_not_load() {
    let mut sources = PolicySources::from_dir(&policies()).expect("read");
    let vendors = sources
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("vendors.json"))
        .expect("vendors.json");
    // huawei-holding (the file's first vendor) owned by huawei: a loop.
    assert!(vendors.text.find("\"parents\": []") < vendors.text.find("\"id\": \"huawei\"\n"));
    vendors.text = vendors.text.replacen(
        "\"parents\": []",
        "\"parents\": [{\"type\": \"Vendor\", \"id\": \"huawei\"}]",
        1,
    );
    match Decider::new(runtime(), &sources) {
        Err(Failure::PolicyLoad(message)) => assert!(message.contains("has a cycle"), "{message}"),
        Err(other) => panic!("expected a load failure, got {other}"),
        Ok(_) => panic!("an ownership loop loaded"),
    }

    let mut sources = PolicySources::from_dir(&policies()).expect("read");
    let designations = sources
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("designations.json"))
        .expect("designations.json");
    designations.text =
        designations
            .text
            .replacen("\"list\": \"fcc-covered\"", "\"list\": \"fcc-coverd\"", 1);
    match Decider::new(runtime(), &sources) {
        Err(Failure::PolicyLoad(message)) => assert!(message.contains("fcc-coverd"), "{message}"),
        Err(other) => panic!("expected a load failure, got {other}"),
        Ok(_) => panic!("an unknown designation list loaded"),
    }
}

#[test]
fn a_misspelt_domain_or_designation_scope_does_not_load() {
    // Policies compare these names: a typo would switch rules off silently.
    for (file, from, to, named) in [
        (
            "functions.json",
            "\"domain\": \"core\"",
            "\"domain\": \"Core\"",
            "`Core`",
        ),
        (
            "designations.json",
            "\"scope\": \"all\"",
            "\"scope\": \"All\"",
            "`All`",
        ),
    ] {
        let mut sources = PolicySources::from_dir(&policies()).expect("read");
        let data = sources
            .entities
            .iter_mut()
            .find(|f| f.name.ends_with(file))
            .expect(file);
        assert!(data.text.contains(from), "{file}");
        data.text = data.text.replacen(from, to, 1);
        match Decider::new(runtime(), &sources) {
            Err(Failure::PolicyLoad(message)) => assert!(message.contains(named), "{message}"),
            Err(other) => panic!("expected a load failure, got {other}"),
            Ok(_) => panic!("{file} with {to} loaded"),
        }
    }
}

#[test]
fn a_schema_that_does_not_accept_the_placement_entities_does_not_load() {
    // The entities a placement is made of are checked against the schema
    // once, at load, in every shape they take; a schema they do not fit is
    // refused there rather than at each decision.
    for (from, to) in [
        // An attribute the engine always sets, no longer declared.
        ("  softwareVersion: String,\n", ""),
        // An optional attribute made required: a placement without it
        // would not conform.
        ("criticalNotice?:", "criticalNotice:"),
    ] {
        let mut sources = PolicySources::from_dir(&policies()).expect("read");
        let schema = sources.schema.as_mut().expect("schema");
        assert!(schema.text.contains(from), "{from}");
        schema.text = schema.text.replacen(from, to, 1);
        match Decider::new(runtime(), &sources) {
            Err(Failure::PolicyLoad(message)) => assert!(
                message.contains("the schema does not accept the entities a placement is made of"),
                "{message}"
            ),
            Err(other) => panic!("expected a load failure, got {other}"),
            Ok(_) => panic!("a schema with {to:?} for {from:?} loaded"),
        }
    }
}

#[test]
fn a_request_kind_the_schema_refuses_is_still_checked_at_each_decision() {
    // At load the engine finds which kinds of placement request (operation,
    // with or without peer and remote records) the schema accepts in every
    // shape, and skips checking those per decision. A schema that refuses a
    // kind still loads, and that kind is checked, and refused, each time.
    let mut sources = PolicySources::from_dir(&policies()).expect("read");
    let schema = sources.schema.as_mut().expect("schema");
    assert!(schema.text.contains("  peer?: Peer,\n"));
    schema.text = schema
        .text
        .replacen("  peer?: Peer,\n", "  peer: Peer,\n", 1);
    let mut decider = Decider::new(runtime(), &sources)
        .expect("a schema requiring the peer record still loads")
        .permit_what_if(true);
    let at = Some("2026-01-01T00:00:00Z");
    // Without a peer record: refused by the schema, whatever the policies say.
    let without = decider.decide(&placement("ericsson", "ericsson-gnb", "place", at));
    assert!(!without.allowed);
    assert!(
        matches!(&without.failure, Some(Failure::SchemaViolation(m)) if m.contains("is not valid for")),
        "{without:?}"
    );
    // With one: the schema accepts it and the policies decide.
    let mut with_peer = placement("ericsson", "ericsson-gnb", "interconnect", at);
    with_peer.peer = Some("gb-example-mobile".to_string());
    let decided = decider.decide(&with_peer);
    assert!(decided.failure.is_none(), "{decided:?}");
    // And with the library's schema, the same placement without a peer
    // record is decided by the policies.
    let plain = self::decider().decide(&placement("ericsson", "ericsson-gnb", "place", at));
    assert!(plain.allowed, "{plain:?}");
}

/// One site, slice or item is one id in a plan: ids that differ only in
/// letter case or spacing (which would count one site twice in a share)
/// are refused, and so is a second change to the same item.
#[test]
fn a_plan_naming_one_thing_two_ways_is_refused_whole() {
    let refused = |plan: &slicegate::DeploymentPlan, expected: &str| {
        let result = decider().check_plan(plan);
        assert!(!result.allowed);
        assert!(result.items.is_empty());
        assert!(
            matches!(result.failure, Some(Failure::InvalidRequest(ref m)) if m.contains(expected)),
            "{expected}: {:?}",
            result.failure
        );
    };
    let base = example_plan("fr-example-telecom.json");
    assert!(base.installed.len() >= 2 && !base.changes.is_empty());
    let site = base.installed[0].site.id.clone();
    for spelling in [site.to_uppercase(), format!(" {site}"), format!("{site} ")] {
        if spelling == site {
            continue;
        }
        let mut plan = base.clone();
        let mut other = plan.installed[0].clone();
        other.equipment.id = "another-radio".into();
        other.site.id = spelling.clone();
        plan.installed.push(other);
        refused(&plan, "differ only in letter case or spacing");
    }
    let mut plan = base.clone();
    let mut other = plan.installed[1].clone();
    other.equipment.id = plan.installed[0].equipment.id.to_uppercase();
    plan.installed.push(other);
    refused(&plan, "equipment ids");
    let mut plan = base.clone();
    let mut slice = plan.installed[1].clone();
    slice.equipment.id = "third-radio".into();
    slice.slice.id = plan.installed[0].slice.id.to_uppercase();
    if slice.slice.id != plan.installed[0].slice.id {
        plan.installed.push(slice);
        refused(&plan, "slice ids");
    }
    // Two changes to one installed item.
    let mut plan = base.clone();
    let installed = plan.installed[0].clone();
    plan.changes = vec![
        slicegate::plan::PlanChange {
            operation: slicegate::Operation::Scale,
            item: installed.clone(),
            peer: None,
            remote: None,
        },
        slicegate::plan::PlanChange {
            operation: slicegate::Operation::Terminate,
            item: installed,
            peer: None,
            remote: None,
        },
    ];
    refused(&plan, "two changes in one plan");
    // Remote sessions are not changes to the record: two are decided.
    let mut plan = base.clone();
    let installed = plan.installed[0].clone();
    let session = |country: &str| slicegate::plan::PlanChange {
        operation: slicegate::Operation::RemoteManage,
        item: installed.clone(),
        peer: None,
        remote: Some(slicegate::RemoteSession {
            from_country: country.into(),
            provider: "ericsson".into(),
            authority_approved: true,
        }),
    };
    plan.changes = vec![session("FR"), session("SE")];
    let result = decider().check_plan(&plan);
    assert!(result.failure.is_none(), "{:?}", result.failure);
    assert_eq!(
        result
            .items
            .iter()
            .filter(|i| i.operation == slicegate::Operation::RemoteManage)
            .count(),
        2
    );
}
