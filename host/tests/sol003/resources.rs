//! Resources other than a heal's replacements: temporary and modified
//! compute, SOL003's exact resource types and ids, and package changes
//! (see `compute` for why every compute resource is decided).

use slicegate::sol003;

use crate::support::{bare, compute, ericsson_radio, huawei_radio, judge, old_compute};

#[test]
fn temporary_compute_is_new_capacity_in_every_operation() {
    for operation in [
        "INSTANTIATE",
        "SCALE",
        "SCALE_TO_LEVEL",
        "CHANGE_FLAVOUR",
        "HEAL",
        "OPERATE",
        "CHANGE_EXT_CONN",
        "CHANGE_VNFPKG",
        "TERMINATE",
    ] {
        let mut g = bare(operation);
        g.temp_resources = vec![compute("tmp-1", "du"), compute("tmp-2", "du")];
        for (context, expect_allowed) in [(huawei_radio(), false), (ericsson_radio(), true)] {
            let mut context = context;
            if operation == "CHANGE_VNFPKG" {
                context.source_vnf_provider = Some(context.vnf_provider.clone());
                context.source_vnf_product_name = Some(context.vnf_product_name.clone());
            }
            if operation == "CHANGE_EXT_CONN" {
                context.peer = Some("se-example-tele".into());
            }
            let (allowed, operations) =
                judge(&g, &context).unwrap_or_else(|e| panic!("{operation}: {e}"));
            // The operation's own decision, then one new installation per
            // temporary VM.
            assert_eq!(operations.len(), 3, "{operation}: {operations:?}");
            assert_eq!(
                operations[1..],
                [slicegate::Operation::Place; 2],
                "{operation}: each temporary VM decided as a new installation"
            );
            assert_eq!(
                allowed, expect_allowed,
                "{operation} {}",
                context.vnf_provider
            );
        }
    }
}

#[test]
fn modified_compute_is_decided_and_a_terminate_modifies_nothing() {
    let mut heal = bare("HEAL");
    heal.update_resources = vec![old_compute("upd-1", "du", "vm-1")];
    assert_eq!(
        judge(&heal, &huawei_radio()),
        Ok((true, vec![slicegate::Operation::Heal]))
    );
    // Without the VIM resource it names, a modification is refused.
    heal.update_resources = vec![compute("upd-1", "du")];
    assert!(judge(&heal, &huawei_radio()).is_err());
    let mut terminate = bare("TERMINATE");
    terminate.update_resources = vec![old_compute("upd-1", "du", "vm-1")];
    assert!(
        judge(&terminate, &huawei_radio())
            .unwrap_err()
            .contains("cannot modify")
    );
    // A terminate that removes is granted (removal is never blocked).
    let mut terminate = bare("TERMINATE");
    terminate.remove_resources = vec![old_compute("old-1", "du", "vm-1")];
    assert_eq!(
        judge(&terminate, &huawei_radio()),
        Ok((true, vec![slicegate::Operation::Terminate]))
    );
}

#[test]
fn resource_types_and_ids_are_exactly_sol003s() {
    for spelling in ["compute", "Compute", "COMPUTE ", "VM", "", "CONTAINER"] {
        let parsed = serde_json::from_value::<sol003::ResourceDefinition>(
            serde_json::json!({"id": "r", "type": spelling, "vduId": "du"}),
        );
        assert!(parsed.is_err(), "`{spelling}` parsed");
    }
    // An unknown field in a resource definition (a misspelt vduId) is an
    // error, not a resource without a VDU.
    assert!(
        serde_json::from_value::<sol003::ResourceDefinition>(
            serde_json::json!({"id": "r", "type": "COMPUTE", "vduld": "du"}),
        )
        .is_err()
    );
    // One id twice, across lists.
    let mut g = bare("HEAL");
    g.add_resources = vec![compute("r-1", "du")];
    g.temp_resources = vec![compute("r-1", "du")];
    assert!(
        judge(&g, &huawei_radio())
            .unwrap_err()
            .contains("used twice")
    );
}

#[test]
fn a_package_change_says_what_it_replaces_and_another_vendor_is_a_new_installation() {
    let mut change = bare("CHANGE_VNFPKG");
    change.add_resources = vec![compute("new-1", "du")];
    change.remove_resources = vec![old_compute("old-1", "du", "vm-1")];
    // Not saying which package it replaces: refused.
    let refused = judge(&change, &huawei_radio()).unwrap_err();
    assert!(refused.contains("sourceVnfProvider"), "{refused}");
    // Ericsson radio to a Huawei package: a new Huawei installation, denied.
    let mut to_huawei = huawei_radio();
    to_huawei.source_vnf_provider = Some("Ericsson AB".into());
    to_huawei.source_vnf_product_name = Some("Ericsson Radio".into());
    assert_eq!(
        judge(&change, &to_huawei),
        Ok((false, vec![slicegate::Operation::Place]))
    );
    // Same vendor, another product: also a new installation.
    let mut other_product = huawei_radio();
    other_product.source_vnf_provider = Some(other_product.vnf_provider.clone());
    other_product.source_vnf_product_name = Some("UDG".into());
    assert_eq!(
        judge(&change, &other_product),
        Ok((false, vec![slicegate::Operation::Place]))
    );
    // The same package line, a new version: an upgrade of what is kept.
    let mut same = huawei_radio();
    same.source_vnf_provider = Some(same.vnf_provider.clone());
    same.source_vnf_product_name = Some(same.vnf_product_name.clone());
    assert_eq!(
        judge(&change, &same),
        Ok((true, vec![slicegate::Operation::Upgrade]))
    );
    // The same package line bringing a component the old one did not: a
    // new installation, even from an untainted vendor's product line.
    let mut ericsson = ericsson_radio();
    ericsson.source_vnf_provider = Some(ericsson.vnf_provider.clone());
    ericsson.source_vnf_product_name = Some(ericsson.vnf_product_name.clone());
    assert_eq!(
        judge(&change, &ericsson),
        Ok((true, vec![slicegate::Operation::Upgrade]))
    );
    ericsson.components = vec!["hisilicon".to_string()];
    assert_eq!(
        judge(&change, &ericsson),
        Ok((false, vec![slicegate::Operation::Place]))
    );
    // The same components as before: an upgrade.
    ericsson.source_components = Some(vec!["hisilicon".to_string()]);
    assert_eq!(
        judge(&change, &ericsson).map(|(_, ops)| ops),
        Ok(vec![slicegate::Operation::Upgrade])
    );
    // An unmapped source is refused; a source on another operation too.
    same.source_vnf_provider = Some("Acme".into());
    assert!(judge(&change, &same).is_err());
    let mut heal = bare("HEAL");
    heal.remove_resources = vec![old_compute("old-1", "du", "vm-1")];
    assert!(
        judge(&heal, &to_huawei)
            .unwrap_err()
            .contains("for CHANGE_VNFPKG")
    );
}
