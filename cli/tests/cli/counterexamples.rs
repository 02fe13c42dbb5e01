//! `explain` on a Cedar request over given entities: a counterexample of
//! `prove` replayed, and what it refuses.

use std::path::Path;

use crate::support::*;

/// `explain` on the counterexample folder decides it as `prove` said (the
/// refuted library allows it, with the same determining policies), and the
/// whole library denies it because of the one forbid removed.
pub fn explain_replays_the_counterexample(folder: &Path, prove_output: &str) {
    let said: Vec<&str> = prove_output
        .split("(determining: ")
        .nth(1)
        .and_then(|rest| rest.split("):").next())
        .unwrap()
        .split(", ")
        .collect();
    let folder = folder.to_str().unwrap();
    let refuted = slicegate(&["explain", folder, "--format", "json"]);
    assert_eq!(refuted.status.code(), Some(0), "{}", stderr(&refuted));
    let explanation: serde_json::Value = serde_json::from_slice(&refuted.stdout).unwrap();
    assert_eq!(explanation["decision"]["allowed"], true, "{explanation}");
    let determining: Vec<&str> = explanation["decision"]["determining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policyId"].as_str().unwrap())
        .collect();
    assert_eq!(determining, said);
    assert!(
        explanation["decidedBy"]
            .as_str()
            .unwrap()
            .contains("native cedar-policy")
    );
    let text = slicegate(&["explain", folder]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    assert!(
        stdout(&text).starts_with("ALLOW\ndecided by native"),
        "{}",
        stdout(&text)
    );

    // The library with its forbid: denied, and by that forbid.
    let whole = slicegate(&[
        "explain",
        folder,
        "--policies",
        "policies",
        "--format",
        "json",
    ]);
    assert_eq!(whole.status.code(), Some(2), "{}", stderr(&whole));
    let explanation: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
    let decision = &explanation["decision"];
    assert_eq!(decision["allowed"], false);
    let named = |key: &str| {
        decision[key]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["policyId"] == "uk-hrv/out-of-core")
    };
    assert!(named("determining") || named("errors"), "{decision}");
}

#[test]
fn explain_refuses_a_cedar_request_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let request = write(
        dir.path(),
        "request.json",
        r#"{"principal": "Equipment::\"e\"", "action": "Action::\"place\"", "resource": "Slice::\"s\"", "context": {}}"#,
    );
    // A Cedar request without entities is not a placement.
    let bare = slicegate(&["explain", &request]);
    assert_eq!(bare.status.code(), Some(1));
    assert!(stderr(&bare).contains("--entities"), "{}", stderr(&bare));
    // Entities that are not an array, not JSON, or not the schema's.
    for (name, text, says) in [
        ("object.json", "{}", "JSON array"),
        ("broken.json", "[", "not JSON"),
        (
            "wrong.json",
            r#"[{"uid": {"type": "Nonesuch", "id": "x"}, "attrs": {}, "parents": []}]"#,
            "Nonesuch",
        ),
    ] {
        let entities = write(dir.path(), name, text);
        let out = slicegate(&["explain", &request, "--entities", &entities]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        assert!(stdout(&out).is_empty(), "{name}: {}", stdout(&out));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
    }
    // A counterexample folder without its schema: refused, not decided
    // unvalidated.
    let no_schema = dir.path().join("no-schema");
    std::fs::create_dir_all(&no_schema).unwrap();
    write(
        &no_schema,
        "request.json",
        &std::fs::read_to_string(&request).unwrap(),
    );
    write(&no_schema, "entities.json", "[]");
    write(
        &no_schema,
        "policies.cedar",
        "permit (principal, action, resource);",
    );
    let out = slicegate(&["explain", no_schema.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("schema.cedarschema"),
        "{}",
        stderr(&out)
    );
    // A folder without the counterexample's files, and --entities beside a folder.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = slicegate(&["explain", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("policies.cedar"), "{}", stderr(&out));
    let out = slicegate(&["explain", empty.to_str().unwrap(), "--entities", &request]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--entities is for a request file"),
        "{}",
        stderr(&out)
    );
}
