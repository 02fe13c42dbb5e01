//! The trust facts: combining parties, narrow entries, kept records, and
//! parties not on record.

use super::{Applying, Trust, TrustValues};
use crate::registry::{Flags, Registry};

fn registry() -> Registry {
    let j = |id: &str, free: bool| {
        serde_json::json!({"uid": {"type": "Jurisdiction", "id": id},
          "attrs": {"independentJudiciary": free, "intelligenceCooperationLaw": !free}, "parents": []})
    };
    let v = |id: &str, j: &str, state: bool| {
        serde_json::json!({"uid": {"type": "Vendor", "id": id},
          "attrs": {"jurisdiction": {"__entity": {"type": "Jurisdiction", "id": j}},
                    "ownershipKnown": true, "ownershipTransparent": true,
                    "stateControlled": state, "ipTheftRecord": false}, "parents": []})
    };
    let d = |id: &str, vendor: &str, since: &str, scope: &str, subsidy: Option<&str>| {
        let mut e = serde_json::json!({"uid": {"type": "Designation", "id": id},
          "attrs": {"list": "fcc-covered", "vendor": {"__entity": {"type": "Vendor", "id": vendor}},
                    "since": since, "scope": scope, "reach": "subsidiaries"}, "parents": []});
        if let Some(s) = subsidy {
            e["attrs"]["subsidyBanFrom"] = s.into();
        }
        e
    };
    Registry::build(&[
        j("FREE", true),
        j("NOT", false),
        v("good", "FREE", false),
        v("state", "FREE", true),
        v("abroad", "NOT", false),
        v("narrow", "FREE", false),
        serde_json::json!({"uid": {"type": "DesignationScope", "id": "ps"},
          "attrs": {"categories": ["public-safety"], "usFederal": true}, "parents": []}),
        d(
            "fcc/abroad",
            "abroad",
            "2022-03-25",
            "all",
            Some("2022-05-24"),
        ),
        d("fcc/narrow", "narrow", "2021-03-12", "ps", None),
    ])
    .expect("a registry")
}

#[test]
fn one_adverse_party_makes_the_group_adverse() {
    let registry = registry();
    let all = Trust::of(
        &registry,
        ["good", "state", "abroad"],
        "party",
        false,
        Applying::Every,
    )
    .expect("known parties");
    assert!(all.flags.state_controlled);
    assert!(all.flags.no_independent_judiciary && all.flags.intelligence_cooperation_law);
    let good = Trust::of(&registry, ["good"], "party", false, Applying::Every).unwrap();
    assert!(!good.flags.state_controlled && !good.flags.no_independent_judiciary);
    assert!(!good.unknown);
    // Nothing is known of a party not on record: every adverse fact
    // holds, alone and with others (a missing fact is never a good one).
    let unknown = Trust::of(&registry, [], "party", true, Applying::Every).unwrap();
    assert!(unknown.unknown);
    assert_eq!(unknown.flags, Flags::ADVERSE);
    let with_unknown = good.union(&unknown);
    assert!(with_unknown.unknown);
    assert_eq!(with_unknown.flags, Flags::ADVERSE);
    assert_eq!(unknown.union(&good).flags, Flags::ADVERSE);
    let types = crate::values::types().expect("types");
    let record = with_unknown.value(types);
    let cedar = record.to_string();
    for fact in [
        "unknownParty",
        "noIndependentJudiciary",
        "intelligenceCooperationLaw",
        "stateControlled",
        "ownershipUnresolved",
        "ownershipOpaque",
        "ipTheftRecord",
    ] {
        assert!(cedar.contains(&format!("{fact}: true")), "{fact}: {cedar}");
    }
    assert!(Trust::of(&registry, ["nobody"], "party", false, Applying::Every).is_err());
}

