//! Generated resource lists: a grant for a Huawei radio in the UK is given
//! only when it brings no new compute.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use slicegate::sol003;

use crate::support::{bare, huawei_radio, judge, res};

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
    // Failures are recorded where they were when this lived in
    // `tests/sol003.rs`: proptest's default derives the file from the
    // source's path, and would now pick `tests/proptest-regressions/`.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/sol003.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

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
