//! Trust stores: their files checked, weak keys refused, and one key under
//! two ids counted once.

use std::path::Path;

use slicegate::bundle::{self, BundleError, BundleLoader, KeyPair, TrustStore};

use crate::support::{trust, trusted, unsigned};

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
