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
