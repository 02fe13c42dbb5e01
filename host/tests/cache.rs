//! The compiled-code cache runs only what this host compiled from the
//! verified bytes: another bundle's code swapped in, a changed byte, a
//! planted or shared folder and a key others can read all make it compile
//! afresh, and the decision is the verified bundle's.

use std::path::{Path, PathBuf};

use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, CompileCache, KeyPair, Revision, TrustStore,
};
use slicegate::{CedarRequest, PolicyIdMode, PolicySources, SourceFile};

/// A one-policy set: `permit` (allow) or `forbid` everything.
fn sources(effect: &str) -> PolicySources {
    PolicySources {
        policies: vec![SourceFile {
            name: "p.cedar".to_string(),
            text: format!(
                "@id(\"everything\")\n{effect} (principal, action, resource);\n{}",
                if effect == "forbid" {
                    "@id(\"base\")\npermit (principal, action, resource);\n"
                } else {
                    ""
                }
            ),
        }],
        schema: None,
        entities: Vec::new(),
        policy_ids: PolicyIdMode::Annotation,
        strict: false,
        bundle_name: String::new(),
        bundle_revision: 0,
    }
}

/// A signed bundle (its name tells the two apart) and the trust store for it.
fn signed(name: &str, effect: &str, key: &KeyPair) -> Vec<u8> {
    let options = BuildOptions {
        name: BundleName(name.to_string()),
        revision: Revision(1),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    let unsigned = bundle::build(&sources(effect), &options).expect("builds");
    bundle::sign_embedded(&unsigned, key, "k").expect("signs")
}

fn request() -> CedarRequest {
    serde_json::from_value(serde_json::json!({
        "principal": {"type": "User", "id": "alice"},
        "action": {"type": "Action", "id": "view"},
        "resource": {"type": "Photo", "id": "1"}
    }))
    .unwrap()
}

/// Loads `bundle` through a fresh loader on `cache`: (cache hit, allowed).
fn load(bundle: &[u8], key: &KeyPair, cache: &Path, state: &Path) -> (bool, bool) {
    let trust = TrustStore::single_key("k", key.public(), state.join("state.json"));
    let loaded = BundleLoader::new(trust)
        .with_cache(CompileCache::new(cache))
        .load(bundle, None)
        .expect("the signed bundle loads");
    let mut decider = loaded.decider().expect("an instance");
    (loaded.cache_hit, decider.authorize(&request()).allowed)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    found.sort();
    found
}

#[test]
fn swapped_tampered_and_planted_entries_never_run() {
    let key = KeyPair::generate().unwrap();
    let deny = signed("deny-everything", "forbid", &key);
    let allow = signed("allow-everything", "permit", &key);
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");

    // First loads compile and store; second loads are hits, same answers.
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    let deny_entry = entries(&cache).pop().expect("an entry");
    assert_eq!(load(&allow, &key, &cache, work.path()), (false, true));
    let allow_entry = entries(&cache)
        .into_iter()
        .find(|p| *p != deny_entry)
        .expect("a second entry");
    assert_eq!(load(&deny, &key, &cache, work.path()), (true, false));
    assert_eq!(load(&allow, &key, &cache, work.path()), (true, true));

    // The swap: the allowing bundle's compiled code under the denying
    // bundle's name. Not run: recompiled, and the verified bundle denies.
    std::fs::copy(&allow_entry, &deny_entry).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    // The entry was replaced by this host's own compilation: a hit again.
    assert_eq!(load(&deny, &key, &cache, work.path()), (true, false));

    // The tamper: one byte of code changed (no crash, no run).
    let mut bytes = std::fs::read(&deny_entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&deny_entry, &bytes).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    // Truncated, and emptied.
    let bytes = std::fs::read(&deny_entry).unwrap();
    std::fs::write(&deny_entry, &bytes[..bytes.len() / 3]).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    std::fs::write(&deny_entry, b"").unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));

    // Another host's cache (another key): its entries are not this host's.
    let other = work.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    assert_eq!(load(&allow, &key, &other, work.path()), (false, true));
    let other_entry = entries(&other).pop().unwrap();
    std::fs::copy(&other_entry, &allow_entry).unwrap();
    assert_eq!(load(&allow, &key, &cache, work.path()), (false, true));
    // And a swapped entry stays refused whichever host's key is in place.
    std::fs::copy(&allow_entry, &deny_entry).unwrap();
    std::fs::copy(other.join("key"), cache.join("key")).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
}

#[cfg(unix)]
#[test]
fn a_folder_or_key_others_can_write_or_read_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let key = KeyPair::generate().unwrap();
    let deny = signed("deny-everything", "forbid", &key);
    let work = tempfile::tempdir().unwrap();

    // A folder anyone can write (a shared temporary folder, a planted one):
    // nothing is read from it or written to it.
    let shared = work.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(load(&deny, &key, &shared, work.path()), (false, false));
    assert_eq!(load(&deny, &key, &shared, work.path()), (false, false));
    assert!(entries(&shared).is_empty());
    assert!(!shared.join("key").exists());

    // A symbolic link in place of the folder: not followed.
    let real = work.path().join("real");
    std::fs::create_dir_all(&real).unwrap();
    let link = work.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(load(&deny, &key, &link, work.path()), (false, false));
    assert!(entries(&real).is_empty());

    // A key others can read is no secret: the cache is not used.
    let cache = work.path().join("cache");
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    assert_eq!(load(&deny, &key, &cache, work.path()), (true, false));
    std::fs::set_permissions(cache.join("key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    std::fs::set_permissions(cache.join("key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (true, false));

    // An entry others can write is refused (and replaced).
    let entry = entries(&cache).pop().unwrap();
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(load(&deny, &key, &cache, work.path()), (false, false));
    assert_eq!(load(&deny, &key, &cache, work.path()), (true, false));

    // A folder of another user (only root can make one here).
    if rustix_euid() == 0 {
        let foreign = work.path().join("foreign");
        std::fs::create_dir_all(&foreign).unwrap();
        std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(load(&deny, &key, &foreign, work.path()), (false, false));
        assert!(entries(&foreign).is_empty());
    }
}

#[cfg(unix)]
fn rustix_euid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file this process just made is its effective user.
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid()
}

#[test]
fn no_cache_location_means_no_cache_not_a_shared_folder() {
    let cache = CompileCache::disabled();
    assert!(cache.dir().is_none());
    let key = KeyPair::generate().unwrap();
    let deny = signed("deny-everything", "forbid", &key);
    let work = tempfile::tempdir().unwrap();
    let trust = TrustStore::single_key("k", key.public(), work.path().join("state.json"));
    let loaded = BundleLoader::new(trust)
        .with_cache(cache)
        .load(&deny, None)
        .unwrap();
    assert!(!loaded.cache_hit);
}
