//! Recorded `AdmissionReview` requests (as the API server sends them, in
//! `testdata/`) through the webhook, replayed at a fixed time.

use std::path::Path;

use k8s_admission::{Inventory, Webhook};
use serde_json::Value;
use slicegate::bundle::CompileCache;
use slicegate::{Decider, Limits, PolicySources, Runtime};

/// The engine, compiled once (and cached across runs).
fn runtime() -> Runtime {
    static RUNTIME: std::sync::OnceLock<Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let cache = CompileCache::default_location();
            cache.engine_runtime(Limits::default()).unwrap()
        })
        .clone()
}

/// The webhook on the default library and the example inventory,
/// replaying reviews at `at`.
fn webhook_at(what_if_permitted: bool, at: &str) -> Webhook {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = runtime();
    let sources = PolicySources::from_dir(&here.join("../../policies")).unwrap();
    let decider = Decider::new(&runtime, &sources)
        .unwrap()
        .permit_what_if(what_if_permitted);
    let inventory: Inventory =
        serde_json::from_str(&std::fs::read_to_string(here.join("inventory.json")).unwrap())
            .unwrap();
    Webhook::new(decider, inventory).evaluate_at(at)
}

fn webhook() -> Webhook {
    webhook_at(true, "2026-06-01T12:00:00Z")
}

fn recorded(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn recorded_reviews_are_answered_with_the_reasons() {
    let mut webhook = webhook();
    for (name, allowed, says) in [
        (
            "create-ericsson-upf",
            true,
            "place core/upf-lon-2 (ericsson-upf) at gb-lon-core-1: allowed by baseline/known-vendor",
        ),
        (
            "create-huawei-upf-in-core",
            false,
            "uk-hrv/out-of-core (Huawei goods, services and facilities",
        ),
        ("delete-huawei-upf", true, "terminate core/upf-lon-1"),
        (
            "update-unsigned-upgrade",
            false,
            "upgrade core/upf-lon-2 (ericsson-upf) at gb-lon-core-1: denied by baseline/signed-software",
        ),
        (
            "create-without-site-label",
            false,
            "slicegate cannot decide: the NFDeployment has no label slicegate.io/site",
        ),
    ] {
        let review = recorded(name);
        let answer = webhook.review(&review).unwrap();
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1", "{name}");
        assert_eq!(answer["kind"], "AdmissionReview", "{name}");
        let response = &answer["response"];
        assert_eq!(response["uid"], review["request"]["uid"], "{name}");
        assert_eq!(response["allowed"], allowed, "{name}: {response}");
        let message = response["auditAnnotations"]["slicegate.io/decision"]
            .as_str()
            .unwrap();
        assert!(message.contains(says), "{name}: {message}");
        if allowed {
            assert!(response.get("status").is_none(), "{name}");
        } else {
            assert_eq!(response["status"]["code"], 403, "{name}");
            assert_eq!(response["status"]["message"], message, "{name}");
        }
    }
}

#[test]
fn what_the_webhook_cannot_decide_is_denied_or_refused() {
    let mut webhook = webhook();
    // Not an AdmissionReview: nothing to answer.
    assert!(webhook.review(&serde_json::json!({"kind": "Pod"})).is_err());

    // A Pod sent by a misconfigured webhook rule: denied, not allowed.
    let mut review = recorded("create-ericsson-upf");
    review["request"]["object"]["kind"] = "Pod".into();
    let answer = webhook.review(&review).unwrap();
    assert_eq!(answer["response"]["allowed"], false);

    // A site the inventory does not know; a vendor the bundle does not know.
    let mut review = recorded("create-ericsson-upf");
    review["request"]["object"]["metadata"]["labels"]["slicegate.io/site"] = "atlantis".into();
    let answer = webhook.review(&review).unwrap();
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("\"atlantis\" is not in the webhook's inventory")
    );
    let mut review = recorded("create-ericsson-upf");
    review["request"]["object"]["metadata"]["labels"]["slicegate.io/vendor"] = "acme-radio".into();
    let answer = webhook.review(&review).unwrap();
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("acme-radio")
    );
}

#[test]
fn without_what_if_permission_a_replay_time_is_refused_not_honoured() {
    let mut webhook = webhook_at(false, "2020-01-01T00:00:00Z");
    let answer = webhook.review(&recorded("create-ericsson-upf")).unwrap();
    assert_eq!(answer["response"]["allowed"], false);
    assert!(
        answer["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("what-if")
    );
}

#[test]
fn the_manifests_register_the_webhook_for_nfdeployments_and_fail_closed() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/webhook.yaml"))
            .unwrap();
    let documents: Vec<Value> = serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "Deployment",
            "Service",
            "ValidatingWebhookConfiguration"
        ]
    );
    let webhook = &documents[3]["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(webhook["clientConfig"]["service"]["path"], "/validate");
    assert_eq!(webhook["rules"][0]["resources"][0], "nfdeployments");
    assert_eq!(webhook["rules"][0]["apiGroups"][0], "workload.nephio.org");
    let args = documents[1]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(
        args.iter()
            .any(|a| a == "--inventory=/etc/slicegate/inventory.json")
    );
}
