//! Bad input: a 4xx with a clear message, never a decision on what the
//! request does not say, and the service keeps serving.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use slicegate::reload::{BundleSource, first_load};
use slicegate_server::{AppState, Config, router};
use tower::ServiceExt;

use crate::support::{
    Answer, allowed_placement, bundles, call, check_against_openapi, example_plan, grant_body,
    loader, post, request_valid, service, service_with,
};

/// The code and message of an error answer (empty when absent).
fn error(a: &Answer) -> (String, String) {
    (
        a.body["error"]["code"].as_str().unwrap_or("").to_string(),
        a.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_with_a_clear_message_and_the_service_keeps_serving() {
    let service = service_with(|_| Config {
        max_body_bytes: 64 * 1024,
        max_batch: 5,
        ..Config::default()
    });
    let state = &service.state;
    refuses_what_is_not_json_or_names_a_member_twice(state).await;
    refuses_unknown_missing_and_mistyped_fields(state).await;
    refuses_batches_empty_too_large_or_with_a_bad_member(state).await;
    refuses_too_large_a_body_and_the_wrong_media_type(state).await;
    denies_what_the_bundle_does_not_know(state).await;
    refuses_bad_plans_and_grants(state).await;
    refuses_unknown_endpoints_and_methods(state).await;

    // Still serving.
    let a = post(state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["decision"]["allowed"], true);
}

async fn refuses_what_is_not_json_or_names_a_member_twice(state: &AppState) {
    // Not JSON.
    let a = call(
        state,
        "POST",
        "/v1/decisions",
        Some(("application/json", b"{\"operation\": ".to_vec())),
        None,
    )
    .await;
    check_against_openapi("post", "/v1/decisions", &a);
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&a).0, "malformed-request");
    assert!(error(&a).1.contains("line 1"), "{}", a.text);

    // A member named twice, at the top of a batch or of a request: refused,
    // never read as whichever copy one parser keeps.
    let one = allowed_placement().to_string();
    let twice = [
        format!("{{\"requests\": [{one}], \"requests\": [{one}, {one}]}}"),
        one.replacen('{', "{\"operation\": \"terminate\", ", 1),
    ];
    for body in twice {
        let a = call(
            state,
            "POST",
            "/v1/decisions",
            Some(("application/json", body.into_bytes())),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert_eq!(error(&a).0, "malformed-request");
        assert!(error(&a).1.contains("duplicate field"), "{}", a.text);
    }
}

/// A placement with a misspelled field.
fn with_an_unknown_field() -> serde_json::Value {
    let mut unknown = allowed_placement();
    unknown["equipment"]["softwareSignedd"] = json!(true);
    unknown
}

async fn refuses_unknown_missing_and_mistyped_fields(state: &AppState) {
    // An unknown field, named (the document rejects it too).
    let unknown = with_an_unknown_field();
    assert!(!request_valid("post", "/v1/decisions", &unknown));
    let a = post(state, "/v1/decisions", &unknown).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&a).1.contains("unknown field `softwareSignedd`"),
        "{}",
        a.text
    );

    // A missing field; a wrong type; a body that is not an object.
    let mut missing = allowed_placement();
    missing.as_object_mut().unwrap().remove("network");
    let a = post(state, "/v1/decisions", &missing).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        error(&a).1.contains("missing field `network`"),
        "{}",
        a.text
    );
    let mut wrong = allowed_placement();
    wrong["slice"]["sst"] = json!("one");
    let a = post(state, "/v1/decisions", &wrong).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = post(state, "/v1/decisions", &json!([allowed_placement()])).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

