//! Loaded bundles: one loader's engine shared by its bundles, and a loaded
//! bundle that stops deciding when its window or its signing keys expire.

use std::time::{Duration, SystemTime};

use slicegate::bundle::{self, BundleLoader, KeyPair, TrustedKey};

use crate::support::{huawei_core_after_deadline, trust, trusted, unsigned};

#[test]
fn bundles_loaded_through_one_loader_share_its_engine_and_each_keeps_deciding() {
    // A reloading service keeps one loader: its second bundle does not pay
    // for a new engine, and the first (still draining) keeps deciding.
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let store = || trust(dir.path(), 1, vec![trusted("ops", &key)]);
    let cache = bundle::CompileCache::new(dir.path().join("cache"));
    let mut loader = BundleLoader::new(store()).with_cache(cache.clone());
    let first = loader.load(&signed, None).expect("accepted");
    let mut draining = first.decider().unwrap().permit_what_if(true);
    let second = loader.load(&signed, None).expect("accepted again");
    assert!(first.runtime().shares_engine_with(second.runtime()));
    let mut current = second.decider().unwrap().permit_what_if(true);
    for decider in [&mut draining, &mut current] {
        let decision = decider.decide(&huawei_core_after_deadline());
        assert_eq!(decision.determining_ids(), ["uk-hrv/out-of-core"]);
    }
    // Another loader (another host, or a restart) has its own engine.
    let other = BundleLoader::new(store())
        .with_cache(cache)
        .load(&signed, None)
        .expect("accepted by another loader");
    assert!(!other.runtime().shares_engine_with(first.runtime()));
}

#[test]
fn a_loaded_bundle_stops_deciding_when_its_window_or_its_signing_keys_expire() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let soon = now + Duration::from_secs(3600);
    let later = now + Duration::from_secs(7200);
    // One compilation, cached: the loads below take milliseconds.
    let cache = slicegate::bundle::CompileCache::new(dir.path().join("cache"));
    let first = KeyPair::generate().unwrap();
    let second = KeyPair::generate().unwrap();
    let both = bundle::sign_embedded(
        &bundle::sign_embedded(unsigned(), &first, "first").unwrap(),
        &second,
        "second",
    )
    .unwrap();
    the_signing_keys_end_the_validity(dir.path(), (&first, &second), &both, (soon, later));

    // The clock passes the first key's end while the bundle is loaded:
    // decisions are denied, with why, from that moment.
    let _ = BundleLoader::new(trust(dir.path(), 1, vec![expiring("first", &first, None)]))
        .with_cache(cache.clone())
        .load(&both, None)
        .expect("compiled into the cache");
    let soon = SystemTime::now() + Duration::from_secs(3);
    let mut loader = BundleLoader::new(trust(
        dir.path(),
        2,
        vec![
            expiring("first", &first, Some(soon)),
            expiring("second", &second, Some(later)),
        ],
    ))
    .with_cache(cache);
    let loaded = loader.load(&both, None).expect("valid now");
    let mut decider = loaded.decider().unwrap().permit_what_if(true);
    let before = decider.decide(&huawei_core_after_deadline());
    assert!(before.failure.is_none(), "{before:?}");
    std::thread::sleep(
        soon.duration_since(SystemTime::now()).unwrap_or_default() + Duration::from_millis(1100),
    );
    let after = decider.decide(&huawei_core_after_deadline());
    assert!(!after.allowed);
    assert!(
        matches!(&after.failure, Some(slicegate::Failure::BundleExpired(why)) if why.contains("fewer than 2")),
        "{after:?}"
    );
    let plan = decider.check_plan(
        &serde_json::from_value(serde_json::json!({
            "network": "gb-example-mobile", "metric": "sites", "installed": [], "changes": []
        }))
        .unwrap(),
    );
    assert!(matches!(
        plan.failure,
        Some(slicegate::Failure::BundleExpired(_))
    ));
}

/// `pair`'s public key trusted as `id` until `not_after` (if given).
fn expiring(id: &str, pair: &KeyPair, not_after: Option<SystemTime>) -> TrustedKey {
    TrustedKey {
        not_after,
        ..trusted(id, pair)
    }
}

/// The bundle `both`, signed by `first` and `second` (keys that end `soon`
/// and `later`), is valid as long as enough of its signing keys are: with
/// threshold 2 until `soon`, with threshold 1 until `later`, and without an
/// end when a key has none.
fn the_signing_keys_end_the_validity(
    dir: &std::path::Path,
    (first, second): (&KeyPair, &KeyPair),
    both: &[u8],
    (soon, later): (SystemTime, SystemTime),
) {
    // Two signers, threshold 2: the bundle holds while both keys do.
    let mut loader = BundleLoader::new(trust(
        dir,
        2,
        vec![
            expiring("first", first, Some(soon)),
            expiring("second", second, Some(later)),
        ],
    ));
    let loaded = loader.load(both, None).expect("valid now");
    assert_eq!(loaded.validity.not_after, Some(soon));
    assert!(
        loaded
            .validity
            .limited_by
            .as_deref()
            .unwrap()
            .contains("fewer than 2 of the keys")
    );
    // Threshold 1: the later key carries it.
    let mut loader = BundleLoader::new(trust(
        dir,
        1,
        vec![
            expiring("first", first, Some(soon)),
            expiring("second", second, Some(later)),
        ],
    ));
    assert_eq!(
        loader.load(both, None).unwrap().validity.not_after,
        Some(later)
    );
    // A key without an end does not end the bundle.
    let mut loader = BundleLoader::new(trust(
        dir,
        1,
        vec![
            expiring("first", first, Some(soon)),
            expiring("second", second, None),
        ],
    ));
    assert_eq!(loader.load(both, None).unwrap().validity.not_after, None);
}
