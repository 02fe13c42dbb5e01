//! Grants on the default library: one decision per compute resource, a
//! rejection with the policy's reason, what may add resources, and what
//! cannot be mapped.

use slicegate::sol003::{self, GrantOutcome, GrantRequest};

use crate::support::{context, decider, grant, providers};

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