async fn refuses_batches_empty_too_large_or_with_a_bad_member(state: &AppState) {
    // Batches: empty, too many, one bad member refuses the whole batch.
    let a = post(state, "/v1/decisions", &json!({"requests": []})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let six = json!({"requests": vec![allowed_placement(); 6]});
    let a = post(state, "/v1/decisions", &six).await;
    assert_eq!(
        (a.status, error(&a).0.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "batch-too-large")
    );
    // A grant naming more resources, or a plan with more items, than a
    // batch may hold is refused the same way: no request buys more
    // decisions than a batch.
    let mut big_grant = grant_body("Ericsson AB");
    big_grant["grantRequest"]["addResources"] = json!(
        (0..6)
            .map(|i| json!({"id": format!("r{i}"), "type": "COMPUTE", "vduId": "upf"}))
            .collect::<Vec<_>>()
    );
    let a = post(state, "/v1/sol003/grants", &big_grant).await;
    assert_eq!(
        (a.status, error(&a).0.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "batch-too-large"),
        "{}",
        a.text
    );
    let plan = example_plan();
    assert!(plan["installed"].as_array().unwrap().len() > 5);
    let a = post(state, "/v1/plans:check", &plan).await;
    assert_eq!(
        (a.status, error(&a).0.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "batch-too-large"),
        "{}",
        a.text
    );
    let unknown = with_an_unknown_field();
    let a = post(
        state,
        "/v1/decisions",
        &json!({"requests": [allowed_placement(), unknown]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

async fn refuses_too_large_a_body_and_the_wrong_media_type(state: &AppState) {
    // Too large a body; the wrong media type.
    let mut huge = allowed_placement();
    huge["equipment"]["softwareVersion"] = json!("x".repeat(100 * 1024));
    let a = post(state, "/v1/decisions", &huge).await;
    assert_eq!(
        (a.status, error(&a).0.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    let a = call(
        state,
        "POST",
        "/v1/decisions",
        Some(("text/plain", allowed_placement().to_string().into_bytes())),
        None,
    )
    .await;
    check_against_openapi("post", "/v1/decisions", &a);
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // No Content-Type at all: 415 too, as documented.
    let response = router(state.clone())
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/v1/decisions")
                .body(Body::from(allowed_placement().to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Two Content-Type headers (which one would a proxy have read?): 415.
    let response = router(state.clone())
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/v1/decisions")
                .header("content-type", "application/json")
                .header("content-type", "text/plain")
                .body(Body::from(allowed_placement().to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn denies_what_the_bundle_does_not_know(state: &AppState) {
    // Well-formed but naming what the bundle does not know: 422, denied.
    for (field, value, code) in [
        ("/equipment/vendor", "acme-radio", "unknown-entity"),
        ("/network", "xx-nowhere", "unknown-entity"),
        ("/site/country", "ZZ", "unknown-entity"),
    ] {
        let mut request = allowed_placement();
        *request.pointer_mut(field).unwrap() = json!(value);
        let a = post(state, "/v1/decisions", &request).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            a.text
        );
        assert_eq!(a.body["decision"]["allowed"], false);
        assert_eq!(error(&a).0, code, "{field}: {}", a.text);
        assert!(error(&a).1.contains(value), "{field}: {}", a.text);
    }
    // In a batch the unknown one is denied and the others decided.
    let mut stranger = allowed_placement();
    stranger["equipment"]["vendor"] = json!("acme-radio");
    let a = post(
        state,
        "/v1/decisions",
        &json!({"requests": [allowed_placement(), stranger]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["decisions"][0]["allowed"], true);
    assert_eq!(a.body["decisions"][1]["allowed"], false);
    assert_eq!(a.body["decisions"][1]["failure"]["kind"], "unknown-entity");
}

async fn refuses_bad_plans_and_grants(state: &AppState) {
    // Plans and grants: malformed, unknown fields, an unknown network.
    let a = post(
        state,
        "/v1/plans:check",
        &json!({"network": "gb-example-mobile"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(error(&a).1.contains("missing field"), "{}", a.text);
    let mut plan = example_plan();
    plan["network"] = json!("xx-nowhere");
    // (Within this service's batch limit of 5.)
    plan["installed"] = json!(plan["installed"].as_array().unwrap()[..3]);
    plan["changes"] = json!([]);
    let a = post(state, "/v1/plans:check", &plan).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["result"]["allowed"], false);
    let mut grant = grant_body("Ericsson AB");
    grant["context"]["colour"] = json!("blue");
    let a = post(state, "/v1/sol003/grants", &grant).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(error(&a).1.contains("unknown field `colour`"), "{}", a.text);
    // No package map at all in this service: rejected, not granted.
    let a = post(state, "/v1/sol003/grants", &grant_body("Ericsson AB")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

async fn refuses_unknown_endpoints_and_methods(state: &AppState) {
    // Unknown endpoints and methods.
    let a = call(state, "GET", "/v1/nothing", None, None).await;
    assert_eq!(
        (a.status, error(&a).0.as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let a = call(state, "GET", "/v1/decisions", None, None).await;
    assert_eq!(
        (a.status, error(&a).0.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_time_is_refused_unless_what_if_is_permitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1).unwrap();
    let (reloader, first) = first_load(&BundleSource::File(path), loader(dir.path()), false);
    assert_eq!(first, Ok(1));
    let state = AppState::new(reloader.slot().clone(), Config::default());
    let a = post(&state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["error"]["code"], "invalid-request");
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("what-if")
    );
    let mut now = allowed_placement();
    now.as_object_mut().unwrap().remove("at");
    let a = post(&state, "/v1/decisions", &now).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["decision"]["evaluatedAt"]["kind"], "host-clock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_describing_one_site_two_ways_is_refused() {
    let service = service();
    let item = |id: &str, vendor: &str, model: &str, sensitive: bool| {
        json!({
            "equipment": {"id": id, "vendor": vendor, "model": model, "softwareVersion": "1",
                          "softwareSigned": true, "sbom": true, "subsidyFunded": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
            "site": {"id": "whitehall", "country": "GB", "sensitive": sensitive},
            "weight": 1
        })
    };
    let plan = json!({
        "network": "gb-example-mobile", "metric": "sites",
        "installed": [item("gnb-hw", "huawei", "huawei-gnb-aau", false),
                      item("gnb-er", "ericsson", "ericsson-gnb", true)],
        "changes": [],
        "at": "2026-06-01T00:00:00Z"
    });
    let a = post(&service.state, "/v1/plans:check", &plan).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("site `whitehall` is described two ways"),
        "{}",
        a.text
    );
    assert_eq!(a.body["result"]["allowed"], false, "{}", a.text);
}

/// A grant is refused (400), never decided without what it says, when a
/// field SOL003 does not define is present: a misspelled resource list
/// would otherwise read as no resources and turn a rejection into a grant.
/// Every field SOL003 defines is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_with_a_field_sol003_does_not_define_is_refused() {
    let service = service();
    let state = &service.state;
    let resources = json!([{"id": "a1", "type": "COMPUTE", "vduId": "upf"}]);
    // An OPERATE that adds capacity is rejected; without the list, granted.
    let mut operate = grant_body("Ericsson AB");
    operate["grantRequest"]["operation"] = json!("OPERATE");
    let mut body = operate.clone();
    body["grantRequest"]["addResources"] = resources.clone();
    let answer = post(state, "/v1/sol003/grants", &body).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    for key in [
        "AddResources",
        "addresources",
        "add_resources",
        "addResource",
        "TempResources",
        "temp_resources",
        "RemoveResources",
        "updateresources",
    ] {
        let mut body = operate.clone();
        body["grantRequest"]
            .as_object_mut()
            .unwrap()
            .remove("addResources");
        body["grantRequest"][key] = resources.clone();
        let answer = post(state, "/v1/sol003/grants", &body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{key}: {}",
            answer.text
        );
        assert!(answer.text.contains(key), "{key}: {}", answer.text);
    }
    let mut body = grant_body("Ericsson AB");
    for (key, value) in [
        ("dstVnfdId", json!("vnfd-2")),
        ("flavourId", json!("small")),
        ("isAutomaticInvocation", json!(false)),
        ("instantiationLevelId", json!("l1")),
        ("additionalParams", json!({"a": 1})),
        (
            "_links",
            json!({"vnfLcmOpOcc": {"href": "http://nfvo/op-1"}}),
        ),
        ("placementConstraints", json!([])),
        ("vimConstraints", json!([])),
    ] {
        body["grantRequest"][key] = value;
    }
    let answer = post(state, "/v1/sol003/grants", &body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

/// An encoded body (gzip and the like) is refused, not read as plain JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encoded_body_is_refused() {
    let service = service();
    for encoding in ["gzip", "br", "deflate, gzip"] {
        let request = Request::builder()
            .method("POST")
            .uri("/v1/decisions")
            .header("content-type", "application/json")
            .header("content-encoding", encoding)
            .body(Body::from(allowed_placement().to_string()))
            .unwrap();
        let response = router(service.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{encoding}"
        );
    }
    let request = Request::builder()
        .method("POST")
        .uri("/v1/decisions")
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(Body::from(allowed_placement().to_string()))
        .unwrap();
    let response = router(service.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
