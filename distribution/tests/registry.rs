//! Against a real registry (Debian's docker-registry on loopback): push and
//! pull, the signature as a referrer, digests checked, TLS with a private
//! CA, plain HTTP only when asked for, and the fetcher `serve` polls.

use slicegate::reload::Fetch;
use slicegate_distribution::oci::{self, BundleLabels, OciFetcher, OciRef};
use slicegate_distribution::testing::Registry;
use slicegate_distribution::url::UrlFetcher;
use slicegate_distribution::{DistributionError, Transport, oci_digest};

fn labels(revision: u64) -> BundleLabels {
    BundleLabels {
        name: "example".to_string(),
        revision,
        created_at: "2026-11-30T12:00:00Z".to_string(),
    }
}

fn plain() -> Transport {
    Transport {
        plain_http: true,
        ca_file: None,
    }
}

fn reference(text: &str) -> OciRef {
    text.parse().unwrap()
}

#[test]
fn a_bundle_and_its_signature_round_trip_by_tag_and_by_digest() {
    let registry = Registry::start();
    let to = reference(&registry.reference("slicegate/library:v1"));
    let bundle = b"\0asm bundle bytes".repeat(1000);
    let pushed = oci::push(&bundle, Some(b"signature"), &labels(3), &to, &plain()).unwrap();
    assert!(pushed.signature_digest.is_some());

    let pulled = oci::pull(&to, &plain()).unwrap();
    assert_eq!(pulled.bytes, bundle);
    assert_eq!(pulled.signatures, [b"signature".to_vec()]);
    assert_eq!(pulled.digest, pushed.digest);
    assert_eq!(pulled.annotations[oci::ANNOTATION_NAME], "example");
    assert_eq!(pulled.annotations[oci::ANNOTATION_REVISION], "3");
    assert_eq!(
        pulled.annotations[oci::ANNOTATION_CREATED],
        "2026-11-30T12:00:00Z"
    );

    let pinned = reference(&registry.reference(&format!("slicegate/library@{}", pushed.digest)));
    assert_eq!(oci::pull(&pinned, &plain()).unwrap().bytes, bundle);

    // Without a signature: none is found, and a later push under the same
    // tag replaces what the tag names.
    let newer = b"\0asm newer".to_vec();
    let second = oci::push(&newer, None, &labels(4), &to, &plain()).unwrap();
    let pulled = oci::pull(&to, &plain()).unwrap();
    assert_eq!(pulled.bytes, newer);
    assert!(pulled.signatures.is_empty());
    assert_eq!(pulled.digest, second.digest);
}

#[test]
fn tampered_blobs_and_manifests_and_wrong_digests_are_refused() {
    let registry = Registry::start();
    let to = reference(&registry.reference("slicegate/library:v1"));
    let bundle = b"\0asm the real bundle".to_vec();
    let pushed = oci::push(&bundle, Some(b"sig"), &labels(1), &to, &plain()).unwrap();

    // A digest the registry does not hold.
    let missing =
        reference(&registry.reference(&format!("slicegate/library@{}", oci_digest(b"nothing"))));
    assert!(matches!(
        oci::pull(&missing, &plain()),
        Err(DistributionError::Remote(_))
    ));

    // The layer's bytes changed in the registry's storage (same length).
    let layer = registry.blob_path(&oci_digest(&bundle));
    let mut evil = bundle.clone();
    evil[5] ^= 0xff;
    std::fs::write(&layer, &evil).unwrap();
    let error = oci::pull(&to, &plain()).unwrap_err().to_string();
    assert!(error.contains("Invalid digest"), "{error}");
    // Longer than its descriptor says: not read past the declared size.
    let mut longer = bundle.clone();
    longer.extend(std::iter::repeat_n(0u8, 1 << 20));
    std::fs::write(&layer, &longer).unwrap();
    assert!(oci::pull(&to, &plain()).is_err());
    std::fs::write(&layer, &bundle).unwrap();
    assert_eq!(oci::pull(&to, &plain()).unwrap().bytes, bundle);

    // The manifest's bytes changed (still a manifest the registry serves:
    // the bundle's name in an annotation).
    let manifest = registry.blob_path(&pushed.digest);
    let text = String::from_utf8(std::fs::read(&manifest).unwrap()).unwrap();
    assert!(text.contains("\"example\""), "{text}");
    std::fs::write(&manifest, text.replace("\"example\"", "\"exbmple\"")).unwrap();
    let error = oci::pull(&to, &plain()).unwrap_err().to_string();
    assert!(error.contains("Invalid digest"), "{error}");
}

