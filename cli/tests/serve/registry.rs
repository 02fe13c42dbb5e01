//! Bundles through a real OCI registry (Debian's docker-registry on
//! loopback): `push`, `pull`, and `serve --bundle oci://…` following a tag —
//! a newer revision with a detached signature attached as a referrer is
//! served; a tampered blob and a lower revision under the same tag are
//! refused while the last good bundle keeps serving; TLS with a private CA.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slicegate::bundle::{self, KeyPair};

use slicegate_distribution::oci_digest;
use slicegate_distribution::testing::Registry;

use crate::support::*;

/// `slicegate serve` on `reference` with `extra` arguments.
fn serve(dir: &Path, reference: &str, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "100ms",
        ])
        .args(["--max-backoff", "200ms", "--bundle", reference])
        .arg("--trust")
        .arg(dir.join("trust.toml"))
        .args(extra)
        .env("TMPDIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = listening_url(child.stdout.take().unwrap());
    Server { child, url }
}

/// Waits until `/v1/bundle` satisfies `done` (at most 30 s).
fn until(
    server: &Server,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let info = server.get("/v1/bundle");
        if done(&info) {
            return info;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: {info:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn push(file: &Path, reference: &str, extra: &[&str]) -> serde_json::Value {
    let out = slicegate(
        &[
            &[
                "push",
                file.to_str().unwrap(),
                reference,
                "--format",
                "json",
            ],
            extra,
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn serve_follows_a_tag_and_refuses_tampered_and_older_bundles() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    write_trust(&dir.path().join("trust.toml"), &key);
    let stable = registry.reference("slicegate/library:stable");

    // Revision 1, signature embedded.
    let rev1 = dir.path().join("rev1.wasm");
    std::fs::write(&rev1, build(&key, 1)).unwrap();
    let first = push(&rev1, &stable, &["--plain-http"]);
    assert_eq!(first["revision"], 1);
    assert_eq!(first["signatureDigest"], serde_json::Value::Null);

    // A "signature" that is not one is not attached.
    let garbage = dir.path().join("garbage.sig");
    std::fs::write(&garbage, b"not a signature").unwrap();
    let refused = slicegate(&[
        "push",
        rev1.to_str().unwrap(),
        &stable,
        "--plain-http",
        "--signature",
        garbage.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("is not one"),
        "{}",
        text(&refused.stderr)
    );

    // Without --plain-http, a plain registry is not reached.
    let refused = slicegate(&["push", rev1.to_str().unwrap(), &stable]);
    assert_eq!(refused.status.code(), Some(1));

    let server = serve(dir.path(), &stable, &["--plain-http"]);
    let info = until(&server, "revision 1", |i| i["revision"] == 1);
    assert_eq!(info["origin"]["digest"], first["digest"]);
    assert_eq!(info["origin"]["reference"], stable);
    assert_eq!(info["plainHttp"], true);

    // Revision 2 with a detached signature, attached as a referrer.
    let unsigned = build_unsigned(2);
    let rev2 = dir.path().join("rev2.wasm");
    std::fs::write(&rev2, &unsigned).unwrap();
    std::fs::write(
        dir.path().join("rev2.wasm.sig"),
        bundle::sign_detached(&unsigned, None, &key, "ops").unwrap(),
    )
    .unwrap();
    let second = push(&rev2, &stable, &["--plain-http"]);
    assert!(second["signatureDigest"].is_string(), "{second}");
    let info = until(&server, "revision 2", |i| i["revision"] == 2);
    assert_eq!(info["origin"]["digest"], second["digest"]);

    // Revision 3 with a tampered layer: staged under another tag, its blob
    // changed in the registry's storage, then tagged `stable`.
    let rev3 = dir.path().join("rev3.wasm");
    let rev3_bytes = build(&key, 3);
    std::fs::write(&rev3, &rev3_bytes).unwrap();
    push(
        &rev3,
        &registry.reference("slicegate/library:staging"),
        &["--plain-http"],
    );
    let blob = registry.blob_path(&oci_digest(&rev3_bytes));
    let mut evil = rev3_bytes.clone();
    let last = evil.len() - 1;
    evil[last] ^= 1;
    std::fs::write(&blob, &evil).unwrap();
    let third = push(&rev3, &stable, &["--plain-http"]);
    let info = until(&server, "the tampered blob refused", |i| {
        i["reload"]["lastFailure"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Invalid digest"))
    });
    assert_eq!(info["revision"], 2, "{info:#}");
    assert_ne!(info["origin"]["digest"], third["digest"]);

    // Revision 1 again under the tag: not newer, refused.
    push(&rev1, &stable, &["--plain-http"]);
    let info = until(&server, "the lower revision refused", |i| {
        i["reload"]["lastFailure"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not newer"))
    });
    assert_eq!(info["revision"], 2);
    assert_eq!(info["origin"]["digest"], second["digest"]);

    // `pull --trust` refuses revision 1, as the tag now names it: the
    // service accepted revision 2 (recorded beside the trust store), so it
    // is a rollback, and nothing is written. Without --trust it is pulled.
    let pulled = dir.path().join("pulled.wasm");
    let trusted = ["--trust", dir.path().join("trust.toml").to_str().unwrap()].map(str::to_string);
    let pull = |reference: &str, extra: &[String]| {
        let mut args = vec![
            "pull",
            reference,
            "-o",
            pulled.to_str().unwrap(),
            "--plain-http",
        ];
        args.extend(extra.iter().map(String::as_str));
        slicegate(&args)
    };
    let out = pull(&stable, &trusted);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("already accepted"),
        "{}",
        text(&out.stderr)
    );
    assert!(!pulled.exists());
    let out = pull(&stable, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&rev1).unwrap()
    );
    let pinned = registry.reference(&format!(
        "slicegate/library@{}",
        second["digest"].as_str().unwrap()
    ));
    let out = slicegate(&[
        "pull",
        &pinned,
        "-o",
        pulled.to_str().unwrap(),
        "--plain-http",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&pulled).unwrap(), unsigned);
    assert_eq!(
        std::fs::read(dir.path().join("pulled.wasm.sig")).unwrap(),
        std::fs::read(dir.path().join("rev2.wasm.sig")).unwrap()
    );
    // A pull whose bundle fails verification writes nothing.
    let other = KeyPair::generate().unwrap();
    write_trust(&dir.path().join("other.toml"), &other);
    let kept = dir.path().join("kept.wasm");
    let out = slicegate(&[
        "pull",
        &stable,
        "-o",
        kept.to_str().unwrap(),
        "--plain-http",
        "--trust",
        dir.path().join("other.toml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("nothing written"),
        "{}",
        text(&out.stderr)
    );
    assert!(!kept.exists());
}

#[test]
fn serve_and_push_over_tls_with_a_private_ca() {
    let registry = Registry::start_tls();
    let ca = registry.ca_file().unwrap().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    write_trust(&dir.path().join("trust.toml"), &key);
    let reference = registry.reference("slicegate/library:v1");
    let rev1 = dir.path().join("rev1.wasm");
    std::fs::write(&rev1, build(&key, 1)).unwrap();
    // The private CA is trusted only when named.
    let untrusted = slicegate(&["push", rev1.to_str().unwrap(), &reference]);
    assert_eq!(untrusted.status.code(), Some(1));
    let pushed = push(&rev1, &reference, &["--ca-file", &ca]);
    let server = serve(dir.path(), &reference, &["--ca-file", &ca]);
    let info = until(&server, "revision 1 over TLS", |i| i["revision"] == 1);
    assert_eq!(info["origin"]["digest"], pushed["digest"]);
    assert_eq!(info["origin"]["plainHttp"], false);
    assert_eq!(info["plainHttp"], false);
    // Without the CA the service has nothing to serve.
    let out = Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--bundle", &reference])
        .arg("--trust")
        .arg(dir.path().join("trust.toml"))
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}
