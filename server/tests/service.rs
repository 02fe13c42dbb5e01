//! The decision service, endpoint by endpoint, with good and bad input,
//! every answer checked against `server/openapi.yaml`; hot reload under
//! load; the decision log it writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use slicegate::PolicySources;
use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, CompileCache, KeyPair, Revision, TrustStore,
};
use slicegate::decision_log::{self, DecisionLog, Durability};
use slicegate::reload::{BundleSlot, BundleSource, ReloadOutcome, Reloader, first_load};
use slicegate::sol003::PackageMap;
use slicegate_server::{AppState, Config, router};
use tower::ServiceExt;

struct Bundles {
    public: ed25519_public::Key,
    /// Revisions 1 and 2 of the same library, signed.
    rev1: Vec<u8>,
    rev2: Vec<u8>,
    /// Revision 1 unsigned, and its detached signature.
    rev1_unsigned: Vec<u8>,
    rev1_detached: Vec<u8>,
}

mod ed25519_public {
    /// The trust store's key, kept as bytes so the fixture is `Sync`.
    pub struct Key(pub [u8; 32]);
}

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn bundles() -> &'static Bundles {
    static BUNDLES: OnceLock<Bundles> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        let sources = PolicySources::from_dir(&policies()).unwrap();
        let key = KeyPair::generate().unwrap();
        let build_unsigned = |revision: u64| {
            let options = BuildOptions {
                name: BundleName("service-test".to_string()),
                revision: Revision(revision),
                created_at: "2026-01-01T00:00:00Z".to_string(),
                not_before: None,
                not_after: None,
                tests: None,
            };
            bundle::build(&sources, &options).unwrap()
        };
        let sign = |unsigned: &[u8]| bundle::sign_embedded(unsigned, &key, "ops-key").unwrap();
        let rev1_unsigned = build_unsigned(1);
        Bundles {
            public: ed25519_public::Key(key.public().to_bytes()),
            rev1: sign(&rev1_unsigned),
            rev2: sign(&build_unsigned(2)),
            rev1_detached: bundle::sign_detached(&rev1_unsigned, None, &key, "ops-key").unwrap(),
            rev1_unsigned,
        }
    })
}

/// A service over `rev1` in a fresh folder (its own revision state), with a
/// decision log, what-if permitted so tests can fix the time.
struct Service {
    dir: tempfile::TempDir,
    reloader: Arc<Mutex<Reloader>>,
    state: AppState,
}

impl Service {
    fn bundle_path(&self) -> PathBuf {
        self.dir.path().join("bundle.wasm")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("decisions.jsonl")
    }

    /// Replaces the bundle file atomically (write, then rename).
    fn publish(&self, bytes: &[u8]) {
        let next = self.dir.path().join("bundle.wasm.next");
        std::fs::write(&next, bytes).unwrap();
        std::fs::rename(&next, self.bundle_path()).unwrap();
    }

    async fn reload(&self) -> ReloadOutcome {
        let reloader = self.reloader.clone();
        tokio::task::spawn_blocking(move || reloader.lock().unwrap().check())
            .await
            .unwrap()
    }
}

fn loader(dir: &Path) -> BundleLoader {
    let public = ed25519_dalek::VerifyingKey::from_bytes(&bundles().public.0).unwrap();
    let trust = TrustStore::single_key("ops-key", public, dir.join("state.json"));
    BundleLoader::new(trust).with_cache(CompileCache::default_location())
}

fn packages() -> PackageMap {
    PackageMap {
        providers: [("Ericsson AB".to_string(), "ericsson".to_string())].into(),
        products: [(
            "Ericsson Packet Core Gateway UPF".to_string(),
            "ericsson-upf".to_string(),
        )]
        .into(),
    }
}

fn service_with(config: impl FnOnce(&Path) -> Config) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1).unwrap();
    let (reloader, first) = first_load(&BundleSource::File(path), loader(dir.path()), true);
    assert_eq!(first, Ok(1));
    let slot = reloader.slot().clone();
    let state = AppState::new(slot, config(dir.path()));
    Service {
        dir,
        reloader: Arc::new(Mutex::new(reloader)),
        state,
    }
}

