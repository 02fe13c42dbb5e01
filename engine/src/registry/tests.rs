use super::Registry;

fn vendor(id: &str, parent: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "uid": {"type": "Vendor", "id": id},
        "attrs": {"jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "XX"}},
                  "ownershipKnown": true, "ownershipTransparent": true,
                  "stateControlled": false, "ipTheftRecord": false},
        "parents": parent.map(|p| vec![serde_json::json!({"type": "Vendor", "id": p})]).unwrap_or_default(),
    })
}

fn entry(list: &str, vendor: &str, reach: &str) -> serde_json::Value {
    serde_json::json!({
        "uid": {"type": "Designation", "id": format!("{list}/{vendor}")},
        "attrs": {"list": list, "vendor": {"__entity": {"type": "Vendor", "id": vendor}},
                  "since": "2020-01-01", "scope": "all", "reach": reach},
        "parents": [],
    })
}

fn group(entries: Vec<serde_json::Value>) -> Registry {
    let mut all = vec![
        serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"},
            "attrs": {"independentJudiciary": true, "intelligenceCooperationLaw": false}, "parents": []}),
        vendor("top", None),
        vendor("listed", Some("top")),
        vendor("sister", Some("top")),
        vendor("child", Some("listed")),
        vendor("grandchild", Some("child")),
    ];
    all.extend(entries);
    Registry::build(&all).expect("a registry")
}

fn reached(registry: &Registry, list: usize) -> Vec<&str> {
    let mut ids: Vec<&str> = registry
        .vendors
        .iter()
        .filter(|(_, f)| !f.entries[list].is_empty())
        .map(|(id, _)| id.as_str())
        .collect();
    ids.sort();
    ids
}

#[test]
fn an_entry_reaches_subsidiaries_or_the_whole_group_as_its_list_defines() {
    let registry = group(vec![
        entry("uk-designated", "listed", "subsidiaries"),
        entry("fcc-covered", "listed", "group"),
    ]);
    assert_eq!(reached(&registry, 2), ["child", "grandchild", "listed"]);
    assert_eq!(
        reached(&registry, 0),
        ["child", "grandchild", "listed", "sister", "top"]
    );
}

#[test]
fn an_entry_without_a_reach_or_with_an_unknown_scope_is_refused() {
    let mut no_reach = entry("uk-designated", "listed", "x");
    no_reach["attrs"].as_object_mut().unwrap().remove("reach");
    let mut all = vec![
        serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"}, "attrs": {}, "parents": []}),
        vendor("listed", None),
    ];
    all.push(no_reach);
    let err = Registry::build(&all).unwrap_err();
    assert!(format!("{err:?}").contains("reach"), "{err:?}");
    let mut narrow = entry("uk-designated", "listed", "group");
    narrow["attrs"]["scope"] = "somewhere".into();
    all.pop();
    all.push(narrow);
    let err = Registry::build(&all).unwrap_err();
    assert!(format!("{err:?}").contains("scope `somewhere`"), "{err:?}");
}

#[test]
fn a_missing_fact_reads_as_the_adverse_one() {
    let all = vec![
        serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"}, "attrs": {}, "parents": []}),
        serde_json::json!({"uid": {"type": "Vendor", "id": "bare"},
            "attrs": {"jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "XX"}}}, "parents": []}),
    ];
    let registry = Registry::build(&all).expect("a registry");
    let flags = registry.vendors["bare"].flags;
    assert!(flags.no_independent_judiciary && flags.intelligence_cooperation_law);
    assert!(flags.state_controlled && flags.ip_theft_record);
    assert!(flags.ownership_unresolved && flags.ownership_opaque);
}

#[test]
fn inventory_in_reference_data_is_refused() {
    let all = vec![
        serde_json::json!({"uid": {"type": "Equipment", "id": "e"}, "attrs": {}, "parents": []}),
    ];
    let err = Registry::build(&all).unwrap_err();
    assert!(format!("{err:?}").contains("live inventory"), "{err:?}");
}

#[test]
fn an_ownership_chain_is_refused_for_a_loop_or_for_its_length_each_by_name() {
    let jurisdiction = serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"},
        "attrs": {"independentJudiciary": true, "intelligenceCooperationLaw": false}, "parents": []});
    let chain = |n: usize| {
        let mut all = vec![jurisdiction.clone(), vendor("d0", None)];
        all.extend((1..n).map(|i| vendor(&format!("d{i}"), Some(&format!("d{}", i - 1)))));
        all
    };
    // 64 vendors, the limit: kept, with its ultimate owner.
    let kept = Registry::build(&chain(super::MAX_CHAIN)).expect("at the limit");
    assert_eq!(kept.vendors["d63"].owner, "d0");
    assert_eq!(kept.vendors["d63"].chain.len(), super::MAX_CHAIN);
    // One more: refused for its length, not called a loop.
    let err = format!(
        "{:?}",
        Registry::build(&chain(super::MAX_CHAIN + 1)).unwrap_err()
    );
    assert!(err.contains("is longer than 64 vendors"), "{err}");
    assert!(!err.contains("loops"), "{err}");
    // A real cycle: named as one.
    let cycle = vec![jurisdiction, vendor("a", Some("b")), vendor("b", Some("a"))];
    let err = format!("{:?}", Registry::build(&cycle).unwrap_err());
    assert!(err.contains("loops"), "{err}");
}
