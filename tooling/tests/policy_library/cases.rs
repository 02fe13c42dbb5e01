//! The library's case files through the shipped component, cross-checked
//! with native Cedar: every case passes and every policy is exercised, and
//! the runner reports a wrong expectation, a malformed case or a
//! disagreement as such.

use slicegate_tooling::cases::{CaseFile, Coverage, Runner};

use crate::support::{policies, run_all, shipped_decider, sources};

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
    assert_eq!(ids.len(), 41, "policy count changed: {ids:?}");
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
