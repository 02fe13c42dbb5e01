//! Property-based fuzzing (proptest, on stable Rust) of every parser and of
//! the decision path, with a fixed budget: `SLICEGATE_FUZZ_CASES` cases per
//! property (256 by default; CI runs the default, `scripts/fuzz.sh` runs
//! thousands). A failing input is shrunk and written by proptest to
//! `tests/fuzz.proptest-regressions`, which is checked in and replayed first
//! on every later run (the regression corpus).
//!
//! - bundles and signatures: flipped, cut, inserted and random bytes are an
//!   error, never a panic, and anything accepted is the signed content;
//! - trust stores, case files, plan files, placement requests and SOL003
//!   grants: any text or JSON is a value or an error, never a panic, and
//!   nothing malformed is allowed;
//! - decision logs: any change to a checkpointed log is caught;
//! - differential: generated Cedar policies, entities and requests decided
//!   by the component and by native `cedar-policy` give the same decision,
//!   the same determining policies and the same erroring policies.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use serde_json::{Value, json};
use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, KeyPair, Revision, TrustStore,
};
use slicegate::decision_log::{self, CheckpointSigner, DecisionLog, Durability, VerifyOptions};
use slicegate::{CedarRequest, Decider, Limits, PolicyIdMode, PolicySources, Runtime, SourceFile};
use slicegate_tooling::native::NativePolicySet;

fn cases() -> u32 {
    std::env::var("SLICEGATE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

fn config(scale: u32) -> Config {
    Config {
        cases: (cases() / scale).max(8),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fuzz.proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(Limits::default()).expect("runtime"))
}

fn library() -> &'static PolicySources {
    static SOURCES: OnceLock<PolicySources> = OnceLock::new();
    SOURCES.get_or_init(|| {
        PolicySources::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
            .expect("the library")
    })
}

fn library_decider() -> Decider {
    Decider::new(runtime(), library())
        .expect("the library loads")
        .permit_what_if(true)
}

/// A small signed bundle, its key, and its identity.
fn signed_bundle() -> &'static (Vec<u8>, KeyPair, String) {
    static BUNDLE: OnceLock<(Vec<u8>, KeyPair, String)> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let sources = PolicySources {
            policies: vec![SourceFile {
                name: "p.cedar".to_string(),
                text: "@id(\"all\")\npermit (principal, action, resource);\n".to_string(),
            }],
            schema: None,
            entities: Vec::new(),
            policy_ids: PolicyIdMode::Annotation,
            strict: false,
            bundle_name: String::new(),
            bundle_revision: 0,
        };
        let options = BuildOptions {
            name: BundleName("fuzz".to_string()),
            revision: Revision(1),
            created_at: "2026-01-01T00:00:00Z".to_string(),
            not_before: None,
            not_after: None,
            tests: None,
        };
        let key = KeyPair::generate().unwrap();
        let signed =
            bundle::sign_embedded(&bundle::build(&sources, &options).unwrap(), &key, "k").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let loader = BundleLoader::new(TrustStore::single_key(
            "k",
            key.public(),
            dir.path().join("s"),
        ));
        let sha = loader.verify(&signed, None).unwrap().sha256;
        (signed, key, sha)
    })
}

/// A change to bytes: flip one, cut, insert, or replace everything.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Replace(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Mutation::Flip(at, x)),
        2 => any::<usize>().prop_map(Mutation::Cut),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Mutation::Replace),
    ]
}

