//! Differential: generated Cedar policies, entities and requests decided
//! by the component and by native `cedar-policy` give the same decision,
//! the same determining policies and the same erroring policies.

use proptest::prelude::*;
use serde_json::{Value, json};
use slicegate::{CedarRequest, Decider, PolicyIdMode, PolicySources, SourceFile};
use slicegate_tooling::native::NativePolicySet;

use crate::support::{config, runtime};

/// A Long-valued term of the toy schema (some may error: `principal.boss`
/// is absent on some users, `context.n` on some requests).
fn long_term() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3i64..12).prop_map(|n| n.to_string()),
        Just("principal.level".to_string()),
        Just("resource.level".to_string()),
        Just("principal.boss.level".to_string()),
        Just("context.n".to_string()),
        Just("resource.owner.level".to_string()),
    ]
}

fn entity_term() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("principal".to_string()),
        Just("resource.owner".to_string()),
        Just("principal.boss".to_string()),
        (0..3).prop_map(|i| format!("User::\"u{i}\"")),
        (0..2).prop_map(|i| format!("Group::\"g{i}\"")),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("true".to_string()),
        Just("false".to_string()),
        (
            long_term(),
            long_term(),
            prop_oneof![Just("<"), Just("<="), Just("=="), Just(">"), Just("!=")]
        )
            .prop_map(|(a, b, op)| format!("{a} {op} {b}")),
        (entity_term(), entity_term()).prop_map(|(a, b)| format!("{a} == {b}")),
        (entity_term(), entity_term()).prop_map(|(a, b)| format!("{a} in {b}")),
        prop_oneof![
            Just("principal has boss"),
            Just("context has n"),
            Just("resource has tags")
        ]
        .prop_map(str::to_string),
        (
            "[ab]",
            prop_oneof![Just("principal.tags"), Just("resource.tags")]
        )
            .prop_map(|(t, set)| format!("{set}.contains(\"{t}\")")),
        Just("resource.public".to_string()),
        (long_term(), long_term()).prop_map(|(a, b)| format!("{a} + {b} > 5")),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} && {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} || {b})")),
            inner.clone().prop_map(|a| format!("!({a})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(a, b, c)| format!("(if {a} then {b} else {c})")),
        ]
    })
}

fn policy() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("permit"), Just("forbid")],
        prop_oneof![
            Just("principal".to_string()),
            (0..3).prop_map(|i| format!("principal == User::\"u{i}\"")),
            (0..2).prop_map(|i| format!("principal in Group::\"g{i}\"")),
        ],
        prop_oneof![
            Just("action".to_string()),
            Just("action == Action::\"read\"".to_string()),
            Just("action in [Action::\"read\", Action::\"write\"]".to_string()),
        ],
        proptest::collection::vec((any::<bool>(), condition()), 0..3),
    )
        .prop_map(|(effect, principal, action, conditions)| {
            let clauses: String = conditions
                .into_iter()
                .map(|(when, c)| format!(" {} {{ {c} }}", if when { "when" } else { "unless" }))
                .collect();
            format!("{effect} ({principal}, {action}, resource){clauses};")
        })
}

fn user(i: usize, level: i64, boss: Option<usize>, group: Option<usize>, tags: &[&str]) -> Value {
    let mut attrs = json!({"level": level, "tags": tags});
    if let Some(b) = boss {
        attrs["boss"] = json!({"__entity": {"type": "User", "id": format!("u{b}")}});
    }
    json!({"uid": {"type": "User", "id": format!("u{i}")}, "attrs": attrs,
           "parents": group.map(|g| vec![json!({"type": "Group", "id": format!("g{g}")})]).unwrap_or_default()})
}

fn world() -> impl Strategy<Value = (Vec<Value>, String, String, String, Value)> {
    (
        proptest::collection::vec((-2i64..10, proptest::option::of(0usize..3), proptest::option::of(0usize..2), any::<bool>()), 3),
        (0usize..2, -2i64..10, 0usize..3, any::<bool>()),
        0usize..3,
        prop_oneof![Just("read"), Just("write"), Just("delete")],
        proptest::option::of(-3i64..12),
    )
        .prop_map(|(users, (doc_tags, doc_level, owner, public), principal, action, n)| {
            let mut entities: Vec<Value> = users
                .iter()
                .enumerate()
                .map(|(i, (level, boss, group, tagged))| {
                    user(i, *level, *boss, *group, if *tagged { &["a"] } else { &[] })
                })
                .collect();
            entities.push(json!({"uid": {"type": "Group", "id": "g0"}, "attrs": {}, "parents": [{"type": "Group", "id": "g1"}]}));
            entities.push(json!({"uid": {"type": "Group", "id": "g1"}, "attrs": {}, "parents": []}));
            let mut doc = json!({"level": doc_level, "owner": {"__entity": {"type": "User", "id": format!("u{owner}")}}, "public": public});
            if doc_tags == 1 {
                doc["tags"] = json!(["b"]);
            }
            entities.push(json!({"uid": {"type": "Doc", "id": "d"}, "attrs": doc, "parents": []}));
            let context = match n {
                Some(n) => json!({"n": n}),
                None => json!({}),
            };
            (entities, format!("u{principal}"), action.to_string(), "d".to_string(), context)
        })
}

proptest! {
    #![proptest_config(config(2))]

    #[test]
    fn generated_policies_decide_alike_in_the_component_and_in_native_cedar(
        policies in proptest::collection::vec(policy(), 1..6),
        (entities, principal, action, resource, context) in world(),
    ) {
        let text = policies.join("\n");
        let sources = PolicySources {
            policies: vec![SourceFile { name: "fuzz.cedar".to_string(), text }],
            schema: None,
            entities: vec![SourceFile { name: "e.json".to_string(), text: Value::from(entities).to_string() }],
            policy_ids: PolicyIdMode::Positional,
            strict: false,
            bundle_name: "fuzz".to_string(),
            bundle_revision: 0,
        };
        let native = NativePolicySet::load(&sources);
        let component = Decider::new(runtime(), &sources);
        let (native, mut component) = match (native, component) {
            (Ok(native), Ok(component)) => (native, component),
            (Err(_), Err(_)) => return Ok(()),
            (n, c) => {
                return Err(TestCaseError::fail(format!(
                    "one side loads, the other does not: native {:?}, component {:?}",
                    n.err(), c.err().map(|f| f.to_string())
                )));
            }
        };
        let request: CedarRequest = serde_json::from_value(json!({
            "principal": {"type": "User", "id": principal},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Doc", "id": resource},
            "context": context,
            "validate": false
        })).unwrap();
        let decision = component.authorize(&request);
        let native = native.authorize(&request).map_err(TestCaseError::fail)?;
        prop_assert_eq!(decision.cedar_allowed(), Some(native.allowed));
        let determining: std::collections::BTreeSet<String> =
            decision.determining_ids().into_iter().map(String::from).collect();
        prop_assert_eq!(&determining, &native.reason);
        let errored: std::collections::BTreeSet<String> =
            decision.errors.iter().map(|e| e.policy_id.clone()).collect();
        prop_assert_eq!(&errored, &native.errors);
        // Fail closed: an erroring forbid never leaves an allow.
        let forbid_errored = decision.errors.iter().any(|e| !e.permit);
        prop_assert!(!(decision.allowed && forbid_errored));
    }
}
