//! Helpers shared by the `serve` tests: the repository, the `slicegate`
//! binary, a running server, a signed bundle and its trust store, the
//! example requests and `slicegate log verify`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use slicegate::PolicySources;
use slicegate::bundle::{self, BuildOptions, BundleName, KeyPair, Revision};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn slicegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(args)
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// A running `slicegate serve`, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Self::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, extra: &[&str]) -> Server {
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
            // Its run folder inside the test's: a kill -9 leaves nothing in /tmp.
            .env("TMPDIR", dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let url = listening_url(child.stdout.take().unwrap());
        Server { child, url }
    }

    /// Kills the process (no chance to flush or clean up) and returns what
    /// it wrote to stderr.
    pub fn kill(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        stderr
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        let output = Command::new("curl")
            .args(["--silent", "--max-time", "10"])
            .arg(format!("{}{path}", self.url))
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Stops the process as a service manager does (SIGTERM) and waits.
    pub fn terminate(mut self) -> String {
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

/// The URL in serve's first line of output (`listening on URL`).
pub fn listening_url(stdout: ChildStdout) -> String {
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
        .to_string()
}

pub fn build(key: &KeyPair, revision: u64) -> Vec<u8> {
    bundle::sign_embedded(&build_unsigned(revision), key, "ops").unwrap()
}

/// The library as bundle `served` at `revision`, unsigned.
pub fn build_unsigned(revision: u64) -> Vec<u8> {
    let sources = PolicySources::from_dir(&repo().join("policies")).unwrap();
    let options = BuildOptions {
        name: BundleName("served".to_string()),
        revision: Revision(revision),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    bundle::build(&sources, &options).unwrap()
}

/// A trust store at `path` that trusts `key` (as `ops`).
pub fn write_trust(path: &Path, key: &KeyPair) {
    std::fs::write(
        path,
        format!(
            "threshold = 1\n\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
            key.public_hex()
        ),
    )
    .unwrap();
}

/// Revision 1 of the library signed by `key` in `dir/lib.wasm`, and a trust
/// store for it in `dir/trust.toml`.
pub fn publish_signed(dir: &Path, key: &KeyPair) {
    std::fs::write(dir.join("lib.wasm"), build(key, 1)).unwrap();
    write_trust(&dir.join("trust.toml"), key);
}

/// A new log key in `dir/log-1.key`, its public half in `dir/log-1.pub`.
pub fn write_log_key(dir: &Path) {
    let log_key = KeyPair::generate().unwrap();
    std::fs::write(dir.join("log-1.key"), log_key.to_bytes()).unwrap();
    std::fs::write(dir.join("log-1.pub"), log_key.public_bytes()).unwrap();
}

/// The example requests with a fixed what-if time, so the answers do not
/// move with the calendar.
pub fn request_file(dir: &Path, example: &str) -> PathBuf {
    let path = repo().join("host-examples/http-client").join(example);
    let mut request: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    request["at"] = "2026-06-01T12:00:00Z".into();
    let out = dir.join(example);
    std::fs::write(&out, request.to_string()).unwrap();
    out
}

/// The shell client deciding `request` against the server at `url`.
pub fn decide_sh(url: &str, request: &Path) -> Output {
    Command::new(repo().join("host-examples/http-client/decide.sh"))
        .arg(request)
        .env("SLICEGATE_URL", url)
        .output()
        .unwrap()
}

pub fn verify_log(dir: &Path, extra: &[&str]) -> Output {
    let log = dir.join("decisions.jsonl");
    let mut args = vec!["log", "verify", log.to_str().unwrap()];
    args.extend_from_slice(extra);
    slicegate(&args)
}
