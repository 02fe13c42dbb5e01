//! Differential: generated Cedar policies, entities and requests decided
//! three ways — by the component with its policies compiled (as bundles
//! are built), by the component with every policy interpreted, and by
//! native `cedar-policy` — give the same decision, determining policies and
//! erroring policies; the two engine runs give the same decision record,
//! error messages included. The grammar reaches every expression form the
//! compiler translates (extension values, records, sets, tags, `like`,
//! `is`, `has` paths, arithmetic with overflow, `if`) with terms that
//! sometimes error (missing attributes and entities, type errors).

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use serde_json::{Value, json};
use slicegate::{CedarRequest, Decider, PolicyIdMode, PolicySources, SourceFile};
use slicegate_tooling::native::NativePolicySet;

use crate::support::{config, runtime};

fn pick(options: &[&str]) -> BoxedStrategy<String> {
    let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
    proptest::sample::select(options).boxed()
}

/// A Long-valued term (some error: absent attributes, missing entities,
/// overflow, a string where a Long is expected).
fn long_term() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        (-3i64..12).prop_map(|n| n.to_string()),
        pick(&[
            "principal.level",
            "resource.level",
            "principal.boss.level",
            "context.n",
            "resource.owner.level",
            "resource.getTag(\"n\")",
            "context.r.level",
            "principal.profile.level",
            "9223372036854775807",
            "context.s",
            "User::\"u9\".level",
        ]),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone(), pick(&["+", "-", "*"]))
                .prop_map(|(a, b, op)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("(-{a})")),
        ]
    })
    .boxed()
}

fn string_term() -> BoxedStrategy<String> {
    pick(&[
        "\"a\"",
        "\"ab\"",
        "principal.name",
        "context.s",
        "resource.getTag(\"s\")",
        "principal.level",
    ])
}

fn entity_term() -> BoxedStrategy<String> {
    prop_oneof![
        pick(&[
            "principal",
            "resource",
            "resource.owner",
            "principal.boss",
            "context.who",
            "resource.getTag(\"e\")",
            "action",
        ]),
        (0..4).prop_map(|i| format!("User::\"u{i}\"")),
        (0..3).prop_map(|i| format!("Group::\"g{i}\"")),
    ]
    .boxed()
}

fn set_term() -> BoxedStrategy<String> {
    prop_oneof![
        pick(&[
            "principal.tags",
            "resource.tags",
            "[]",
            "[\"a\", \"b\"]",
            "[1, 2]",
            "context.set",
            "[ip(\"10.0.0.1\"), decimal(\"1.5\")]",
            "[{level: 1}]",
        ]),
        (entity_term(), entity_term()).prop_map(|(a, b)| format!("[{a}, {b}]")),
        (long_term(), string_term()).prop_map(|(a, b)| format!("[{a}, {b}]")),
    ]
    .boxed()
}

fn instant_term() -> BoxedStrategy<String> {
    pick(&[
        "datetime(\"2024-01-01\")",
        "datetime(\"2024-06-01T12:00:00Z\")",
        "resource.created",
        "context.at",
        "context.at.offset(duration(\"-1d\"))",
        "datetime(\"not a date\")",
        "context.n",
    ])
}

fn leaf() -> BoxedStrategy<String> {
    let cmp = pick(&["<", "<=", "==", ">", ">=", "!="]);
    prop_oneof![
        pick(&[
            "true",
            "false",
            "resource.public",
            "principal.profile.ok",
            "context.n"
        ]),
        (long_term(), long_term(), cmp.clone()).prop_map(|(a, b, op)| format!("{a} {op} {b}")),
        (entity_term(), entity_term()).prop_map(|(a, b)| format!("{a} == {b}")),
        (entity_term(), entity_term()).prop_map(|(a, b)| format!("{a} in {b}")),
        (entity_term(), set_term()).prop_map(|(a, b)| format!("{a} in {b}")),
        (
            entity_term(),
            pick(&["User", "Group", "Doc"]),
            entity_term()
        )
            .prop_map(|(a, t, b)| format!("({a} is {t} in {b})")),
        (entity_term(), pick(&["User", "Doc"])).prop_map(|(a, t)| format!("{a} is {t}")),
        pick(&[
            "principal has boss",
            "context has n",
            "resource has tags",
            "context has r.level",
            "principal has profile.ok",
            "resource has owner.level",
            "resource.owner has boss.boss",
            "resource.hasTag(\"n\")",
            "User::\"u9\" has level",
            "context.n has level",
        ]),
        (
            set_term(),
            prop_oneof![long_term(), string_term(), entity_term()]
        )
            .prop_map(|(s, x)| format!("{s}.contains({x})")),
        (
            set_term(),
            set_term(),
            pick(&["containsAll", "containsAny"])
        )
            .prop_map(|(a, b, m)| format!("{a}.{m}({b})")),
        set_term().prop_map(|s| format!("{s}.isEmpty()")),
        (
            string_term(),
            pick(&["\"a*\"", "\"*b\"", "\"\\*\"", "\"*\""])
        )
            .prop_map(|(s, p)| format!("{s} like {p}")),
        (instant_term(), instant_term(), cmp).prop_map(|(a, b, op)| format!("{a} {op} {b}")),
        pick(&[
            "ip(\"10.0.0.1\").isInRange(ip(\"10.0.0.0/8\"))",
            "context.addr.isIpv4()",
            "context.addr.isInRange(ip(\"192.168.0.0/16\"))",
            "decimal(\"1.5\").lessThan(decimal(\"2.0\"))",
            "decimal(context.s).lessThan(decimal(\"1.0\"))",
            "context.r == {level: 3}",
            "{a: 1, b: context.n}.b == 2",
            "{a: principal}.a == context.who",
            "context.at.toDate() == datetime(\"2024-06-01\")",
        ]),
        (long_term(), long_term())
            .prop_map(|(a, b)| format!("(if {a} > 2 then {b} else {a}) == 3")),
    ]
    .boxed()
}

