//! Shared by the bundle tests: the library's sources and build options, the
//! unsigned bundle built once, trusted keys and stores, a placement to
//! decide, and what a refusal must leave.

use std::path::Path;
use std::sync::OnceLock;

use slicegate::bundle::{
    self, BuildOptions, BundleError, BundleLoader, BundleName, KeyId, KeyPair, Revision,
    TrustStore, TrustedKey,
};
use slicegate::{PlacementRequest, PolicySources};

pub fn sources() -> PolicySources {
    PolicySources::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
        .expect("policies read")
}

pub fn options(revision: u64) -> BuildOptions {
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
pub fn unsigned() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| bundle::build(&sources(), &options(1)).expect("bundle builds"))
}

pub fn trusted(id: &str, key: &KeyPair) -> TrustedKey {
    TrustedKey {
        id: KeyId(id.to_string()),
        key: key.public(),
        not_before: None,
        not_after: None,
    }
}

pub fn trust(dir: &Path, threshold: u32, keys: Vec<TrustedKey>) -> TrustStore {
    TrustStore {
        threshold,
        keys,
        state_path: dir.join("state.json"),
    }
}

pub fn huawei_core_after_deadline() -> PlacementRequest {
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
pub fn refused(
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