fn apply(bytes: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match mutation {
        Mutation::Flip(at, x) if !out.is_empty() => {
            let at = at % out.len();
            out[at] ^= x;
        }
        Mutation::Cut(at) => out.truncate(at % (bytes.len() + 1)),
        Mutation::Insert(at, extra) => {
            let at = at % (out.len() + 1);
            out.splice(at..at, extra.iter().copied());
        }
        Mutation::Replace(all) => out = all.clone(),
        Mutation::Flip(..) => {}
    }
    out
}

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn a_changed_bundle_is_an_error_never_a_panic_and_only_the_signed_content_is_accepted(
        m in mutation()
    ) {
        let (signed, key, sha) = signed_bundle();
        let changed = apply(signed, &m);
        let dir = tempfile::tempdir().unwrap();
        let loader = BundleLoader::new(TrustStore::single_key("k", key.public(), dir.path().join("s")));
        if let Ok(verified) = loader.verify(&changed, None) {
            prop_assert_eq!(&verified.sha256, sha, "a different content was accepted");
        }
        // The detached form too.
        let _ = loader.verify(&changed, Some(&changed));
        let _ = bundle::embedded_sources(&changed);
    }

    #[test]
    fn any_trust_store_text_is_a_store_or_an_error(
        text in "(threshold = [0-9]{1,3}\n)?(\\[\\[keys\\]\\]\nid = \"[a-z]{0,4}\"\npublic_key = \"[0-9a-f]{0,70}\"\n(not_after = \"[0-9TZ:-]{0,24}\"\n)?){0,3}[ -~\n]{0,40}"
    ) {
        if let Ok(store) = TrustStore::from_toml(&text, Path::new("/fuzz/trust.toml")) {
            prop_assert!(store.threshold >= 1);
            prop_assert!(store.keys.len() >= store.threshold as usize);
        }
    }

    #[test]
    fn any_case_file_is_cases_or_an_error(text in "[ -~\n]{0,300}") {
        let dir = tempfile::tempdir().unwrap();
        for name in ["x.tests.yaml", "x.tests.json"] {
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            let _ = slicegate_tooling::cases::CaseFile::read(&path);
        }
    }

    #[test]
    fn a_changed_checkpointed_log_never_verifies(m in mutation()) {
        let (bytes, options) = checkpointed_log();
        let changed = apply(bytes, &m);
        let report = decision_log::verify_with(&changed, options);
        if report.intact() && report.incomplete_tail_bytes == 0 {
            prop_assert_eq!(&changed, bytes, "a changed log verified: {:?}", report);
        }
        let _ = decision_log::verify(&changed);
    }
}

/// A log of 9 records with a checkpoint every 4 and one at the end, and
/// what verifies it.
fn checkpointed_log() -> &'static (Vec<u8>, VerifyOptions) {
    static LOG: OnceLock<(Vec<u8>, VerifyOptions)> = OnceLock::new();
    LOG.get_or_init(|| write_log(false))
}

/// The same log closed by its writer (a final checkpoint at the end).
fn closed_log() -> &'static (Vec<u8>, VerifyOptions) {
    static LOG: OnceLock<(Vec<u8>, VerifyOptions)> = OnceLock::new();
    LOG.get_or_init(|| write_log(true))
}

fn write_log(close: bool) -> (Vec<u8>, VerifyOptions) {
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let log = DecisionLog::open_with(
            &path,
            Durability::Write,
            Some(CheckpointSigner {
                key_id: "log".to_string(),
                key: key.clone(),
                every: 4,
            }),
        )
        .unwrap();
        for i in 0..9 {
            log.append(vec![decision_log::Entry {
                request_id: format!("r{i}"),
                kind: "placement".to_string(),
                request_sha256: decision_log::sha256_hex(&[i]),
                request: None,
                decision: decision_log::LoggedDecision {
                    allowed: i % 3 == 0,
                    determining: vec![],
                    failure: None,
                },
                evaluated_at: None,
                what_if: false,
                bundle: None,
            }])
            .unwrap();
        }
        if close {
            log.close().unwrap();
        } else {
            log.checkpoint().unwrap();
        }
        let side = decision_log::read_side(&decision_log::side_path(&path))
            .unwrap()
            .unwrap();
        (
            std::fs::read(&path).unwrap(),
            VerifyOptions {
                key: Some(key.verifying_key()),
                side: Some(side),
            },
        )
    }
}

