//! Signed bundles: reproducible builds, every refusal (each before anything
//! is compiled or instantiated), detached and multiple signatures, and
//! interoperability with `wasmsign2` both ways.

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use slicegate::bundle::{
    self, BuildOptions, BundleError, BundleLoader, BundleName, KeyId, KeyPair, Revision,
    TrustStore, TrustedKey,
};
use slicegate::{PlacementRequest, PolicyIdMode, PolicySources};

fn sources() -> PolicySources {
    PolicySources::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
        .expect("policies read")
}

fn options(revision: u64) -> BuildOptions {
    BuildOptions {
        name: BundleName("test-bundle".to_string()),
        revision: Revision(revision),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    }
}

/// Revision 1 of the starter policies, built once for the whole file.
fn unsigned() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| bundle::build(&sources(), &options(1)).expect("bundle builds"))
}

fn trusted(id: &str, key: &KeyPair) -> TrustedKey {
    TrustedKey {
        id: KeyId(id.to_string()),
        key: key.public(),
        not_before: None,
        not_after: None,
    }
}

fn trust(dir: &Path, threshold: u32, keys: Vec<TrustedKey>) -> TrustStore {
    TrustStore {
        threshold,
        keys,
        state_path: dir.join("state.json"),
    }
}

fn huawei_core_after_deadline() -> PlacementRequest {
    serde_json::from_value(serde_json::json!({
        "operation": "operate",
        "equipment": {"id": "upf-1", "vendor": "huawei", "model": "huawei-upf-x",
                      "softwareVersion": "1", "softwareSigned": true, "sbom": true,
                      "subsidyFunded": false},
        "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
        "site": {"id": "lon", "country": "GB", "sensitive": false},
        "network": "gb-example-mobile",
        "at": "2024-06-01T00:00:00Z"
    }))
    .expect("request parses")
}

/// Asserts `result` is a refusal and that the loader prepared nothing.
fn refused(
    loader: &BundleLoader,
    result: Result<bundle::LoadedBundle, BundleError>,
) -> BundleError {
    match result {
        Ok(_) => panic!("the bundle was accepted"),
        Err(error) => {
            assert_eq!(
                loader.components_prepared(),
                0,
                "something was compiled for a refused bundle"
            );
            error
        }
    }
}

#[test]
fn builds_are_reproducible() {
    let again = bundle::build(&sources(), &options(1)).unwrap();
    assert!(again == unsigned(), "two builds of the same inputs differ");
    let later = BuildOptions {
        created_at: "2026-01-02T00:00:00Z".to_string(),
        ..options(1)
    };
    assert!(bundle::build(&sources(), &later).unwrap() != unsigned());
}

#[test]
fn a_signed_bundle_loads_and_decides_without_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    let loaded = loader.load(&signed, None).expect("accepted");
    assert_eq!(loaded.manifest.name.0, "test-bundle");
    assert_eq!(loaded.signers, [KeyId("ops".to_string())]);
    assert_eq!(loader.components_prepared(), 1);

    let mut decider = loaded.decider().unwrap().permit_what_if(true);
    assert_eq!(decider.load_report().policy_count, 40);
    let decision = decider.decide(&huawei_core_after_deadline());
    assert!(!decision.allowed);
    assert_eq!(decision.determining_ids(), ["uk-hrv/out-of-core"]);
    assert_eq!(decision.bundle_revision, Some(1));

    let inspection = bundle::inspect(&signed, None).unwrap();
    assert!(inspection.embedded_signature);
    assert_eq!(inspection.signatures.len(), 1);
    assert!(inspection.signatures[0].covers_content);
    assert!(
        inspection
            .manifest
            .policies
            .iter()
            .any(|p| p.id == "uk-hrv/out-of-core")
    );
    assert!(
        inspection
            .sources
            .iter()
            .any(|(path, _)| path == "schema.cedarschema")
    );
    assert!(
        inspection
            .exports
            .iter()
            .any(|e| e.starts_with("slicegate:policy/placement"))
    );
}

