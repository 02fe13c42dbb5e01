//! The http-client examples against a served bundle, a reload picked up, a
//! kill -9 and a write cut short, and what the log then holds.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use slicegate::bundle::KeyPair;

use crate::support::{
    Server, build, decide_sh, publish_signed, repo, request_file, text, verify_log,
};

#[test]
fn the_http_clients_get_decisions_a_reload_is_picked_up_and_a_killed_server_leaves_a_log_that_verifies()
 {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = KeyPair::generate().unwrap();
    publish_signed(dir, &key);
    let allowed = request_file(dir, "placement.json");
    let denied = request_file(dir, "huawei-core.json");

    let server = Server::start(dir);
    the_clients_decide(&server, &allowed, &denied);
    a_published_revision_is_picked_up(dir, &key, &server, &allowed);

    // kill -9: the log verifies up to its last record.
    server.kill();
    let output = verify_log(dir, &[]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(
        text(&output.stdout).contains("4 record(s), chain intact"),
        "{}",
        text(&output.stdout)
    );

    a_write_cut_short_is_cut_off_at_the_restart(dir, &denied);
    the_log_is_masked_and_a_changed_record_is_found(dir);
}

/// The Python client (one allowed and one denied placement in a batch) and
/// the shell client (one allowed) get their decisions from revision 1.
fn the_clients_decide(server: &Server, allowed: &Path, denied: &Path) {
    // The Python client: a batch with one allowed and one denied placement.
    let output = Command::new("python3")
        .arg(repo().join("host-examples/http-client/decide.py"))
        .args(["--url", &server.url])
        .arg(allowed)
        .arg(denied)
        .output()
        .unwrap();
    let out = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{out}{}",
        text(&output.stderr)
    );
    assert!(out.contains("ALLOW"), "{out}");
    assert!(out.contains("(bundle revision 1"), "{out}");
    assert!(out.contains("forbid uk-hrv/out-of-core"), "{out}");

    // The shell client: one allowed placement.
    let output = decide_sh(&server.url, allowed);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("\"allowed\":true"));
}

/// Revision 2 published (written, then renamed over): the server picks it
/// up and decides with it.
fn a_published_revision_is_picked_up(dir: &Path, key: &KeyPair, server: &Server, allowed: &Path) {
    let next = dir.join("lib.wasm.next");
    std::fs::write(&next, build(key, 2)).unwrap();
    std::fs::rename(&next, dir.join("lib.wasm")).unwrap();
    let started = Instant::now();
    while server.get("/v1/bundle")["revision"] != 2 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "revision 2 was not loaded"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = Command::new("python3")
        .arg(repo().join("host-examples/http-client/decide.py"))
        .args(["--url", &server.url])
        .arg(allowed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("(bundle revision 2"));
}

/// A crash in the middle of a write (half a record at the end): an error
/// for `log verify` unless asked to accept it, cut off by a restart, after
/// which the chain goes on.
fn a_write_cut_short_is_cut_off_at_the_restart(dir: &Path, denied: &Path) {
    // A crash in the middle of a write: half a record at the end.
    let log = dir.join("decisions.jsonl");
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(b"{\"seq\":5,\"time\":\"2026-11-26T")
        .unwrap();
    drop(file);
    // A cut end is an error by default; accepted on request.
    let output = verify_log(dir, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("ends in an incomplete line"));
    assert!(
        verify_log(dir, &["--allow-incomplete-tail"])
            .status
            .success()
    );

    // Restarted on the same log: the tail is cut off, the chain goes on.
    let server = Server::start(dir);
    let output = decide_sh(&server.url, denied);
    assert_eq!(output.status.code(), Some(2));
    let stderr = server.kill();
    assert!(stderr.contains("incomplete record"), "{stderr}");
    let output = verify_log(dir, &[]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("5 record(s), chain intact"));
}

/// The log masks what it was told to, and a changed record is found.
fn the_log_is_masked_and_a_changed_record_is_found(dir: &Path) {
    let log = dir.join("decisions.jsonl");
    let content = std::fs::read_to_string(&log).unwrap();
    assert!(content.contains("\"softwareVersion\":\"<masked>\""));
    assert!(!content.contains("V100R021"));
    let changed = content.replacen("\"allowed\":false", "\"allowed\":true", 1);
    std::fs::write(&log, changed).unwrap();
    let output = verify_log(dir, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("broken at line"),
        "{}",
        text(&output.stdout)
    );
}