#[test]
fn tls_with_a_private_ca_and_plain_http_only_when_asked_for() {
    let registry = Registry::start_tls();
    let to = reference(&registry.reference("slicegate/library:v1"));
    let bundle = b"\0asm over tls".to_vec();
    // The private CA is not trusted unless given.
    let untrusted = oci::push(&bundle, None, &labels(1), &to, &Transport::default());
    assert!(untrusted.is_err());
    let tls = Transport {
        plain_http: false,
        ca_file: registry.ca_file().map(Into::into),
    };
    oci::push(&bundle, None, &labels(1), &to, &tls).unwrap();
    assert_eq!(oci::pull(&to, &tls).unwrap().bytes, bundle);
    // Plain HTTP to a TLS registry fails; TLS to a plain one too.
    assert!(oci::pull(&to, &plain()).is_err());
    let plain_registry = Registry::start();
    let plain_ref = reference(&plain_registry.reference("slicegate/library:v1"));
    assert!(oci::push(&bundle, None, &labels(1), &plain_ref, &tls).is_err());

    // A CA file that is not one.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let error = oci::pull(
        &to,
        &Transport {
            plain_http: false,
            ca_file: Some(bad),
        },
    )
    .unwrap_err();
    assert!(matches!(error, DistributionError::Transport(_)), "{error}");
}

