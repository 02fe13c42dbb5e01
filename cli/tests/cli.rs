//! The `slicegate` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn slicegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("slicegate runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const SCHEMA: &str = r#"entity User; entity Photo;
action view appliesTo { principal: User, resource: Photo };"#;

#[test]
fn authorize_exits_0_on_allow_and_2_on_deny_and_names_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policies = write(
        dir.path(),
        "p.cedar",
        r#"permit(principal == User::"alice", action == Action::"view", resource);"#,
    );
    let schema = write(dir.path(), "s.cedarschema", SCHEMA);
    let entities = write(dir.path(), "e.json", "[]");
    let alice = write(
        dir.path(),
        "alice.json",
        r#"{"principal": "User::\"alice\"", "action": "Action::\"view\"", "resource": "Photo::\"a.jpg\"", "context": {}}"#,
    );
    let bob = write(
        dir.path(),
        "bob.json",
        r#"{"principal": "User::\"bob\"", "action": "Action::\"view\"", "resource": "Photo::\"a.jpg\""}"#,
    );
    let common = [
        "--policies",
        &policies,
        "--schema",
        &schema,
        "--entities",
        &entities,
    ];

    let allow = slicegate(&[&["authorize"], &common[..], &["--request-json", &alice]].concat());
    assert_eq!(allow.status.code(), Some(0), "{}", stderr(&allow));
    assert!(stdout(&allow).starts_with("ALLOW"));
    assert!(stdout(&allow).contains("policy0"));

    let deny = slicegate(
        &[
            &["authorize"],
            &common[..],
            &["--request-json", &bob, "--json"],
        ]
        .concat(),
    );
    assert_eq!(deny.status.code(), Some(2), "{}", stderr(&deny));
    let decision: serde_json::Value = serde_json::from_str(&stdout(&deny)).unwrap();
    assert_eq!(decision["allowed"], false);
}

#[test]
fn authorize_refuses_bad_input_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let policies = write(dir.path(), "p.cedar", "permit(principal, action, resource)"); // no ;
    let schema = write(dir.path(), "s.cedarschema", SCHEMA);
    let request = write(
        dir.path(),
        "r.json",
        r#"{"principal": "User::\"alice\"", "action": "Action::\"view\"", "resource": "Photo::\"a\""}"#,
    );
    let parse_error = slicegate(&[
        "authorize",
        "--policies",
        &policies,
        "--schema",
        &schema,
        "--request-json",
        &request,
    ]);
    assert_eq!(parse_error.status.code(), Some(1));
    assert!(
        stderr(&parse_error).contains("p.cedar"),
        "{}",
        stderr(&parse_error)
    );

    let good = write(
        dir.path(),
        "ok.cedar",
        "permit(principal, action, resource);",
    );
    let unknown_field = write(
        dir.path(),
        "bad.json",
        r#"{"principal": "User::\"alice\"", "action": "Action::\"view\"", "resource": "Photo::\"a\"", "contxt": {}}"#,
    );
    let bad_request = slicegate(&[
        "authorize",
        "--policies",
        &good,
        "--request-json",
        &unknown_field,
    ]);
    assert_eq!(bad_request.status.code(), Some(1));
    assert!(
        stderr(&bad_request).contains("contxt"),
        "{}",
        stderr(&bad_request)
    );

    let not_json = write(dir.path(), "nj.json", "principal=alice");
    let bad_json = slicegate(&[
        "authorize",
        "--policies",
        &good,
        "--request-json",
        &not_json,
    ]);
    assert_eq!(bad_json.status.code(), Some(1));
    assert!(
        stderr(&bad_json).contains("not valid JSON"),
        "{}",
        stderr(&bad_json)
    );
}

