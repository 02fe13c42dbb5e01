//! Every refusal, each before anything is compiled or instantiated:
//! unsigned, changed, unknown or invalid keys, too few signers, outside the
//! validity window, a rollback; and detached signatures.

use std::time::{Duration, SystemTime};

use slicegate::bundle::{
    self, BuildOptions, BundleError, BundleLoader, BundleName, KeyPair, Revision, TrustedKey,
};

use crate::support::{options, refused, sources, trust, trusted, unsigned};

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
