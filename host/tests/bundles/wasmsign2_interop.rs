//! Interoperability with `wasmsign2` both ways: embedded and detached
//! signatures, several signers, and every refusal alike.

use std::io::Cursor;

use slicegate::bundle::{self, BundleError, BundleLoader, KeyPair};

use crate::support::{trust, trusted, unsigned};

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
