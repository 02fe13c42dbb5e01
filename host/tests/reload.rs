//! Hot reload: what the reloader remembers about a refused bundle, and what
//! it tries again.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, KeyPair, Revision, TrustStore,
};
use slicegate::reload::{BundleSlot, BundleSource, ReloadOutcome, Reloader};
use slicegate::{PolicyIdMode, PolicySources, SourceFile};

fn sources() -> PolicySources {
    PolicySources {
        policies: vec![SourceFile {
            name: "p.cedar".to_string(),
            text: "@id(\"all\")\npermit (principal, action, resource);\n".to_string(),
        }],
        schema: None,
        entities: Vec::new(),
        policy_ids: PolicyIdMode::Annotation,
        strict: false,
        bundle_name: String::new(),
        bundle_revision: 0,
    }
}

fn signed(key: &KeyPair, revision: u64, not_before: Option<SystemTime>) -> Vec<u8> {
    let options = BuildOptions {
        name: BundleName("reload-test".to_string()),
        revision: Revision(revision),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: not_before.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
        not_after: None,
        tests: None,
    };
    let unsigned = bundle::build(&sources(), &options).unwrap();
    bundle::sign_embedded(&unsigned, key, "ops").unwrap()
}

fn publish(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A bundle published before its not-before is refused for now and picked
/// up, unchanged, once the time comes — it is not remembered as refused;
/// a bundle refused for good (a bad signature) is remembered and not
/// reported again on every poll.
#[test]
fn a_bundle_published_before_its_time_is_served_from_its_time_on() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = dir.path().join("bundle.wasm");
    let started = std::time::Instant::now();
    publish(&path, &signed(&key, 1, None));
    let build_time = started.elapsed();
    let trust = TrustStore::single_key("ops", key.public(), dir.path().join("state.json"));
    let slot = Arc::new(BundleSlot::empty());
    let source: BundleSource = path.to_string_lossy().parse().unwrap();
    let mut reloader = Reloader::new(source, BundleLoader::new(trust), slot.clone(), false);
    assert!(matches!(
        reloader.check(),
        ReloadOutcome::Replaced { to: 1, .. }
    ));

    // Revision 2, valid from a few seconds after it is built, staged early.
    let from = SystemTime::now() + build_time * 2 + Duration::from_secs(2);
    publish(&path, &signed(&key, 2, Some(from)));
    let outcome = reloader.check();
    assert!(
        matches!(&outcome, ReloadOutcome::NotYetValid(m) if m.contains("not valid before")),
        "{outcome:?}"
    );
    // Still not yet: refused again (not "unchanged"), revision 1 serves.
    assert!(matches!(reloader.check(), ReloadOutcome::NotYetValid(_)));
    assert_eq!(slot.current().unwrap().bundle().manifest.revision.0, 1);
    // The same bytes, once their time has come.
    let wait =
        from.duration_since(SystemTime::now()).unwrap_or_default() + Duration::from_millis(1100);
    std::thread::sleep(wait);
    assert_eq!(
        reloader.check(),
        ReloadOutcome::Replaced {
            from: Some(1),
            to: 2
        }
    );

    // A bundle refused for good is reported once, then left alone.
    let mut bad = signed(&key, 3, None);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    publish(&path, &bad);
    assert!(matches!(reloader.check(), ReloadOutcome::Refused(_)));
    assert_eq!(reloader.check(), ReloadOutcome::Unchanged);
    assert_eq!(slot.current().unwrap().bundle().manifest.revision.0, 2);
}