/// A JSON value from a pool of the awkward: unknown ids, empty, long,
/// unicode, numbers, nulls, nested values.
fn awkward() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        prop_oneof![
            Just("huawei"),
            Just("ericsson"),
            Just("hisilicon"),
            Just("acme"),
            Just(""),
            Just("xx-unknown-peer"),
            Just("cn-example-peer"),
            Just("CN"),
            Just("GB"),
            Just("2026-06-01T00:00:00Z"),
            Just("2023-02-06"),
            Just("place"),
            Just("interconnect"),
            Just("remote-manage"),
            Just("diplomatic"),
            Just("gb-example-mobile"),
            Just("sites"),
            Just("cells"),
            Just("INSTANTIATE"),
            Just("TERMINATE"),
            Just("HEAL"),
            Just("COMPUTE"),
            Just("\u{0}"),
            Just("ü∂ñ"),
            Just("a\"b"),
        ]
        .prop_map(Value::from),
        "[a-z-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer into `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| pointers(v, format!("{at}/{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// `base` with up to four of its fields replaced or removed.
fn near(base: Value) -> impl Strategy<Value = Value> {
    near_except(base, &[])
}

/// `base` with up to four of its fields replaced or removed, except the
/// `fixed` ones (and the objects holding them).
fn near_except(base: Value, fixed: &[&str]) -> impl Strategy<Value = Value> {
    let mut all = Vec::new();
    pointers(&base, String::new(), &mut all);
    all.retain(|p| {
        !p.is_empty()
            && !fixed
                .iter()
                .any(|f| *f == p || f.starts_with(&format!("{p}/")))
    });
    proptest::collection::vec((0..all.len(), awkward(), any::<bool>()), 0..4).prop_map(
        move |edits| {
            let mut value = base.clone();
            for (i, new, remove) in edits {
                let pointer = &all[i];
                if remove {
                    if let Some((parent, key)) = pointer.rsplit_once('/')
                        && let Some(Value::Object(map)) = value.pointer_mut(parent)
                    {
                        map.remove(key);
                    }
                } else if let Some(slot) = value.pointer_mut(pointer) {
                    *slot = new;
                }
            }
            value
        },
    )
}

fn placement_base() -> Value {
    json!({
        "operation": "remote-manage",
        "equipment": {"id": "e-1", "vendor": "nokia", "model": "nokia-oru", "softwareVersion": "1",
                      "softwareSigned": true, "sbom": true, "subsidyFunded": false,
                      "components": ["qualcomm"],
                      "criticalComponentNotice": {"filed": "2024-01-01T00:00:00Z", "prohibited": false}},
        "slice": {"id": "s", "sst": 1, "sd": 5, "category": "consumer", "usFederal": false},
        "site": {"id": "x", "country": "GB", "sensitive": false, "host": "test-cloud-host"},
        "network": "gb-example-mobile",
        "remote": {"fromCountry": "GB", "provider": "ericsson", "authorityApproved": true},
        "at": "2026-06-01T00:00:00Z"
    })
}

/// A Huawei UPF kept in the UK example network's core in 2026.
fn designated_core_base() -> Value {
    json!({
        "operation": "operate",
        "equipment": {"id": "e-1", "vendor": "huawei", "model": "huawei-upf-x",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                      "subsidyFunded": false, "components": ["qualcomm"]},
        "slice": {"id": "s", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "x", "country": "GB", "sensitive": false, "host": "test-cloud-host"},
        "network": "gb-example-mobile",
        "at": "2026-06-01T00:00:00Z"
    })
}

/// The property above is not empty: its base parses and is denied by the
/// UK core rule, and a changed harmless field still parses.
#[test]
fn the_designated_core_base_is_a_denied_placement() {
    let request: slicegate::PlacementRequest =
        serde_json::from_value(designated_core_base()).expect("the base parses");
    let decision = library_decider().decide(&request);
    assert!(!decision.allowed);
    assert!(decision.failure.is_none(), "{:?}", decision.failure);
    assert!(
        decision
            .determining
            .iter()
            .any(|p| p.policy_id == "uk-hrv/out-of-core"),
        "{:?}",
        decision.determining
    );
}

fn plan_base() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../policies/examples/plans/se-example-tele.json"),
        )
        .unwrap(),
    )
    .unwrap()
}

fn grant_base() -> Value {
    json!({
        "grantRequest": {"vnfInstanceId": "v", "vnfLcmOpOccId": "o", "vnfdId": "d", "operation": "INSTANTIATE",
                         "addResources": [{"id": "r1", "type": "COMPUTE", "vduId": "v"}],
                         "tempResources": [{"id": "t1", "type": "STORAGE", "vduId": "v"}],
                         "removeResources": [{"id": "r0", "type": "COMPUTE", "vduId": "v",
                                              "resource": {"vimConnectionId": "vim", "resourceId": "vm-0"}}]},
        "context": {"vnfProvider": "Ericsson AB", "vnfProductName": "UPF", "vnfSoftwareVersion": "1",
                    "packageSigned": true, "packageSbom": true, "subsidyFunded": false,
                    "network": "gb-example-mobile",
                    "site": {"id": "x", "country": "GB", "sensitive": false},
                    "slice": {"id": "s", "sst": 1, "category": "consumer", "usFederal": false}}
    })
}