#[test]
fn demo_runs_with_no_arguments_and_shows_allows_and_denies() {
    let demo = slicegate(&["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = stdout(&demo);
    assert!(out.contains("uk-hrv/out-of-core"), "{out}");
    assert!(out.contains("ALLOW") && out.contains("DENY"), "{out}");
    assert!(out.contains("unknown entity"), "{out}");
    // The example network's plans, with per-item reasons and shares.
    for network in [
        "gb-example-mobile",
        "de-example-funk",
        "se-example-tele",
        "fr-example-telecom",
        "us-example-wireless",
    ] {
        assert!(out.contains(&format!("({network}) ==")), "{network}: {out}");
    }
    assert!(out.contains("uk-designated 36.37 %"), "{out}");
    assert!(out.contains("forbid uk-hrv/access-share-cap"), "{out}");
    assert!(
        out.contains("forbid eu-5g-toolbox/sm05-single-vendor-cap"),
        "{out}"
    );
    assert!(out.contains("forbid us-clean-network/clean-path"), "{out}");

    let json = slicegate(&["demo", "--json"]);
    assert!(json.status.success());
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rows = report["placements"].as_array().unwrap();
    assert!(rows.len() >= 5);
    for row in rows {
        assert_eq!(row["decision"]["evaluatedAt"]["kind"], "what-if");
    }
    let plans = report["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 5);
    for plan in plans {
        assert_eq!(plan["result"]["allowed"], false, "{plan}");
        assert!(
            plan["result"]["items"]
                .as_array()
                .is_some_and(|i| !i.is_empty())
        );
    }
}

#[test]
fn conformance_agrees_with_native_cedar_on_the_hand_written_tests() {
    let tests = repo().join("../shared/conformance/tests");
    assert!(
        tests.is_dir(),
        "the conformance tests are expected at {}",
        tests.display()
    );
    let run = slicegate(&["conformance", "-q", &tests.to_string_lossy()]);
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    let out = stdout(&run);
    let last = out.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{out}");
}

#[test]
fn conformance_agrees_with_native_cedar_on_the_whole_corpus() {
    let corpus = repo().join("../shared/conformance/cedar-corpus-tests.tar.gz");
    assert!(
        corpus.is_file(),
        "the Cedar corpus is expected at {}",
        corpus.display()
    );
    let run = slicegate(&["conformance", "-q", &corpus.to_string_lossy()]);
    let out = stdout(&run);
    assert!(run.status.success(), "{out}\n{}", stderr(&run));
    assert_eq!(out.lines().last(), Some("62472 passed, 0 failed"), "{out}");
}

#[test]
fn conformance_reports_a_missing_corpus_as_an_error() {
    let run = slicegate(&["conformance", "/nonexistent/corpus.tar.gz"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("no such file"), "{}", stderr(&run));
}

#[test]
fn build_sign_verify_inspect_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let bundle = d("b.wasm");

    let build = slicegate(&[
        "build",
        "policies",
        "-o",
        &bundle,
        "--name",
        "gb",
        "--revision",
        "4",
        "--packs",
        "uk-hrv,baseline-procurement",
        "--created-at",
        "2026-01-01T00:00:00Z",
    ]);
    assert!(build.status.success(), "{}", stderr(&build));

    for id in ["ops-a", "ops-b"] {
        let keygen = slicegate(&["keygen", "--id", id, "--out-dir", &d("")]);
        assert!(keygen.status.success(), "{}", stderr(&keygen));
    }
    let again = slicegate(&["keygen", "--id", "ops-a", "--out-dir", &d("")]);
    assert_eq!(again.status.code(), Some(1), "keygen overwrote a key");

    let hex = |id: &str| {
        let bytes = std::fs::read(dir.path().join(format!("{id}.pub"))).unwrap();
        bytes[1..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let trust = write(
        dir.path(),
        "trust.toml",
        &format!(
            "threshold = 2\n[[keys]]\nid = \"ops-a\"\npublic_key = \"{}\"\n[[keys]]\nid = \"ops-b\"\npublic_key = \"{}\"\n",
            hex("ops-a"),
            hex("ops-b")
        ),
    );

    let unsigned = slicegate(&["verify", "--trust", &trust, &bundle]);
    assert_eq!(unsigned.status.code(), Some(1));
    assert!(
        stderr(&unsigned).contains("unsigned"),
        "{}",
        stderr(&unsigned)
    );

    let sign_a = slicegate(&["sign", "--key", &d("ops-a.key"), "--detached", &bundle]);
    assert!(sign_a.status.success(), "{}", stderr(&sign_a));
    let one = slicegate(&["verify", "--trust", &trust, &bundle]);
    assert_eq!(one.status.code(), Some(1));
    assert!(stderr(&one).contains("requires 2"), "{}", stderr(&one));

    let sign_b = slicegate(&["sign", "--key", &d("ops-b.key"), "--detached", &bundle]);
    assert!(sign_b.status.success(), "{}", stderr(&sign_b));
    let two = slicegate(&["verify", "--trust", &trust, "--json", &bundle]);
    assert_eq!(
        two.status.code(),
        Some(0),
        "{}{}",
        stdout(&two),
        stderr(&two)
    );
    let verdict: serde_json::Value = serde_json::from_str(&stdout(&two)).unwrap();
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["revision"], 4);

    let inspect = slicegate(&["inspect", "--json", &bundle]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let inspection: serde_json::Value = serde_json::from_str(&stdout(&inspect)).unwrap();
    assert_eq!(
        inspection["manifest"]["packs"],
        serde_json::json!(["baseline-procurement", "uk-hrv"])
    );
    assert_eq!(inspection["signatures"].as_array().map(Vec::len), Some(2));
    assert_eq!(inspection["manifest"]["policyCount"], 14);
}

#[test]
fn build_refuses_bad_input_without_writing_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.wasm");
    let out = out.to_string_lossy();
    let unknown_pack = slicegate(&["build", "policies", "-o", &out, "--packs", "no-such-pack"]);
    assert_eq!(unknown_pack.status.code(), Some(1));
    assert!(
        stderr(&unknown_pack).contains("no-such-pack"),
        "{}",
        stderr(&unknown_pack)
    );

    let bad_time = slicegate(&["build", "policies", "-o", &out, "--not-after", "next week"]);
    assert_eq!(bad_time.status.code(), Some(1));
    assert!(
        stderr(&bad_time).contains("RFC 3339"),
        "{}",
        stderr(&bad_time)
    );
    assert!(!dir.path().join("b.wasm").exists());

    let trust = write(dir.path(), "trust.toml", "threshold = 1\n");
    let verify = slicegate(&["verify", "--trust", &trust, &out]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        stderr(&verify).contains("more than the 0 key"),
        "{}",
        stderr(&verify)
    );
}

#[test]
fn check_plan_exits_by_verdict_and_refuses_bad_plans() {
    let fr = "policies/examples/plans/fr-example-telecom.json";
    // The plan sets its own time: refused unless what-if is asked for.
    let strict = slicegate(&["check-plan", fr]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
    assert!(stdout(&strict).contains("what-if"), "{}", stdout(&strict));

    let denied = slicegate(&["check-plan", fr, "--what-if"]);
    assert_eq!(denied.status.code(), Some(2), "{}", stderr(&denied));
    let out = stdout(&denied);
    assert!(
        out.contains("vendor groups: ericsson 70.00 %, nokia 30.00 %"),
        "{out}"
    );
    assert!(
        out.contains("eu-5g-toolbox/sm05-single-vendor-cap"),
        "{out}"
    );

    // Without the new radio Ericsson holds 6 of 9 sites, still over 50 %;
    // without three Ericsson radios as well it holds exactly the cap.
    let dir = tempfile::tempdir().unwrap();
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(fr)).unwrap()).unwrap();
    plan["changes"] = serde_json::json!([]);
    let installed = plan["installed"].as_array_mut().unwrap();
    installed.retain(|i| {
        !["gnb-par-01", "gnb-par-02", "gnb-par-03"]
            .iter()
            .any(|id| i["equipment"]["id"] == *id)
    });
    let allowed_plan = write(dir.path(), "ok.json", &plan.to_string());
    let allowed = slicegate(&["check-plan", &allowed_plan, "--what-if", "--json"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stdout(&allowed));
    let result: serde_json::Value = serde_json::from_str(&stdout(&allowed)).unwrap();
    assert_eq!(result["allowed"], true);
    assert_eq!(result["vendorShares"][0]["basisPoints"], 5000);
    assert_eq!(result["evaluatedAt"]["kind"], "what-if");

    let broken = write(
        dir.path(),
        "broken.json",
        "{\"network\": \"fr-example-telecom\",\n \"metric\": \"sites\", \"sites\": 7}",
    );
    let refused = slicegate(&["check-plan", &broken]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("broken.json") && stderr(&refused).contains("line 2"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn the_library_builds_with_no_warnings_and_a_policy_without_a_reason_warns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lib.wasm");
    let build = slicegate(&[
        "build",
        "policies",
        "-o",
        &out.to_string_lossy(),
        "--deny-warnings",
    ]);
    assert!(build.status.success(), "{}", stderr(&build));
    assert!(
        stdout(&build).contains("40 policies, 0 warning(s)"),
        "{}",
        stdout(&build)
    );

    // A copy of the library with one policy stripped of its @reason.
    let copy = dir.path().join("policies");
    for sub in ["data", "packs/uk-hrv"] {
        std::fs::create_dir_all(copy.join(sub)).unwrap();
    }
    for file in ["schema.cedarschema", "packs/uk-hrv/uk-hrv.cedar"] {
        std::fs::copy(repo().join("policies").join(file), copy.join(file)).unwrap();
    }
    for entry in std::fs::read_dir(repo().join("policies/data")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join("data").join(path.file_name().unwrap())).unwrap();
    }
    let pack = copy.join("packs/uk-hrv/uk-hrv.cedar");
    let text = std::fs::read_to_string(&pack).unwrap();
    let stripped = text.replacen(
        "@reason(\"No new 5G equipment from the Huawei group, nor equipment with Huawei components inside, may be installed from 13 October 2022.\")\n",
        "",
        1,
    );
    assert_ne!(text, stripped);
    std::fs::write(&pack, stripped).unwrap();
    let copy = copy.to_string_lossy();
    let warned = slicegate(&["build", &copy, "-o", &out.to_string_lossy()]);
    assert!(warned.status.success(), "{}", stderr(&warned));
    assert!(
        stderr(&warned).contains("uk-hrv/no-new-installation has no @reason"),
        "{}",
        stderr(&warned)
    );
    let denied = slicegate(&[
        "build",
        &copy,
        "-o",
        &out.to_string_lossy(),
        "--deny-warnings",
    ]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stderr(&denied).contains("no bundle written"),
        "{}",
        stderr(&denied)
    );
}

/// The library built once (without its tests) for the runner's tests.
fn library_bundle() -> &'static str {
    static BUNDLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let out = dir.join("library.wasm").to_string_lossy().into_owned();
        let build = slicegate(&["build", "policies", "-o", &out, "--no-test"]);
        assert!(build.status.success(), "{}", stderr(&build));
        out
    })
}

const WRONG_CASE: &str = r#"# A deliberately wrong expectation.
fixtures:
  uk-core:
    operation: operate
    equipment: {id: upf-1, vendor: huawei, model: huawei-upf-x, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: false}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: lon, country: GB, sensitive: false}
    network: gb-example-mobile
cases:
  - name: a Huawei UPF kept in a UK core after the deadline is allowed (wrong)
    given: uk-core
    with: {at: "2024-01-01T00:00:00Z"}
    expect: allow
"#;

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

    // The UK cases alone determine 6 of the 40 policies: under 90 %.
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

fn cases_dir() -> String {
    repo().join("policies").to_string_lossy().into_owned()
}

#[test]
fn build_runs_the_tests_refuses_on_failure_and_records_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lib.wasm");
    let built = slicegate(&["build", "policies", "-o", &out.to_string_lossy()]);
    assert!(built.status.success(), "{}", stderr(&built));
    let cases = library_case_count();
    assert!(
        stderr(&built).contains(&format!(
            "tests: {cases} passed, 0 failed; policy coverage 100.0 %"
        )),
        "{}",
        stderr(&built)
    );
    let inspect = slicegate(&["inspect", "--json", &out.to_string_lossy()]);
    let inspection: serde_json::Value = serde_json::from_str(&stdout(&inspect)).unwrap();
    assert_eq!(
        inspection["manifest"]["tests"],
        format!(
            "{cases} passed, 0 failed; policy coverage 100.0 % (40 of 40 policies determined a case)"
        )
    );

    // The library plus one wrong case: no bundle.
    let copy = dir.path().join("policies");
    copy_tree(&repo().join("policies"), &copy);
    std::fs::write(copy.join("packs/uk-hrv/wrong.tests.yaml"), WRONG_CASE).unwrap();
    let refused_out = dir.path().join("refused.wasm");
    let refused = slicegate(&[
        "build",
        &copy.to_string_lossy(),
        "-o",
        &refused_out.to_string_lossy(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.contains("expected allow, got deny by [uk-hrv/out-of-core]"),
        "{err}"
    );
    assert!(err.contains(&format!("{cases} passed, 1 failed")), "{err}");
    assert!(err.contains("tests failed; no bundle written"), "{err}");
    assert!(!refused_out.exists());
}

/// The number of cases in the library's case files (one `- name:` each).
fn library_case_count() -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .map(|path| {
                if path.is_dir() {
                    count(&path)
                } else if path.to_string_lossy().ends_with(".tests.yaml") {
                    std::fs::read_to_string(&path)
                        .unwrap()
                        .lines()
                        .filter(|line| line.starts_with("  - name:"))
                        .count()
                } else {
                    0
                }
            })
            .sum()
    }
    count(&repo().join("policies"))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn explain_names_the_condition_that_decided_each_policy_and_the_facts_read() {
    let dir = tempfile::tempdir().unwrap();
    let request = write(
        dir.path(),
        "req.json",
        r#"{"operation": "place",
            "equipment": {"id": "oru-9", "vendor": "test-subsidiary-of-subsidiary",
                          "model": "test-subsidiary-ru", "softwareVersion": "1",
                          "softwareSigned": true, "sbom": true, "subsidyFunded": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": "man-9", "country": "GB", "sensitive": false},
            "network": "gb-example-mobile", "at": "2023-03-01T09:00:00Z"}"#,
    );
    let run = slicegate(&["explain", &request, "--json"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let explanation: serde_json::Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(explanation["decision"]["allowed"], false);
    assert_eq!(
        explanation["vendorChain"],
        serde_json::json!([
            "test-subsidiary-of-subsidiary",
            "test-huawei-subsidiary",
            "huawei",
            "huawei-holding"
        ])
    );
    let policies = explanation["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 40);
    let find = |id: &str| policies.iter().find(|p| p["policyId"] == id).unwrap();
    let applied: Vec<&str> = policies
        .iter()
        .filter(|p| p["applied"] == true)
        .map(|p| p["policyId"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["uk-hrv/no-new-installation"]);
    assert_eq!(
        find("uk-hrv/out-of-core")["summary"],
        "when condition false: principal.domain == \"core\""
    );
    assert_eq!(
        find("baseline/known-vendor")["summary"],
        "all conditions held, but a forbid applied and overrides it"
    );
    // Cedar's evaluation order: after a false `when`, nothing else is evaluated.
    let nesas = find("baseline/nesas-audit")["conditions"]
        .as_array()
        .unwrap()
        .clone();
    let values: Vec<&str> = nesas.iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["false", "not evaluated", "not evaluated"]);
    assert!(
        policies
            .iter()
            .all(|p| !p["summary"].as_str().unwrap().contains("errored"))
    );

    let human = slicegate(&["explain", &request]);
    let out = stdout(&human);
    assert!(
        out.starts_with("DENY (what-if time 2023-03-01T09:00:00Z)"),
        "{out}"
    );
    assert!(out.contains("vendor chain: test-subsidiary-of-subsidiary → test-huawei-subsidiary → huawei → huawei-holding"), "{out}");
    assert!(
        out.contains("applied (1):\n  forbid uk-hrv/no-new-installation"),
        "{out}"
    );

    let unknown = write(
        dir.path(),
        "unknown.json",
        &std::fs::read_to_string(&request)
            .unwrap()
            .replace("test-subsidiary-of-subsidiary", "acme-radio"),
    );
    let refused = slicegate(&["explain", &unknown]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stdout(&refused).contains("DENY: unknown entity: vendor `acme-radio`"),
        "{}",
        stdout(&refused)
    );
}

/// A critical component the ministry prohibited, kept running: denied by the
/// library, whatever the request leaves out.
const PROHIBITED_CASE: &str = r#"fixtures:
  de-kept:
    operation: operate
    equipment: {id: upf-1, vendor: ericsson, model: ericsson-upf, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: false, criticalComponentNotice: {filed: "2024-01-01T00:00:00+01:00", prohibited: true}}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: fra, country: DE, sensitive: false}
    network: de-bsi-test
    at: "2026-06-01T00:00:00Z"
cases:
  - name: a prohibited critical component kept running
    given: de-kept
    expect: deny
"#;

/// A subsidised radio interconnecting with a network a Covered List carrier
/// runs: denied, and so with a peer whose carrier is not on record.
const COVERED_PEER_CASE: &str = r#"fixtures:
  rural:
    operation: interconnect
    equipment: {id: gnb-1, vendor: ericsson, model: ericsson-gnb, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: true}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: ks, country: US, sensitive: false}
    network: us-example-rural
    peer: us-covered-peer
    at: "2026-06-01T00:00:00Z"
cases:
  - name: a subsidised interconnect with a covered carrier's network
    given: rural
    expect: deny
"#;

/// An allowed interconnect on a UK consumer slice: only the baseline permit
/// stands between a peer whose carrier is not on record and an allow.
const TRUSTED_PEER_CASE: &str = r#"fixtures:
  gb:
    operation: interconnect
    equipment: {id: rtr-1, vendor: ericsson, model: ericsson-gnb, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: false}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: lon, country: GB, sensitive: false}
    network: gb-example-mobile
    peer: se-example-tele
    at: "2026-06-01T00:00:00Z"
cases:
  - name: an interconnect with a trusted peer
    given: gb
    expect: allow
"#;

/// `slicegate test DIR --cases CASES --mutate --format json` on a copy of the
/// library with `edit` applied to the German pack.
fn mutate_weakened(edit: impl Fn(&str) -> String) -> (Output, serde_json::Value) {
    mutate_weakened_pack("de-2024/de-2024.cedar", edit, PROHIBITED_CASE)
}

/// The same for any pack file and case file.
fn mutate_weakened_pack(
    pack: &str,
    edit: impl Fn(&str) -> String,
    case: &str,
) -> (Output, serde_json::Value) {
    mutate_weakened_packs(&[(pack, &edit)], case)
}

/// An edit of one pack file: the file under `packs/`, and the change.
type PackEdit<'a> = (&'a str, &'a dyn Fn(&str) -> String);

/// The same with several pack files edited.
fn mutate_weakened_packs(edits: &[PackEdit<'_>], case: &str) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("policies");
    copy_tree(&repo().join("policies"), &copy);
    for (pack, edit) in edits {
        let pack = copy.join("packs").join(pack);
        let text = std::fs::read_to_string(&pack).unwrap();
        let weakened = edit(&text);
        assert_ne!(text, weakened, "the edit must change the pack");
        std::fs::write(&pack, weakened).unwrap();
    }
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    write(&cases, "case.tests.yaml", case);
    let run = slicegate(&[
        "test",
        &copy.to_string_lossy(),
        "--cases",
        &cases.to_string_lossy(),
        "--mutate",
        "--format",
        "json",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&run)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&run)));
    (run, report)
}

