//! Good input, endpoint by endpoint, every answer checked against
//! `server/openapi.yaml`; the document's operations and examples.

use axum::http::StatusCode;
use serde_json::json;
use slicegate_server::AppState;

use crate::support::{
    allowed_placement, call, denied_placement, example_plan, get, grant_body, openapi, post,
    request_valid, service,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_good_input_as_documented() {
    let service = service();
    let state = &service.state;
    decides_one_placement_allowed_and_one_denied(state).await;
    decides_a_batch_in_order(state).await;
    checks_the_uk_example_plan(state).await;
    grants_a_mapped_provider_and_rejects_an_unmapped_one(state).await;
    // The metrics count the requests above.
    answers_for_the_bundle_health_readiness_metrics_and_document(state).await;
    echoes_a_safe_request_id_and_replaces_any_other(state).await;
}

/// One placement allowed, one denied; both name the bundle.
async fn decides_one_placement_allowed_and_one_denied(state: &AppState) {
    assert!(request_valid("post", "/v1/decisions", &allowed_placement()));
    let allow = post(state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(allow.status, StatusCode::OK, "{}", allow.text);
    assert_eq!(allow.body["decision"]["allowed"], true);
    assert_eq!(allow.body["bundle"]["name"], "service-test");
    assert_eq!(allow.body["bundle"]["revision"], 1);
    assert_eq!(allow.body["decision"]["bundleRevision"], 1);
    assert_eq!(allow.body["decision"]["evaluatedAt"]["kind"], "what-if");
    let deny = post(state, "/v1/decisions", &denied_placement()).await;
    assert_eq!(deny.status, StatusCode::OK);
    assert_eq!(deny.body["decision"]["allowed"], false);
    let forbids: Vec<&str> = deny.body["decision"]["determining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policyId"].as_str().unwrap())
        .collect();
    assert!(forbids.contains(&"uk-hrv/out-of-core"), "{forbids:?}");
}

/// A batch answers in order.
async fn decides_a_batch_in_order(state: &AppState) {
    let batch = json!({"requests": [allowed_placement(), denied_placement(), allowed_placement()]});
    assert!(request_valid("post", "/v1/decisions", &batch));
    let answer = post(state, "/v1/decisions", &batch).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let allowed: Vec<bool> = answer.body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, false, true]);
}

/// A plan: the UK example is denied by the access-share cap.
async fn checks_the_uk_example_plan(state: &AppState) {
    let plan = example_plan();
    assert!(request_valid("post", "/v1/plans:check", &plan));
    let answer = post(state, "/v1/plans:check", &plan).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["result"]["allowed"], false);
    assert_eq!(
        answer.body["result"]["plan"]["determining"][0]["policyId"],
        "uk-hrv/access-share-cap"
    );
}

/// SOL003: a mapped Ericsson UPF is granted; an unmapped provider is
/// rejected with the reason.
async fn grants_a_mapped_provider_and_rejects_an_unmapped_one(state: &AppState) {
    assert!(request_valid(
        "post",
        "/v1/sol003/grants",
        &grant_body("Ericsson AB")
    ));
    let granted = post(state, "/v1/sol003/grants", &grant_body("Ericsson AB")).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    assert_eq!(granted.body["grant"]["outcome"], "GRANTED");
    let rejected = post(state, "/v1/sol003/grants", &grant_body("Acme Telecom")).await;
    assert_eq!(rejected.status, StatusCode::FORBIDDEN, "{}", rejected.text);
    assert_eq!(rejected.body["grant"]["outcome"], "REJECTED");
    assert!(
        rejected.body["grant"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("Acme Telecom"),
        "{}",
        rejected.text
    );
}

/// The bundle, health, readiness, metrics, the document itself.
async fn answers_for_the_bundle_health_readiness_metrics_and_document(state: &AppState) {
    let info = get(state, "/v1/bundle").await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.body["revision"], 1);
    assert_eq!(info.body["signers"], json!(["ops-key"]));
    assert_eq!(info.body["packs"].as_array().unwrap().len(), 8);
    assert_eq!(get(state, "/healthz").await.status, StatusCode::OK);
    let ready = get(state, "/readyz").await;
    assert_eq!(
        (ready.status, ready.body["revision"].clone()),
        (StatusCode::OK, json!(1))
    );
    let metrics = get(state, "/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    for line in [
        "slicegate_decisions_total{outcome=\"allow\",pack=\"baseline-procurement\"} ",
        "slicegate_decisions_total{outcome=\"deny\",pack=\"uk-hrv\"} ",
        "slicegate_request_duration_seconds_count{endpoint=\"decisions\"} 3",
        "slicegate_http_responses_total{endpoint=\"sol003/grants\",status=\"403\"} 1",
        "slicegate_bundle_revision{name=\"service-test\",",
        "slicegate_ready 1",
        "slicegate_bundle_reload_failures_total 0",
    ] {
        assert!(
            metrics.text.contains(line),
            "no `{line}` in\n{}",
            metrics.text
        );
    }
    let yaml = call(state, "GET", "/openapi.yaml", None, None).await;
    assert_eq!(yaml.status, StatusCode::OK);
    assert_eq!(yaml.text, slicegate_server::OPENAPI_YAML);
    let doc = get(state, "/openapi.json").await;
    assert_eq!(&doc.body, openapi());
}

