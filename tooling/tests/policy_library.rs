//! The default 5G policy library, case by case, through the artifact that
//! ships: the library is built into a signed, pre-initialised bundle, loaded
//! through the trust checks, and every case file under `policies/`
//! is decided by that component — and cross-checked with native Cedar on the
//! engine's own Cedar form of each placement.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, KeyPair, Revision, TrustStore,
};
use slicegate::{Decider, PlacementRequest, PolicySources};
use slicegate_tooling::cases::{CaseFile, CaseResult, Coverage, Runner};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn sources() -> &'static PolicySources {
    static SOURCES: OnceLock<PolicySources> = OnceLock::new();
    SOURCES.get_or_init(|| PolicySources::from_dir(&policies()).expect("policies read"))
}

/// A decider on the signed, verified, pre-initialised library bundle.
fn shipped_decider() -> Decider {
    let options = BuildOptions {
        name: BundleName("policy-library-test".to_string()),
        revision: Revision(1),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    let unsigned = bundle::build(sources(), &options).expect("the library builds");
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(&unsigned, &key, "test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trust = TrustStore::single_key("test", key.public(), dir.path().join("state.json"));
    let loaded = BundleLoader::new(trust)
        .load(&signed, None)
        .expect("the signed library loads");
    loaded.decider().expect("instance").permit_what_if(true)
}

fn run_all() -> &'static (Vec<CaseResult>, Vec<String>) {
    static RUN: OnceLock<(Vec<CaseResult>, Vec<String>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let files = CaseFile::discover(&policies()).expect("case files read");
        let mut decider = shipped_decider();
        let ids = decider.info().expect("info").policy_ids;
        let mut runner = Runner::new(&mut decider, Some(sources()), &files).expect("fixtures");
        let results = files.iter().flat_map(|f| runner.run_file(f)).collect();
        (results, ids)
    })
}

#[test]
fn every_case_of_the_library_passes_through_the_component_and_agrees_with_native_cedar() {
    let (results, _) = run_all();
    assert!(results.len() >= 120, "only {} cases found", results.len());
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{}:{}: {}\n    {}",
                r.file,
                r.line,
                r.name,
                r.problems.join("\n    ")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

#[test]
fn every_policy_of_the_library_determines_at_least_one_case() {
    let (results, ids) = run_all();
    assert_eq!(ids.len(), 40, "policy count changed: {ids:?}");
    let coverage = Coverage::of(ids, results);
    assert!(
        coverage.unexercised().is_empty(),
        "no case exercises {:?}",
        coverage.unexercised()
    );
    assert!(
        coverage.errored.values().all(|n| *n == 0),
        "policies errored: {:?}",
        coverage.errored
    );
}

#[test]
fn every_pack_has_its_case_file() {
    for pack in sources().packs() {
        let file = policies().join("packs").join(&pack).join(format!(
            "{}.tests.yaml",
            if pack == "baseline-procurement" {
                "baseline"
            } else {
                pack.as_str()
            }
        ));
        assert!(file.is_file(), "{} has no case file", pack);
    }
}

#[test]
fn a_wrong_expectation_fails_with_what_was_expected_and_got() {
    let files = CaseFile::discover(&policies()).unwrap();
    let mut decider = shipped_decider();
    let mut runner = Runner::new(&mut decider, Some(sources()), &files).unwrap();
    let case: slicegate_tooling::cases::Case = serde_json::from_value(serde_json::json!({
        "name": "a Huawei UPF kept in a UK core after the deadline, wrongly expected allowed",
        "given": "gb-core",
        "with": {"operation": "operate",
                 "equipment": {"vendor": "huawei", "model": "huawei-upf-x"},
                 "at": "2024-01-01T00:00:00Z"},
        "expect": "allow"
    }))
    .unwrap();
    let result = runner.run("inline", 1, &case);
    assert!(!result.passed);
    assert_eq!(
        result.problems,
        ["expected allow, got deny by [uk-hrv/out-of-core]"]
    );
}

#[test]
fn a_case_that_is_not_a_request_is_a_problem_not_a_deny() {
    let files = CaseFile::discover(&policies()).unwrap();
    let mut decider = shipped_decider();
    let mut runner = Runner::new(&mut decider, None, &files).unwrap();
    let case: slicegate_tooling::cases::Case = serde_json::from_value(serde_json::json!({
        "name": "a field the request does not have",
        "given": "gb-ran",
        "with": {"equipment": {"domain": "ran"}},
        "expect": "deny"
    }))
    .unwrap();
    let result = runner.run("inline", 1, &case);
    assert!(!result.passed);
    assert!(
        result.problems[0]
            .starts_with("the case is not a placement request: unknown field `domain`"),
        "{:?}",
        result.problems
    );
}

#[test]
fn a_malformed_case_file_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.tests.json");
    std::fs::write(
        &path,
        "{\n  \"cases\": [\n    {\"name\": \"x\", \"expect\": \"maybe\"}\n  ]\n}\n",
    )
    .unwrap();
    let error = CaseFile::discover(dir.path()).unwrap_err().to_string();
    assert!(error.contains("broken.tests.json"), "{error}");
    assert!(error.contains("unknown variant `maybe`"), "{error}");
    assert!(error.contains("line 3"), "{error}");
}

