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

/// A forbid added that can error denies where it errors (the engine fails
/// closed): the engine forms differ there, and the witness is such a request.
#[test]
fn an_added_forbid_that_can_error_is_not_equivalent() {
    let report = with_added(
        r#"forbid (principal, action == Action::"terminate", resource)
        when { principal has criticalNotice &&
               principal.criticalNotice.filed.offset(duration("9223372036854775807ms"))
                 == datetime("1900-01-01") };"#,
    );
    let difference = report
        .differences
        .iter()
        .find(|d| d.environment.contains("terminate"))
        .unwrap_or_else(|| panic!("{report:#?}"));
    // OLD allows every terminate; NEW denies this one, only by erroring
    // (the condition can never be true).
    assert!(
        difference.old_allows && !difference.new_allows,
        "{difference:#?}"
    );
    assert_eq!(difference.erroring_forbid, None);
    // The deny is the erroring forbid's, and is said to be.
    assert_eq!(difference.new_erroring, ["added/erroring"]);
    assert!(difference.old_erroring.is_empty());
}

/// A forbid whose errors the engine form does not capture exactly (Long
/// `*`) is checked apart: where it can error, the two are not equivalent.
#[test]
fn an_added_forbid_with_a_multiplication_that_can_overflow_is_not_equivalent() {
    let report = with_added(
        r#"forbid (principal, action == Action::"terminate", resource)
        when { context.network has hrvAccessCapBp &&
               context.network.hrvAccessCapBp * 4 == 3 };"#,
    );
    assert!(!report.equivalent(), "{report:#?}");
    assert!(
        report
            .differences
            .iter()
            .any(|d| d.erroring_forbid.as_deref() == Some("added/erroring")),
        "{report:#?}"
    );
}

/// The library against the library with `text` added as `added/erroring`.
fn with_added(text: &str) -> diff::DiffReport {
    let (schema, old) = library();
    let mut new = old.clone();
    let added: cedar_policy::PolicySet = text.parse().unwrap();
    for p in added.policies() {
        new.add(p.new_id(cedar_policy::PolicyId::new("added/erroring")))
            .unwrap();
    }
    diff::diff(&schema, &old, &new, |_, _| {}).unwrap()
}

/// The schema and the reference data are compared too: a changed action
/// group or designation is reported, never hidden behind equal policies.
#[test]
fn schema_and_reference_data_changes_are_reported() {
    let old = PolicySources::from_dir(&policies()).unwrap();
    let mut new = old.clone();
    assert!(!diff::source_changes(&old, &new).any());
    let schema = new.schema.as_mut().unwrap();
    schema.text = schema.text.replace(
        r#"action "place", "scale" in ["introduce"]"#,
        r#"action "place" in ["introduce"];
action "scale" in ["sustain"]"#,
    );
    let changes = diff::source_changes(&old, &new);
    assert!(changes.schema_changed, "{changes:?}");
    let mut new = old.clone();
    let file = new
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("designations.json"))
        .unwrap();
    let mut all: Vec<serde_json::Value> = serde_json::from_str(&file.text).unwrap();
    all.retain(|d| d["uid"]["id"] != "uk-designated/huawei");
    file.text = serde_json::to_string(&all).unwrap();
    let changes = diff::source_changes(&old, &new);
    assert_eq!(
        changes.entities_removed,
        ["Designation::\"uk-designated/huawei\""]
    );
    assert!(changes.any() && !changes.schema_changed);
}

/// The packs a library holds come from `@pack`: relabelling a pack's
/// policies drops its regime from a bundle, which diff reports.
#[test]
fn a_relabelled_pack_is_reported() {
    let old = PolicySources::from_dir(&policies()).unwrap();
    let mut new = old.clone();
    let uk = new
        .policies
        .iter_mut()
        .find(|f| f.name.ends_with("uk-hrv.cedar"))
        .unwrap();
    uk.text = uk.text.replace("@pack(\"uk-hrv\")", "@pack(\"de-2024\")");
    let changes = diff::source_changes(&old, &new);
    assert_eq!(changes.packs_removed, ["uk-hrv"]);
    assert!(changes.any());
}
