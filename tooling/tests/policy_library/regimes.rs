//! Regimes and their packs: a network naming an unknown regime does not
//! load, and a bundle lacking a regime's pack refuses where it applies.

use slicegate::{Decider, PlacementRequest, PolicySources};

use crate::support::{policies, sources};

#[test]
fn a_network_naming_an_unknown_regime_does_not_load() {
    // A trailing space would switch the whole UK pack off for the network.
    let mut typo = sources().clone();
    let networks = typo
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("networks.json"))
        .expect("networks.json");
    networks.text = networks.text.replacen("\"uk-hrv\"", "\"uk-hrv \"", 1);
    let runtime = slicegate::Runtime::new(slicegate::Limits::default()).expect("runtime");
    let error = match Decider::new(&runtime, &typo) {
        Ok(_) => panic!("a regime nobody defines must not load"),
        Err(failure) => failure.to_string(),
    };
    assert!(error.contains("names regime `uk-hrv `"), "{error}");
    // A regime a loaded policy names as its @pack is known.
    let mut custom = sources().clone();
    let networks = custom
        .entities
        .iter_mut()
        .find(|f| f.name.ends_with("networks.json"))
        .unwrap();
    networks.text = networks.text.replacen("\"uk-hrv\"", "\"jp-2025\"", 1);
    custom.policies.push(slicegate::SourceFile {
        name: "packs/jp-2025/jp.cedar".to_string(),
        text: "@id(\"jp-2025/none\")\n@pack(\"jp-2025\")\n@reason(\"r\")\n@source(\"s\")\nforbid (principal, action, resource) when { false };\n".to_string(),
    });
    assert!(Decider::new(&runtime, &custom).is_ok());
}

/// A bundle holding some packs decides only where every regime that applies
/// is among them: on a network under a regime it lacks, and on a slice of a
/// category a regime it lacks covers everywhere, it refuses (a rule set left
/// out is not a rule set that does not apply). Tried for every network of
/// the reference data, every category, and several pack choices — with
/// packs left out by `--packs` and by a missing pack folder alike.
#[test]
fn a_bundle_without_a_regimes_pack_refuses_where_that_regime_applies() {
    let runtime = slicegate::Runtime::new(slicegate::Limits::default()).expect("runtime");
    let networks = sources().network_regimes();
    let by_category = sources().category_regimes();
    let federal_regimes = sources().federal_regimes();
    assert_eq!(federal_regimes, ["us-fcc-889"]);
    assert!(networks.len() > 10 && !by_category.is_empty());
    let regimes = Regimes {
        networks,
        by_category,
        federal: federal_regimes,
    };
    for packs in [
        vec!["baseline-procurement", "uk-hrv"],
        vec!["baseline-procurement", "eu-5g-toolbox", "se-pts-2020"],
        vec![
            "baseline-procurement",
            "state-dept-5g",
            "us-clean-network",
            "us-fcc-889",
        ],
    ] {
        let packs: Vec<String> = packs.into_iter().map(String::from).collect();
        let subset = PolicySources::from_dir_with_packs(&policies(), Some(&packs)).unwrap();
        // The same, by removing the other packs' policy files by hand.
        let mut removed = sources().clone();
        removed.policies.retain(|f| {
            packs
                .iter()
                .any(|p| f.name.contains(&format!("packs/{p}/")))
        });
        assert_eq!(removed.packs(), packs);
        for bundle in [&subset, &removed] {
            refuses_exactly_where_a_regime_is_lacking(&runtime, bundle, &packs, &regimes);
        }
    }
    // A plan on a network whose regimes the bundle lacks: refused too.
    let uk_only = PolicySources::from_dir_with_packs(
        &policies(),
        Some(&["baseline-procurement".to_string(), "uk-hrv".to_string()]),
    )
    .unwrap();
    let mut decider = Decider::new(&runtime, &uk_only)
        .unwrap()
        .permit_what_if(true);
    let plan = slicegate::PlanFile::read(&policies().join("examples/plans/se-example-tele.json"))
        .unwrap()
        .resolve("se-example-tele.json")
        .unwrap();
    let result = decider.check_plan(&plan);
    assert!(!result.allowed);
    let failure = result.failure.expect("refused").to_string();
    assert!(failure.contains("se-pts-2020"), "{failure}");
    // The whole library refuses nothing for this reason.
    let mut decider = Decider::new(&runtime, sources())
        .unwrap()
        .permit_what_if(true);
    let request = ericsson_radio_operated("us-example-wireless", "diplomatic", false, "US");
    assert!(decider.decide(&request).failure.is_none());
}

/// Where the regimes apply, by the whole library's reference data.
struct Regimes {
    /// Each network's regimes.
    networks: std::collections::BTreeMap<String, Vec<String>>,
    /// The regimes that cover a slice category on every network.
    by_category: std::collections::BTreeMap<String, Vec<String>>,
    /// The regimes that cover federal slices on every network.
    federal: Vec<String>,
}

/// The slice categories.
const CATEGORIES: [&str; 7] = [
    "consumer",
    "enterprise",
    "critical-infrastructure",
    "public-safety",
    "government",
    "defense",
    "diplomatic",
];

/// An Ericsson radio operated on `network` for a slice of `category`
/// (federal or not), at a site in `country`, in June 2026.
fn ericsson_radio_operated(
    network: &str,
    category: &str,
    federal: bool,
    country: &str,
) -> PlacementRequest {
    serde_json::from_value(serde_json::json!({
        "operation": "operate",
        "equipment": {"id": "e", "vendor": "ericsson", "model": "ericsson-gnb",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                      "subsidyFunded": false},
        "slice": {"id": "s", "sst": 1, "category": category, "usFederal": federal},
        "site": {"id": "x", "country": country, "sensitive": false},
        "network": network,
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap()
}

/// The bundle of `packs` (its sources `bundle`) refuses a placement on
/// every network and for every category, federal or not, exactly where a
/// regime that applies is not among its packs.
fn refuses_exactly_where_a_regime_is_lacking(
    runtime: &slicegate::Runtime,
    bundle: &PolicySources,
    packs: &[String],
    regimes: &Regimes,
) {
    let mut decider = Decider::new(runtime, bundle).unwrap().permit_what_if(true);
    for (network, network_regimes) in &regimes.networks {
        for (category, federal) in CATEGORIES.iter().flat_map(|c| [(*c, false), (*c, true)]) {
            let request = ericsson_radio_operated(network, category, federal, "GB");
            let decision = decider.decide(&request);
            let lacking_network = network_regimes.iter().any(|r| !packs.contains(r));
            let lacking_category = regimes
                .by_category
                .get(category)
                .is_some_and(|rs| rs.iter().any(|r| !packs.contains(r)))
                || (federal && regimes.federal.iter().any(|r| !packs.contains(r)));
            let refused = decision
                .failure
                .as_ref()
                .is_some_and(|f| f.to_string().contains("this bundle does not contain"));
            assert_eq!(
                refused,
                lacking_network || lacking_category,
                "{packs:?}, {network} {category} federal {federal}: {decision:?}"
            );
            if refused {
                assert!(!decision.allowed);
            }
        }
    }
}
