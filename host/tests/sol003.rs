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
            ("HW-gNB", "huawei-gnb-aau"),
            ("Ericsson Radio", "ericsson-gnb"),
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
        source_vnf_provider: None,
        source_vnf_product_name: None,
        source_components: None,
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

// ---------------------------------------------------------------------------
// Every compute resource a grant names is decided, or the grant is refused.
// A Huawei radio in a UK RAN in 2026: kept, healed and upgraded, yes; new
// (placed, scaled out), no. So any way of bringing Huawei compute in under a
// heal, a terminate, a keep or a package change must end rejected.
// ---------------------------------------------------------------------------

fn huawei_radio() -> GrantContext {
    let mut c = context("Huawei Technologies Co., Ltd.", "HW-gNB");
    c.site.id = "man-1".into();
    c
}

fn ericsson_radio() -> GrantContext {
    context("Ericsson AB", "Ericsson Radio")
}

/// A resource definition from JSON.
fn res(value: serde_json::Value) -> sol003::ResourceDefinition {
    serde_json::from_value(value).expect("a resource definition")
}

fn compute(id: &str, vdu: &str) -> sol003::ResourceDefinition {
    res(serde_json::json!({"id": id, "type": "COMPUTE", "vduId": vdu}))
}

fn old_compute(id: &str, vdu: &str, vm: &str) -> sol003::ResourceDefinition {
    res(
        serde_json::json!({"id": id, "type": "COMPUTE", "vduId": vdu,
                           "resource": {"vimConnectionId": "vim-1", "resourceId": vm}}),
    )
}

fn bare(operation: &str) -> GrantRequest {
    let mut g = grant(operation);
    g.add_resources.clear();
    g
}

/// The grant's placements decided at a fixed instant (2026-06-01): `Err`
/// when the grant is refused before any decision, else whether every
/// placement is allowed, with the operations they were decided under.
fn judge(
    request: &GrantRequest,
    context: &GrantContext,
) -> Result<(bool, Vec<slicegate::Operation>), String> {
    static DECIDER: OnceLock<std::sync::Mutex<Decider>> = OnceLock::new();
    let mut placements = sol003::placements(request, context, &providers())?;
    for p in &mut placements {
        p.at = Some("2026-06-01T00:00:00Z".to_string());
    }
    let mut decider = DECIDER
        .get_or_init(|| std::sync::Mutex::new(decider().permit_what_if(true)))
        .lock()
        .unwrap();
    let decisions = decider.decide_batch(&placements);
    Ok((
        decisions.iter().all(|d| d.allowed),
        placements.iter().map(|p| p.operation).collect(),
    ))
}

#[test]
fn a_like_for_like_heal_of_a_kept_huawei_radio_is_a_heal_and_its_placement_is_denied() {
    // The control: replacing one VM of a VDU by one new VM of the same VDU.
    let mut heal = bare("HEAL");
    heal.add_resources = vec![compute("new-1", "du")];
    heal.remove_resources = vec![old_compute("old-1", "du", "vm-1")];
    assert_eq!(
        judge(&heal, &huawei_radio()),
        Ok((true, vec![slicegate::Operation::Heal]))
    );
    // The same resources as an INSTANTIATE: a new installation, denied.
    let mut place = bare("INSTANTIATE");
    place.add_resources = vec![compute("new-1", "du")];
    assert_eq!(
        judge(&place, &huawei_radio()),
        Ok((false, vec![slicegate::Operation::Place]))
    );
}

