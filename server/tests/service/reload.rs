//! Reloading the bundle: under load, past its validity window, and when
//! the first one cannot be verified.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::json;
use slicegate::decision_log;
use slicegate::reload::{BundleSource, ReloadOutcome, first_load};
use slicegate_server::{AppState, Config};

use crate::support::{
    Service, allowed_placement, bundles, denied_placement, example_plan, get, grant_body, loader,
    post, service,
};

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
    let seen = decide_under_load_while_revision_2_arrives(&service).await;
    no_answer_was_lost_or_went_back_after_the_swap(&seen);
    a_tampered_and_an_older_bundle_are_refused(&service).await;
    revision_2_keeps_serving_and_the_refusals_are_counted(&service.state).await;
    the_log_holds_every_answered_decision(&service, seen.len());
}

/// What a client saw: the status, the revision the answer named, and the
/// revision that decided.
type Seen = Vec<(u16, i64, i64)>;

/// Four clients decide in a loop while revision 2 is published and
/// reloaded; returns what they saw, in order.
async fn decide_under_load_while_revision_2_arrives(service: &Service) -> Seen {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::new()));
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
    seen.lock().unwrap().clone()
}

fn no_answer_was_lost_or_went_back_after_the_swap(seen: &Seen) {
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
}

async fn a_tampered_and_an_older_bundle_are_refused(service: &Service) {
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
}

async fn revision_2_keeps_serving_and_the_refusals_are_counted(state: &AppState) {
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
}

fn the_log_holds_every_answered_decision(service: &Service, answered: usize) {
    // The log holds every answered decision, chained, each naming its
    // revision, with the masked field masked and the hash of the request.
    let bytes = std::fs::read(service.log_path()).unwrap();
    let report = decision_log::verify(&bytes);
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.verified as usize, answered + 1);
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
