//! Generic Cedar requests through the component, and fail-closed behaviour:
//! schema violations, erroring forbids, fuel and memory limits. After a
//! limit the instance is discarded and the next decision still works.

use std::sync::OnceLock;

use slicegate::{
    CedarRequest, Decider, Failure, LimitKind, Limits, PolicyIdMode, PolicySources, Runtime,
    SourceFile,
};

const SCHEMA: &str = r#"
entity User = { clearance: Long };
entity Doc;
action read appliesTo { principal: User, resource: Doc, context: { items: Set<Long>, big: String } };
"#;

const POLICIES: &str = r#"
permit (principal, action == Action::"read", resource)
when { principal.clearance >= 2 };

forbid (principal, action == Action::"read", resource)
when { context.items.contains(13) };
"#;

const ENTITIES: &str = r#"[
  {"uid": {"type": "User", "id": "alice"}, "attrs": {"clearance": 3}, "parents": []},
  {"uid": {"type": "User", "id": "bob"}, "attrs": {"clearance": 1}, "parents": []},
  {"uid": {"type": "Doc", "id": "plan"}, "attrs": {}, "parents": []}
]"#;

/// The default-limits runtime, compiled once for the tests that share it.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(Limits::default()).expect("runtime"))
}

fn sources(policies: &str) -> PolicySources {
    let file = |name: &str, text: &str| SourceFile {
        name: name.to_string(),
        text: text.to_string(),
    };
    PolicySources {
        policies: vec![file("test.cedar", policies)],
        schema: Some(file("test.cedarschema", SCHEMA)),
        entities: vec![file("entities.json", ENTITIES)],
        policy_ids: PolicyIdMode::Positional,
        strict: true,
        bundle_name: "test".to_string(),
        bundle_revision: 7,
    }
}

fn request(principal: &str, items: &str, big: &str) -> CedarRequest {
    slicegate_tooling::native::request_from_json(&format!(
        r#"{{"principal": "User::\"{principal}\"", "action": "Action::\"read\"",
            "resource": "Doc::\"plan\"", "context": {{"items": [{items}], "big": "{big}"}}}}"#
    ))
    .expect("request parses")
}

#[test]
fn allow_and_deny_name_the_determining_policies() {
    let mut decider = Decider::new(runtime(), &sources(POLICIES)).unwrap();

    let allowed = decider.authorize(&request("alice", "1", ""));
    assert!(allowed.allowed);
    assert_eq!(allowed.determining_ids(), ["policy0"]);
    assert_eq!(allowed.bundle_revision, Some(7));

    let forbidden = decider.authorize(&request("alice", "13", ""));
    assert!(!forbidden.allowed);
    assert_eq!(forbidden.determining_ids(), ["policy1"]);
    assert!(!forbidden.determining[0].permit);

    let default_deny = decider.authorize(&request("bob", "1", ""));
    assert!(!default_deny.allowed);
    assert!(default_deny.determining.is_empty());
    assert!(default_deny.failure.is_none());
}

#[test]
fn unknown_entity_types_and_schema_violations_are_denied_with_a_message() {
    let mut decider = Decider::new(runtime(), &sources(POLICIES)).unwrap();

    let mut unknown_type = request("alice", "1", "");
    unknown_type.principal.type_name = "Robot".to_string();
    let decision = decider.authorize(&unknown_type);
    assert!(!decision.allowed);
    match &decision.failure {
        Some(Failure::SchemaViolation(m)) => assert!(m.contains("Robot"), "{m}"),
        other => panic!("expected a schema violation, got {other:?}"),
    }

    let wrong_context = slicegate_tooling::native::request_from_json(
        r#"{"principal": "User::\"alice\"", "action": "Action::\"read\"",
            "resource": "Doc::\"plan\"", "context": {"items": "not a set", "big": ""}}"#,
    )
    .unwrap();
    let decision = decider.authorize(&wrong_context);
    assert!(!decision.allowed);
    assert!(
        matches!(decision.failure, Some(Failure::SchemaViolation(ref m)) if m.contains("type mismatch")),
        "{:?}",
        decision.failure
    );

    let bad_type_name = slicegate_tooling::native::request_from_json(
        r#"{"principal": {"type": "not a type!", "id": "x"}, "action": "Action::\"read\"",
            "resource": "Doc::\"plan\""}"#,
    )
    .unwrap();
    let decision = decider.authorize(&bad_type_name);
    assert!(!decision.allowed);
    assert!(matches!(decision.failure, Some(Failure::InvalidRequest(_))));
}

#[test]
fn an_allow_that_an_erroring_forbid_might_have_prevented_is_denied() {
    // Without a schema, `context.missing` errors at evaluation: Cedar skips
    // the forbid and allows. slicegate denies and says why; Cedar's own
    // decision stays visible for conformance.
    let mut unvalidated = sources(
        "permit (principal, action, resource);\nforbid (principal, action, resource) when { context.missing };",
    );
    unvalidated.schema = None;
    unvalidated.strict = false;
    let mut decider = Decider::new(runtime(), &unvalidated).unwrap();
    let decision = decider.authorize(&request("alice", "1", ""));
    assert!(!decision.allowed);
    assert_eq!(decision.cedar_allowed(), Some(true));
    assert!(
        matches!(decision.failure, Some(Failure::ForbidErrored(ref m)) if m.contains("policy1"))
    );
    assert_eq!(decision.errors.len(), 1);
    assert!(!decision.errors[0].permit);
}

