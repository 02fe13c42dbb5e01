//! Starting and stopping `slicegate serve`: bad arguments refused, and
//! every stop but a crash closing the decision log.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use slicegate::bundle::KeyPair;

use crate::support::{
    Server, decide_sh, listening_url, publish_signed, request_file, slicegate, text, verify_log,
    write_log_key, write_trust,
};

#[test]
fn serve_refuses_bad_arguments_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.toml");
    let key = KeyPair::generate().unwrap();
    write_trust(&trust, &key);
    // Plain HTTP only when asked for; no scheme but file, http(s) and oci.
    for (bundle, says) in [
        ("http://bundles.example/lib.wasm", "--plain-http"),
        ("ftp://bundles.example/lib.wasm", "not a bundle source"),
        ("oci://library:v1", "oci://HOST[:PORT]/REPO:TAG"),
    ] {
        let output = slicegate(&[
            "serve",
            "--bundle",
            bundle,
            "--trust",
            trust.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(1), "{bundle}");
        assert!(
            text(&output.stderr).contains(says),
            "{bundle}: {}",
            text(&output.stderr)
        );
    }
    let missing = dir.path().join("missing.wasm");
    let output = slicegate(&[
        "serve",
        "--bundle",
        missing.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("missing.wasm"),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stderr).contains("--wait-for-bundle"));
}

/// Every way a service stops once it has written its start checkpoint ends
/// the log with a final one, and a start that cannot even listen writes
/// nothing: a log closed cleanly is never left open for records to be
/// added and adopted as a crash's.
#[test]
fn every_stop_but_a_crash_closes_the_decision_log_and_a_failed_start_leaves_it_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = KeyPair::generate().unwrap();
    publish_signed(dir, &key);
    write_log_key(dir);
    let log = dir.join("decisions.jsonl");
    let key_path = dir.join("log-1.key");
    let key_args = ["--log-key", key_path.to_str().unwrap()];
    let pubkey = dir.join("log-1.pub");

    every_ending_signal_closes_the_log(dir, &key_args);
    closed_pipes_still_close_the_log(dir, &key_args);
    let closed = std::fs::read(&log).unwrap();
    a_taken_port_leaves_the_log_untouched(dir, &key_args, &closed);

    // A start that fails after the log's start checkpoint (the bundle is
    // missing) closes it again.
    let output = slicegate(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bundle",
        dir.join("missing.wasm").to_str().unwrap(),
        "--trust",
        dir.join("trust.toml").to_str().unwrap(),
        "--decision-log",
        log.to_str().unwrap(),
        key_args[0],
        key_args[1],
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(last_event(&log), "final");
    let output = verify_log(dir, &["--key", pubkey.to_str().unwrap()]);
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("closed by its writer"), "{out}");
    assert!(!out.contains("adopted"), "{out}");
}

/// The event of the log's last line when it is a checkpoint.
fn last_event(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    last.pointer("/checkpoint/event")
        .and_then(|e| e.as_str())
        .unwrap_or("not a checkpoint")
        .to_string()
}

/// Every signal that would end the process stops the service as SIGTERM
/// does.
fn every_ending_signal_closes_the_log(dir: &Path, key_args: &[&str]) {
    let log = dir.join("decisions.jsonl");
    for signal in [
        "-HUP", "-QUIT", "-USR1", "-USR2", "-ALRM", "-XFSZ", "-16", "-34", "-64",
    ] {
        let mut server = Server::start_with(dir, key_args);
        let status = Command::new("kill")
            .args([signal, &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(server.child.wait().unwrap().success(), "{signal}");
        let mut stderr = String::new();
        std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert!(
            stderr.contains("closed with a final checkpoint"),
            "{signal}: {stderr}"
        );
        assert_eq!(last_event(&log), "final", "{signal}");
    }
}

/// Its stderr closed from the start and its stdout after the first line (a
/// log shipper that died): it keeps serving, and still closes the log when
/// it stops.
fn closed_pipes_still_close_the_log(dir: &Path, key_args: &[&str]) {
    let log = dir.join("decisions.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            "100ms",
        ])
        .arg("--bundle")
        .arg(dir.join("lib.wasm"))
        .arg("--trust")
        .arg(dir.join("trust.toml"))
        .arg("--decision-log")
        .arg(&log)
        .args(key_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let url = listening_url(child.stdout.take().unwrap());
    let denied = request_file(dir, "huawei-core.json");
    let answer = decide_sh(&url, &denied);
    assert_eq!(answer.status.code(), Some(2));
    // A refused reload makes it warn on the closed stderr: it keeps
    // serving.
    let good = std::fs::read(dir.join("lib.wasm")).unwrap();
    std::fs::write(dir.join("lib.wasm"), b"not a bundle").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let answer = decide_sh(&url, &denied);
    assert_eq!(answer.status.code(), Some(2), "still serving");
    std::fs::write(dir.join("lib.wasm"), good).unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    assert_eq!(last_event(&log), "final", "closed pipes");
}

/// A port already taken: refused before the log (which holds `closed`) is
/// opened.
fn a_taken_port_leaves_the_log_untouched(dir: &Path, key_args: &[&str], closed: &[u8]) {
    let log = dir.join("decisions.jsonl");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let output = slicegate(&[
        "serve",
        "--listen",
        &port,
        "--bundle",
        dir.join("lib.wasm").to_str().unwrap(),
        "--trust",
        dir.join("trust.toml").to_str().unwrap(),
        "--decision-log",
        log.to_str().unwrap(),
        key_args[0],
        key_args[1],
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains(&port),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(std::fs::read(&log).unwrap(), closed, "the log was touched");
}
