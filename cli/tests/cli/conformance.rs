//! `slicegate conformance`: Cedar's conformance tests and corpus against
//! native Cedar.

use crate::support::{repo, slicegate, stderr, stdout};

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

/// Found attacking the compiled path: a set that does not load (an entity
/// cycle, whose message names either vertex by the instance's hash order)
/// is refused alike compiled and interpreted, run after run; and a policy
/// nested deeper than the engine's stack is a contained refusal in the
/// component and parsed natively on the runner's large worker stacks — the
/// command reports it, never crashes.
#[test]
fn conformance_compares_refused_loads_by_kind_and_survives_deep_nesting() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "cycle.cedar",
        r#"permit(principal, action, resource) when { principal in G::"a" };"#,
    );
    write(
        "cycle.cedarschema",
        "entity G in [G];\nentity User in [G];\nentity Doc;\naction view appliesTo { principal: [User], resource: [Doc], context: {} };\n",
    );
    write(
        "cycle.entities.json",
        r#"[{"uid": {"type": "User", "id": "u"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]},
            {"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "b"}]},
            {"uid": {"type": "G", "id": "b"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]}]"#,
    );
    let request = |description: &str| {
        serde_json::json!({
            "description": description,
            "principal": {"type": "User", "id": "u"},
            "action": {"type": "Action", "id": "view"},
            "resource": {"type": "Doc", "id": "d"},
            "context": {}, "validateRequest": false,
            "decision": "deny", "reason": [], "errors": []
        })
    };
    for copy in 0..12 {
        let test = serde_json::json!({
            "policies": "cycle.cedar", "entities": "cycle.entities.json",
            "schema": "cycle.cedarschema", "shouldValidate": false,
            "requests": [request("r0"), request("r1")]
        });
        write(&format!("cycle{copy}.json"), &test.to_string());
    }
    let run = slicegate(&["conformance", "-q", &dir.path().to_string_lossy()]);
    assert!(run.status.success(), "{}\n{}", stdout(&run), stderr(&run));
    assert_eq!(
        stdout(&run).lines().last(),
        Some("24 passed, 0 failed"),
        "{}",
        stdout(&run)
    );

    let nested = format!(
        "permit(principal, action, resource) when {{ {}context.b{} }};",
        "(".repeat(600),
        ")".repeat(600)
    );
    write("deep.cedar", &nested);
    write(
        "deep.cedarschema",
        "entity User;\nentity Doc;\naction view appliesTo { principal: [User], resource: [Doc], context: {b: Bool} };\n",
    );
    write("deep.entities.json", "[]");
    let test = serde_json::json!({
        "policies": "deep.cedar", "entities": "deep.entities.json",
        "schema": "deep.cedarschema", "shouldValidate": true,
        "requests": [{
            "description": "deep", "principal": {"type": "User", "id": "u"},
            "action": {"type": "Action", "id": "view"}, "resource": {"type": "Doc", "id": "d"},
            "context": {"b": true}, "validateRequest": true,
            "decision": "allow", "reason": ["policy0"], "errors": []
        }]
    });
    write("deep.json", &test.to_string());
    let run = slicegate(&["conformance", "-q", &dir.path().to_string_lossy()]);
    // Exit 1 (the component refuses what native parses), not a signal.
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run)
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("passed, 1 failed")),
        "{}",
        stdout(&run)
    );
}