#[test]
fn a_heal_replaces_distinct_vim_resources_of_the_same_vdu_and_nothing_else() {
    let two_new = vec![compute("new-1", "du"), compute("new-2", "du")];
    let refused: Vec<(
        &str,
        Vec<sol003::ResourceDefinition>,
        Vec<sol003::ResourceDefinition>,
    )> = vec![
        (
            "one VM removed under two ids",
            two_new.clone(),
            vec![
                old_compute("old-1", "du", "vm-1"),
                old_compute("old-2", "du", "vm-1"),
            ],
        ),
        (
            "removed from another VDU",
            two_new.clone(),
            vec![
                old_compute("old-1", "cu", "vm-1"),
                old_compute("old-2", "cu", "vm-2"),
            ],
        ),
        (
            "removals without a VIM resource",
            two_new.clone(),
            vec![compute("old-1", "du"), compute("old-2", "du")],
        ),
        (
            "removals without a VDU",
            two_new.clone(),
            vec![
                res(serde_json::json!({"id": "old-1", "type": "COMPUTE",
                                     "resource": {"resourceId": "vm-1"}})),
                res(serde_json::json!({"id": "old-2", "type": "COMPUTE",
                                     "resource": {"resourceId": "vm-2"}})),
            ],
        ),
        (
            "additions without a VDU",
            vec![res(serde_json::json!({"id": "new-1", "type": "COMPUTE"}))],
            vec![old_compute("old-1", "du", "vm-1")],
        ),
        (
            "storage removed for compute added",
            two_new.clone(),
            vec![
                res(
                    serde_json::json!({"id": "old-1", "type": "STORAGE", "vduId": "du",
                                     "resource": {"resourceId": "vol-1"}}),
                ),
                res(
                    serde_json::json!({"id": "old-2", "type": "STORAGE", "vduId": "du",
                                     "resource": {"resourceId": "vol-2"}}),
                ),
            ],
        ),
        (
            "an id added and removed",
            two_new.clone(),
            vec![
                old_compute("new-1", "du", "vm-1"),
                old_compute("new-2", "du", "vm-2"),
            ],
        ),
        (
            "one more added than removed",
            vec![
                compute("new-1", "du"),
                compute("new-2", "du"),
                compute("new-3", "du"),
            ],
            vec![
                old_compute("old-1", "du", "vm-1"),
                old_compute("old-2", "du", "vm-2"),
            ],
        ),
        (
            "an empty VIM resource id",
            two_new.clone(),
            vec![
                res(
                    serde_json::json!({"id": "old-1", "type": "COMPUTE", "vduId": "du",
                                     "resource": {"resourceId": ""}}),
                ),
                old_compute("old-2", "du", "vm-2"),
            ],
        ),
    ];
    for operation in ["HEAL", "CHANGE_VNFPKG"] {
        for (what, add, remove) in &refused {
            let mut g = bare(operation);
            g.add_resources = add.clone();
            g.remove_resources = remove.clone();
            let mut context = huawei_radio();
            if operation == "CHANGE_VNFPKG" {
                context.source_vnf_provider = Some(context.vnf_provider.clone());
                context.source_vnf_product_name = Some(context.vnf_product_name.clone());
            }
            let answer = judge(&g, &context);
            assert!(answer.is_err(), "{operation}, {what}: {answer:?}");
        }
        // Two distinct VMs of the VDU for two new ones: a replacement.
        let mut g = bare(operation);
        g.add_resources = two_new.clone();
        g.remove_resources = vec![
            old_compute("old-1", "du", "vm-1"),
            old_compute("old-2", "du", "vm-2"),
        ];
        let mut context = huawei_radio();
        context.source_vnf_provider = Some(context.vnf_provider.clone());
        context.source_vnf_product_name = Some(context.vnf_product_name.clone());
        if operation == "HEAL" {
            context.source_vnf_provider = None;
            context.source_vnf_product_name = None;
        }
        let (allowed, operations) = judge(&g, &context).expect("a replacement is decided");
        assert!(allowed, "{operation}");
        assert_eq!(operations.len(), 2, "{operation}: one decision per new VM");
        // One VM named two ways is one VM: another VIM connection or
        // provider id, none, an empty one, another case, a space.
        for second in [
            serde_json::json!({"vimConnectionId": "vim-2", "resourceId": "vm-1"}),
            serde_json::json!({"resourceId": "vm-1"}),
            serde_json::json!({"vimConnectionId": "", "resourceId": "vm-1"}),
            serde_json::json!({"vimConnectionId": "vim-1", "resourceProviderId": "p", "resourceId": "vm-1"}),
            serde_json::json!({"vimConnectionId": "vim-1", "resourceId": "VM-1"}),
            serde_json::json!({"vimConnectionId": "vim-1", "resourceId": "vm-1 "}),
        ] {
            g.remove_resources = vec![
                old_compute("old-1", "du", "vm-1"),
                res(
                    serde_json::json!({"id": "old-2", "type": "COMPUTE", "vduId": "du",
                                       "resource": second}),
                ),
            ];
            let refused = judge(&g, &context).unwrap_err();
            assert!(
                refused.contains("listed twice"),
                "{operation}: {second}: {refused}"
            );
        }
    }
}

/// A VM id is compared as printable ASCII, in one case, and a UUID in any
/// spelling; anything invisible or non-ASCII is refused rather than
/// counted as another VM.
#[test]
fn one_vm_has_one_identity_however_its_id_is_spelt() {
    let uuid = "6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8";
    let same = [
        "6F1C2A3B-4D5E-6F70-8192-A3B4C5D6E7F8",
        "6f1c2a3b4d5e6f708192a3b4c5d6e7f8",
        "{6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8}",
        "urn:uuid:6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8",
        "URN:UUID:6F1C2A3B-4D5E-6F70-8192-A3B4C5D6E7F8",
        " 6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8\t",
        "{urn:uuid:6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8}",
        "{URN:UUID:6F1C2A3B-4D5E-6F70-8192-A3B4C5D6E7F8}",
        "{urn:uuid:6f1c2a3b4d5e6f708192a3b4c5d6e7f8}",
        "urn:uuid:{6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8}",
        "{{urn:uuid:{6f1c2a3b-4d5e-6f70-8192-a3b4c5d6e7f8}}}",
        "urn:uuid:urn:uuid:6f1c2a3b4d5e6f708192a3b4c5d6e7f8",
    ];
    let canonical = sol003::vm_identity(uuid).unwrap();
    for spelling in same {
        assert_eq!(
            sol003::vm_identity(spelling).unwrap(),
            canonical,
            "{spelling:?}"
        );
    }
    // Ids that are not UUIDs peel the same way: one VM, one identity.
    for (a, b) in [("{vm-1}", "vm-1"), ("urn:uuid:{VM-1}", "vm-1")] {
        assert_eq!(sol003::vm_identity(a), sol003::vm_identity(b), "{a:?}");
    }
    for refused in [
        "vm\u{200b}-1", // zero-width space
        "\u{feff}vm-1", // byte-order mark
        "vm-1\u{0}",    // NUL
        "vm\u{ad}-1",   // soft hyphen
        "vm-1\u{301}",  // combining mark
        "ｖｍ-1",       // fullwidth letters
        "vm 1",         // inner space
        "",
        "   ",
    ] {
        assert!(
            sol003::vm_identity(refused).is_err(),
            "{refused:?} accepted"
        );
    }
    // Through a grant: a removal with an invisible character is refused,
    // not counted as a second VM.
    let mut g = bare("HEAL");
    g.add_resources = vec![compute("new-1", "du"), compute("new-2", "du")];
    g.remove_resources = vec![
        old_compute("old-1", "du", "vm-1"),
        old_compute("old-2", "du", "vm\u{200b}-1"),
    ];
    let refused = judge(&g, &huawei_radio()).unwrap_err();
    assert!(refused.contains("printable ASCII"), "{refused}");
}

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