#[test]
fn an_unsigned_bundle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    let result = loader.load(unsigned(), None);
    let error = refused(&loader, result);
    assert!(matches!(error, BundleError::Unsigned), "{error}");
}

#[test]
fn any_changed_byte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    // A byte in the code, one in the manifest (the end), and one in the
    // signature itself (just after the section header).
    for position in [signed.len() / 2, signed.len() - 3, 8 + 20] {
        let mut tampered = signed.clone();
        tampered[position] ^= 0x01;
        let result = loader.load(&tampered, None);
        let error = refused(&loader, result);
        assert!(
            matches!(error, BundleError::Tampered(_) | BundleError::Malformed(_)),
            "byte {position}: {error}"
        );
    }
    assert!(
        !dir.path().join("state.json").exists(),
        "a refusal recorded a revision"
    );
}

#[test]
fn a_bundle_signed_only_by_an_unknown_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let trusted_key = KeyPair::generate().unwrap();
    let stranger = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &stranger, "stranger").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &trusted_key)]));
    let result = loader.load(&signed, None);
    let error = refused(&loader, result);
    assert!(
        matches!(error, BundleError::UnknownKey(ref ids) if ids.contains("stranger")),
        "{error}"
    );
}

#[test]
fn a_signature_by_an_expired_or_not_yet_valid_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let now = SystemTime::now();
    let expired = TrustedKey {
        not_after: Some(now - Duration::from_secs(60)),
        ..trusted("ops", &key)
    };
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![expired]));
    let result = loader.load(&signed, None);
    let error = refused(&loader, result);
    assert!(
        matches!(error, BundleError::KeyNotValid { why: "expired", .. }),
        "{error}"
    );

    let future = TrustedKey {
        not_before: Some(now + Duration::from_secs(3600)),
        ..trusted("ops", &key)
    };
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![future]));
    let result = loader.load(&signed, None);
    let error = refused(&loader, result);
    assert!(
        matches!(
            error,
            BundleError::KeyNotValid {
                why: "not yet valid",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn fewer_signatures_than_the_threshold_are_refused_and_enough_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let first = KeyPair::generate().unwrap();
    let second = KeyPair::generate().unwrap();
    let keys = vec![trusted("first", &first), trusted("second", &second)];
    let once = bundle::sign_embedded(unsigned(), &first, "first").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 2, keys.clone()));
    let result = loader.load(&once, None);
    let error = refused(&loader, result);
    assert!(
        matches!(
            error,
            BundleError::BelowThreshold {
                valid: 1,
                required: 2,
                ..
            }
        ),
        "{error}"
    );

    // The same key twice is still one signer.
    let same_twice = bundle::sign_embedded(&once, &first, "first").unwrap();
    let result = loader.load(&same_twice, None);
    assert!(matches!(
        refused(&loader, result),
        BundleError::BelowThreshold { valid: 1, .. }
    ));

    let twice = bundle::sign_embedded(&once, &second, "second").unwrap();
    let loaded = loader.load(&twice, None).expect("two of two accepted");
    assert_eq!(loaded.signers.len(), 2);
}

#[test]
fn a_bundle_outside_its_validity_window_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let windowed = BuildOptions {
        not_before: Some("2030-01-01T00:00:00Z".to_string()),
        not_after: Some("2031-01-01T00:00:00Z".to_string()),
        ..options(1)
    };
    let signed =
        bundle::sign_embedded(&bundle::build(&sources(), &windowed).unwrap(), &key, "ops").unwrap();
    let store = || trust(dir.path(), 1, vec![trusted("ops", &key)]);

    let mut early = BundleLoader::new(store());
    let result = early.load(&signed, None);
    assert!(matches!(
        refused(&early, result),
        BundleError::NotYetValid(_)
    ));

    let after = humantime::parse_rfc3339("2031-06-01T00:00:00Z").unwrap();
    let mut late = BundleLoader::new(store()).at_time(after);
    let result = late.load(&signed, None);
    assert!(matches!(refused(&late, result), BundleError::Expired(_)));

    let within = humantime::parse_rfc3339("2030-06-01T00:00:00Z").unwrap();
    let mut ok = BundleLoader::new(store()).at_time(within);
    ok.load(&signed, None).expect("inside the window");
}

