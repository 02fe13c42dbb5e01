//! Mutations derived from cases: weaker claims, dropped parts and records.

use serde_json::json;

use super::{placement_mutations, plan_mutations};

#[test]
fn every_weaker_claim_and_drop_of_a_placement_is_derived() {
    let request = json!({
        "operation": "remote-manage",
        "equipment": {"id": "e", "vendor": "v", "model": "m", "softwareVersion": "1",
                      "softwareSigned": true, "sbom": true, "subsidyFunded": false,
                      "components": ["a", "b"],
                      "criticalComponentNotice": {"filed": "2024-01-01T00:00:00Z", "prohibited": false}},
        "slice": {"id": "s", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "x", "country": "GB", "sensitive": false, "host": "h"},
        "network": "n",
        "remote": {"fromCountry": "GB", "provider": "p", "authorityApproved": true},
        "at": "2026-01-01T00:00:00Z"
    });
    let names: Vec<String> = placement_mutations(&request, &[])
        .into_iter()
        .map(|m| m.name)
        .collect();
    for expected in [
        "weaker-claim: /equipment/softwareSigned = false",
        "weaker-claim: /equipment/sbom = false",
        "weaker-claim: /equipment/subsidyFunded = true",
        "dropped-record: /equipment/criticalComponentNotice dropped",
        "weaker-claim: /equipment/criticalComponentNotice/prohibited = true",
        "weaker-claim: /equipment/criticalComponentNotice/filed = \"2026-01-01T00:00:00Z\"",
        "dropped-part: /equipment/components without `a`",
        "dropped-part: /equipment/components without `b`",
        "weaker-claim: /site/sensitive = true",
        "unknown-party: /site/host = \"slicegate-mutation-unknown\"",
        "weaker-claim: /slice/usFederal = true",
        "unknown-party: /remote/provider = \"slicegate-mutation-unknown\"",
        "unknown-party: /remote/fromCountry = \"slicegate-mutation-unknown\"",
        "weaker-claim: /remote/authorityApproved = false",
        "dropped-record: /remote dropped",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    // Claims already at their weakest are not "mutated" into themselves.
    let weakest = json!({"equipment": {"softwareSigned": false, "sbom": false}});
    assert!(placement_mutations(&weakest, &[]).is_empty());
}

#[test]
fn a_plan_gets_zero_weights_a_slice_scope_and_other_metrics() {
    let plan = json!({
        "network": "n", "metric": "sites",
        "sites": [{"id": "s1", "country": "GB", "sensitive": false}],
        "slices": [{"id": "embb", "sst": 1, "category": "consumer", "usFederal": false}],
        "installed": [{"equipment": {"id": "e"}, "slice": "embb", "site": "s1", "weight": 3}],
        "changes": []
    });
    let names: Vec<String> = plan_mutations(&plan, &[])
        .into_iter()
        .map(|m| m.name)
        .collect();
    for expected in [
        "lower-weight: /installed/0/weight = 0",
        "lower-weight: /installed/0/weight = 1",
        "narrower-scope: /slice = \"embb\"",
        "other-metric: /metric = \"cells\"",
        "other-metric: /metric = \"traffic\"",
        "weaker-claim: /sites/0/sensitive = true",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}