mod generated {
    use super::*;
    use proptest::prelude::*;

    /// A generated resource list entry: type, VDU, VIM resource.
    fn entry() -> impl Strategy<Value = (u8, Option<u8>, Option<(u8, u8)>)> {
        (
            0u8..4,
            proptest::option::of(0u8..2),
            proptest::option::of((0u8..2, 0u8..3)),
        )
    }

    fn list(prefix: &'static str) -> impl Strategy<Value = Vec<sol003::ResourceDefinition>> {
        proptest::collection::vec(entry(), 0..4).prop_map(move |entries| {
            entries
                .into_iter()
                .enumerate()
                .map(|(i, (ty, vdu, handle))| {
                    let ty = ["COMPUTE", "COMPUTE", "STORAGE", "VL"][ty as usize];
                    let mut v = serde_json::json!({"id": format!("{prefix}-{i}"), "type": ty});
                    if let Some(vdu) = vdu {
                        v["vduId"] = format!("vdu-{vdu}").into();
                    }
                    if let Some((vim, vm)) = handle {
                        v["resource"] = serde_json::json!({
                            "vimConnectionId": format!("vim-{vim}"), "resourceId": format!("vm-{vm}")
                        });
                    }
                    res(v)
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the lists, a grant for a Huawei radio in the UK is
        /// granted only when it brings no new compute: no temporary compute,
        /// and per VDU no more compute added than distinct VIM resources of
        /// that VDU removed.
        #[test]
        fn a_grant_is_given_only_when_it_brings_no_new_huawei_compute(
            operation in prop_oneof![
                Just("HEAL"), Just("CHANGE_VNFPKG"), Just("OPERATE"), Just("TERMINATE"),
                Just("CHANGE_EXT_CONN"), Just("SCALE"), Just("INSTANTIATE"),
            ],
            add in list("a"), temp in list("t"), remove in list("r"), update in list("u"),
        ) {
            let mut g = bare(operation);
            g.add_resources = add.clone();
            g.temp_resources = temp.clone();
            g.remove_resources = remove.clone();
            g.update_resources = update;
            let mut context = huawei_radio();
            if operation == "CHANGE_VNFPKG" {
                context.source_vnf_provider = Some(context.vnf_provider.clone());
                context.source_vnf_product_name = Some(context.vnf_product_name.clone());
            }
            if operation == "CHANGE_EXT_CONN" {
                context.peer = Some("se-example-tele".into());
            }
            if let Ok((true, _)) = judge(&g, &context) {
                let computes = |l: &[sol003::ResourceDefinition]| {
                    l.iter().filter(|r| r.resource_type == sol003::ResourceType::Compute).count()
                };
                prop_assert_eq!(computes(&temp), 0, "temporary compute granted");
                prop_assert!(!["SCALE", "INSTANTIATE"].contains(&operation) || computes(&add) == 0);
                for vdu in ["vdu-0", "vdu-1"] {
                    let added = add.iter().filter(|r| r.resource_type == sol003::ResourceType::Compute
                        && r.vdu_id.as_deref() == Some(vdu)).count();
                    let removed: std::collections::BTreeSet<_> = remove.iter()
                        .filter(|r| r.resource_type == sol003::ResourceType::Compute
                            && r.vdu_id.as_deref() == Some(vdu))
                        .filter_map(|r| r.resource.clone())
                        .collect();
                    prop_assert!(added <= removed.len(), "{} added to {} for {} removed", added, vdu, removed.len());
                }
                let unassigned = add.iter().filter(|r| r.resource_type == sol003::ResourceType::Compute
                    && r.vdu_id.is_none()).count();
                prop_assert_eq!(unassigned, 0);
            }
        }
    }
}