fn service() -> Service {
    service_with(|dir| Config {
        packages: packages(),
        log: Some(Arc::new(
            DecisionLog::open(&dir.join("decisions.jsonl"), Durability::Sync).unwrap(),
        )),
        log_mask: vec!["/equipment/softwareVersion".to_string()],
        source: "bundle.wasm".to_string(),
        ..Config::default()
    })
}

struct Answer {
    status: StatusCode,
    body: Value,
    text: String,
    request_id: Option<String>,
}

async fn call(
    state: &AppState,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
    request_id: Option<&str>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let request = match body {
        Some((kind, bytes)) => request
            .header("content-type", kind)
            .body(Body::from(bytes))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        text,
        request_id,
    }
}

async fn post(state: &AppState, path: &str, body: &Value) -> Answer {
    let answer = call(
        state,
        "POST",
        path,
        Some(("application/json", body.to_string().into_bytes())),
        None,
    )
    .await;
    check_against_openapi("post", path, &answer);
    answer
}

async fn get(state: &AppState, path: &str) -> Answer {
    let answer = call(state, "GET", path, None, None).await;
    check_against_openapi("get", path, &answer);
    answer
}

/// The OpenAPI document as JSON.
fn openapi() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_norway::from_str(slicegate_server::OPENAPI_YAML).unwrap())
}

/// A validator for `schema` with the document's components in scope.
fn validator(schema: &Value) -> jsonschema::Validator {
    let root = json!({"allOf": [schema], "components": openapi()["components"]});
    jsonschema::validator_for(&root).unwrap()
}

/// Resolves a `$ref` to `#/components/responses/...`.
fn response_spec(spec: &Value) -> &Value {
    match spec.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &openapi()["components"]["responses"][name]
        }
        None => spec,
    }
}

/// Every answer's status must be documented for its operation, and its
/// JSON body must match the documented schema.
fn check_against_openapi(method: &str, path: &str, answer: &Answer) {
    let operation = &openapi()["paths"][path][method];
    assert!(
        operation.is_object(),
        "{method} {path} is not in openapi.yaml"
    );
    let status = answer.status.as_u16().to_string();
    let spec = &operation["responses"][&status];
    assert!(
        spec.is_object(),
        "{method} {path} answered {status}, which openapi.yaml does not document: {}",
        answer.text
    );
    let spec = response_spec(spec);
    if let Some(schema) = spec["content"]["application/json"].get("schema") {
        let errors: Vec<String> = validator(schema)
            .iter_errors(&answer.body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status} does not match openapi.yaml: {errors:?}\n{}",
            answer.text
        );
    }
}

