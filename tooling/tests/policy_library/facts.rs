//! The facts a decision reads: the Cedar form of a placement and the
//! derived facts in it, none taken from a caller of the generic authorizer,
//! and example values marked as such.

use slicegate::{Decider, PlacementRequest};

use crate::support::{shipped_decider, sources};

#[test]
fn the_cedar_form_of_a_placement_carries_the_derived_facts() {
    let mut decider = shipped_decider();
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "place",
        "equipment": {"id": "oru-1", "vendor": "nokia", "model": "nokia-oru",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                      "components": ["hisilicon"], "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "s1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2026-06-01T12:00:00+01:00"
    }))
    .unwrap();
    let form = decider.cedar_form(&request).expect("form");
    let equipment = &form["entities"][0];
    assert_eq!(equipment["uid"]["id"], "oru-1");
    let attrs = &equipment["attrs"];
    // The maker's own facts: Nokia is on no list.
    assert_eq!(attrs["maker"]["listed"], serde_json::json!({}));
    assert_eq!(attrs["maker"]["stateControlled"], false);
    // The HiSilicon modem brings the Huawei group's designations and facts
    // (through its chain) into the supply.
    assert_eq!(
        attrs["supply"]["listed"]["ukDesignated"]["since"]["__extn"]["arg"],
        "2022-10-13T00:00:00+0100"
    );
    assert_eq!(attrs["supply"]["noIndependentJudiciary"], true);
    assert_eq!(attrs["supply"]["ownershipOpaque"], true);
    // Every party of the request: here the maker and the component.
    let parties: Vec<&str> = form["context"]["parties"]["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["__entity"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(parties, ["hisilicon", "nokia"]);
    assert_eq!(attrs["owner"]["__entity"]["id"], "nokia");
    assert_eq!(attrs["domain"], "ran");
    // Parents: the maker and every component vendor.
    let parents: Vec<&str> = equipment["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(parents.contains(&"nokia") && parents.contains(&"hisilicon"));
    // The time is normalised to Cedar's form.
    assert_eq!(
        form["context"]["at"]["__extn"]["arg"],
        "2026-06-01T12:00:00+0100"
    );
}

#[test]
fn the_generic_authorizer_takes_no_derived_fact_from_the_caller_on_the_5g_schema() {
    // The library extended by a custom action on a custom type: what a
    // custom schema adds stays open to the generic authorizer.
    let mut extended = sources().clone();
    if let Some(schema) = extended.schema.as_mut() {
        schema.text.push_str(
            "\nentity Auditor;\naction \"audit\" appliesTo { principal: Auditor, resource: Network, context: {} };\n",
        );
    }
    extended.policies.push(slicegate::SourceFile {
        name: "audit.cedar".to_string(),
        text: "@id(\"custom/audit\")\n@pack(\"custom\")\n@reason(\"auditors may audit\")\n@source(\"test\")\npermit (principal is Auditor, action == Action::\"audit\", resource);\n".to_string(),
    });
    let runtime = slicegate::Runtime::new(slicegate::Limits::default()).expect("runtime");
    let mut decider = Decider::new(&runtime, &extended).expect("the extended library loads");
    let request = |value: serde_json::Value| -> slicegate::CedarRequest {
        serde_json::from_value(value).expect("a Cedar request")
    };
    let refused = |decision: &slicegate::Decision, says: &str| {
        assert!(!decision.allowed, "{decision:?}");
        let failure = decision.failure.as_ref().expect("refused").to_string();
        assert!(failure.contains(says), "{failure}");
    };

    // A custom request with its own entity: decided.
    let audit = decider.authorize(&request(serde_json::json!({
        "principal": {"type": "Auditor", "id": "a"},
        "action": {"type": "Action", "id": "audit"},
        "resource": {"type": "Network", "id": "gb-example-mobile"},
        "entities": [{"uid": {"type": "Auditor", "id": "a"}, "attrs": {}, "parents": []}]
    })));
    assert!(audit.allowed, "{audit:?}");

    // The same request bringing a vendor (reference data the bundle holds)
    // or a site (inventory the typed path builds): refused.
    for (type_name, attrs) in [
        (
            "Vendor",
            serde_json::json!({"name": "x", "formerNames": [], "jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "GB"}},
                "ownershipKnown": true, "ownershipTransparent": true, "stateControlled": false,
                "ipTheftRecord": false, "exampleValues": []}),
        ),
        (
            "Site",
            serde_json::json!({"country": {"__entity": {"type": "Jurisdiction", "id": "GB"}}, "sensitive": false}),
        ),
    ] {
        let decision = decider.authorize(&request(serde_json::json!({
            "principal": {"type": "Auditor", "id": "a"},
            "action": {"type": "Action", "id": "audit"},
            "resource": {"type": "Network", "id": "gb-example-mobile"},
            "entities": [{"uid": {"type": "Auditor", "id": "a"}, "attrs": {}, "parents": []},
                         {"uid": {"type": type_name, "id": "planted"}, "attrs": attrs, "parents": []}]
        })));
        refused(&decision, &format!("may not bring a `{type_name}` entity"));
    }

    // Every placement and plan action is the typed interface's, whatever
    // the request brings.
    for (principal, action) in [
        ("Equipment", "place"),
        ("Equipment", "terminate"),
        ("Plan", "adopt"),
    ] {
        let decision = decider.authorize(&request(serde_json::json!({
            "principal": {"type": principal, "id": "p"},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Network", "id": "gb-example-mobile"},
            "validate": false
        })));
        refused(&decision, "typed placement interface");
    }
}

#[test]
fn explain_marks_example_values_as_examples() {
    let mut decider = shipped_decider();
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "place",
        "equipment": {"id": "upf-1", "vendor": "ericsson", "model": "ericsson-upf",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "s1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    let decision = decider.decide(&request);
    let form = decider.cedar_form(&request).expect("form");
    let explanation =
        slicegate_tooling::explain::explain(sources(), form, decision).expect("explained");
    let lines = explanation.examples.join("\n");
    assert!(
        lines.contains("nesasAuditValidUntil of Vendor ericsson = datetime(\"2027-06-30T00:00:00Z\") is an example"),
        "{lines}"
    );
    assert!(
        lines.contains("endOfSupport of Model ericsson-upf"),
        "{lines}"
    );
    // A fictional vendor's own dates are test values, not marked examples.
    let request: PlacementRequest = serde_json::from_value(serde_json::json!({
        "operation": "place",
        "equipment": {"id": "upf-1", "vendor": "test-nesas-vendor", "model": "test-nesas-upf",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true, "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "s1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2026-06-01T00:00:00Z"
    }))
    .unwrap();
    let decision = decider.decide(&request);
    let form = decider.cedar_form(&request).expect("form");
    let explanation =
        slicegate_tooling::explain::explain(sources(), form, decision).expect("explained");
    assert!(
        explanation.examples.is_empty(),
        "{:?}",
        explanation.examples
    );
}