#[test]
fn a_lower_revision_is_refused_unless_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let store = || trust(dir.path(), 1, vec![trusted("ops", &key)]);
    let rev2 = bundle::sign_embedded(
        &bundle::build(&sources(), &options(2)).unwrap(),
        &key,
        "ops",
    )
    .unwrap();
    let rev1 = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();

    BundleLoader::new(store())
        .load(&rev2, None)
        .expect("revision 2 accepted");
    // A new loader (a restarted host) reads the recorded revision.
    let mut restarted = BundleLoader::new(store());
    let result = restarted.load(&rev1, None);
    let error = refused(&restarted, result);
    assert!(
        matches!(
            error,
            BundleError::Rollback {
                revision: 1,
                highest: 2,
                ..
            }
        ),
        "{error}"
    );

    let mut overriding = BundleLoader::new(store()).allow_rollback(true);
    overriding
        .load(&rev1, None)
        .expect("explicit override accepts");
    // The override does not lower the recorded revision.
    let state = bundle::RevisionState::load(&dir.path().join("state.json")).unwrap();
    assert_eq!(
        state.highest[&BundleName("test-bundle".to_string())],
        Revision(2)
    );
}

#[test]
fn detached_signatures_verify_and_leave_the_bundle_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signature = bundle::sign_detached(unsigned(), None, &key, "ops").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    loader
        .load(unsigned(), Some(&signature))
        .expect("detached accepted");

    let other = KeyPair::generate().unwrap();
    let wrong = bundle::sign_detached(unsigned(), None, &other, "ops").unwrap();
    let mut fresh = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    let result = fresh.load(unsigned(), Some(&wrong));
    assert!(matches!(refused(&fresh, result), BundleError::Tampered(_)));
}

#[test]
fn a_bundle_we_sign_verifies_with_wasmsign2() {
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let public = wasmsign2::PublicKey::from_bytes(&key.public_bytes()).unwrap();
    public
        .verify(&mut Cursor::new(&signed), None)
        .expect("wasmsign2 verifies our embedded signature");

    let detached = bundle::sign_detached(unsigned(), None, &key, "ops").unwrap();
    public
        .verify(&mut Cursor::new(unsigned()), Some(&detached))
        .expect("wasmsign2 verifies our detached signature");

    let other =
        wasmsign2::PublicKey::from_bytes(&KeyPair::generate().unwrap().public_bytes()).unwrap();
    assert!(other.verify(&mut Cursor::new(&signed), None).is_err());
}

#[test]
fn a_bundle_wasmsign2_signs_verifies_with_us() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let secret = wasmsign2::SecretKey::from_bytes(&key.to_bytes()).unwrap();
    let module = wasmsign2::Module::deserialize(&mut Cursor::new(unsigned())).unwrap();
    let signed_module = secret.sign(module, Some(&b"ops".to_vec())).unwrap();
    let mut signed = Vec::new();
    signed_module.serialize(&mut signed).unwrap();

    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    loader
        .load(&signed, None)
        .expect("we verify wasmsign2's embedded signature");

    let module = wasmsign2::Module::deserialize(&mut Cursor::new(unsigned())).unwrap();
    let (_, detached) = secret
        .sign_multi(module, Some(&b"ops".to_vec()), true, false)
        .unwrap();
    let mut fresh = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    fresh
        .load(unsigned(), Some(&detached))
        .expect("we verify wasmsign2's detached signature");
}

#[test]
fn policies_that_do_not_check_are_a_build_error_with_file_and_line() {
    let mut broken = sources();
    let file = broken
        .policies
        .iter_mut()
        .find(|f| f.name.ends_with("uk-hrv.cedar"))
        .unwrap();
    file.text = file.text.replace(
        "principal.domain == \"core\"",
        "principal.domian == \"core\"",
    );
    let error = bundle::build(&broken, &options(1)).unwrap_err();
    let bundle::BuildError::Check(problems) = error else {
        panic!("expected a check error, got {error}");
    };
    let problem = &problems.0[0];
    assert_eq!(problem.file, "packs/uk-hrv/uk-hrv.cedar");
    assert!(problem.line.is_some_and(|l| l > 1), "{problem}");
    assert!(problem.to_string().contains("domian"), "{problem}");
}

