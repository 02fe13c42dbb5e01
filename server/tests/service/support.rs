//! Shared helpers: the signed bundles, the service builders, `call`,
//! `get` and `post` (each answer checked against `server/openapi.yaml`),
//! request fixtures, and TCP helpers for the tests that need a real server.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use slicegate::PolicySources;
use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, CompileCache, KeyPair, Revision, TrustStore,
};
use slicegate::decision_log::{DecisionLog, Durability};
use slicegate::reload::{BundleSource, ReloadOutcome, Reloader, first_load};
use slicegate::sol003::PackageMap;
use slicegate_server::{AppState, Config, router};
use tower::ServiceExt;

pub struct Bundles {
    pub public: ed25519_public::Key,
    /// Revisions 1 and 2 of the same library, signed.
    pub rev1: Vec<u8>,
    pub rev2: Vec<u8>,
    /// Revision 1 unsigned, and its detached signature.
    pub rev1_unsigned: Vec<u8>,
    pub rev1_detached: Vec<u8>,
}

mod ed25519_public {
    /// The trust store's key, kept as bytes so the fixture is `Sync`.
    pub struct Key(pub [u8; 32]);
}

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

pub fn bundles() -> &'static Bundles {
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
pub struct Service {
    pub dir: tempfile::TempDir,
    pub reloader: Arc<Mutex<Reloader>>,
    pub state: AppState,
}

impl Service {
    pub fn bundle_path(&self) -> PathBuf {
        self.dir.path().join("bundle.wasm")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("decisions.jsonl")
    }

    /// Replaces the bundle file atomically (write, then rename).
    pub fn publish(&self, bytes: &[u8]) {
        let next = self.dir.path().join("bundle.wasm.next");
        std::fs::write(&next, bytes).unwrap();
        std::fs::rename(&next, self.bundle_path()).unwrap();
    }

    pub async fn reload(&self) -> ReloadOutcome {
        let reloader = self.reloader.clone();
        tokio::task::spawn_blocking(move || reloader.lock().unwrap().check())
            .await
            .unwrap()
    }
}

pub fn loader(dir: &Path) -> BundleLoader {
    let public = ed25519_dalek::VerifyingKey::from_bytes(&bundles().public.0).unwrap();
    let trust = TrustStore::single_key("ops-key", public, dir.join("state.json"));
    BundleLoader::new(trust).with_cache(CompileCache::default_location())
}

pub fn packages() -> PackageMap {
    PackageMap {
        providers: [("Ericsson AB".to_string(), "ericsson".to_string())].into(),
        products: [(
            "Ericsson Packet Core Gateway UPF".to_string(),
            "ericsson-upf".to_string(),
        )]
        .into(),
    }
}

pub fn service_with(config: impl FnOnce(&Path) -> Config) -> Service {
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

pub fn service() -> Service {
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

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub request_id: Option<String>,
}

pub async fn call(
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

pub async fn post(state: &AppState, path: &str, body: &Value) -> Answer {
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

pub async fn get(state: &AppState, path: &str) -> Answer {
    let answer = call(state, "GET", path, None, None).await;
    check_against_openapi("get", path, &answer);
    answer
}

/// The OpenAPI document as JSON.
pub fn openapi() -> &'static Value {
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
pub fn check_against_openapi(method: &str, path: &str, answer: &Answer) {
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
pub fn request_valid(method: &str, path: &str, body: &Value) -> bool {
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

pub fn allowed_placement() -> Value {
    placement("ericsson", "ericsson-upf", "place")
}

pub fn denied_placement() -> Value {
    placement("huawei", "huawei-upf-x", "operate")
}

pub fn grant_body(provider: &str) -> Value {
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

pub fn example_plan() -> Value {
    let path = policies().join("examples/plans/gb-example-mobile.json");
    let file = slicegate::PlanFile::read(&path).unwrap();
    serde_json::to_value(file.resolve("gb-example-mobile.json").unwrap()).unwrap()
}

/// Reads what the server sends until it closes or `wait` passes.
pub async fn read_some(
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

pub async fn get_over_tcp(addr: std::net::SocketAddr, path: &str) -> String {
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

pub async fn post_over_tcp(addr: std::net::SocketAddr, path: &str, body: &str) -> String {
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

/// A running server: its address, the sender that stops it, and its task.
pub struct Server {
    pub addr: std::net::SocketAddr,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `state` over TCP on a free local port until stopped.
pub async fn start_server(state: &AppState) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(slicegate_server::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    Server { addr, stop, task }
}