#[test]
fn the_cedar_form_of_a_placement_carries_the_derived_facts() {
    let mut decider = shipped_decider();
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "place",
        "equipment": {"id": "oru-1", "vendor": "nokia", "model": "nokia-oru",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                      "components": ["hisilicon"], "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "s1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2026-06-01T12:00:00+01:00"
    }))
    .unwrap();
    let form = decider.cedar_form(&request).expect("form");
    let equipment = &form["entities"][0];
    assert_eq!(equipment["uid"]["id"], "oru-1");
    let attrs = &equipment["attrs"];
    // The maker's own facts: Nokia is on no list.
    assert_eq!(attrs["maker"]["listed"], serde_json::json!({}));
    assert_eq!(attrs["maker"]["stateControlled"], false);
    // The HiSilicon modem brings the Huawei group's designations and facts
    // (through its chain) into the supply.
    assert_eq!(
        attrs["supply"]["listed"]["ukDesignated"]["since"]["__extn"]["arg"],
        "2022-10-13T00:00:00+0100"
    );
    assert_eq!(attrs["supply"]["noIndependentJudiciary"], true);
    assert_eq!(attrs["supply"]["ownershipOpaque"], true);
    // Every party of the request: here the maker and the component.
    let parties: Vec<&str> = form["context"]["parties"]["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["__entity"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(parties, ["hisilicon", "nokia"]);
    assert_eq!(attrs["owner"]["__entity"]["id"], "nokia");
    assert_eq!(attrs["domain"], "ran");
    // Parents: the maker and every component vendor.
    let parents: Vec<&str> = equipment["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(parents.contains(&"nokia") && parents.contains(&"hisilicon"));
    // The time is normalised to Cedar's form.
    assert_eq!(
        form["context"]["at"]["__extn"]["arg"],
        "2026-06-01T12:00:00+0100"
    );
}

#[test]
fn a_disagreement_with_native_cedar_is_reported_as_such() {
    // Native Cedar is given the library without the UK pack: on a UK
    // deadline case the two sides must disagree, and the runner must say so.
    let mut without_uk = sources().clone();
    without_uk.policies.retain(|f| !f.name.contains("uk-hrv"));
    let files = CaseFile::discover(&policies()).unwrap();
    let mut decider = shipped_decider();
    let mut runner = Runner::new(&mut decider, Some(&without_uk), &files).unwrap();
    let case: slicegate_tooling::cases::Case = serde_json::from_value(serde_json::json!({
        "name": "Huawei UPF in a UK core after the deadline",
        "given": "gb-core",
        "with": {"operation": "operate",
                 "equipment": {"vendor": "huawei", "model": "huawei-upf-x"},
                 "at": "2024-01-01T00:00:00Z"},
        "expect": "deny",
        "determining": ["uk-hrv/out-of-core"]
    }))
    .unwrap();
    let result = runner.run("inline", 1, &case);
    assert!(!result.passed);
    assert_eq!(
        result.problems,
        [
            "component and native Cedar disagree: component deny by {\"uk-hrv/out-of-core\"}, \
             native allow by {\"baseline/known-vendor\"}"
        ]
    );
}

#[test]
fn a_build_of_some_packs_runs_only_their_cases_and_the_shared_fixtures() {
    let files =
        CaseFile::discover_for_packs(&policies(), &["uk-hrv".to_string()]).expect("case files");
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(policies())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["packs/uk-hrv/uk-hrv.tests.yaml", "tests/shared.tests.yaml"]
    );
}

