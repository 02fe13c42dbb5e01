//! `slicegate authorize`: a Cedar request against a policy set.

use crate::support::{SCHEMA, slicegate, stderr, stdout, write};

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
