//! Every compute resource a grant names is decided, or the grant is refused.
//! A Huawei radio in a UK RAN in 2026: kept, healed and upgraded, yes; new
//! (placed, scaled out), no. So any way of bringing Huawei compute in under a
//! heal, a terminate, a keep or a package change must end rejected. Here:
//! heals, which replace distinct VMs of the same VDU, and VM identities.

use slicegate::sol003;

use crate::support::{bare, compute, huawei_radio, judge, old_compute, res};

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

/// A heal's or package change's additions and removals (a label, the
/// resources added, the resources removed).
type Replacement = (
    &'static str,
    Vec<sol003::ResourceDefinition>,
    Vec<sol003::ResourceDefinition>,
);

/// Removals that are not distinct VMs of the VDU the two new ones join.
fn removals_that_replace_nothing() -> Vec<Replacement> {
    let two_new = vec![compute("new-1", "du"), compute("new-2", "du")];
    vec![
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
    ]
}

/// Additions and removals that do not pair up one for one in a VDU.
fn additions_that_replace_nothing() -> Vec<Replacement> {
    let two_new = vec![compute("new-1", "du"), compute("new-2", "du")];
    vec![
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
    ]
}

#[test]
fn a_heal_replaces_distinct_vim_resources_of_the_same_vdu_and_nothing_else() {
    let two_new = vec![compute("new-1", "du"), compute("new-2", "du")];
    let refused: Vec<Replacement> = removals_that_replace_nothing()
        .into_iter()
        .chain(additions_that_replace_nothing())
        .collect();
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
        one_vm_named_two_ways_is_refused(operation, &mut g, &context);
    }
}

/// One VM named two ways is one VM: the replacement `g` for `operation`
/// with its second removal naming the first one's VM another way (another
/// VIM connection or provider id, none, an empty one, another case, a
/// space) is refused as one VM listed twice.
fn one_vm_named_two_ways_is_refused(
    operation: &str,
    g: &mut sol003::GrantRequest,
    context: &sol003::GrantContext,
) {
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
        let refused = judge(g, context).unwrap_err();
        assert!(
            refused.contains("listed twice"),
            "{operation}: {second}: {refused}"
        );
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