#[test]
fn a_failed_engine_load_is_never_a_bundle() {
    // Bypass the native check: the engine's own refusal must surface.
    let mut broken = sources();
    broken.policies[0]
        .text
        .push_str("\npermit(principal, action, resource) when { ;\n");
    broken.policy_ids = PolicyIdMode::Annotation;
    let error = bundle::preinitialise(slicegate::ENGINE_COMPONENT, &broken).unwrap_err();
    assert!(error.to_string().contains("refused"), "{error}");
}

#[test]
fn trust_store_files_are_checked() {
    let path = Path::new("/etc/slicegate/trust.toml");
    let key = KeyPair::generate().unwrap();
    let good = format!(
        "threshold = 1\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\nnot_after = \"2030-01-01T00:00:00Z\"\n",
        key.public_hex()
    );
    let store = TrustStore::from_toml(&good, path).unwrap();
    assert_eq!(store.keys.len(), 1);
    assert_eq!(
        store.state_path,
        Path::new("/etc/slicegate/trust.toml.state.json")
    );

    for (bad, expect) in [
        (
            "threshold = 2\n[[keys]]\nid = \"a\"\npublic_key = \"00\"\n",
            "64 hex",
        ),
        (&good.replace("threshold = 1", "threshold = 2"), "more than"),
        (
            &good.replace("threshold = 1", "threshold = 0"),
            "at least 1",
        ),
        (&good.replace("2030-01-01T00:00:00Z", "soon"), "RFC 3339"),
        (
            &format!(
                "{good}[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
                key.public_hex()
            ),
            "twice",
        ),
        (&good.replace("threshold", "treshold"), "treshold"),
    ] {
        let error = TrustStore::from_toml(bad, path).unwrap_err().to_string();
        assert!(error.contains(expect), "{error} should mention {expect}");
    }
}

/// The encodings of Ed25519's small-order points (identity, order 2, 4
/// and 8, with and without the sign bit): a "signature" that verifies any
/// message under such a key is made without a secret key.
const SMALL_ORDER_KEYS: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

#[test]
fn weak_public_keys_are_refused_in_trust_stores_and_key_files() {
    let path = Path::new("/etc/slicegate/trust.toml");
    for weak in SMALL_ORDER_KEYS {
        let text = format!("threshold = 1\n[[keys]]\nid = \"w\"\npublic_key = \"{weak}\"\n");
        let error = TrustStore::from_toml(&text, path).unwrap_err().to_string();
        assert!(error.contains("key `w`"), "{weak}: {error}");
        let mut file = vec![0x01];
        file.extend(hex::decode(weak).unwrap());
        assert!(
            slicegate::bundle::public_key_from_bytes(&file).is_err(),
            "{weak} accepted as a key file"
        );
    }
    // Next to a good key, a weak one cannot make up the threshold either:
    // the whole store is refused.
    let good = KeyPair::generate().unwrap();
    let text = format!(
        "threshold = 2\n[[keys]]\nid = \"g\"\npublic_key = \"{}\"\n[[keys]]\nid = \"w\"\npublic_key = \"{}\"\n",
        good.public_hex(),
        SMALL_ORDER_KEYS[0]
    );
    assert!(TrustStore::from_toml(&text, path).is_err());
}