/// Whether `body` is a valid request body for `method path` per the document.
fn request_valid(method: &str, path: &str, body: &Value) -> bool {
    let schema =
        &openapi()["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    validator(schema).is_valid(body)
}

fn placement(vendor: &str, model: &str, operation: &str) -> Value {
    json!({
        "operation": operation,
        "equipment": {"id": "upf-lon-2", "vendor": vendor, "model": model,
                      "softwareVersion": "24.1", "softwareSigned": true, "sbom": true,
                      "subsidyFunded": false},
        "slice": {"id": "embb-consumer", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "gb-lon-core-1", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2024-06-01T12:00:00Z"
    })
}

fn allowed_placement() -> Value {
    placement("ericsson", "ericsson-upf", "place")
}

fn denied_placement() -> Value {
    placement("huawei", "huawei-upf-x", "operate")
}

fn grant_body(provider: &str) -> Value {
    json!({
        "grantRequest": {
            "vnfInstanceId": "vnf-7", "vnfLcmOpOccId": "op-1", "vnfdId": "vnfd-upf",
            "operation": "INSTANTIATE",
            "addResources": [{"id": "r1", "type": "COMPUTE", "vduId": "upf"}]
        },
        "context": {
            "vnfProvider": provider, "vnfProductName": "Ericsson Packet Core Gateway UPF",
            "vnfSoftwareVersion": "3.1", "packageSigned": true, "packageSbom": true,
            "subsidyFunded": false, "network": "gb-example-mobile",
            "site": {"id": "gb-lon-core-1", "country": "GB", "sensitive": false},
            "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false}
        }
    })
}

fn example_plan() -> Value {
    let path = policies().join("examples/plans/gb-example-mobile.json");
    let file = slicegate::PlanFile::read(&path).unwrap();
    serde_json::to_value(file.resolve("gb-example-mobile.json").unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_good_input_as_documented() {
    let service = service();
    let state = &service.state;

    // One placement allowed, one denied; both name the bundle.
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

    // A batch answers in order.
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

    // A plan: the UK example is denied by the access-share cap.
    let plan = example_plan();
    assert!(request_valid("post", "/v1/plans:check", &plan));
    let answer = post(state, "/v1/plans:check", &plan).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["result"]["allowed"], false);
    assert_eq!(
        answer.body["result"]["plan"]["determining"][0]["policyId"],
        "uk-hrv/access-share-cap"
    );

    // SOL003: a mapped Ericsson UPF is granted; an unmapped provider is
    // rejected with the reason.
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

    // The bundle, health, readiness, metrics, the document itself.
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

#[test]
fn every_documented_operation_is_exercised_by_these_tests() {
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
    let source = include_str!("service.rs");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_with_a_clear_message_and_the_service_keeps_serving() {
    let service = service_with(|_| Config {
        max_body_bytes: 64 * 1024,
        max_batch: 5,
        ..Config::default()
    });
    let state = &service.state;
    let error = |a: &Answer| {
        (
            a.body["error"]["code"].as_str().unwrap_or("").to_string(),
            a.body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };

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

    // An unknown field, named (the document rejects it too).
    let mut unknown = allowed_placement();
    unknown["equipment"]["softwareSignedd"] = json!(true);
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
    let a = post(
        state,
        "/v1/decisions",
        &json!({"requests": [allowed_placement(), unknown]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

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

    // Still serving.
    let a = post(state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["decision"]["allowed"], true);
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
async fn without_a_verified_bundle_nothing_is_decided_and_the_service_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    let mut tampered = bundles().rev1.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0xff;
    std::fs::write(&path, &tampered).unwrap();
    let (reloader, first) = first_load(&BundleSource::File(path), loader(dir.path()), true);
    let message = first.unwrap_err();
    assert!(message.contains("changed after it was signed"), "{message}");
    let state = AppState::new(reloader.slot().clone(), Config::default());
    let a = post(&state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed after it was signed")
    );
    assert_eq!(
        get(&state, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let info = get(&state, "/v1/bundle").await;
    assert_eq!(info.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(info.body["reload"]["failures"], 1);
    assert_eq!(get(&state, "/healthz").await.status, StatusCode::OK);
    assert!(
        get(&state, "/metrics")
            .await
            .text
            .contains("slicegate_ready 0")
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_past_its_window_decides_nothing_until_a_newer_one_arrives() {
    let service = service();
    let slot = service.reloader.lock().unwrap().slot().clone();
    let a = post(&service.state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let info = get(&service.state, "/v1/bundle").await;
    assert_eq!(info.body["validity"]["expired"], false);

    // The same bundle, its window closed a second ago (what a long-running
    // service sees when the clock passes its not-after).
    let mut expired = slot.current().unwrap().bundle().clone();
    expired.validity.not_after =
        Some(std::time::SystemTime::now() - std::time::Duration::from_secs(1));
    expired.validity.limited_by = Some("the bundle's not-after".to_string());
    slot.set(slicegate::reload::ActiveBundle::new(expired, true));

    for (path, body) in [
        ("/v1/decisions", allowed_placement()),
        (
            "/v1/decisions",
            json!({"requests": [allowed_placement(), denied_placement()]}),
        ),
        ("/v1/plans:check", example_plan()),
        ("/v1/sol003/grants", grant_body("Ericsson AB")),
    ] {
        let a = post(&service.state, path, &body).await;
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            a.text
        );
        assert_eq!(a.body["error"]["code"], "bundle-expired", "{path}");
        assert!(
            a.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("the bundle's not-after"),
            "{}",
            a.text
        );
    }
    let ready = get(&service.state, "/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["status"], "bundle-expired");
    let info = get(&service.state, "/v1/bundle").await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(info.body["validity"]["expired"], true);
    let metrics = get(&service.state, "/metrics").await.text;
    assert!(metrics.contains("slicegate_bundle_expired 1"), "{metrics}");
    assert!(metrics.contains("slicegate_ready 0"), "{metrics}");

    // A newer valid bundle is taken at once, and decisions resume.
    service.publish(&bundles().rev2);
    assert_eq!(
        service.reload().await,
        ReloadOutcome::Replaced {
            from: Some(1),
            to: 2
        }
    );
    let a = post(&service.state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(get(&service.state, "/readyz").await.status, StatusCode::OK);
    assert!(
        get(&service.state, "/metrics")
            .await
            .text
            .contains("slicegate_bundle_expired 0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reload_under_load_loses_no_request_and_refuses_tampered_and_older_bundles() {
    let service = service();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<(u16, i64, i64)>::new()));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (state, stop, seen) = (service.state.clone(), stop.clone(), seen.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let a = post(&state, "/v1/decisions", &allowed_placement()).await;
                    let revision = a.body["bundle"]["revision"].as_i64().unwrap_or(-1);
                    let decided_by = a.body["decision"]["bundleRevision"].as_i64().unwrap_or(-2);
                    seen.lock()
                        .unwrap()
                        .push((a.status.as_u16(), revision, decided_by));
                }
            })
        })
        .collect();
    let count = || seen.lock().unwrap().len();
    while count() < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // A newer signed bundle arrives while requests are in flight.
    service.publish(&bundles().rev2);
    assert_eq!(
        service.reload().await,
        ReloadOutcome::Replaced {
            from: Some(1),
            to: 2
        }
    );
    let at_swap = count();
    while count() < at_swap + 20 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|(status, _, _)| *status == 200),
        "a request failed during the reload: {:?}",
        seen.iter().find(|(s, _, _)| *s != 200)
    );
    assert!(
        seen.iter()
            .all(|(_, revision, decided)| revision == decided),
        "an answer named a bundle other than the one that decided it"
    );
    assert!(seen.iter().any(|(_, r, _)| *r == 1));
    assert!(seen.iter().any(|(_, r, _)| *r == 2));
    // Once swapped, nothing goes back to revision 1.
    let first_two = seen.iter().position(|(_, r, _)| *r == 2).unwrap();
    let late: Vec<_> = seen[first_two + 8..].iter().map(|(_, r, _)| *r).collect();
    assert!(late.iter().all(|r| *r == 2), "{late:?}");

    // A tampered bundle is refused; revision 2 keeps serving.
    let mut tampered = bundles().rev2.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0xff;
    service.publish(&tampered);
    let ReloadOutcome::Refused(message) = service.reload().await else {
        panic!("a tampered bundle was not refused");
    };
    assert!(message.contains("changed after it was signed"), "{message}");
    // So is the older one, signed and intact.
    service.publish(&bundles().rev1);
    let ReloadOutcome::Refused(message) = service.reload().await else {
        panic!("an older bundle was not refused");
    };
    assert!(message.contains("not newer"), "{message}");
    let state = &service.state;
    let a = post(state, "/v1/decisions", &allowed_placement()).await;
    assert_eq!(
        (a.status, a.body["bundle"]["revision"].clone()),
        (StatusCode::OK, json!(2))
    );
    let info = get(state, "/v1/bundle").await;
    assert_eq!(info.body["revision"], 2);
    assert_eq!(info.body["reload"]["reloads"], 1);
    assert_eq!(info.body["reload"]["failures"], 2);
    assert!(
        info.body["reload"]["lastFailure"]["message"]
            .as_str()
            .unwrap()
            .contains("not newer")
    );
    let metrics = get(state, "/metrics").await.text;
    assert!(
        metrics.contains("slicegate_bundle_reload_failures_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("slicegate_bundle_reloads_total 1"),
        "{metrics}"
    );

    // The log holds every answered decision, chained, each naming its
    // revision, with the masked field masked and the hash of the request.
    let bytes = std::fs::read(service.log_path()).unwrap();
    let report = decision_log::verify(&bytes);
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.verified as usize, seen.len() + 1);
    let records: Vec<decision_log::Record> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let revisions: Vec<u64> = records
        .iter()
        .map(|r| r.entry.bundle.as_ref().unwrap().revision)
        .collect();
    assert!(revisions.contains(&1) && revisions.contains(&2));
    let request = records[0].entry.request.as_ref().unwrap();
    assert_eq!(request["equipment"]["softwareVersion"], "<masked>");
    assert_eq!(request["equipment"]["vendor"], "ericsson");
    let unmasked: slicegate::PlacementRequest =
        serde_json::from_value(allowed_placement()).unwrap();
    assert_eq!(
        records[0].entry.request_sha256,
        decision_log::sha256_hex(&serde_json::to_vec(&unmasked).unwrap())
    );
    assert!(records[0].entry.what_if);
}

#[test]
fn a_url_source_is_polled_with_etags_and_refusals_keep_the_last_good_bundle() {
    // A tiny HTTP server: serves the current bytes with an ETag, answers
    // 304 to a matching If-None-Match, counts requests.
    let current: Arc<Mutex<(Vec<u8>, String)>> =
        Arc::new(Mutex::new((bundles().rev1.clone(), "\"r1\"".to_string())));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bundle.wasm", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::<u16>::new()));
    {
        let (current, log) = (current.clone(), log.clone());
        std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Write};
            for stream in listener.incoming() {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut if_none_match = None;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("if-none-match:") {
                        if_none_match = Some(v.trim().to_string());
                    }
                }
                let (bytes, etag) = current.lock().unwrap().clone();
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    log.lock().unwrap().push(304);
                    let _ =
                        stream.write_all(b"HTTP/1.1 304 Not Modified\r\nconnection: close\r\n\r\n");
                } else {
                    log.lock().unwrap().push(200);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\netag: {etag}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        bytes.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&bytes);
                }
            }
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let source: BundleSource = url.parse().unwrap();
    let (mut reloader, first) = first_load(&source, loader(dir.path()), true);
    assert_eq!(first, Ok(1));
    assert_eq!(reloader.check(), ReloadOutcome::Unchanged);
    assert_eq!(*log.lock().unwrap(), [200, 304]);

    *current.lock().unwrap() = (b"not a bundle".to_vec(), "\"bad\"".to_string());
    assert!(matches!(reloader.check(), ReloadOutcome::Refused(_)));
    assert_eq!(
        reloader
            .slot()
            .current()
            .unwrap()
            .bundle()
            .manifest
            .revision
            .0,
        1
    );
    *current.lock().unwrap() = (bundles().rev2.clone(), "\"r2\"".to_string());
    assert_eq!(
        reloader.check(),
        ReloadOutcome::Replaced {
            from: Some(1),
            to: 2
        }
    );
    assert_eq!(reloader.slot().status().failures, 1);

    // https is not built in: said at once, not at the first poll.
    let https: Result<BundleSource, String> = "https://bundles.example/b.wasm".parse();
    assert!(https.unwrap_err().contains("https is not built in"));
    // Nothing listening: refused with the address, the slot stays empty.
    let slot = Arc::new(BundleSlot::empty());
    let mut nowhere = Reloader::new(
        "http://127.0.0.1:9/none.wasm".parse().unwrap(),
        loader(dir.path()),
        slot.clone(),
        false,
    );
    let ReloadOutcome::Refused(message) = nowhere.check() else {
        panic!("an unreachable source was not refused");
    };
    assert!(message.contains("127.0.0.1:9"), "{message}");
    assert!(slot.current().is_none());
}

#[test]
fn a_file_source_takes_a_detached_signature_only_when_none_is_embedded() {
    // Unsigned bundle, signature beside it: loaded.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1_unsigned).unwrap();
    std::fs::write(dir.path().join("bundle.wasm.sig"), &bundles().rev1_detached).unwrap();
    let (_, first) = first_load(&BundleSource::File(path.clone()), loader(dir.path()), false);
    assert_eq!(first, Ok(1));

    // Embedded signature with a stale, unrelated file beside it: the
    // embedded one counts.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1).unwrap();
    std::fs::write(dir.path().join("bundle.wasm.sig"), b"stale").unwrap();
    let (_, first) = first_load(&BundleSource::File(path), loader(dir.path()), false);
    assert_eq!(first, Ok(1));

    // Unsigned and nothing beside it: refused.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1_unsigned).unwrap();
    let (reloader, first) = first_load(&BundleSource::File(path), loader(dir.path()), false);
    assert!(first.unwrap_err().contains("unsigned"));
    assert!(reloader.slot().current().is_none());
}

/// Reads what the server sends until it closes or `wait` passes.
async fn read_some(
    stream: &mut tokio::net::TcpStream,
    wait: std::time::Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 4096];
    match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
        Ok(Ok(n)) => Some(String::from_utf8_lossy(&buffer[..n]).into_owned()),
        Ok(Err(_)) => Some(String::new()),
        Err(_) => None,
    }
}

async fn get_over_tcp(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    read_some(&mut stream, std::time::Duration::from_secs(5))
        .await
        .unwrap_or_default()
}

async fn post_over_tcp(addr: std::net::SocketAddr, path: &str, body: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    read_some(&mut stream, std::time::Duration::from_secs(5))
        .await
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_numerous_clients_do_not_take_the_service_down() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let service = service_with(|_| Config {
        connections: slicegate_server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            max_connections: 32,
            max_requests_per_connection: 3,
        },
        ..Config::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(slicegate_server::serve(
        listener,
        service.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    // Slowloris: 24 connections, each holding half a request header.
    let mut hostile = Vec::new();
    for _ in 0..24 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            .await
            .unwrap();
        hostile.push(stream);
    }
    // A good client is answered meanwhile.
    assert!(
        get_over_tcp(addr, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );

    // Past the cap, hostile clients that keep (re)opening connections —
    // half headers, or whole headers and a trickled body — cannot lock a
    // good client out: each newcomer takes the place of the connection idle
    // longest, and the good client's request, once whole, is never evicted.
    for round in 0..3 {
        for i in 0..16 {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let start: &[u8] = if i % 2 == 0 {
                b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nX-Slow: "
            } else {
                b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"op"
            };
            stream.write_all(start).await.unwrap();
            hostile.push(stream);
        }
        let answer = get_over_tcp(addr, "/healthz").await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer}"
        );
        let decided = post_over_tcp(addr, "/v1/decisions", &allowed_placement().to_string()).await;
        assert!(
            decided.starts_with("HTTP/1.1 200"),
            "round {round}: {decided}"
        );
    }
    // The evicted connections were closed by the service.
    let mut closed = 0;
    for stream in &mut hostile {
        if read_some(stream, Duration::from_millis(20)).await.is_some() {
            closed += 1;
        }
    }
    assert!(
        closed >= 16,
        "only {closed} hostile connections were closed"
    );
    // The header timeout closes the rest.
    for stream in &mut hostile {
        let gone = read_some(stream, Duration::from_secs(6)).await;
        assert!(gone.is_some(), "a slow connection was not closed");
    }
    let metrics = get_over_tcp(addr, "/metrics").await;
    assert!(
        metrics.contains("slicegate_connections_refused_total 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("slicegate_connections_evicted_total 0\n"),
        "{metrics}"
    );

    // An idle keep-alive connection is closed after the header timeout, and
    // a busy one after its request budget.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_some(&mut idle, Duration::from_secs(2))
            .await
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    let after_idle = read_some(&mut idle, Duration::from_secs(4)).await;
    assert_eq!(after_idle.as_deref(), Some(""), "closed, not left open");
    let mut busy = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut answers = String::new();
    for _ in 0..3 {
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        answers.push_str(&read_some(&mut busy, Duration::from_secs(2)).await.unwrap());
    }
    assert!(answers.contains("connection: close"), "{answers}");

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

/// Every error answer, from every route and from no route, is one shape
/// rendered in one place: the request id once in the header and the same
/// in the body; and every answer is counted under its route in the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_carries_its_request_id_once_and_every_route_is_measured() {
    let service = service();
    let state = &service.state;
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<(&'a str, Vec<u8>)>,
        StatusCode,
        &'a str,
    );
    let cases: [Case; 8] = [
        ("GET", "/nope", None, StatusCode::NOT_FOUND, "unmatched"),
        (
            "DELETE",
            "/healthz",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "healthz",
        ),
        (
            "GET",
            "/v1/decisions",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "decisions",
        ),
        (
            "POST",
            "/v1/decisions",
            Some(("text/plain", b"{}".to_vec())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "decisions",
        ),
        (
            "POST",
            "/v1/decisions",
            Some(("application/json", b"{".to_vec())),
            StatusCode::BAD_REQUEST,
            "decisions",
        ),
        (
            "POST",
            "/v1/plans:check",
            Some(("application/json", b"[]".to_vec())),
            StatusCode::BAD_REQUEST,
            "plans:check",
        ),
        (
            "POST",
            "/v1/sol003/grants",
            Some(("application/json", b"{}".to_vec())),
            StatusCode::BAD_REQUEST,
            "sol003/grants",
        ),
        (
            "POST",
            "/v1/sol003/grants",
            Some(("application/json", b"null".to_vec())),
            StatusCode::BAD_REQUEST,
            "sol003/grants",
        ),
    ];
    for (i, (method, path, body, status, _)) in cases.iter().enumerate() {
        let id = format!("err-{i}");
        let request = {
            let mut request = Request::builder()
                .method(*method)
                .uri(*path)
                .header("x-request-id", &id);
            if let Some((kind, _)) = body {
                request = request.header("content-type", *kind);
            }
            request
                .body(
                    body.as_ref()
                        .map_or_else(Body::empty, |(_, b)| Body::from(b.clone())),
                )
                .unwrap()
        };
        let response = router(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), *status, "{method} {path}");
        let ids: Vec<_> = response.headers().get_all("x-request-id").iter().collect();
        assert_eq!(ids, [id.as_str()], "{method} {path}");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["requestId"], json!(id), "{method} {path}: {body}");
        assert_eq!(body["error"]["status"], json!(status.as_u16()), "{body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let metrics = get(state, "/metrics").await.text;
    for (_, _, _, status, endpoint) in &cases {
        let line = format!(
            "slicegate_http_responses_total{{endpoint=\"{endpoint}\",status=\"{}\"}}",
            status.as_u16()
        );
        assert!(metrics.contains(&line), "no `{line}` in\n{metrics}");
    }
    assert!(
        metrics.contains("slicegate_request_duration_seconds_count{endpoint=\"unmatched\"} 1"),
        "{metrics}"
    );
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
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

/// A request not read in time is answered 408 in the shape of every error,
/// with its request id in the header and the body, and is measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_is_a_json_408_with_its_request_id() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let service = service_with(|_| Config {
        connections: slicegate_server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_millis(300),
            max_connections: 8,
            max_requests_per_connection: 10,
        },
        ..Config::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(slicegate_server::serve(
        listener,
        service.state.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/decisions HTTP/1.1\r\nHost: t\r\nX-Request-Id: slow-body-1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let answer = read_some(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("x-request-id: slow-body-1"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["requestId"], "slow-body-1", "{answer}");
    assert_eq!(body["error"]["code"], "request-timeout", "{answer}");
    let metrics = get_over_tcp(addr, "/metrics").await;
    assert!(
        metrics.contains("slicegate_http_responses_total{endpoint=\"decisions\",status=\"408\"} 1"),
        "{metrics}"
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
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
