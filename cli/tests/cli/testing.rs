//! `slicegate test`: the library's case files through a bundle, failures
//! reported exactly, JUnit output and a coverage minimum.

use crate::support::{
    WRONG_CASE, cases_dir, library_bundle, repo, slicegate, stderr, stdout, write,
};

#[test]
fn test_reports_a_wrong_expectation_exactly_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "wrong.tests.yaml", WRONG_CASE);
    let cases = dir.path().to_string_lossy();
    let run = slicegate(&["test", library_bundle(), "--cases", &cases]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let out = stdout(&run);
    assert!(
        out.contains(&format!(
            "FAIL {file}:10: a Huawei UPF kept in a UK core after the deadline is allowed (wrong)\n      expected allow, got deny by [uk-hrv/out-of-core]\n        forbid uk-hrv/out-of-core: Huawei goods, services and facilities (equipment, components, managed services, hosting) must be out of the 5G core by the end of 31 December 2023.\n"
        )),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"), "{out}");
}

#[test]
fn test_refuses_a_malformed_case_file_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "broken.tests.yaml",
        &WRONG_CASE.replace("expect: allow", "expect: perhaps"),
    );
    let cases = dir.path().to_string_lossy();
    let run = slicegate(&["test", library_bundle(), "--cases", &cases]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(err.contains("broken.tests.yaml"), "{err}");
    assert!(err.contains("unknown variant `perhaps`"), "{err}");
    assert!(err.contains("line 13"), "{err}");
}

#[test]
fn test_writes_junit_that_parses_and_enforces_a_coverage_minimum() {
    let cases = repo().join("policies").to_string_lossy().into_owned();
    let run = slicegate(&[
        "test",
        library_bundle(),
        "--cases",
        &cases,
        "--filter",
        "uk-hrv",
        "--format",
        "junit",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let xml = stdout(&run);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output is XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let uk_cases = std::fs::read_to_string(repo().join("policies/packs/uk-hrv/uk-hrv.tests.yaml"))
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("  - name:"))
        .count();
    let uk_count = uk_cases.to_string();
    assert_eq!(root.attribute("tests"), Some(uk_count.as_str()));
    assert_eq!(root.attribute("failures"), Some("0"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), uk_cases);
    assert!(
        cases
            .iter()
            .all(|c| c.attribute("line").is_some_and(|l| l != "0"))
    );

    // The UK cases alone determine 6 of the 41 policies: under 90 %.
    let low = slicegate(&[
        "test",
        library_bundle(),
        "--cases",
        &cases_dir(),
        "--filter",
        "uk-hrv",
        "--coverage-min",
        "90",
    ]);
    assert_eq!(low.status.code(), Some(1));
    assert!(
        stderr(&low).contains("below --coverage-min 90 %"),
        "{}",
        stderr(&low)
    );
}

#[test]
fn test_exports_every_case_and_example_with_this_hosts_decision() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.json");
    let run = slicegate(&[
        "test",
        library_bundle(),
        "--cases",
        &cases_dir(),
        "--export",
        &out.to_string_lossy(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let passed: usize = stdout(&run)
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a summary line");
    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let cases = export["cases"].as_array().unwrap();
    let from = |suffix: &str| {
        cases
            .iter()
            .filter(|c| c["file"].as_str().unwrap().ends_with(suffix))
            .count()
    };
    let plans = std::fs::read_dir(repo().join("policies/examples/plans"))
        .unwrap()
        .count();
    // Every case that ran, every example plan and every demo placement.
    assert_eq!(from(".yaml"), passed);
    assert_eq!(from(".json") - from("demo-placements.json"), plans);
    assert_eq!(from("demo-placements.json"), 8);
    assert!(export["placementMedianMicros"].as_f64().unwrap() > 0.0);
    let case = |name: &str| {
        cases
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no case `{name}`"))
    };
    let denied = case("Huawei UPF in the core at the instant of the deadline");
    assert_eq!(denied["kind"], "placement");
    assert_eq!(
        denied["decision"],
        serde_json::json!({"allowed": false, "failure": null, "determining": ["uk-hrv/out-of-core"], "errors": []})
    );
    // The input is the request itself, fixture and patch applied, with its time.
    assert_eq!(denied["input"]["equipment"]["vendor"], "huawei");
    assert_eq!(denied["input"]["at"], "2024-01-01T00:00:00Z");
    let request: slicegate::PlacementRequest =
        serde_json::from_value(denied["input"].clone()).expect("a placement request");
    assert_eq!(request.network, "gb-example-mobile");
    // A plan carries every item's decision, the plan rule's and the shares.
    let plan = cases.iter().find(|c| c["kind"] == "plan").unwrap();
    for key in [
        "items",
        "plan",
        "accessWeight",
        "listedShares",
        "vendorShares",
    ] {
        assert!(plan["decision"].get(key).is_some(), "{key}: {plan}");
    }
}