#[test]
fn references_without_a_registry_a_tag_or_a_scheme_are_refused() {
    for text in [
        "registry.example/library:v1",
        "oci://library:v1",
        "oci://registry.example/library",
        "oci://library/bundle:v1",
        "oci:///library:v1",
        "oci://registry.example/library@sha256:1234",
        "oci://registry.example/Library:v1",
    ] {
        assert!(text.parse::<OciRef>().is_err(), "{text}");
    }
    for text in [
        "oci://registry.example/library:v1",
        "oci://127.0.0.1:5000/slicegate/library:v1",
        "oci://localhost:5000/library@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        let parsed: OciRef = text.parse().unwrap();
        assert_eq!(parsed.to_string(), text);
    }
    // A push names a tag.
    let pinned = reference(
        "oci://localhost:5000/library@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    assert!(oci::push(b"x", None, &labels(1), &pinned, &plain()).is_err());
    // Plain HTTP URLs only when asked for; other schemes never.
    assert!(UrlFetcher::new("http://127.0.0.1:9/b.wasm", &Transport::default()).is_err());
    assert!(UrlFetcher::new("http://127.0.0.1:9/b.wasm", &plain()).is_ok());
    assert!(UrlFetcher::new("ftp://127.0.0.1/b.wasm", &plain()).is_err());
}

#[test]
fn the_fetcher_pulls_a_new_digest_once_and_again_when_told_to_forget() {
    let registry = Registry::start();
    let to = reference(&registry.reference("slicegate/library:stable"));
    let mut fetcher = OciFetcher::new(to.clone(), &plain()).unwrap();
    // Nothing under the tag yet.
    assert!(fetcher.fetch().is_err());

    let first = oci::push(b"\0asm one", Some(b"s1"), &labels(1), &to, &plain()).unwrap();
    let fetched = fetcher.fetch().unwrap().unwrap();
    assert_eq!(fetched.bytes, b"\0asm one");
    assert_eq!(fetched.detached.as_deref(), Some(&b"s1"[..]));
    let origin = fetched.origin.unwrap();
    assert_eq!(origin["digest"], first.digest);
    assert_eq!(origin["plainHttp"], true);
    assert!(fetcher.fetch().unwrap().is_none(), "unchanged");

    let second = oci::push(b"\0asm two", None, &labels(2), &to, &plain()).unwrap();
    let fetched = fetcher.fetch().unwrap().unwrap();
    assert_eq!(fetched.bytes, b"\0asm two");
    assert_eq!(fetched.origin.unwrap()["digest"], second.digest);
    assert!(fetcher.fetch().unwrap().is_none());
    fetcher.forget();
    assert!(fetcher.fetch().unwrap().is_some());

    // A signature attached after the push is picked up (same manifest,
    // a new referrer); a later bogus one does not hide it: the newest comes
    // first, the others as alternatives the loader tries.
    let third = oci::push(b"\0asm four", None, &labels(4), &to, &plain()).unwrap();
    assert!(fetcher.fetch().unwrap().is_some());
    assert!(fetcher.fetch().unwrap().is_none());
    let again = oci::push(b"\0asm four", Some(b"good"), &labels(4), &to, &plain()).unwrap();
    assert_eq!(again.digest, third.digest);
    let fetched = fetcher.fetch().unwrap().expect("the new referrer");
    assert_eq!(fetched.detached.as_deref(), Some(&b"good"[..]));
    oci::push(b"\0asm four", Some(b"bogus"), &labels(4), &to, &plain()).unwrap();
    let fetched = fetcher.fetch().unwrap().expect("the bogus referrer");
    assert_eq!(fetched.detached.as_deref(), Some(&b"bogus"[..]));
    assert_eq!(fetched.alternatives, [b"good".to_vec()]);

    // A pinned digest never moves.
    let pinned = reference(&registry.reference(&format!("slicegate/library@{}", first.digest)));
    let mut fetcher = OciFetcher::new(pinned, &plain()).unwrap();
    assert_eq!(fetcher.fetch().unwrap().unwrap().bytes, b"\0asm one");
    oci::push(b"\0asm three", None, &labels(3), &to, &plain()).unwrap();
    assert!(fetcher.fetch().unwrap().is_none());
}

/// Without --plain-http nothing leaves over plain HTTP, even where the
/// registry sends the client: a redirect to `http://` (a TLS server that
/// redirects every request, presenting the registry's certificate) is
/// refused, and nothing connects to the plain address.
#[test]
fn a_redirect_to_plain_http_is_refused_without_plain_http() {
    let registry = Registry::start_tls();
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    plain.set_nonblocking(true).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (cert, key) = registry.cert_and_key();
    let script = format!(
        r#"
import http.server, ssl
class Redirect(http.server.BaseHTTPRequestHandler):
    def go(self):
        self.send_response(307)
        self.send_header("Location", "http://{plain}" + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_GET = do_HEAD = do_PUT = do_POST = go
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", {port}), Redirect)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("{cert}", "{key}")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#,
        plain = plain.local_addr().unwrap(),
        cert = cert.display(),
        key = key.display(),
    );
    let mut redirector = std::process::Command::new("python3")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed().as_secs() < 20,
            "the redirector did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let tls = Transport {
        plain_http: false,
        ca_file: registry.ca_file().map(Into::into),
    };
    let to = reference(&format!("oci://127.0.0.1:{port}/slicegate/library:v1"));
    let pulled = oci::pull(&to, &tls);
    let pushed = oci::push(b"\0asm", None, &labels(1), &to, &tls);
    let _ = redirector.kill();
    let _ = redirector.wait();
    for error in [pulled.unwrap_err(), pushed.unwrap_err()] {
        assert!(error.to_string().contains("plain-HTTP address"), "{error}");
    }
    assert!(
        matches!(plain.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a plain-HTTP connection was made"
    );
}
