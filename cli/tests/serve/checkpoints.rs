//! Signed checkpoints in the decision log: a served log checkpointed and
//! closed, and a cut, rewritten or appended-to end caught.

use std::path::Path;
use std::process::Command;

use slicegate::bundle::KeyPair;

use crate::support::{
    Server, decide_sh, publish_signed, request_file, text, verify_log, write_log_key,
};

#[test]
fn signed_checkpoints_catch_a_cut_or_rewritten_end_of_the_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = KeyPair::generate().unwrap();
    publish_signed(dir, &key);
    write_log_key(dir);
    let denied = request_file(dir, "huawei-core.json");

    a_checkpointed_log_verifies(dir, &denied);
    let pubkey = dir.join("log-1.pub");
    let with_key = ["--key", pubkey.to_str().unwrap()];

    let log = dir.join("decisions.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    a_record_appended_while_stopped_is_refused(dir, &original, &lines, &with_key);
    std::fs::write(&log, &original).unwrap();
    a_cut_or_changed_end_is_caught(dir, &lines, &with_key);
    // Without the side file, a key cannot check the end: an error, not a pass.
    std::fs::write(&log, &original).unwrap();
    std::fs::remove_file(dir.join("decisions.jsonl.checkpoint")).unwrap();
    let output = verify_log(dir, &with_key);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no checkpoint beside the log"),
        "{}",
        text(&output.stderr)
    );
}

/// Three decisions served with a checkpoint every 2 lines and one at
/// shutdown: the log verifies with the log key, and (its checkpoints not
/// checked) without it.
fn a_checkpointed_log_verifies(dir: &Path, denied: &Path) {
    // A checkpoint every 2 lines, and one at shutdown.
    let server = Server::start_with(
        dir,
        &[
            "--log-key",
            dir.join("log-1.key").to_str().unwrap(),
            "--log-checkpoint-every",
            "2",
        ],
    );
    for _ in 0..3 {
        let output = decide_sh(&server.url, denied);
        assert_eq!(output.status.code(), Some(2));
    }
    let stderr = server.terminate();
    assert!(
        stderr.contains("closed with a final checkpoint"),
        "{stderr}"
    );
    let pubkey = dir.join("log-1.pub");
    let with_key = ["--key", pubkey.to_str().unwrap()];
    let output = verify_log(dir, &with_key);
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("3 record(s), chain intact; 3 checkpoint(s) signed by the log key; the side file's checkpoint matches the log"),
        "{out}"
    );
    assert!(
        out.contains("0 record(s) after the last checkpoint (unanchored"),
        "{out}"
    );
    assert!(out.contains("closed by its writer"), "{out}");
    let output = verify_log(dir, &[]);
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("3 checkpoint(s) in it, not checked (give --key)"),
        "{out}"
    );
    assert!(out.contains("not that its end was not cut"), "{out}");
}

/// A record appended while the service is stopped (chained, the side file
/// untouched): the restart refuses the log instead of signing over it, and
/// `log verify` calls it broken.
fn a_record_appended_while_stopped_is_refused(
    dir: &Path,
    original: &str,
    lines: &[&str],
    with_key: &[&str],
) {
    let log = dir.join("decisions.jsonl");
    let last = lines.last().unwrap();
    let forged = format!(
        "{{\"seq\":{},\"time\":\"2026-01-01T00:00:00Z\",\"requestId\":\"forged\",\"kind\":\"placement\",\"requestSha256\":\"{}\",\"decision\":{{\"allowed\":true,\"determining\":[]}},\"whatIf\":false,\"prev\":\"{}\"}}",
        lines.len() + 1,
        "0".repeat(64),
        slicegate::decision_log::sha256_hex(last.as_bytes())
    );
    std::fs::write(&log, format!("{original}{forged}\n")).unwrap();
    assert_eq!(verify_log(dir, with_key).status.code(), Some(1));
    let restart = Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-reload"])
        .arg("--bundle")
        .arg(dir.join("lib.wasm"))
        .arg("--trust")
        .arg(dir.join("trust.toml"))
        .arg("--decision-log")
        .arg(&log)
        .arg("--log-key")
        .arg(dir.join("log-1.key"))
        .output()
        .unwrap();
    assert!(!restart.status.success());
    assert!(
        text(&restart.stderr).contains("does not verify"),
        "{}",
        text(&restart.stderr)
    );
}

/// The log's last lines cut off, or its last record changed: caught with
/// the key, and (through the side file) the cut even without it.
fn a_cut_or_changed_end_is_caught(dir: &Path, lines: &[&str], with_key: &[&str]) {
    let log = dir.join("decisions.jsonl");
    // The last lines cut off: the chain alone still verifies, the key does not.
    std::fs::write(&log, format!("{}\n", lines[..lines.len() - 2].join("\n"))).unwrap();
    // (Even without the key, the side file beside the log shows the cut.)
    assert_eq!(verify_log(dir, &[]).status.code(), Some(1));
    let output = verify_log(dir, with_key);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("cut from its end"),
        "{}",
        text(&output.stdout)
    );
    // The last record changed.
    let last_record = lines.iter().rposition(|l| l.contains("requestId")).unwrap();
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    changed[last_record] = changed[last_record].replace("\"allowed\":false", "\"allowed\":true");
    std::fs::write(&log, format!("{}\n", changed.join("\n"))).unwrap();
    assert_eq!(verify_log(dir, with_key).status.code(), Some(1));
}
