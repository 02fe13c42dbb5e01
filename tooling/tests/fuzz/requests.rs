//! Case files, placement requests, plan files and SOL003 grants: any text
//! or JSON near a valid one is a value or an error, never a panic, and
//! nothing malformed is allowed.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use slicegate::Decider;

use crate::support::{config, library_decider};

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn any_case_file_is_cases_or_an_error(text in "[ -~\n]{0,300}") {
        let dir = tempfile::tempdir().unwrap();
        for name in ["x.tests.yaml", "x.tests.json"] {
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            let _ = slicegate_tooling::cases::CaseFile::read(&path);
        }
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

/// The designated-core property below is not empty: its base parses and is denied by the
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