#[test]
fn the_generic_authorizer_takes_no_derived_fact_from_the_caller_on_the_5g_schema() {
    // The library extended by a custom action on a custom type: what a
    // custom schema adds stays open to the generic authorizer.
    let mut extended = sources().clone();
    if let Some(schema) = extended.schema.as_mut() {
        schema.text.push_str(
            "\nentity Auditor;\naction \"audit\" appliesTo { principal: Auditor, resource: Network, context: {} };\n",
        );
    }
    extended.policies.push(slicegate::SourceFile {
        name: "audit.cedar".to_string(),
        text: "@id(\"custom/audit\")\n@pack(\"custom\")\n@reason(\"auditors may audit\")\n@source(\"test\")\npermit (principal is Auditor, action == Action::\"audit\", resource);\n".to_string(),
    });
    let runtime = slicegate::Runtime::new(slicegate::Limits::default()).expect("runtime");
    let mut decider = Decider::new(&runtime, &extended).expect("the extended library loads");
    let request = |value: serde_json::Value| -> slicegate::CedarRequest {
        serde_json::from_value(value).expect("a Cedar request")
    };
    let refused = |decision: &slicegate::Decision, says: &str| {
        assert!(!decision.allowed, "{decision:?}");
        let failure = decision.failure.as_ref().expect("refused").to_string();
        assert!(failure.contains(says), "{failure}");
    };

    // A custom request with its own entity: decided.
    let audit = decider.authorize(&request(serde_json::json!({
        "principal": {"type": "Auditor", "id": "a"},
        "action": {"type": "Action", "id": "audit"},
        "resource": {"type": "Network", "id": "gb-example-mobile"},
        "entities": [{"uid": {"type": "Auditor", "id": "a"}, "attrs": {}, "parents": []}]
    })));
    assert!(audit.allowed, "{audit:?}");

    // The same request bringing a vendor (reference data the bundle holds)
    // or a site (inventory the typed path builds): refused.
    for (type_name, attrs) in [
        (
            "Vendor",
            serde_json::json!({"name": "x", "formerNames": [], "jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "GB"}},
                "ownershipKnown": true, "ownershipTransparent": true, "stateControlled": false,
                "ipTheftRecord": false, "exampleValues": []}),
        ),
        (
            "Site",
            serde_json::json!({"country": {"__entity": {"type": "Jurisdiction", "id": "GB"}}, "sensitive": false}),
        ),
    ] {
        let decision = decider.authorize(&request(serde_json::json!({
            "principal": {"type": "Auditor", "id": "a"},
            "action": {"type": "Action", "id": "audit"},
            "resource": {"type": "Network", "id": "gb-example-mobile"},
            "entities": [{"uid": {"type": "Auditor", "id": "a"}, "attrs": {}, "parents": []},
                         {"uid": {"type": type_name, "id": "planted"}, "attrs": attrs, "parents": []}]
        })));
        refused(&decision, &format!("may not bring a `{type_name}` entity"));
    }

    // Every placement and plan action is the typed interface's, whatever
    // the request brings.
    for (principal, action) in [
        ("Equipment", "place"),
        ("Equipment", "terminate"),
        ("Plan", "adopt"),
    ] {
        let decision = decider.authorize(&request(serde_json::json!({
            "principal": {"type": principal, "id": "p"},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Network", "id": "gb-example-mobile"},
            "validate": false
        })));
        refused(&decision, "typed placement interface");
    }
}

#[test]
fn a_plan_file_cannot_narrow_its_shares_to_one_slice() {
    let plan = std::fs::read_to_string(policies().join("examples/plans/gb-example-mobile.json"))
        .expect("the example plan");
    let mut value: serde_json::Value = serde_json::from_str(&plan).unwrap();
    value["slice"] = "embb-consumer".into();
    let error = serde_json::from_value::<slicegate::PlanFile>(value)
        .expect_err("a slice scope is not part of a plan")
        .to_string();
    assert!(error.contains("unknown field `slice`"), "{error}");
}