/// A request id given is echoed in the header, the body and the log; one
/// that is not a safe token is replaced.
async fn echoes_a_safe_request_id_and_replaces_any_other(state: &AppState) {
    // A request id given is echoed in the header, the body and the log.
    let answer = call(
        state,
        "POST",
        "/v1/decisions",
        Some((
            "application/json",
            allowed_placement().to_string().into_bytes(),
        )),
        Some("nfvo-42"),
    )
    .await;
    assert_eq!(answer.request_id.as_deref(), Some("nfvo-42"));
    assert_eq!(answer.body["requestId"], "nfvo-42");

    // An id that is not a safe token (spaces, too long, a quote) is
    // replaced by a new one, the same in the header and the body; every
    // answer carries one, errors and unknown routes included.
    let long = "a".repeat(129);
    for (path, given) in [
        ("/v1/decisions", Some("nfvo 42")),
        ("/v1/decisions", Some(long.as_str())),
        ("/v1/decisions", Some("x\"y")),
        ("/v1/nowhere", None),
    ] {
        let answer = call(
            state,
            "POST",
            path,
            Some(("application/json", b"{}".to_vec())),
            given,
        )
        .await;
        let id = answer.request_id.clone().expect("an id on every answer");
        assert!(Some(id.as_str()) != given && !id.is_empty(), "{id}");
        assert_eq!(answer.body["requestId"], id.as_str(), "{}", answer.text);
    }
}

/// The source of every module of this test binary, for the check below.
const SOURCES: [(&str, &str); 9] = [
    ("authzen.rs", include_str!("authzen.rs")),
    ("main.rs", include_str!("main.rs")),
    ("support.rs", include_str!("support.rs")),
    ("endpoints.rs", include_str!("endpoints.rs")),
    ("bad_input.rs", include_str!("bad_input.rs")),
    ("errors.rs", include_str!("errors.rs")),
    ("reload.rs", include_str!("reload.rs")),
    ("sources.rs", include_str!("sources.rs")),
    ("connections.rs", include_str!("connections.rs")),
];

#[test]
fn every_documented_operation_is_exercised_by_these_tests() {
    // Every module is searched: a new one must be listed in `SOURCES`.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/service");
    for file in std::fs::read_dir(&dir).unwrap() {
        let name = file.unwrap().file_name().into_string().unwrap();
        assert!(
            !name.ends_with(".rs") || SOURCES.iter().any(|(listed, _)| *listed == name),
            "tests/service/{name} is not in SOURCES"
        );
    }
    let documented: Vec<String> = openapi()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{m} {path}"))
        })
        .collect();
    let source: String = SOURCES.iter().map(|(_, text)| *text).collect();
    for operation in documented {
        let (method, path) = operation.split_once(' ').unwrap();
        let needle = format!("{method}(state, \"{path}\"");
        let raw = format!("\"{}\", \"{path}\"", method.to_uppercase());
        assert!(
            source.contains(&needle) || source.contains(&raw),
            "no test calls {operation}"
        );
    }
}

/// Every example request in the document is a valid request body for its
/// operation (the schemas come from the Rust types, the examples are
/// written by hand: this keeps them together).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_request_in_the_document_matches_its_schema() {
    let service = service();
    let mut checked = 0;
    for (path, item) in openapi()["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let content = &operation["requestBody"]["content"]["application/json"];
            for (name, example) in content["examples"].as_object().into_iter().flatten() {
                assert!(
                    request_valid(method, path, &example["value"]),
                    "example `{name}` of {method} {path} does not match its schema"
                );
                // And the service decides it (an answer the document lists,
                // not a refusal of the request).
                let answer = post(&service.state, path, &example["value"]).await;
                assert!(
                    [200, 201, 403].contains(&answer.status.as_u16()),
                    "example `{name}` of {method} {path}: {}",
                    answer.text
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "only {checked} examples checked");
}