proptest! {
    #![proptest_config(config(2))]

    #[test]
    fn any_placement_is_decided_or_refused_and_a_refusal_is_never_an_allow(
        value in near(placement_base())
    ) {
        thread_local! {
            static DECIDER: std::cell::RefCell<Decider> = std::cell::RefCell::new(library_decider());
        }
        let Ok(request) = serde_json::from_value::<slicegate::PlacementRequest>(value) else {
            return Ok(());
        };
        let decision = DECIDER.with(|d| d.borrow_mut().decide(&request));
        if decision.failure.is_some() {
            prop_assert!(!decision.allowed);
        }
        if decision.allowed {
            prop_assert!(decision.determining.iter().any(|p| p.permit));
            prop_assert!(decision.determining.iter().all(|p| p.permit));
        }
    }

    /// A Huawei UPF kept in a UK core after the deadline: whatever else a
    /// caller changes, drops or sets to nonsense — software, components,
    /// notices, slice, site — it stays denied (only the vendor, the model,
    /// the network, the operation and the instant are kept).
    #[test]
    fn nothing_else_a_caller_states_turns_a_designated_core_placement_into_an_allow(
        value in near_except(
            designated_core_base(),
            &["/operation", "/equipment/vendor", "/equipment/model", "/network", "/at"],
        )
    ) {
        thread_local! {
            static DECIDER: std::cell::RefCell<Decider> = std::cell::RefCell::new(library_decider());
        }
        let Ok(request) = serde_json::from_value::<slicegate::PlacementRequest>(value.clone()) else {
            return Ok(());
        };
        let decision = DECIDER.with(|d| d.borrow_mut().decide(&request));
        prop_assert!(!decision.allowed, "allowed: {}", value);
    }

    #[test]
    fn any_plan_is_checked_or_refused_and_allowed_only_if_every_item_is(
        value in near(plan_base())
    ) {
        thread_local! {
            static DECIDER: std::cell::RefCell<Decider> = std::cell::RefCell::new(library_decider());
        }
        let Ok(file) = serde_json::from_value::<slicegate::PlanFile>(value) else {
            return Ok(());
        };
        let Ok(plan) = file.resolve("fuzz.json") else {
            return Ok(());
        };
        let result = DECIDER.with(|d| d.borrow_mut().check_plan(&plan));
        if result.allowed {
            prop_assert!(result.failure.is_none());
            prop_assert!(result.plan.allowed);
            prop_assert!(result.items.iter().all(|i| i.decision.allowed));
        }
    }

    #[test]
    fn any_grant_is_mapped_or_rejected_never_a_panic(value in near(grant_base())) {
        let packages = slicegate::sol003::PackageMap {
            providers: [("Ericsson AB".to_string(), "ericsson".to_string())].into(),
            products: [("UPF".to_string(), "ericsson-upf".to_string())].into(),
        };
        let (Some(grant), Some(context)) = (value.get("grantRequest"), value.get("context")) else {
            return Ok(());
        };
        let (Ok(grant), Ok(context)) = (
            serde_json::from_value::<slicegate::sol003::GrantRequest>(grant.clone()),
            serde_json::from_value::<slicegate::sol003::GrantContext>(context.clone()),
        ) else {
            return Ok(());
        };
        if let Ok(placements) = slicegate::sol003::placements(&grant, &context, &packages) {
            let compute = slicegate::sol003::ResourceType::Compute;
            let adds = grant.add_resources.iter().any(|r| r.resource_type == compute);
            let temps = grant.temp_resources.iter().filter(|r| r.resource_type == compute).count();
            let places = placements
                .iter()
                .filter(|p| p.operation == slicegate::Operation::Place)
                .count();
            prop_assert!(places >= temps, "temporary compute not decided as new");
            let brings_capacity = ["INSTANTIATE", "SCALE", "SCALE_TO_LEVEL", "CHANGE_FLAVOUR", "HEAL", "CHANGE_VNFPKG"]
                .contains(&grant.operation.as_str());
            prop_assert!(!adds || brings_capacity, "{} added compute", grant.operation);
            prop_assert!(!placements.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------
// Differential: component against native cedar-policy on generated policies
// ---------------------------------------------------------------------------

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

/// Every cut of a checkpointed log, at every byte, is caught: a log cut
/// anywhere (a record boundary included) never verifies as whole.
#[test]
fn every_cut_of_a_checkpointed_log_is_caught() {
    let mut escaped = Vec::new();
    for (name, (bytes, options)) in [("running", checkpointed_log()), ("closed", closed_log())] {
        assert!(decision_log::verify_with(bytes, options).intact(), "{name}");
        for at in 0..bytes.len() {
            let report = decision_log::verify_with(&bytes[..at], options);
            if report.intact() && report.incomplete_tail_bytes == 0 {
                escaped.push((name, at, format!("{report:?}")));
            }
        }
    }
    assert!(escaped.is_empty(), "cuts that verified: {escaped:#?}");
}
