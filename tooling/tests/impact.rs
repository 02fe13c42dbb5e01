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
    let deadlines = impact::deadlines(
        texts.iter().copied(),
        "2025-01-01T00:00:00Z",
        "2029-01-01T00:00:00Z",
    );
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
