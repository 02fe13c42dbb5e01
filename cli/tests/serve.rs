//! `slicegate serve` as a process: the http-client examples against it, a
//! reload by publishing a file, a kill -9, and `slicegate log verify` on
//! what the killed process left.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use slicegate::PolicySources;
use slicegate::bundle::{self, BuildOptions, BundleName, KeyPair, Revision};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn slicegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// A running `slicegate serve`, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Self::start_with(dir, &[])
    }

    fn start_with(dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slicegate"))
            .args(["serve", "--listen", "127.0.0.1:0", "--permit-what-if"])
            .args(["--poll-interval", "100ms"])
            .arg("--bundle")
            .arg(dir.join("lib.wasm"))
            .arg("--trust")
            .arg(dir.join("trust.toml"))
            .arg("--decision-log")
            .arg(dir.join("decisions.jsonl"))
            .args(["--log-mask", "/equipment/softwareVersion"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// Kills the process (no chance to flush or clean up) and returns what
    /// it wrote to stderr.
    fn kill(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        stderr
    }

    fn get(&self, path: &str) -> serde_json::Value {
        let output = Command::new("curl")
            .args(["--silent", "--max-time", "10"])
            .arg(format!("{}{path}", self.url))
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Server {
    /// Stops the process as a service manager does (SIGTERM) and waits.
    fn terminate(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        stderr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn build(key: &KeyPair, revision: u64) -> Vec<u8> {
    let sources = PolicySources::from_dir(&repo().join("policies")).unwrap();
    let options = BuildOptions {
        name: BundleName("served".to_string()),
        revision: Revision(revision),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    bundle::sign_embedded(&bundle::build(&sources, &options).unwrap(), key, "ops").unwrap()
}

/// The example requests with a fixed what-if time, so the answers do not
/// move with the calendar.
fn request_file(dir: &Path, example: &str) -> PathBuf {
    let path = repo().join("host-examples/http-client").join(example);
    let mut request: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    request["at"] = "2026-06-01T12:00:00Z".into();
    let out = dir.join(example);
    std::fs::write(&out, request.to_string()).unwrap();
    out
}

fn verify_log(dir: &Path, extra: &[&str]) -> Output {
    let log = dir.join("decisions.jsonl");
    let mut args = vec!["log", "verify", log.to_str().unwrap()];
    args.extend_from_slice(extra);
    slicegate(&args)
}

#[test]
fn the_http_clients_get_decisions_a_reload_is_picked_up_and_a_killed_server_leaves_a_log_that_verifies()
 {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("lib.wasm"), build(&key, 1)).unwrap();
    std::fs::write(
        dir.join("trust.toml"),
        format!(
            "threshold = 1\n\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
            key.public_hex()
        ),
    )
    .unwrap();
    let allowed = request_file(dir, "placement.json");
    let denied = request_file(dir, "huawei-core.json");

    let server = Server::start(dir);

    // The Python client: a batch with one allowed and one denied placement.
    let output = Command::new("python3")
        .arg(repo().join("host-examples/http-client/decide.py"))
        .args(["--url", &server.url])
        .arg(&allowed)
        .arg(&denied)
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
    let output = Command::new(repo().join("host-examples/http-client/decide.sh"))
        .arg(&allowed)
        .env("SLICEGATE_URL", &server.url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("\"allowed\":true"));

    // Publish revision 2 (write, then rename over): the server picks it up.
    let next = dir.join("lib.wasm.next");
    std::fs::write(&next, build(&key, 2)).unwrap();
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
        .arg(&allowed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("(bundle revision 2"));

    // kill -9: the log verifies up to its last record.
    server.kill();
    let output = verify_log(dir, &[]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(
        text(&output.stdout).contains("4 record(s), chain intact"),
        "{}",
        text(&output.stdout)
    );

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
    let output = Command::new(repo().join("host-examples/http-client/decide.sh"))
        .arg(&denied)
        .env("SLICEGATE_URL", &server.url)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = server.kill();
    assert!(stderr.contains("incomplete record"), "{stderr}");
    let output = verify_log(dir, &[]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("5 record(s), chain intact"));

    // The log masks what it was told to, and a changed record is found.
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

#[test]
fn serve_refuses_bad_arguments_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.toml");
    let key = KeyPair::generate().unwrap();
    std::fs::write(
        &trust,
        format!(
            "threshold = 1\n\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
            key.public_hex()
        ),
    )
    .unwrap();
    let output = slicegate(&[
        "serve",
        "--bundle",
        "https://bundles.example/lib.wasm",
        "--trust",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("https is not built in"));
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

#[test]
fn signed_checkpoints_catch_a_cut_or_rewritten_end_of_the_decision_log() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("lib.wasm"), build(&key, 1)).unwrap();
    std::fs::write(
        dir.join("trust.toml"),
        format!(
            "threshold = 1\n\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
            key.public_hex()
        ),
    )
    .unwrap();
    let log_key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("log-1.key"), log_key.to_bytes()).unwrap();
    std::fs::write(dir.join("log-1.pub"), log_key.public_bytes()).unwrap();
    let denied = request_file(dir, "huawei-core.json");

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
        let output = Command::new(repo().join("host-examples/http-client/decide.sh"))
            .arg(&denied)
            .env("SLICEGATE_URL", &server.url)
            .output()
            .unwrap();
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

    let log = dir.join("decisions.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    // A record appended while the service is stopped (chained, the side
    // file untouched): the restart refuses the log instead of signing over
    // it, and `log verify` calls it broken.
    let last = lines.last().unwrap();
    let forged = format!(
        "{{\"seq\":{},\"time\":\"2026-01-01T00:00:00Z\",\"requestId\":\"forged\",\"kind\":\"placement\",\"requestSha256\":\"{}\",\"decision\":{{\"allowed\":true,\"determining\":[]}},\"whatIf\":false,\"prev\":\"{}\"}}",
        lines.len() + 1,
        "0".repeat(64),
        slicegate::decision_log::sha256_hex(last.as_bytes())
    );
    std::fs::write(&log, format!("{original}{forged}\n")).unwrap();
    assert_eq!(verify_log(dir, &with_key).status.code(), Some(1));
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
    std::fs::write(&log, &original).unwrap();
    // The last lines cut off: the chain alone still verifies, the key does not.
    std::fs::write(&log, format!("{}\n", lines[..lines.len() - 2].join("\n"))).unwrap();
    // (Even without the key, the side file beside the log shows the cut.)
    assert_eq!(verify_log(dir, &[]).status.code(), Some(1));
    let output = verify_log(dir, &with_key);
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
    assert_eq!(verify_log(dir, &with_key).status.code(), Some(1));
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

/// Every way a service stops once it has written its start checkpoint ends
/// the log with a final one, and a start that cannot even listen writes
/// nothing: a log closed cleanly is never left open for records to be
/// added and adopted as a crash's.
#[test]
fn every_stop_but_a_crash_closes_the_decision_log_and_a_failed_start_leaves_it_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("lib.wasm"), build(&key, 1)).unwrap();
    std::fs::write(
        dir.join("trust.toml"),
        format!(
            "threshold = 1\n\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
            key.public_hex()
        ),
    )
    .unwrap();
    let log_key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("log-1.key"), log_key.to_bytes()).unwrap();
    std::fs::write(dir.join("log-1.pub"), log_key.public_bytes()).unwrap();
    let log = dir.join("decisions.jsonl");
    let key_path = dir.join("log-1.key");
    let key_args = ["--log-key", key_path.to_str().unwrap()];
    let pubkey = dir.join("log-1.pub");
    let last_event = || {
        let text = std::fs::read_to_string(&log).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        last.pointer("/checkpoint/event")
            .and_then(|e| e.as_str())
            .unwrap_or("not a checkpoint")
            .to_string()
    };

    // Every signal that would end the process stops the service as
    // SIGTERM does.
    for signal in [
        "-HUP", "-QUIT", "-USR1", "-USR2", "-ALRM", "-XFSZ", "-16", "-34", "-64",
    ] {
        let mut server = Server::start_with(dir, &key_args);
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
        assert_eq!(last_event(), "final", "{signal}");
    }
    // Its stderr closed from the start and its stdout after the first
    // line (a log shipper that died): it keeps serving, and still closes
    // the log when it stops.
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
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
        .to_string();
    let denied = request_file(dir, "huawei-core.json");
    let answer = Command::new(repo().join("host-examples/http-client/decide.sh"))
        .arg(&denied)
        .env("SLICEGATE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(answer.status.code(), Some(2));
    // A refused reload makes it warn on the closed stderr: it keeps
    // serving.
    let good = std::fs::read(dir.join("lib.wasm")).unwrap();
    std::fs::write(dir.join("lib.wasm"), b"not a bundle").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let answer = Command::new(repo().join("host-examples/http-client/decide.sh"))
        .arg(&denied)
        .env("SLICEGATE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(answer.status.code(), Some(2), "still serving");
    std::fs::write(dir.join("lib.wasm"), good).unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    assert_eq!(last_event(), "final", "closed pipes");
    let closed = std::fs::read(&log).unwrap();

    // A port already taken: refused before the log is opened.
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
    assert_eq!(last_event(), "final");
    let output = verify_log(dir, &["--key", pubkey.to_str().unwrap()]);
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("closed by its writer"), "{out}");
    assert!(!out.contains("adopted"), "{out}");
}
