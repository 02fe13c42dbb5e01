//! Bundles and signatures, and trust stores: flipped, cut, inserted and
//! random bytes are an error, never a panic, and anything accepted is the
//! signed content; any trust store text is a store or an error.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, KeyPair, Revision, TrustStore,
};
use slicegate::{PolicyIdMode, PolicySources, SourceFile};

use crate::support::{apply, config, mutation};

/// A small signed bundle, its key, and its identity.
fn signed_bundle() -> &'static (Vec<u8>, KeyPair, String) {
    static BUNDLE: OnceLock<(Vec<u8>, KeyPair, String)> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let sources = PolicySources {
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
        };
        let options = BuildOptions {
            name: BundleName("fuzz".to_string()),
            revision: Revision(1),
            created_at: "2026-01-01T00:00:00Z".to_string(),
            not_before: None,
            not_after: None,
            tests: None,
        };
        let key = KeyPair::generate().unwrap();
        let signed =
            bundle::sign_embedded(&bundle::build(&sources, &options).unwrap(), &key, "k").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let loader = BundleLoader::new(TrustStore::single_key(
            "k",
            key.public(),
            dir.path().join("s"),
        ));
        let sha = loader.verify(&signed, None).unwrap().sha256;
        (signed, key, sha)
    })
}

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn a_changed_bundle_is_an_error_never_a_panic_and_only_the_signed_content_is_accepted(
        m in mutation()
    ) {
        let (signed, key, sha) = signed_bundle();
        let changed = apply(signed, &m);
        let dir = tempfile::tempdir().unwrap();
        let loader = BundleLoader::new(TrustStore::single_key("k", key.public(), dir.path().join("s")));
        if let Ok(verified) = loader.verify(&changed, None) {
            prop_assert_eq!(&verified.sha256, sha, "a different content was accepted");
        }
        // The detached form too.
        let _ = loader.verify(&changed, Some(&changed));
        let _ = bundle::embedded_sources(&changed);
    }

    #[test]
    fn any_trust_store_text_is_a_store_or_an_error(
        text in "(threshold = [0-9]{1,3}\n)?(\\[\\[keys\\]\\]\nid = \"[a-z]{0,4}\"\npublic_key = \"[0-9a-f]{0,70}\"\n(not_after = \"[0-9TZ:-]{0,24}\"\n)?){0,3}[ -~\n]{0,40}"
    ) {
        if let Ok(store) = TrustStore::from_toml(&text, Path::new("/fuzz/trust.toml")) {
            prop_assert!(store.threshold >= 1);
            prop_assert!(store.keys.len() >= store.threshold as usize);
        }
    }
}
