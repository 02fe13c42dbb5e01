//! The OpenID AuthZEN Authorization API 1.0: the spec's request and answer
//! shapes, the mapping onto placements (same decisions and reasons as
//! `/v1/decisions`), the batch semantics, and what it refuses.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// A placement request as an AuthZEN evaluation (the documented mapping).
fn evaluation(placement: &Value) -> Value {
    let mut equipment = placement["equipment"].clone();
    let id = equipment.as_object_mut().unwrap().remove("id").unwrap();
    let mut slice = placement["slice"].clone();
    let slice_id = slice.as_object_mut().unwrap().remove("id").unwrap();
    slice["site"] = placement["site"].clone();
    slice["network"] = placement["network"].clone();
    let mut context = json!({});
    for key in ["peer", "remote", "at"] {
        if let Some(value) = placement.get(key) {
            context[key] = value.clone();
        }
    }
    json!({
        "subject": {"type": "equipment", "id": id, "properties": equipment},
        "action": {"name": placement["operation"]},
        "resource": {"type": "slice", "id": slice_id, "properties": slice},
        "context": context,
    })
}

fn ids(policies: &Value) -> Vec<String> {
    policies
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policyId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_evaluation_decides_as_the_placement_it_maps_onto() {
    let service = service();
    let state = &service.state;
    let remote = {
        let mut p = allowed_placement();
        p["operation"] = "remote-manage".into();
        p["remote"] =
            json!({"fromCountry": "CN", "provider": "huawei", "authorityApproved": false});
        p
    };
    for placement in [allowed_placement(), denied_placement(), remote] {
        let body = evaluation(&placement);
        assert!(request_valid("post", "/access/v1/evaluation", &body));
        let native = post(state, "/v1/decisions", &placement).await;
        let answer = post(state, "/access/v1/evaluation", &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let decision = &native.body["decision"];
        assert_eq!(
            answer.body["decision"], decision["allowed"],
            "{}",
            answer.text
        );
        let context = &answer.body["context"];
        assert_eq!(ids(&context["determining"]), ids(&decision["determining"]));
        assert_eq!(context["bundle"], native.body["bundle"]);
        assert_eq!(context["evaluatedAt"], decision["evaluatedAt"]);
        let reason = context["reason_admin"]["en"].as_str().unwrap();
        for id in ids(&decision["determining"]) {
            assert!(reason.contains(&id), "{reason}");
        }
    }
    // The answer is the spec's shape: `decision` and `context`, nothing else.
    let answer = post(
        state,
        "/access/v1/evaluation",
        &evaluation(&denied_placement()),
    )
    .await;
    let mut keys: Vec<&String> = answer.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["context", "decision"]);
    assert!(
        ids(&answer.body["context"]["determining"]).contains(&"uk-hrv/out-of-core".to_string())
    );
    // And the decision log has it, under the request's id.
    let log = std::fs::read_to_string(service.dir.path().join("decisions.jsonl")).unwrap();
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "authzen");
    assert_eq!(last["requestId"], answer.body["context"]["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_takes_defaults_and_stops_as_its_semantic_says() {
    let service = service();
    let state = &service.state;
    let allow = evaluation(&allowed_placement());
    let deny = evaluation(&denied_placement());
    let subjects = |order: &[&Value]| -> Vec<Value> {
        order
            .iter()
            .map(|e| json!({"subject": e["subject"], "action": e["action"]}))
            .collect()
    };
    let batch = |semantic: Option<&str>, order: &[&Value]| {
        let mut body = json!({
            "resource": allow["resource"],
            "context": allow["context"],
            "evaluations": subjects(order),
        });
        if let Some(semantic) = semantic {
            body["options"] = json!({"evaluations_semantic": semantic});
        }
        body
    };
    for (semantic, order, expected) in [
        (None, vec![&allow, &deny, &allow], vec![true, false, true]),
        (Some("execute_all"), vec![&deny, &allow], vec![false, true]),
        (
            Some("deny_on_first_deny"),
            vec![&allow, &deny, &allow],
            vec![true, false],
        ),
        (
            Some("deny_on_first_deny"),
            vec![&allow, &allow],
            vec![true, true],
        ),
        (
            Some("permit_on_first_permit"),
            vec![&deny, &allow, &deny],
            vec![false, true],
        ),
        (
            Some("permit_on_first_permit"),
            vec![&deny, &deny],
            vec![false, false],
        ),
    ] {
        let body = batch(semantic, &order);
        assert!(request_valid("post", "/access/v1/evaluations", &body));
        let answer = post(state, "/access/v1/evaluations", &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let got: Vec<bool> = answer.body["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["decision"].as_bool().unwrap())
            .collect();
        assert_eq!(got, expected, "{semantic:?}");
        let first = answer.body["evaluations"][0]["context"]["id"]
            .as_str()
            .unwrap();
        assert!(first.ends_with("#0"), "{first}");
    }
    // An evaluation's member replaces the default (not merged): a resource
    // in the evaluation wins over the top-level one.
    let mut elsewhere = allow["resource"].clone();
    elsewhere["properties"]["network"] = "nonesuch-network".into();
    let body = json!({
        "subject": allow["subject"], "action": allow["action"], "context": allow["context"],
        "resource": elsewhere,
        "evaluations": [{"resource": allow["resource"]}, {}],
    });
    let answer = post(state, "/access/v1/evaluations", &body).await;
    assert_eq!(
        answer.body["evaluations"][0]["decision"], true,
        "{}",
        answer.text
    );
    assert_eq!(
        answer.body["evaluations"][1]["decision"], false,
        "{}",
        answer.text
    );
    // Without evaluations: one evaluation, answered as one.
    for body in [allow.clone(), {
        let mut b = allow.clone();
        b["evaluations"] = json!([]);
        b
    }] {
        let answer = post(state, "/access/v1/evaluations", &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["decision"], true, "{}", answer.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_does_not_map_onto_a_placement_is_refused_never_allowed() {
    let service = service();
    let state = &service.state;
    let allow = evaluation(&allowed_placement());
    let with = |pointer: &str, value: Value| {
        let mut body = allow.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap()[key] = value;
        body
    };
    let without = |pointer: &str| {
        let mut body = allow.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(key);
        body
    };
    let mut cases = vec![
        ("a user as subject", with("/subject/type", "user".into())),
        (
            "a document as resource",
            with("/resource/type", "document".into()),
        ),
        (
            "an unknown operation",
            with("/action/name", "can_read".into()),
        ),
        (
            "action properties",
            with("/action/properties", json!({"force": true})),
        ),
        (
            "an unknown equipment field",
            with("/subject/properties/trusted", true.into()),
        ),
        (
            "an id in the properties",
            with("/subject/properties/id", "other".into()),
        ),
        (
            "an unknown context field",
            with("/context/weight", 1.into()),
        ),
        (
            "a mistyped field",
            with("/subject/properties/softwareSigned", "yes".into()),
        ),
        ("no network", without("/resource/properties/network")),
        ("no site", without("/resource/properties/site")),
        ("no vendor", without("/subject/properties/vendor")),
        ("no subject", without("/subject")),
        (
            "an unknown top-level field",
            allow.clone().tap(|b| b["decision"] = true.into()),
        ),
    ];
    cases.push(("not an object", json!([allow.clone()])));
    for (what, body) in &cases {
        let answer = post(state, "/access/v1/evaluation", body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            answer.text
        );
        assert!(answer.body.get("decision").is_none(), "{what}");
    }
    // A name given twice, at any depth, is refused: it is not read one way
    // here and another way by the caller.
    let text = allow.to_string();
    for (from, to) in [
        (
            "\"vendor\":\"ericsson\"",
            "\"vendor\":\"huawei\",\"vendor\":\"ericsson\"",
        ),
        (
            "\"country\":\"GB\"",
            "\"country\":\"CN\",\"country\":\"GB\"",
        ),
        ("\"action\":{", "\"action\":{\"name\":\"terminate\","),
    ] {
        assert!(text.contains(from), "{from}");
        let twice = text.replacen(from, to, 1);
        let answer = call(
            state,
            "POST",
            "/access/v1/evaluation",
            Some(("application/json", twice.clone().into_bytes())),
            None,
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{twice}: {}",
            answer.text
        );
        assert!(answer.text.contains("duplicate field"), "{}", answer.text);
    }
    // In a batch, an evaluation that does not map is a deny with the reason;
    // the others are decided, and it stops a deny-on-first-deny batch.
    let mut user = allow["subject"].clone();
    user["type"] = "user".into();
    let body = json!({
        "action": allow["action"], "resource": allow["resource"], "context": allow["context"],
        "evaluations": [{"subject": allow["subject"]}, {"subject": user}, {"subject": allow["subject"]}],
    });
    let answer = post(state, "/access/v1/evaluations", &body).await;
    let decisions: Vec<&Value> = answer.body["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(decisions.len(), 3);
    assert_eq!(decisions[0]["decision"], true);
    assert_eq!(decisions[1]["decision"], false);
    assert_eq!(decisions[1]["context"]["error"]["status"], 400);
    let mut stop = body.clone();
    stop["options"] = json!({"evaluations_semantic": "deny_on_first_deny"});
    let answer = post(state, "/access/v1/evaluations", &stop).await;
    assert_eq!(answer.body["evaluations"].as_array().unwrap().len(), 2);
    // An unknown semantic is refused.
    stop["options"] = json!({"evaluations_semantic": "first_match"});
    let answer = post(state, "/access/v1/evaluations", &stop).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Value {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