#[test]
fn a_trust_store_with_threshold_zero_still_needs_a_trusted_signature() {
    let dir = tempfile::tempdir().unwrap();
    let trusted_key = KeyPair::generate().unwrap();
    let stranger = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &stranger, "stranger").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 0, vec![trusted("ops", &trusted_key)]));
    let result = loader.load(&signed, None);
    let error = refused(&loader, result);
    assert!(matches!(error, BundleError::UnknownKey(_)), "{error}");
}

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
    let key = |id: &str, pair: &KeyPair, not_after: Option<SystemTime>| TrustedKey {
        not_after,
        ..trusted(id, pair)
    };
    let both = bundle::sign_embedded(
        &bundle::sign_embedded(unsigned(), &first, "first").unwrap(),
        &second,
        "second",
    )
    .unwrap();

    // Two signers, threshold 2: the bundle holds while both keys do.
    let mut loader = BundleLoader::new(trust(
        dir.path(),
        2,
        vec![
            key("first", &first, Some(soon)),
            key("second", &second, Some(later)),
        ],
    ));
    let loaded = loader.load(&both, None).expect("valid now");
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
        dir.path(),
        1,
        vec![
            key("first", &first, Some(soon)),
            key("second", &second, Some(later)),
        ],
    ));
    assert_eq!(
        loader.load(&both, None).unwrap().validity.not_after,
        Some(later)
    );
    // A key without an end does not end the bundle.
    let mut loader = BundleLoader::new(trust(
        dir.path(),
        1,
        vec![
            key("first", &first, Some(soon)),
            key("second", &second, None),
        ],
    ));
    assert_eq!(loader.load(&both, None).unwrap().validity.not_after, None);

    // The clock passes the first key's end while the bundle is loaded:
    // decisions are denied, with why, from that moment.
    let _ = BundleLoader::new(trust(dir.path(), 1, vec![key("first", &first, None)]))
        .with_cache(cache.clone())
        .load(&both, None)
        .expect("compiled into the cache");
    let soon = SystemTime::now() + Duration::from_secs(3);
    let mut loader = BundleLoader::new(trust(
        dir.path(),
        2,
        vec![
            key("first", &first, Some(soon)),
            key("second", &second, Some(later)),
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

/// A custom section of `name` with `payload`, in binary form.
fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut section = vec![0u8];
    leb(body.len(), &mut section);
    section.extend(body);
    section
}

#[test]
fn a_second_signature_section_anywhere_makes_the_bundle_refused_here_and_by_wasmsign2() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let public = wasmsign2::PublicKey::from_bytes(&key.public_bytes()).unwrap();
    // The original verifies on both sides.
    let loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    assert!(loader.verify(&signed, None).is_ok());
    assert!(public.verify(&mut Cursor::new(&signed), None).is_ok());

    // A foreign 28 kB signature section at the end, and a copy of the real
    // one in the middle: the hashes skip both, so the files would share the
    // original's identity. Refused.
    let foreign = custom_section("signature", &vec![0x5a; 28 * 1024]);
    let at_end = [signed.as_slice(), &foreign].concat();
    let first = custom_section("signature", b"x");
    let in_middle = {
        // After the 8-byte header and the first (signature) section: id 0,
        // a LEB128 size, the content.
        let (mut size, mut shift, mut at) = (0usize, 0, 9);
        loop {
            let byte = signed[at];
            size |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            at += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let cut = at + size;
        [&signed[..cut], &first, &signed[cut..]].concat()
    };
    for (what, bytes) in [("at the end", &at_end), ("in the middle", &in_middle)] {
        let error = loader.verify(bytes, None).unwrap_err();
        assert!(
            error.to_string().contains("signature sections"),
            "{what}: {error}"
        );
        assert!(
            public.verify(&mut Cursor::new(bytes), None).is_err(),
            "{what}: wasmsign2 refuses it too"
        );
    }
    // With a detached signature beside it, the same.
    let detached = bundle::sign_detached(unsigned(), None, &key, "ops").unwrap();
    let unsigned_plus = [unsigned(), foreign.as_slice()].concat();
    assert!(loader.verify(&unsigned_plus, Some(&detached)).is_err());
}

#[test]
fn several_signers_and_every_refusal_agree_with_wasmsign2_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let ops = KeyPair::generate().unwrap();
    let sec = KeyPair::generate().unwrap();
    let both_trusted = || {
        trust(
            dir.path(),
            2,
            vec![trusted("ops", &ops), trusted("sec", &sec)],
        )
    };

    // We sign with two keys; wasmsign2 verifies each signer, and needs both
    // for a "verify all of these keys" check.
    let ours = bundle::sign_embedded(
        &bundle::sign_embedded(unsigned(), &ops, "ops").unwrap(),
        &sec,
        "sec",
    )
    .unwrap();
    let ops_pk = wasmsign2::PublicKey::from_bytes(&ops.public_bytes()).unwrap();
    let sec_pk = wasmsign2::PublicKey::from_bytes(&sec.public_bytes()).unwrap();
    for pk in [&ops_pk, &sec_pk] {
        pk.verify(&mut Cursor::new(&ours), None)
            .expect("wasmsign2 verifies each of our signers");
    }
    let mut set = wasmsign2::PublicKeySet::empty();
    set.insert(ops_pk.clone()).unwrap();
    set.insert(sec_pk.clone()).unwrap();
    let verified = set
        .verify(&mut Cursor::new(&ours), None)
        .expect("wasmsign2 verifies the set");
    assert_eq!(verified.len(), 2, "both signers");

    // wasmsign2 signs with two keys; we accept it at threshold 2.
    let module = wasmsign2::Module::deserialize(&mut Cursor::new(unsigned())).unwrap();
    let (module, _) = wasmsign2::SecretKey::from_bytes(&ops.to_bytes())
        .unwrap()
        .sign_multi(module, Some(&b"ops".to_vec()), false, false)
        .unwrap();
    let (module, _) = wasmsign2::SecretKey::from_bytes(&sec.to_bytes())
        .unwrap()
        .sign_multi(module, Some(&b"sec".to_vec()), false, false)
        .unwrap();
    let mut theirs = Vec::new();
    module.serialize(&mut theirs).unwrap();
    let loader = BundleLoader::new(both_trusted());
    let verified = loader
        .verify(&theirs, None)
        .expect("we accept wasmsign2's two signers");
    assert_eq!(verified.signers.len(), 2);

    // Every refusal, on either side's signing: a changed byte, a stranger's
    // key, one signer short.
    let stranger = KeyPair::generate().unwrap();
    for (who, signed) in [("ours", &ours), ("theirs", &theirs)] {
        let mut changed = signed.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(
            loader.verify(&changed, None).is_err(),
            "{who}: changed byte"
        );
        assert!(
            ops_pk.verify(&mut Cursor::new(&changed), None).is_err(),
            "{who}: wasmsign2 on a changed byte"
        );
        let stranger_pk = wasmsign2::PublicKey::from_bytes(&stranger.public_bytes()).unwrap();
        assert!(stranger_pk.verify(&mut Cursor::new(signed), None).is_err());
        let strangers = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &stranger)]));
        assert!(strangers.verify(signed, None).is_err(), "{who}: stranger");
    }
    let one = bundle::sign_embedded(unsigned(), &ops, "ops").unwrap();
    assert!(matches!(
        loader.verify(&one, None),
        Err(BundleError::BelowThreshold { valid: 1, .. })
    ));
}

#[test]
fn one_key_under_two_ids_is_one_signer() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    // In a trust-store file: refused at load.
    let text = format!(
        "threshold = 2\n[[keys]]\nid = \"a\"\npublic_key = \"{0}\"\n[[keys]]\nid = \"b\"\npublic_key = \"{0}\"\n",
        key.public_hex()
    );
    let error = TrustStore::from_toml(&text, Path::new("/t/trust.toml"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("same public key"), "{error}");
    // Built in code: the two ids count once.
    let signed = bundle::sign_embedded(
        &bundle::sign_embedded(unsigned(), &key, "a").unwrap(),
        &key,
        "b",
    )
    .unwrap();
    let loader = BundleLoader::new(trust(
        dir.path(),
        2,
        vec![trusted("a", &key), trusted("b", &key)],
    ));
    assert!(matches!(
        loader.verify(&signed, None),
        Err(BundleError::BelowThreshold { valid: 1, .. })
    ));
}
