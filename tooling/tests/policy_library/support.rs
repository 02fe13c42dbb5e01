//! Shared by the policy-library tests: the library's folder and sources,
//! a decider on the signed library bundle, and every case run once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, KeyPair, Revision, TrustStore,
};
use slicegate::{Decider, PolicySources};
use slicegate_tooling::cases::{CaseFile, CaseResult, Runner};

pub fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

pub fn sources() -> &'static PolicySources {
    static SOURCES: OnceLock<PolicySources> = OnceLock::new();
    SOURCES.get_or_init(|| PolicySources::from_dir(&policies()).expect("policies read"))
}

/// A decider on the signed, verified, pre-initialised library bundle.
pub fn shipped_decider() -> Decider {
    let options = BuildOptions {
        name: BundleName("policy-library-test".to_string()),
        revision: Revision(1),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    let unsigned = bundle::build(sources(), &options).expect("the library builds");
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(&unsigned, &key, "test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trust = TrustStore::single_key("test", key.public(), dir.path().join("state.json"));
    let loaded = BundleLoader::new(trust)
        .load(&signed, None)
        .expect("the signed library loads");
    loaded.decider().expect("instance").permit_what_if(true)
}

pub fn run_all() -> &'static (Vec<CaseResult>, Vec<String>) {
    static RUN: OnceLock<(Vec<CaseResult>, Vec<String>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let files = CaseFile::discover(&policies()).expect("case files read");
        let mut decider = shipped_decider();
        let ids = decider.info().expect("info").policy_ids;
        let mut runner = Runner::new(&mut decider, Some(sources()), &files).expect("fixtures");
        let results = files.iter().flat_map(|f| runner.run_file(f)).collect();
        (results, ids)
    })
}
