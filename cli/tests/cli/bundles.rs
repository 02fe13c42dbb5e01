//! Bundles from the command line: `slicegate build` (its checks, warnings
//! and tests), `keygen`, `sign`, `verify` and `inspect`.

use std::path::Path;

use crate::support::{WRONG_CASE, copy_tree, repo, slicegate, stderr, stdout, write};

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
    assert_eq!(inspection["manifest"]["policyCount"], 15);
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
        stdout(&build).contains("41 policies, 0 warning(s)"),
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
            "{cases} passed, 0 failed; policy coverage 100.0 % (41 of 41 policies determined a case)"
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
