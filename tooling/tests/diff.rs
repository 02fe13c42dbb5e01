//! `slicegate diff`: two libraries compared by meaning.

use std::path::{Path, PathBuf};

use cedar_policy::PolicySet;
use slicegate::PolicySources;
use slicegate_tooling::diff;
use slicegate_tooling::prove;

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn library() -> (cedar_policy::Schema, PolicySet) {
    prove::ensure_solver().unwrap();
    prove::load(&PolicySources::from_dir(&policies()).unwrap()).unwrap()
}

/// `set` with the policy `id` rewritten by `edit`.
fn edited(set: &PolicySet, id: &str, edit: impl Fn(String) -> String) -> PolicySet {
    let mut out = PolicySet::new();
    for p in set.policies() {
        if p.id().to_string() == id {
            let text = edit(p.to_string());
            let policy = cedar_policy::Policy::parse(Some(p.id().clone()), &text).unwrap();
            out.add(policy).unwrap();
        } else {
            out.add(p.clone()).unwrap();
        }
    }
    out
}

#[test]
fn a_library_is_equivalent_to_itself() {
    let (schema, set) = library();
    let report = diff::diff(&schema, &set, &set, |_, _| {}).unwrap();
    assert!(report.equivalent(), "{report:#?}");
    assert!(report.environments >= 9);
    assert!(report.policies.changed.is_empty() && report.policies.added.is_empty());
}

#[test]
fn a_deadline_moved_by_a_day_is_exactly_the_difference_with_a_witness_in_that_day() {
    let (schema, old) = library();
    let new = edited(&old, "uk-hrv/out-of-core", |text| {
        assert!(text.contains("2024-01-01T00:00:00+0000"), "{text}");
        text.replace("2024-01-01T00:00:00+0000", "2024-01-02T00:00:00+0000")
    });
    let report = diff::diff(&schema, &old, &new, |_, _| {}).unwrap();
    assert_eq!(report.policies.changed, ["uk-hrv/out-of-core"]);
    assert!(report.policies.added.is_empty() && report.policies.removed.is_empty());
    assert!(!report.equivalent());
    for d in &report.differences {
        // OLD (the earlier deadline) denies with the moved rule; NEW allows.
        assert!(!d.old_allows && d.new_allows, "{d:#?}");
        assert!(
            d.old_determining
                .contains(&"uk-hrv/out-of-core".to_string()),
            "{d:#?}"
        );
        let at = &d.witness.request["context"]["at"]["__extn"];
        assert_eq!(at["fn"], "datetime", "{d:#?}");
        let at = at["arg"].as_str().unwrap();
        assert!(
            ("2024-01-01T00:00:00".."2024-01-02T00:00:00").contains(&at),
            "witness at {at}, not in the moved day"
        );
    }
    // Only the actions the rule covers (`sustain`: every operation but
    // terminate, and not a plan's adoption).
    assert!(
        report
            .differences
            .iter()
            .all(|d| !d.environment.contains("terminate") && !d.environment.contains("adopt")),
        "{:#?}",
        report.differences
    );
}
