//! The SOL003 Grant adapter on the default library, through the component.

use std::path::Path;
use std::sync::OnceLock;

use slicegate::sol003::{self, GrantContext, GrantOutcome, GrantRequest, PackageMap};
use slicegate::{CustomerCategory, Decider, Limits, PolicySources, Runtime, Site, Slice};

fn decider() -> Decider {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| Runtime::new(Limits::default()).unwrap());
    let sources =
        PolicySources::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
            .unwrap();
    Decider::new(runtime, &sources).unwrap()
}

fn providers() -> PackageMap {
    let map = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    PackageMap {
        providers: map(&[
            ("Ericsson AB", "ericsson"),
            ("Huawei Technologies Co., Ltd.", "huawei"),
            ("Nokia Solutions and Networks", "nokia"),
        ]),
        products: map(&[
            ("Ericsson Packet Core Gateway UPF", "ericsson-upf"),
            ("UDG", "huawei-upf-x"),
            ("AirScale", "nokia-airscale"),
        ]),
    }
}

fn grant(operation: &str) -> GrantRequest {
    serde_json::from_value(serde_json::json!({
        "vnfInstanceId": "vnf-7",
        "vnfLcmOpOccId": "op-1",
        "vnfdId": "vnfd-upf-3",
        "operation": operation,
        "isAutomaticInvocation": false,
        "addResources": [
            {"id": "r1", "type": "COMPUTE", "vduId": "upf-vdu"},
            {"id": "r2", "type": "COMPUTE", "vduId": "upf-vdu"},
            {"id": "r3", "type": "VL"}
        ],
        "_links": {"vnfLcmOpOcc": {"href": "http://nfvo/op-1"}}
    }))
    .expect("a SOL003 grant request parses")
}

fn context(provider: &str, product: &str) -> GrantContext {
    GrantContext {
        vnf_provider: provider.to_string(),
        vnf_product_name: product.to_string(),
        vnf_software_version: "3.1".to_string(),
        package_signed: true,
        package_sbom: true,
        components: Vec::new(),
        subsidy_funded: false,
        network: "gb-example-mobile".to_string(),
        site: Site {
            id: "lon-1".into(),
            country: "GB".into(),
            sensitive: false,
            host: None,
        },
        slice: Slice {
            id: "embb".into(),
            sst: 1,
            sd: None,
            category: CustomerCategory::Consumer,
            us_federal: false,
        },
        peer: None,
        remote: None,
    }
}

#[test]
fn a_trusted_vendor_is_granted_one_decision_per_compute_resource() {
    let outcome = sol003::decide(
        &mut decider(),
        &grant("INSTANTIATE"),
        &context("Ericsson AB", "Ericsson Packet Core Gateway UPF"),
        &providers(),
    );
    match outcome {
        GrantOutcome::Granted {
            decisions,
            vnf_instance_id,
            ..
        } => {
            assert_eq!(vnf_instance_id, "vnf-7");
            assert_eq!(decisions.len(), 2);
            assert!(decisions.iter().all(|d| d.allowed));
        }
        other => panic!("expected a grant, got {other:?}"),
    }
}