#[test]
fn mutate_finds_no_fail_open_in_the_library_and_reports_a_weakened_one() {
    // The library itself: every case, every mutation, nothing opens.
    let run = slicegate(&[
        "test",
        library_bundle(),
        "--cases",
        &cases_dir(),
        "--mutate",
    ]);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let out = stdout(&run);
    assert!(out.contains(", 0 fail-open\n"), "{out}");
    assert!(!out.contains("FAIL-OPEN"), "{out}");

    // The same case on the unchanged German pack holds under mutation.
    let (run, report) = mutate_weakened(|text| format!("{text}\n"));
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report["mutations"]["failOpen"], serde_json::json!([]));
    assert!(report["mutations"]["mutations"].as_u64().unwrap() > 5);

    // A forbid removed: without the notification rule, a request that
    // leaves the prohibition out is allowed — and the run says so.
    let (run, report) = mutate_weakened(|text| {
        let start = text
            .find("@id(\"de-2024/critical-component-notice\")")
            .unwrap();
        let end = text[start..].find("};\n").unwrap() + start + 3;
        format!("{}{}", &text[..start], &text[end..])
    });
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(report["suite"]["failed"], 0, "the case itself still passes");
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        opened[0]["mutation"],
        "dropped-record: /equipment/criticalComponentNotice dropped"
    );
    assert_eq!(
        opened[0]["deniedBy"],
        serde_json::json!(["de-2024/prohibited-component"])
    );
    assert_eq!(
        opened[0]["allowedBy"],
        serde_json::json!(["baseline/known-vendor"])
    );
    assert!(stderr(&run).contains("the library fails open"));

    // A guard turned permissive: "no notification on record" no longer
    // denies.
    let (run, report) = mutate_weakened(|text| {
        text.replacen(
            "unless {\n  principal has criticalNotice &&",
            "unless {\n  !(principal has criticalNotice) ||\n  principal has criticalNotice &&",
            1,
        )
    });
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        opened[0]["mutation"],
        "dropped-record: /equipment/criticalComponentNotice dropped"
    );

    // The rules stop treating a party not on record as adverse (the FCC
    // subsidy rule, and the baseline permit that backs it): the mutation
    // that swaps in a peer whose carrier is unknown opens the library.
    let fcc = |text: &str| text.replacen(" ||\n   context.parties.unknownParty)", ")", 1);
    let baseline = |text: &str| text.replacen(" &&\n  !context.parties.unknownParty", "", 1);
    let (run, report) = mutate_weakened_packs(
        &[
            ("us-fcc-889/us-fcc-889.cedar", &fcc),
            ("baseline-procurement/baseline.cedar", &baseline),
        ],
        COVERED_PEER_CASE,
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(
        opened[0]["mutation"]
            .as_str()
            .unwrap()
            .starts_with("unknown-party: /peer = "),
        "{opened:?}"
    );
    assert_eq!(
        opened[0]["deniedBy"],
        serde_json::json!(["us-fcc-889/no-subsidy-for-covered"])
    );

    // The baseline permit alone stops treating a party not on record as
    // adverse: no denied case shows it, but the allowed interconnect with
    // its peer swapped for one whose carrier is unknown does.
    let (run, report) = mutate_weakened_pack(
        "baseline-procurement/baseline.cedar",
        baseline,
        TRUSTED_PEER_CASE,
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(report["suite"]["failed"], 0, "the case itself still passes");
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert!(!opened.is_empty(), "{report}");
    assert!(
        opened
            .iter()
            .all(|o| o["mutation"].as_str().unwrap().ends_with("(allowed case)")),
        "{opened:?}"
    );
    // On the unchanged library the same allowed case holds.
    let (run, report) = mutate_weakened_pack(
        "baseline-procurement/baseline.cedar",
        |t| format!("{t}\n"),
        TRUSTED_PEER_CASE,
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report["mutations"]["failOpen"], serde_json::json!([]));
    assert_eq!(report["mutations"]["allowedCases"], 1);
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    use std::process::Stdio;
    for args in [
        vec!["inspect", library_bundle()],
        vec!["inspect", "--json", library_bundle()],
        vec!["test", library_bundle(), "--cases", "policies"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slicegate"))
            .args(&args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes anything.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(output.status.code(), Some(141), "{args:?}: {err}");
    }
}

/// With no usable cache location — no variables, or relative ones — the
/// command still answers, compiling in memory: nothing is written to the
/// working directory or a shared temporary folder.
#[test]
fn without_an_absolute_cache_location_nothing_is_cached_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let policies = write(
        dir.path(),
        "p.cedar",
        r#"permit(principal == User::"alice", action == Action::"view", resource);"#,
    );
    let schema = write(dir.path(), "s.cedarschema", SCHEMA);
    let request = write(
        dir.path(),
        "r.json",
        r#"{"principal": "User::\"alice\"", "action": "Action::\"view\"", "resource": "Photo::\"a.jpg\"", "context": {}}"#,
    );
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (var, value) in [
        (None, ""),
        (Some("XDG_CACHE_HOME"), "relative-cache"),
        (Some("SLICEGATE_CACHE_DIR"), "rel/cache"),
        (Some("HOME"), "home-rel"),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slicegate"));
        command
            .args([
                "authorize",
                "--policies",
                &policies,
                "--schema",
                &schema,
                "--request-json",
                &request,
            ])
            .current_dir(cwd.path())
            .env_remove("SLICEGATE_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("HOME")
            .env("TMPDIR", tmp.path());
        if let Some(var) = var {
            command.env(var, value);
        }
        let output = command.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{var:?}: {}",
            stderr(&output)
        );
        let written: Vec<_> = std::fs::read_dir(cwd.path())
            .unwrap()
            .chain(std::fs::read_dir(tmp.path()).unwrap())
            .map(|e| e.unwrap().path())
            .collect();
        assert!(written.is_empty(), "{var:?}: wrote {written:?}");
    }
}

/// Whatever ends a command — a signal or a reader that closed the pipe —
/// the run's temporary files (the built-in library written out, the demo's
/// state, caches) are removed: everything lives in one private folder that
/// goes with the run.
#[test]
fn a_run_ended_by_a_signal_or_a_closed_pipe_leaves_no_temporary_files() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_slicegate"))
            .args(args)
            .current_dir(work.path())
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let left = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    for (args, signal, status) in [
        (&["demo"][..], "-INT", 130),
        (&["test", "--mutate"][..], "-TERM", 143),
        (&["demo"][..], "-USR1", 138),
    ] {
        let mut child = spawn(args);
        // Once the run's folder holds the written-out library, stop it.
        let started = std::time::Instant::now();
        while !left().iter().any(|name| name.starts_with("slicegate-run-"))
            && started.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        assert_eq!(child.wait().unwrap().code(), Some(status), "{args:?}");
        assert!(left().is_empty(), "{args:?} {signal} left {:?}", left());
    }
    // A reader that takes one line and goes.
    let mut child = spawn(&["demo"]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(141));
    assert!(left().is_empty(), "a closed pipe left {:?}", left());
}