fn condition() -> BoxedStrategy<String> {
    leaf()
        .prop_recursive(3, 16, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} && {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} || {b})")),
                inner.clone().prop_map(|a| format!("!({a})")),
                (inner.clone(), inner.clone(), inner)
                    .prop_map(|(a, b, c)| format!("(if {a} then {b} else {c})")),
            ]
        })
        .boxed()
}

fn policy() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("permit"), Just("forbid")],
        prop_oneof![
            Just("principal".to_string()),
            (0..3).prop_map(|i| format!("principal == User::\"u{i}\"")),
            (0..2).prop_map(|i| format!("principal in Group::\"g{i}\"")),
            Just("principal is User".to_string()),
            (0..2).prop_map(|i| format!("principal is User in Group::\"g{i}\"")),
        ],
        prop_oneof![
            Just("action".to_string()),
            Just("action == Action::\"read\"".to_string()),
            Just("action in [Action::\"read\", Action::\"write\"]".to_string()),
            Just("action in Action::\"all\"".to_string()),
        ],
        prop_oneof![
            Just("resource".to_string()),
            Just("resource is Doc".to_string()),
            Just("resource == Doc::\"d\"".to_string()),
        ],
        proptest::collection::vec((any::<bool>(), condition()), 0..3),
    )
        .prop_map(|(effect, principal, action, resource, conditions)| {
            let clauses: String = conditions
                .into_iter()
                .map(|(when, c)| format!(" {} {{ {c} }}", if when { "when" } else { "unless" }))
                .collect();
            format!("{effect} ({principal}, {action}, {resource}){clauses};")
        })
}

fn uid(kind: &str, id: String) -> Value {
    json!({"__entity": {"type": kind, "id": id}})
}

type UserSpec = (i64, Option<usize>, Option<usize>, bool, bool);

fn user(i: usize, (level, boss, group, tagged, with_profile): UserSpec) -> Value {
    let mut attrs = json!({"level": level, "tags": if tagged { vec!["a"] } else { vec![] }, "name": format!("a{i}")});
    if let Some(b) = boss {
        attrs["boss"] = uid("User", format!("u{b}"));
    }
    if with_profile {
        attrs["profile"] = json!({"level": level - 1, "ok": level % 2 == 0});
    }
    json!({"uid": {"type": "User", "id": format!("u{i}")}, "attrs": attrs,
           "parents": group.map(|g| vec![json!({"type": "Group", "id": format!("g{g}")})]).unwrap_or_default()})
}

type World = (Vec<Value>, String, String, String, Value);