#[test]
fn a_huawei_upf_in_a_uk_core_is_rejected_with_the_policy_reason() {
    let outcome = sol003::decide(
        &mut decider(),
        &grant("INSTANTIATE"),
        &context("Huawei Technologies Co., Ltd.", "UDG"),
        &providers(),
    );
    match outcome {
        GrantOutcome::Rejected {
            reasons, decisions, ..
        } => {
            assert_eq!(decisions.len(), 2);
            assert_eq!(reasons.len(), 2);
            assert!(
                reasons[0].starts_with("vnf-7/r1: forbidden by"),
                "{reasons:?}"
            );
            assert!(reasons[0].contains("uk-hrv/"), "{reasons:?}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn terminate_is_granted_even_for_a_designated_vendor() {
    let mut terminate = grant("TERMINATE");
    terminate.add_resources.clear();
    let outcome = sol003::decide(
        &mut decider(),
        &terminate,
        &context("Huawei Technologies Co., Ltd.", "UDG"),
        &providers(),
    );
    assert!(
        matches!(outcome, GrantOutcome::Granted { .. }),
        "{outcome:?}"
    );
}

#[test]
fn only_an_operation_that_brings_capacity_in_may_add_resources() {
    let huawei = context("Huawei Technologies Co., Ltd.", "UDG");
    // TERMINATE, OPERATE and CHANGE_EXT_CONN with resources to add: new
    // Huawei compute would pass as a removal or a keep. Refused.
    for operation in ["TERMINATE", "OPERATE", "CHANGE_EXT_CONN"] {
        let outcome = sol003::decide(&mut decider(), &grant(operation), &huawei, &providers());
        match outcome {
            GrantOutcome::Rejected {
                reasons, decisions, ..
            } => {
                assert!(decisions.is_empty(), "{operation}: nothing decided");
                assert!(
                    reasons[0].contains("cannot add resources"),
                    "{operation}: {reasons:?}"
                );
            }
            other => panic!("{operation}: expected a rejection, got {other:?}"),
        }
    }
    // A heal or a package change replaces what it removes, no more.
    for operation in ["HEAL", "CHANGE_VNFPKG"] {
        let mut replacing = grant(operation);
        let outcome = sol003::decide(
            &mut decider(),
            &replacing,
            &context("Nokia Solutions and Networks", "AirScale"),
            &providers(),
        );
        match outcome {
            GrantOutcome::Rejected { reasons, .. } => assert!(
                reasons[0].contains("adds 2 compute resource(s) but replaces only 0"),
                "{operation}: {reasons:?}"
            ),
            other => panic!("{operation}: expected a rejection, got {other:?}"),
        }
        let resource = |id: &str| -> sol003::ResourceDefinition {
            serde_json::from_value(
                serde_json::json!({"id": id, "type": "COMPUTE", "vduId": "upf-vdu"}),
            )
            .unwrap()
        };
        let nokia = context("Nokia Solutions and Networks", "AirScale");
        // Removing what it adds, or one resource listed twice, replaces
        // nothing: still new capacity.
        for removed in [
            vec![resource("r1"), resource("r2")],
            vec![resource("old-1"), resource("old-1")],
        ] {
            replacing.remove_resources = removed;
            let refused = sol003::placements(&replacing, &nokia, &providers()).unwrap_err();
            assert!(refused.contains("replaces only"), "{operation}: {refused}");
        }
        let mut twice = replacing.clone();
        twice.add_resources = vec![resource("r1"), resource("r1")];
        twice.remove_resources = vec![resource("old-1"), resource("old-2")];
        assert!(sol003::placements(&twice, &nokia, &providers()).is_err());
        // Two distinct old resources for two new ones: a replacement.
        replacing.remove_resources = vec![resource("old-1"), resource("old-2")];
        let placements = sol003::placements(&replacing, &nokia, &providers()).unwrap();
        assert_eq!(placements.len(), 2, "{operation}: one per replaced compute");
    }
}

#[test]
fn what_cannot_be_mapped_is_rejected_not_granted() {
    let unknown_operation = sol003::decide(
        &mut decider(),
        &grant("CREATE_SNAPSHOT"),
        &context("Nokia Solutions and Networks", "AirScale"),
        &providers(),
    );
    assert!(
        matches!(unknown_operation, GrantOutcome::Rejected { ref reasons, .. } if reasons[0].contains("CREATE_SNAPSHOT")),
        "{unknown_operation:?}"
    );
    let unknown_provider = sol003::decide(
        &mut decider(),
        &grant("INSTANTIATE"),
        &context("Acme Telecom", "AirScale"),
        &providers(),
    );
    assert!(
        matches!(unknown_provider, GrantOutcome::Rejected { ref reasons, .. } if reasons[0].contains("Acme Telecom")),
        "{unknown_provider:?}"
    );
    let missing_fields = serde_json::from_value::<GrantRequest>(
        serde_json::json!({"vnfdId": "x", "operation": "INSTANTIATE"}),
    );
    assert!(missing_fields.is_err());
}

#[test]
fn an_operation_without_compute_is_one_placement_for_the_instance() {
    let mut heal = grant("HEAL");
    heal.add_resources.clear();
    let placements = sol003::placements(
        &heal,
        &context("Nokia Solutions and Networks", "AirScale"),
        &providers(),
    )
    .unwrap();
    assert_eq!(placements.len(), 1);
    assert_eq!(placements[0].equipment.id, "vnf-7");
    assert_eq!(placements[0].operation, slicegate::Operation::Heal);
    assert_eq!(placements[0].at, None, "the host's clock decides a grant");
}
