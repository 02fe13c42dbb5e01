//! `slicegate impact`: a policy change re-decided on the example network.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use slicegate::{Decider, Limits, PolicySources, Runtime};
use slicegate_tooling::impact::{self, Workload};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(Limits::default()).unwrap())
}

fn decider(sources: &PolicySources) -> Decider {
    Decider::new(runtime(), sources)
        .unwrap()
        .permit_what_if(true)
}

/// The library with Nokia added to the UK designation (from 2025).
fn with_nokia_designated() -> PolicySources {
    let mut sources = PolicySources::from_dir(&policies()).unwrap();
    let file = sources
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("designations.json"))
        .unwrap();
    let mut all: Vec<serde_json::Value> = serde_json::from_str(&file.text).unwrap();
    let mut nokia = all
        .iter()
        .find(|d| d["uid"]["id"] == "uk-designated/huawei")
        .unwrap()
        .clone();
    nokia["uid"]["id"] = "uk-designated/nokia".into();
    nokia["attrs"]["vendor"]["__entity"]["id"] = "nokia".into();
    nokia["attrs"]["since"]["__extn"]["arg"] = "2025-01-01T00:00:00+0000".into();
    all.push(nokia);
    file.text = serde_json::to_string(&all).unwrap();
    sources
}

fn changed(at: &str) -> Vec<(String, String, String)> {
    let work = Workload::plans(&policies().join("examples/plans")).unwrap();
    let old = impact::decide_all(
        &mut decider(&PolicySources::from_dir(&policies()).unwrap()),
        &work,
        at,
    );
    let new = impact::decide_all(&mut decider(&with_nokia_designated()), &work, at);
    assert_eq!(old.len(), new.len());
    let mut out: Vec<_> = impact::changes(&old, &new)
        .into_iter()
        .map(|c| {
            assert!(!c.after.allowed, "a new designation allowed {:?}", c.item);
            (c.item.source, c.item.equipment, c.item.operation)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_new_designation_lists_exactly_the_items_it_makes_non_compliant() {
    // In 2026: the UK network's two new Nokia radios may no longer be
    // installed; the installed Nokia management system (not core) stays.
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        changed("2026-06-01T00:00:00Z"),
        [
            s("gb-example-mobile.json", "gnb-man-01b", "place"),
            s("gb-example-mobile.json", "gnb-whitehall-b", "place"),
        ]
    );
    // After the end of 2027 the management system must be out too.
    assert_eq!(
        changed("2028-02-01T00:00:00Z"),
        [
            s("gb-example-mobile.json", "gnb-man-01b", "place"),
            s("gb-example-mobile.json", "gnb-whitehall-b", "place"),
            s("gb-example-mobile.json", "nms-1", "operate"),
        ]
    );
}

#[test]
fn identical_libraries_change_nothing_and_the_calendar_finds_the_deadlines() {
    let sources = PolicySources::from_dir(&policies()).unwrap();
    let work = Workload::plans(&policies().join("examples/plans")).unwrap();
    let a = impact::decide_all(&mut decider(&sources), &work, "2026-06-01T00:00:00Z");
    let b = impact::decide_all(&mut decider(&sources), &work, "2026-06-01T00:00:00Z");
    assert!(impact::changes(&a, &b).is_empty());
    let texts: Vec<&str> = sources
        .policies
        .iter()
        .chain(&sources.entities)
        .map(|f| f.text.as_str())
        .collect();
    let at = |t: &str| impact::parse_instant(t).unwrap();
    let deadlines: Vec<String> = impact::deadlines(
        texts.iter().copied(),
        at("2025-01-01T00:00:00Z"),
        at("2029-01-01T00:00:00Z"),
        std::time::Duration::ZERO,
    )
    .into_iter()
    .map(impact::format_instant)
    .collect();
    assert_eq!(deadlines[0], "2025-01-01T00:00:00Z");
    // The German core deadline (2027-01-01 CET) and the UK end of 2027.
    assert!(
        deadlines.contains(&"2026-12-31T23:00:00Z".to_string()),
        "{deadlines:?}"
    );
    assert!(
        deadlines.contains(&"2028-01-01T00:00:00Z".to_string()),
        "{deadlines:?}"
    );
    assert!(deadlines.windows(2).all(|w| w[0] < w[1]));
}

/// A calendar finds computed deadlines to the second: the German notice's
/// 62-day waiting period (filed 2023-01-10 09:00 CET) names no literal.
#[test]
fn the_calendar_finds_a_computed_deadline_to_the_second() {
    let sources = PolicySources::from_dir(&policies()).unwrap();
    let work = Workload::plans(&policies().join("examples/plans")).unwrap();
    let texts: Vec<&str> = sources
        .policies
        .iter()
        .chain(&sources.entities)
        .map(|f| f.text.as_str())
        .collect();
    let instants = impact::deadlines(
        texts.iter().copied(),
        impact::parse_instant("2023-01-01T00:00:00Z").unwrap(),
        impact::parse_instant("2023-06-01T00:00:00Z").unwrap(),
        std::time::Duration::from_secs(7 * 86_400),
    );
    let steps = impact::calendar(&mut decider(&sources), &work, &instants);
    let found = steps
        .iter()
        .find(|(_, changes)| changes.iter().any(|c| c.item.equipment == "amf-fra-1"))
        .unwrap_or_else(|| panic!("{steps:#?}"));
    assert_eq!(found.0, "2023-03-13T08:00:00Z");
}

/// Inventory items are paired by position: two items with one id are two
/// items, and an item nobody can decide is reported, not passed over.
#[test]
fn inventory_items_pair_by_position_and_undecidable_ones_are_reported() {
    let placement = |vendor: &str, model: &str, sensitive: bool| {
        serde_json::json!({
            "operation": "operate",
            "equipment": {"id": "same-id", "vendor": vendor, "model": model,
                          "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                          "subsidyFunded": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": "lon", "country": "GB", "sensitive": sensitive},
            "network": "gb-example-mobile"
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.json");
    std::fs::write(
        &path,
        serde_json::to_string(&[
            placement("huawei", "huawei-upf-x", false),
            placement("ericsson", "ericsson-upf", true),
            placement("acme", "acme-upf", false),
        ])
        .unwrap(),
    )
    .unwrap();
    let work = Workload::inventory(&path).unwrap();
    let base = PolicySources::from_dir(&policies()).unwrap();
    // NEW pushes the UK core deadline out: only the Huawei item (the first)
    // changes.
    let mut weak = base.clone();
    let uk = weak
        .policies
        .iter_mut()
        .find(|f| f.name.ends_with("uk-hrv.cedar"))
        .unwrap();
    uk.text = uk
        .text
        .replace("2024-01-01T00:00:00+0000", "2034-01-01T00:00:00+0000")
        .replace("2028-01-01T00:00:00+0000", "2038-01-01T00:00:00+0000");
    let at = "2026-06-01T00:00:00Z";
    let old = impact::decide_all(&mut decider(&base), &work, at);
    let new = impact::decide_all(&mut decider(&weak), &work, at);
    let changes = impact::changes(&old, &new);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0].item.position, 0);
    assert!(changes[0].after.allowed);
    let undecided = impact::undecided(&old, &new);
    assert_eq!(undecided.len(), 1, "{undecided:#?}");
    assert_eq!(undecided[0].0.position, 2);
}

/// A change to the plan-level rules (the access-share cap) shows, even
/// when items of the plan are denied anyway.
#[test]
fn a_plan_level_rule_change_is_its_own_item() {
    let base = PolicySources::from_dir(&policies()).unwrap();
    let mut no_cap = base.clone();
    let uk = no_cap
        .policies
        .iter_mut()
        .find(|f| f.name.ends_with("uk-hrv.cedar"))
        .unwrap();
    let start = uk.text.find("@id(\"uk-hrv/access-share-cap\")").unwrap();
    uk.text.truncate(start);
    let work = Workload::plans(&policies().join("examples/plans")).unwrap();
    let at = "2026-11-26T12:00:00Z";
    let old = impact::decide_all(&mut decider(&base), &work, at);
    let new = impact::decide_all(&mut decider(&no_cap), &work, at);
    let changes = impact::changes(&old, &new);
    assert!(
        changes
            .iter()
            .any(|c| c.item.equipment == "(plan-level rules)"
                && c.item.source == "gb-example-mobile.json"
                && c.after.allowed),
        "{changes:#?}"
    );
}

#[test]
fn instants_are_parsed_with_offsets_and_refused_when_malformed() {
    let p = impact::parse_instant;
    let z = p("2026-06-01T00:00:00Z").unwrap();
    assert_eq!(p("2026-06-01t02:00:00+02:00"), Some(z));
    assert_eq!(p("2026-06-01T02:00:00+0200"), Some(z));
    assert_eq!(p("2026-05-31T22:00:00-02:00"), Some(z));
    assert_eq!(p("2026-06-01"), Some(z));
    for bad in [
        "x",
        "",
        "now",
        "2026-06-01T12:00:00",
        "2026-13-01T00:00:00Z",
    ] {
        assert_eq!(p(bad), None, "{bad}");
    }
}

/// A side that refuses a whole plan (the pack of its network's regime is
/// not in it) reports each item refused at the position the deciding side
/// gives it: every pair names the same item, so what the deciding side
/// denies is listed as denied, not as another item's decision.
#[test]
fn a_plan_refused_on_one_side_pairs_item_by_item_with_the_other() {
    let work = Workload::plans(&policies().join("examples/plans")).unwrap();
    let mut without_se = PolicySources::from_dir(&policies()).unwrap();
    without_se
        .policies
        .retain(|f| !f.name.contains("se-pts-2020"));
    let library = PolicySources::from_dir(&policies()).unwrap();
    let at = "2026-06-01T00:00:00Z";
    for (old_sources, new_sources) in [(&without_se, &library), (&library, &without_se)] {
        let old = impact::decide_all(&mut decider(old_sources), &work, at);
        let new = impact::decide_all(&mut decider(new_sources), &work, at);
        assert_eq!(old.len(), new.len());
        let mut refused = 0;
        for ((a, a_out), (b, b_out)) in old.iter().zip(&new) {
            assert_eq!(
                (&a.source, a.position, &a.equipment, &a.operation),
                (&b.source, b.position, &b.equipment, &b.operation)
            );
            if a.source.contains("se-example") && (a_out.refused || b_out.refused) {
                refused += 1;
            }
        }
        assert!(refused > 0, "the SE plan was decided on both sides");
        // The refusing side denies every item; the changes are exactly
        // the items the deciding side allows — never the Huawei radio kept
        // in Gothenburg, which the Swedish rules deny.
        let changes = impact::changes(&old, &new);
        let se: Vec<_> = changes
            .iter()
            .filter(|c| c.item.source.contains("se-example"))
            .collect();
        assert!(!se.is_empty());
        for change in &se {
            assert!(change.before.allowed != change.after.allowed, "{change:#?}");
            let decided = if change.before.refused {
                &change.after
            } else {
                &change.before
            };
            assert!(decided.allowed && !decided.refused, "{change:#?}");
        }
        assert!(
            !se.iter().any(|c| c.item.equipment == "gnb-got-01"),
            "{se:#?}"
        );
    }
}
