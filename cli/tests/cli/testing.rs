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
