//! Where the bundle comes from: a URL polled with ETags, a file with an
//! embedded or a detached signature.

use std::sync::{Arc, Mutex};

use slicegate::reload::{
    BundleSlot, BundleSource, Fetch, Fetched, ReloadOutcome, Reloader, first_load, first_load_with,
};
use slicegate_distribution::{Transport, fetcher_for};

use crate::support::{bundles, loader};

#[test]
fn a_url_source_is_polled_with_etags_and_refusals_keep_the_last_good_bundle() {
    // A tiny HTTP server with ETags, serving revision 1.
    let current: Current = Arc::new(Mutex::new((bundles().rev1.clone(), "\"r1\"".to_string())));
    let log = Arc::new(Mutex::new(Vec::<u16>::new()));
    let url = serve_with_etags(current.clone(), log.clone());
    let dir = tempfile::tempdir().unwrap();
    let source: BundleSource = url.parse().unwrap();
    let plain = Transport {
        plain_http: true,
        ca_file: None,
    };
    let fetcher = fetcher_for(&source, &plain).unwrap().unwrap();
    let reloader = Reloader::new(
        source,
        loader(dir.path()),
        Arc::new(BundleSlot::empty()),
        true,
    )
    .with_fetcher(fetcher);
    let (mut reloader, first) = first_load_with(reloader);
    assert_eq!(first, Ok(1));
    assert_eq!(reloader.check(), ReloadOutcome::Unchanged);
    assert_eq!(*log.lock().unwrap(), [200, 304]);

    *current.lock().unwrap() = (b"not a bundle".to_vec(), "\"bad\"".to_string());
    assert!(matches!(reloader.check(), ReloadOutcome::Refused(_)));
    assert_eq!(
        reloader
            .slot()
            .current()
            .unwrap()
            .bundle()
            .manifest
            .revision
            .0,
        1
    );
    *current.lock().unwrap() = (bundles().rev2.clone(), "\"r2\"".to_string());
    assert_eq!(
        reloader.check(),
        ReloadOutcome::Replaced {
            from: Some(1),
            to: 2
        }
    );
    assert_eq!(reloader.slot().status().failures, 1);

    // Plain HTTP only when asked for, and no scheme but file, http(s) and
    // oci: said at once, not at the first poll.
    let http: BundleSource = "http://bundles.example/b.wasm".parse().unwrap();
    let refused = fetcher_for(&http, &Transport::default()).err().unwrap();
    assert!(refused.to_string().contains("--plain-http"), "{refused}");
    let ftp: Result<BundleSource, String> = "ftp://bundles.example/b.wasm".parse();
    assert!(ftp.unwrap_err().contains("not a bundle source"));
    // A remote source without a fetcher is refused at every check.
    let slot = Arc::new(BundleSlot::empty());
    let mut unfetched = Reloader::new(http, loader(dir.path()), slot.clone(), false);
    let ReloadOutcome::Refused(message) = unfetched.check() else {
        panic!("a remote source without a fetcher was not refused");
    };
    assert!(message.contains("no fetcher"), "{message}");
    // Nothing listening: refused with the address, the slot stays empty.
    let source: BundleSource = "http://127.0.0.1:9/none.wasm".parse().unwrap();
    let fetcher = fetcher_for(&source, &plain).unwrap().unwrap();
    let mut nowhere =
        Reloader::new(source, loader(dir.path()), slot.clone(), false).with_fetcher(fetcher);
    let ReloadOutcome::Refused(message) = nowhere.check() else {
        panic!("an unreachable source was not refused");
    };
    assert!(message.contains("127.0.0.1:9"), "{message}");
    assert!(slot.current().is_none());
}

/// The bytes served and their ETag.
type Current = Arc<Mutex<(Vec<u8>, String)>>;

/// A tiny HTTP server: serves the current bytes with an ETag, answers 304
/// to a matching If-None-Match, logs the status of every answer. Returns
/// the URL of the bundle.
fn serve_with_etags(current: Current, log: Arc<Mutex<Vec<u16>>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/bundle.wasm", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut if_none_match = None;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("if-none-match:") {
                    if_none_match = Some(v.trim().to_string());
                }
            }
            let (bytes, etag) = current.lock().unwrap().clone();
            if if_none_match.as_deref() == Some(etag.as_str()) {
                log.lock().unwrap().push(304);
                let _ = stream.write_all(b"HTTP/1.1 304 Not Modified\r\nconnection: close\r\n\r\n");
            } else {
                log.lock().unwrap().push(200);
                let head = format!(
                    "HTTP/1.1 200 OK\r\netag: {etag}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    bytes.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&bytes);
            }
        }
    });
    url
}

#[test]
fn a_file_source_takes_a_detached_signature_only_when_none_is_embedded() {
    // Unsigned bundle, signature beside it: loaded.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1_unsigned).unwrap();
    std::fs::write(dir.path().join("bundle.wasm.sig"), &bundles().rev1_detached).unwrap();
    let (_, first) = first_load(&BundleSource::File(path.clone()), loader(dir.path()), false);
    assert_eq!(first, Ok(1));

    // Embedded signature with a stale, unrelated file beside it: the
    // embedded one counts.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1).unwrap();
    std::fs::write(dir.path().join("bundle.wasm.sig"), b"stale").unwrap();
    let (_, first) = first_load(&BundleSource::File(path), loader(dir.path()), false);
    assert_eq!(first, Ok(1));

    // Unsigned and nothing beside it: refused.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.wasm");
    std::fs::write(&path, &bundles().rev1_unsigned).unwrap();
    let (reloader, first) = first_load(&BundleSource::File(path), loader(dir.path()), false);
    assert!(first.unwrap_err().contains("unsigned"));
    assert!(reloader.slot().current().is_none());
}

/// A remote source's further signatures (an OCI registry's other signature
/// referrers) are tried in turn: a bogus one listed first does not block a
/// bundle a valid one signs, and none that verifies is still a refusal.
#[test]
fn the_first_detached_signature_that_verifies_is_taken_and_none_is_a_refusal() {
    struct Fixed(Option<Fetched>);
    impl Fetch for Fixed {
        fn fetch(&mut self) -> Result<Option<Fetched>, String> {
            Ok(self.0.take())
        }
    }
    let fetched = |alternatives: Vec<Vec<u8>>| Fetched {
        bytes: bundles().rev1_unsigned.clone(),
        detached: Some(b"bogus".to_vec()),
        alternatives,
        origin: None,
    };
    let source: BundleSource = "oci://registry.example/lib:stable".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let reloader = |fetched: Fetched| {
        Reloader::new(
            source.clone(),
            loader(dir.path()),
            Arc::new(BundleSlot::empty()),
            false,
        )
        .with_fetcher(Box::new(Fixed(Some(fetched))))
    };
    let with_valid = fetched(vec![
        b"also bogus".to_vec(),
        bundles().rev1_detached.clone(),
    ]);
    let (_, first) = first_load_with(reloader(with_valid));
    assert_eq!(first, Ok(1));
    let without = fetched(vec![b"also bogus".to_vec()]);
    let (loaded, first) = first_load_with(reloader(without));
    assert!(first.is_err());
    assert!(loaded.slot().current().is_none());
}