#[test]
fn a_typed_plan_describes_each_site_and_slice_once() {
    let mut decider = shipped_decider();
    let item = |id: &str, vendor: &str, model: &str, sensitive: bool| {
        serde_json::json!({
            "equipment": {"id": id, "vendor": vendor, "model": model, "softwareVersion": "1",
                          "softwareSigned": true, "sbom": true, "subsidyFunded": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": "s1", "country": "FR", "sensitive": sensitive},
            "weight": 1
        })
    };
    // The same site claimed sensitive for one radio and not for the Huawei
    // one: refused, not decided on the convenient record.
    let plan: slicegate::DeploymentPlan = serde_json::from_value(serde_json::json!({
        "network": "fr-example-telecom", "metric": "sites",
        "installed": [item("gnb-er", "ericsson", "ericsson-gnb", true),
                      item("gnb-hw", "huawei", "huawei-gnb-aau", false)],
        "changes": [],
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    let result = decider.check_plan(&plan);
    assert!(!result.allowed);
    let failure = result.failure.expect("refused").to_string();
    assert!(
        failure.contains("site `s1` is described two ways"),
        "{failure}"
    );

    // Described once, the Huawei radio at the sensitive site is denied.
    let plan: slicegate::DeploymentPlan = serde_json::from_value(serde_json::json!({
        "network": "fr-example-telecom", "metric": "sites",
        "installed": [item("gnb-er", "ericsson", "ericsson-gnb", true),
                      item("gnb-hw", "huawei", "huawei-gnb-aau", true)],
        "changes": [],
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    let result = decider.check_plan(&plan);
    assert!(result.failure.is_none(), "{:?}", result.failure);
    let huawei = result
        .items
        .iter()
        .find(|i| i.equipment_id == "gnb-hw")
        .unwrap();
    assert_eq!(
        huawei.decision.determining_ids(),
        ["eu-5g-toolbox/sm03-sensitive-access"]
    );
}

#[test]
fn explain_marks_example_values_as_examples() {
    let mut decider = shipped_decider();
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "place",
        "equipment": {"id": "upf-1", "vendor": "ericsson", "model": "ericsson-upf",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "s1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    let decision = decider.decide(&request);
    let form = decider.cedar_form(&request).expect("form");
    let explanation =
        slicegate_tooling::explain::explain(sources(), form, decision).expect("explained");
    let lines = explanation.examples.join("\n");
    assert!(
        lines.contains("nesasAuditValidUntil of Vendor ericsson = datetime(\"2027-06-30T00:00:00Z\") is an example"),
        "{lines}"
    );
    assert!(
        lines.contains("endOfSupport of Model ericsson-upf"),
        "{lines}"
    );
    // A fictional vendor's own dates are test values, not marked examples.
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "place",
        "equipment": {"id": "upf-1", "vendor": "test-nesas-vendor", "model": "test-nesas-upf",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "s1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    let decision = decider.decide(&request);
    let form = decider.cedar_form(&request).expect("form");
    let explanation =
        slicegate_tooling::explain::explain(sources(), form, decision).expect("explained");
    assert!(
        explanation.examples.is_empty(),
        "{:?}",
        explanation.examples
    );
}

#[test]
fn a_network_naming_an_unknown_regime_does_not_load() {
    // A trailing space would switch the whole UK pack off for the network.
    let mut typo = sources().clone();
    let networks = typo
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("networks.json"))
        .expect("networks.json");
    networks.text = networks.text.replacen("\"uk-hrv\"", "\"uk-hrv \"", 1);
    let runtime = slicegate::Runtime::new(slicegate::Limits::default()).expect("runtime");
    let error = match Decider::new(&runtime, &typo) {
        Ok(_) => panic!("a regime nobody defines must not load"),
        Err(failure) => failure.to_string(),
    };
    assert!(error.contains("names regime `uk-hrv `"), "{error}");
    // A regime a loaded policy names as its @pack is known.
    let mut custom = sources().clone();
    let networks = custom
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("networks.json"))
        .unwrap();
    networks.text = networks.text.replacen("\"uk-hrv\"", "\"jp-2025\"", 1);
    custom.policies.push(slicegate::SourceFile {
        name: "packs/jp-2025/jp.cedar".to_string(),
        text: "@id(\"jp-2025/none\")\n@pack(\"jp-2025\")\n@reason(\"r\")\n@source(\"s\")\nforbid (principal, action, resource) when { false };\n".to_string(),
    });
    assert!(Decider::new(&runtime, &custom).is_ok());
}

#[test]
fn no_change_in_a_plan_can_rewrite_what_is_installed() {
    let mut decider = shipped_decider();
    let huawei = serde_json::json!({"id": "gnb-hw", "vendor": "huawei", "model": "huawei-gnb-aau",
        "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": false});
    let ericsson = serde_json::json!({"id": "gnb-er", "vendor": "ericsson", "model": "ericsson-gnb",
        "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": false});
    let plan = |change: serde_json::Value| -> slicegate::DeploymentPlan {
        serde_json::from_value(serde_json::json!({
            "network": "gb-cells-test", "metric": "cells",
            "installed": [
                {"equipment": huawei, "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
                 "site": {"id": "s1", "country": "GB", "sensitive": false}, "weight": 4},
                {"equipment": ericsson, "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
                 "site": {"id": "s2", "country": "GB", "sensitive": false}, "weight": 6}
            ],
            "changes": [change],
            "at": "2026-06-01T00:00:00Z"
        }))
        .unwrap()
    };
    let item = |equipment: serde_json::Value, site: &str, weight: u32| {
        serde_json::json!({"equipment": equipment,
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": site, "country": "GB", "sensitive": false}, "weight": weight})
    };
    let mut relabelled = huawei.clone();
    relabelled["vendor"] = "ericsson".into();
    relabelled["model"] = "ericsson-gnb".into();
    for operation in [
        "upgrade",
        "heal",
        "scale",
        "operate",
        "remote-manage",
        "interconnect",
        "terminate",
    ] {
        let mut change =
            serde_json::json!({"operation": operation, "item": item(relabelled.clone(), "s1", 4)});
        if operation == "interconnect" {
            change["peer"] = "se-example-tele".into();
        }
        if operation == "remote-manage" {
            change["remote"] = serde_json::json!({"fromCountry": "GB", "provider": "ericsson"});
        }
        let result = decider.check_plan(&plan(change));
        let failure = result.failure.map(|f| f.to_string()).unwrap_or_default();
        assert!(
            failure.contains("changes vendor, model"),
            "{operation}: {failure}"
        );
    }
    // Another site, fewer components, another software claim on a heal:
    // each a refusal naming the field.
    for (field, equipment, site) in [
        ("site", huawei.clone(), "s9"),
        (
            "softwareSigned",
            serde_json::json!({"id": "gnb-hw", "vendor": "huawei", "model": "huawei-gnb-aau",
            "softwareVersion": "1", "softwareSigned": false, "sbom": true, "subsidyFunded": false}),
            "s1",
        ),
        (
            "subsidyFunded",
            serde_json::json!({"id": "gnb-hw", "vendor": "huawei", "model": "huawei-gnb-aau",
            "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": true}),
            "s1",
        ),
    ] {
        let result = decider.check_plan(&plan(
            serde_json::json!({"operation": "heal", "item": item(equipment, site, 4)}),
        ));
        let failure = result.failure.map(|f| f.to_string()).unwrap_or_default();
        assert!(
            failure.contains(&format!("changes {field}")),
            "{field}: {failure}"
        );
    }
    // What each operation may change: new software for an upgrade, more
    // capacity for a scale (the installed vendor and model stay).
    let mut upgraded = huawei.clone();
    upgraded["softwareVersion"] = "2".into();
    let result = decider.check_plan(&plan(
        serde_json::json!({"operation": "upgrade", "item": item(upgraded, "s1", 4)}),
    ));
    assert!(result.failure.is_none(), "{:?}", result.failure);
    let result = decider.check_plan(&plan(
        serde_json::json!({"operation": "scale", "item": item(huawei.clone(), "s1", 2)}),
    ));
    assert!(result.failure.is_none(), "{:?}", result.failure);
    assert_eq!(result.listed_share("uk-designated"), Some(5000));
    // The weight of a non-scale change is not read: the installed one stays.
    let result = decider.check_plan(&plan(
        serde_json::json!({"operation": "operate", "item": item(huawei.clone(), "s1", 1)}),
    ));
    assert!(result.failure.is_none(), "{:?}", result.failure);
    assert_eq!(result.listed_share("uk-designated"), Some(4000));
}

/// A bundle holding some packs decides only where every regime that applies
/// is among them: on a network under a regime it lacks, and on a slice of a
/// category a regime it lacks covers everywhere, it refuses (a rule set left
/// out is not a rule set that does not apply). Tried for every network of
/// the reference data, every category, and several pack choices — with
/// packs left out by `--packs` and by a missing pack folder alike.
#[test]
fn a_bundle_without_a_regimes_pack_refuses_where_that_regime_applies() {
    let runtime = slicegate::Runtime::new(slicegate::Limits::default()).expect("runtime");
    let categories = [
        "consumer",
        "enterprise",
        "critical-infrastructure",
        "public-safety",
        "government",
        "defense",
        "diplomatic",
    ];
    let networks = sources().network_regimes();
    let by_category = sources().category_regimes();
    let federal_regimes = sources().federal_regimes();
    assert_eq!(federal_regimes, ["us-fcc-889"]);
    assert!(networks.len() > 10 && !by_category.is_empty());
    for packs in [
        vec!["baseline-procurement", "uk-hrv"],
        vec!["baseline-procurement", "eu-5g-toolbox", "se-pts-2020"],
        vec![
            "baseline-procurement",
            "state-dept-5g",
            "us-clean-network",
            "us-fcc-889",
        ],
    ] {
        let packs: Vec<String> = packs.into_iter().map(String::from).collect();
        let subset = PolicySources::from_dir_with_packs(&policies(), Some(&packs)).unwrap();
        // The same, by removing the other packs' policy files by hand.
        let mut removed = sources().clone();
        removed.policies.retain(|f| {
            packs
                .iter()
                .any(|p| f.name.contains(&format!("packs/{p}/")))
        });
        assert_eq!(removed.packs(), packs);
        for sources in [&subset, &removed] {
            let mut decider = Decider::new(&runtime, sources)
                .unwrap()
                .permit_what_if(true);
            for (network, regimes) in &networks {
                for (category, federal) in categories.iter().flat_map(|c| [(*c, false), (*c, true)])
                {
                    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
                        "operation": "operate",
                        "equipment": {"id": "e", "vendor": "ericsson", "model": "ericsson-gnb",
                                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                                      "subsidyFunded": false},
                        "slice": {"id": "s", "sst": 1, "category": category, "usFederal": federal},
                        "site": {"id": "x", "country": "GB", "sensitive": false},
                        "network": network,
                        "at": "2026-06-01T00:00:00Z"
                    }))
                    .unwrap();
                    let decision = decider.decide(&request);
                    let lacking_network = regimes.iter().any(|r| !packs.contains(r));
                    let lacking_category = by_category
                        .get(category)
                        .is_some_and(|rs| rs.iter().any(|r| !packs.contains(r)))
                        || (federal && federal_regimes.iter().any(|r| !packs.contains(r)));
                    let refused = decision
                        .failure
                        .as_ref()
                        .is_some_and(|f| f.to_string().contains("this bundle does not contain"));
                    assert_eq!(
                        refused,
                        lacking_network || lacking_category,
                        "{packs:?}, {network} {category} federal {federal}: {decision:?}"
                    );
                    if refused {
                        assert!(!decision.allowed);
                    }
                }
            }
        }
    }
    // A plan on a network whose regimes the bundle lacks: refused too.
    let uk_only = PolicySources::from_dir_with_packs(
        &policies(),
        Some(&["baseline-procurement".to_string(), "uk-hrv".to_string()]),
    )
    .unwrap();
    let mut decider = Decider::new(&runtime, &uk_only)
        .unwrap()
        .permit_what_if(true);
    let plan = slicegate::PlanFile::read(&policies().join("examples/plans/se-example-tele.json"))
        .unwrap()
        .resolve("se-example-tele.json")
        .unwrap();
    let result = decider.check_plan(&plan);
    assert!(!result.allowed);
    let failure = result.failure.expect("refused").to_string();
    assert!(failure.contains("se-pts-2020"), "{failure}");
    // The whole library refuses nothing for this reason.
    let mut decider = Decider::new(&runtime, sources())
        .unwrap()
        .permit_what_if(true);
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "operate",
        "equipment": {"id": "e", "vendor": "ericsson", "model": "ericsson-gnb",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                      "subsidyFunded": false},
        "slice": {"id": "s", "sst": 1, "category": "diplomatic", "usFederal": false},
        "site": {"id": "x", "country": "US", "sensitive": false},
        "network": "us-example-wireless",
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    assert!(decider.decide(&request).failure.is_none());
}

/// Access-network shares are of the radios (functions that carry cells):
/// any other access equipment a plan adds — central and distributed units,
/// a RIC, non-5G radios, at new sites or on existing ones, with any weight —
/// can raise its own vendor's share, never lower another's. Tried against
/// the UK 35 % cap (by sites and by cells) and the EU single-vendor cap.
#[test]
fn equipment_other_than_radios_never_dilutes_an_access_share_cap() {
    let mut decider = shipped_decider();
    let item = |id: &str, vendor: &str, model: &str, site: &str, weight: u32| {
        serde_json::json!({
            "equipment": {"id": id, "vendor": vendor, "model": model, "softwareVersion": "1",
                          "softwareSigned": true, "sbom": true, "subsidyFunded": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": site, "country": "GB", "sensitive": false},
            "weight": weight
        })
    };
    let share = |result: &slicegate::PlanResult, name: &str| {
        result
            .listed_shares
            .iter()
            .chain(&result.vendor_shares)
            .find(|s| s.name == name)
            .map_or(0, |s| s.basis_points)
    };
    let others = [
        ("samsung", "samsung-vcu"),
        ("mavenir", "mavenir-ocu"),
        ("hytera", "hytera-pdt"),
        ("ericsson", "test-ocu-no-scas"),
    ];
    // (network, metric, the capped party, the radios: 2 of 5 by the capped
    // party for the UK (40 %), 3 of 5 for the EU single-vendor cap (60 %)).
    for (network, metric, capped, radios) in [
        (
            "gb-example-mobile",
            "sites",
            "uk-designated",
            [("huawei", "huawei-gnb-aau"); 2],
        ),
        (
            "gb-cells-test",
            "cells",
            "uk-designated",
            [("huawei", "huawei-gnb-aau"); 2],
        ),
        (
            "fr-example-telecom",
            "sites",
            "ericsson",
            [("ericsson", "ericsson-gnb"); 2],
        ),
    ] {
        let mut installed: Vec<serde_json::Value> = radios
            .iter()
            .enumerate()
            .map(|(i, (v, m))| item(&format!("r{i}"), v, m, &format!("s{i}"), 4))
            .collect();
        let rest = if capped == "ericsson" {
            [
                ("ericsson", "ericsson-gnb"),
                ("nokia", "nokia-airscale"),
                ("nokia", "nokia-airscale"),
            ]
        } else {
            [("ericsson", "ericsson-gnb"); 3]
        };
        for (i, (v, m)) in rest.iter().enumerate() {
            installed.push(item(&format!("o{i}"), v, m, &format!("s{}", i + 2), 4));
        }
        let plan = |installed: &[serde_json::Value]| -> slicegate::DeploymentPlan {
            serde_json::from_value(serde_json::json!({
                "network": network, "metric": metric, "installed": installed,
                "changes": [], "at": "2026-06-01T00:00:00Z"
            }))
            .unwrap()
        };
        let base = decider.check_plan(&plan(&installed));
        assert!(base.failure.is_none(), "{network}: {:?}", base.failure);
        let base_share = share(&base, capped);
        assert!(
            base_share > 5000 || (capped == "uk-designated" && base_share == 4000),
            "{network}: {base_share}"
        );
        assert!(
            !base.plan.allowed,
            "{network}: the base plan is over its cap"
        );
        for (vendor, model) in others {
            for (count, weight, on_existing) in [
                (1, 1, false),
                (3, 50, false),
                (3, 50, true),
                (6, 1000, true),
            ] {
                let mut more = installed.clone();
                for k in 0..count {
                    let site = if on_existing {
                        format!("s{}", 2 + k % 3)
                    } else {
                        format!("dc{k}")
                    };
                    more.push(item(&format!("x{k}"), vendor, model, &site, weight));
                }
                let result = decider.check_plan(&plan(&more));
                let what = format!(
                    "{network}: {count} {model} (weight {weight}, existing sites {on_existing})"
                );
                assert!(result.failure.is_none(), "{what}: {:?}", result.failure);
                assert!(
                    share(&result, capped) >= base_share,
                    "{what}: diluted to {}",
                    share(&result, capped)
                );
                assert!(!result.plan.allowed, "{what}: the cap no longer holds");
            }
        }
    }
}