fn world() -> impl Strategy<Value = World> {
    let users = proptest::collection::vec(
        (
            -2i64..10,
            proptest::option::of(0usize..4),
            proptest::option::of(0usize..3),
            any::<bool>(),
            any::<bool>(),
        ),
        3,
    );
    let doc = (
        0usize..3,
        -2i64..10,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    );
    let context = (
        proptest::option::of(-3i64..12),
        pick(&["a", "ab", "1.5", "b"]),
        0usize..5,
        any::<bool>(),
    );
    (users, doc, 0usize..4, pick(&["read", "write", "delete"]), context).prop_map(
        |(users, (tags, level, owner, public, tagged), principal, action, context)| {
            let mut entities: Vec<Value> =
                users.into_iter().enumerate().map(|(i, u)| user(i, u)).collect();
            entities.push(json!({"uid": {"type": "Group", "id": "g0"}, "attrs": {}, "parents": [{"type": "Group", "id": "g1"}]}));
            entities.push(json!({"uid": {"type": "Group", "id": "g1"}, "attrs": {}, "parents": []}));
            entities.push(json!({"uid": {"type": "Action", "id": "all"}, "attrs": {}, "parents": []}));
            for a in ["read", "write"] {
                entities.push(json!({"uid": {"type": "Action", "id": a}, "attrs": {}, "parents": [{"type": "Action", "id": "all"}]}));
            }
            let mut doc = json!({"level": level, "owner": uid("User", format!("u{owner}")), "public": public,
                                 "created": {"__extn": {"fn": "datetime", "arg": "2024-03-01"}}});
            if tags > 0 {
                doc["tags"] = json!(["b"]);
            }
            let mut entity = json!({"uid": {"type": "Doc", "id": "d"}, "attrs": doc, "parents": []});
            if tagged {
                entity["tags"] = json!({"n": level, "s": "ab", "e": uid("User", "u1".to_string())});
            }
            entities.push(entity);
            let (n, s, who, with_record) = context;
            let mut context = json!({
                "s": s, "who": uid("User", format!("u{who}")),
                "at": {"__extn": {"fn": "datetime", "arg": "2024-06-01T12:00:00Z"}},
                "addr": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
                "set": ["a", 1],
            });
            if let Some(n) = n {
                context["n"] = json!(n);
            }
            if with_record {
                context["r"] = json!({"level": 3});
            }
            (entities, format!("u{principal}"), action, "d".to_string(), context)
        },
    )
}

fn sources(policies: &[String], entities: Vec<Value>) -> PolicySources {
    PolicySources {
        policies: vec![SourceFile {
            name: "fuzz.cedar".to_string(),
            text: policies.join("\n"),
        }],
        schema: None,
        entities: vec![SourceFile {
            name: "e.json".to_string(),
            text: Value::from(entities).to_string(),
        }],
        policy_ids: PolicyIdMode::Positional,
        strict: false,
        bundle_name: "fuzz".to_string(),
        bundle_revision: 0,
    }
}

proptest! {
    #![proptest_config(config(2))]

    #[test]
    fn generated_policies_decide_alike_compiled_interpreted_and_in_native_cedar(
        policies in proptest::collection::vec(policy(), 1..6),
        (entities, principal, action, resource, context) in world(),
    ) {
        let sources = sources(&policies, entities);
        let native = NativePolicySet::load(&sources);
        let compiled = Decider::new(runtime(), &sources);
        let interpreted = Decider::interpreted(runtime(), &sources);
        let (native, mut compiled, mut interpreted) = match (native, compiled, interpreted) {
            (Ok(n), Ok(c), Ok(i)) => (n, c, i),
            (Err(_), Err(_), Err(_)) => return Ok(()),
            (n, c, i) => {
                return Err(TestCaseError::fail(format!(
                    "the three sides do not load alike: native {:?}, compiled {:?}, interpreted {:?}",
                    n.err(), c.err().map(|f| f.to_string()), i.err().map(|f| f.to_string())
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
        let decision = compiled.authorize(&request);
        prop_assert_eq!(&decision, &interpreted.authorize(&request));
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

/// The generator is worth its cases: nearly every generated set loads, and
/// its decisions exercise both the compiled evaluator and the hand-over to
/// the interpreter (evaluations that error).
#[test]
fn generated_cases_load_and_reach_both_paths() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (proptest::collection::vec(policy(), 1..6), world());
    let (mut loaded, mut compiled, mut interpreted) = (0u64, 0u64, 0u64);
    let samples = 150;
    for _ in 0..samples {
        let (policies, (entities, principal, action, resource, context)) =
            strategy.new_tree(&mut runner).expect("a case").current();
        let Ok(mut decider) = Decider::new(runtime(), &sources(&policies, entities)) else {
            continue;
        };
        loaded += 1;
        let request: CedarRequest = serde_json::from_value(json!({
            "principal": {"type": "User", "id": principal},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Doc", "id": resource},
            "context": context,
            "validate": false
        }))
        .expect("a request");
        decider.authorize(&request);
        let info = decider.info().expect("info");
        assert_eq!(info.compiled_policies, info.policy_count, "{policies:?}");
        compiled += info.compiled_decisions;
        interpreted += info.interpreted_decisions;
    }
    assert!(
        loaded * 10 >= samples * 9,
        "only {loaded} of {samples} generated sets load"
    );
    assert!(
        compiled * 4 >= loaded,
        "compiled path: {compiled} of {loaded}"
    );
    assert!(
        interpreted * 20 >= loaded,
        "interpreter hand-overs: {interpreted} of {loaded}"
    );
    println!(
        "{loaded} of {samples} loaded; {compiled} compiled decisions, {interpreted} handed to the interpreter"
    );
}