#[test]
fn a_narrow_entry_applies_only_to_its_categories_and_never_hides_an_earlier_one() {
    let registry = registry();
    let both = ["abroad", "narrow"];
    let consumer = Trust::of(
        &registry,
        both,
        "party",
        false,
        Applying::Slice("consumer", false),
    )
    .unwrap();
    let listing = consumer.listed[0].expect("listed through `abroad`");
    assert_eq!(listing.since.id, "fcc/abroad");
    let safety = Trust::of(
        &registry,
        both,
        "party",
        false,
        Applying::Slice("public-safety", false),
    )
    .unwrap();
    let listing = safety.listed[0].expect("listed");
    // The narrow entry is earlier and applies to this slice: it stands,
    // and the subsidy ban starts at the earliest start of the two.
    assert_eq!(listing.since.id, "fcc/narrow");
    assert_eq!(listing.subsidy.id, "fcc/narrow");
    assert_eq!(listing.subsidy.subsidy_from.cedar, "2021-03-12");
    let only_abroad = Trust::of(&registry, ["abroad"], "party", false, Applying::Every).unwrap();
    assert_eq!(
        only_abroad.listed[0].unwrap().subsidy.subsidy_from.cedar,
        "2022-05-24"
    );
    // A federal customer's slice is inside the narrow scope whatever its
    // category.
    let federal = Trust::of(
        &registry,
        ["narrow"],
        "party",
        false,
        Applying::Slice("enterprise", true),
    )
    .unwrap();
    assert_eq!(federal.listed[0].unwrap().since.id, "fcc/narrow");
    let enterprise = Trust::of(
        &registry,
        ["narrow"],
        "party",
        false,
        Applying::Slice("enterprise", false),
    )
    .unwrap();
    assert!(enterprise.listed[0].is_none());
    // The union keeps the earliest of each.
    let union = consumer.union(&safety);
    assert_eq!(union.listed[0].unwrap().since.id, "fcc/narrow");
}

/// Records taken from the registry's cache are the records the facts
/// build, whatever was decided before: every group and slice, in two
/// orders, against a fresh build.
#[test]
fn kept_trust_records_are_the_ones_their_facts_build() {
    let types = crate::values::types().expect("types");
    let registry = registry();
    let groups: [&[&str]; 6] = [
        &["good"],
        &["abroad"],
        &["narrow"],
        &["good", "abroad"],
        &["abroad", "narrow"],
        &[],
    ];
    let slices = [
        Applying::Slice("consumer", false),
        Applying::Slice("public-safety", false),
        Applying::Slice("public-safety", true),
        Applying::Every,
    ];
    let mut cases = Vec::new();
    for group in groups {
        for applying in slices {
            for unknown in [false, true] {
                cases.push((group, applying, unknown));
            }
        }
    }
    for order in [cases.clone(), cases.into_iter().rev().collect()] {
        for (group, applying, unknown) in order {
            let trust = Trust::of(&registry, group.iter().copied(), "party", unknown, applying)
                .expect("known parties");
            let mut values = TrustValues::new(&registry);
            let kept = values.value(&trust, types);
            assert_eq!(kept, trust.value(types), "{group:?} {applying:?} {unknown}");
            // Printed alike too (the text of each instant included).
            assert_eq!(kept.to_string(), trust.value(types).to_string());
        }
    }
    // Distinct facts never share a key: a designated group and a clean
    // one, or one slice and another where a narrow entry differs.
    let of = |group: &[&str], applying| {
        Trust::of(&registry, group.iter().copied(), "party", false, applying)
            .expect("known")
            .key()
    };
    assert_ne!(
        of(&["good"], Applying::Every),
        of(&["abroad"], Applying::Every)
    );
    assert_ne!(
        of(&["narrow"], Applying::Slice("consumer", false)),
        of(&["narrow"], Applying::Slice("public-safety", false))
    );
}

#[test]
fn an_operator_permit_reading_only_adverse_facts_never_admits_an_unknown_carrier() {
    use crate::exports::slicegate::policy::loader::SourceFile;
    use crate::exports::slicegate::policy::placement::Operation;
    // Only the operator's permit: no library rule to deny first.
    let mut sources = crate::compiled::profile::library();
    // (One per regime of the request's network, so that its regimes are
    // loaded packs.)
    sources.policies = ["baseline-procurement", "uk-hrv"]
        .into_iter()
        .map(|pack| SourceFile {
            name: format!("{pack}.cedar"),
            text: format!("@id(\"{pack}/op\")\n@pack(\"{pack}\")\npermit (principal, action == Action::\"interconnect\", resource) when {{ !context.services.ownershipUnresolved && !context.services.stateControlled && !context.parties.noIndependentJudiciary && !context.parties.ipTheftRecord }};\n"),
        })
        .collect();
    let (set, _) = crate::load::load(sources).expect("loads");
    let mut request = crate::compiled::profile::demo_request();
    request.operation = Operation::Interconnect;
    request.equipment.vendor = "cisco".to_string();
    request.equipment.model = "cisco-router".to_string();
    request.peer = Some("se-example-tele".to_string());
    let known = crate::decide::decide(&set, &request).expect("decided");
    assert!(known.allowed, "a clean carrier on record: {known:?}");
    request.peer = Some("xx-unknown-peer".to_string());
    let unknown = crate::decide::decide(&set, &request).expect("decided");
    assert!(!unknown.allowed, "a carrier not on record: {unknown:?}");
}