#[test]
fn running_out_of_fuel_denies_and_the_next_decision_gets_a_fresh_instance() {
    let limits = Limits {
        fuel_per_decision: 20_000_000,
        ..Limits::default()
    };
    let runtime = Runtime::new(limits).unwrap();
    let mut decider = Decider::new(&runtime, &sources(POLICIES)).unwrap();

    let items: Vec<String> = (0..100_000).map(|i| (i + 100).to_string()).collect();
    let expensive = decider.authorize(&request("alice", &items.join(","), ""));
    assert!(!expensive.allowed);
    assert_eq!(expensive.failure, Some(Failure::Limit(LimitKind::Fuel)));

    let cheap = decider.authorize(&request("alice", "1", ""));
    assert!(cheap.allowed, "{cheap:?}");
    assert_eq!(cheap.determining_ids(), ["policy0"]);
}

#[test]
fn exceeding_the_memory_cap_denies_and_the_next_decision_gets_a_fresh_instance() {
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let runtime = Runtime::new(limits).unwrap();
    let mut decider = Decider::new(&runtime, &sources(POLICIES)).unwrap();

    let huge = "x".repeat(96 << 20);
    let decision = decider.authorize(&request("alice", "1", &huge));
    assert!(!decision.allowed);
    assert_eq!(decision.failure, Some(Failure::Limit(LimitKind::Memory)));

    let next = decider.authorize(&request("alice", "1", ""));
    assert!(next.allowed, "{next:?}");
}

#[test]
fn a_batch_that_runs_out_of_fuel_denies_every_request_in_it() {
    let limits = Limits {
        fuel_per_decision: 20_000_000,
        ..Limits::default()
    };
    let runtime = Runtime::new(limits).unwrap();
    let mut decider = Decider::new(&runtime, &sources(POLICIES)).unwrap();
    // The batch's budget is one decision's per request; five requests that
    // each cost more than that exhaust it, and the whole batch is denied,
    // the cheap request included.
    let items: Vec<String> = (0..140_000).map(|i| (i + 100).to_string()).collect();
    let expensive = request("alice", &items.join(","), "");
    let mut batch = vec![request("alice", "1", "")];
    batch.extend(std::iter::repeat_n(expensive, 5));
    let decisions = decider.authorize_batch(&batch);
    assert_eq!(decisions.len(), 6);
    for decision in &decisions {
        assert!(!decision.allowed);
        assert_eq!(decision.failure, Some(Failure::Limit(LimitKind::Fuel)));
    }
}

#[test]
fn entities_a_request_brings_are_checked_and_used_for_that_request_only() {
    let mut decider = Decider::new(runtime(), &sources(POLICIES)).unwrap();
    let with = |entities: &str| {
        slicegate_tooling::native::request_from_json(&format!(
            r#"{{"principal": "User::\"carol\"", "action": "Action::\"read\"",
                "resource": "Doc::\"plan\"", "context": {{"items": [], "big": ""}},
                "entities": {entities}}}"#
        ))
    };
    let carol =
        r#"[{"uid": {"type": "User", "id": "carol"}, "attrs": {"clearance": 5}, "parents": []}]"#;
    let allowed = decider.authorize(&with(carol).unwrap());
    assert!(allowed.allowed, "{allowed:?}");
    assert_eq!(allowed.determining_ids(), ["policy0"]);

    // Not kept: without them carol is unknown and nothing permits her.
    let mut without = with(carol).unwrap();
    without.entities = None;
    let denied = decider.authorize(&without);
    assert!(!denied.allowed);

    // An entity that violates the schema.
    let wrong = r#"[{"uid": {"type": "User", "id": "carol"}, "attrs": {"clearance": "high"}, "parents": []}]"#;
    let decision = decider.authorize(&with(wrong).unwrap());
    assert!(!decision.allowed);
    assert!(
        matches!(decision.failure, Some(Failure::SchemaViolation(ref m)) if m.contains("request entities")),
        "{:?}",
        decision.failure
    );

    // Restating a loaded entity with more clearance is refused, not merged.
    let bob =
        r#"[{"uid": {"type": "User", "id": "bob"}, "attrs": {"clearance": 9}, "parents": []}]"#;
    let mut as_bob = with(bob).unwrap();
    as_bob.principal.id = "bob".to_string();
    let decision = decider.authorize(&as_bob);
    assert!(!decision.allowed, "{decision:?}");
    assert!(decision.failure.is_some(), "{decision:?}");

    // Not an array.
    assert!(
        with("{}")
            .unwrap_err()
            .contains("entities must be a JSON array")
    );
}
