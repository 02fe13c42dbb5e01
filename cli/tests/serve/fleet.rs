//! A fleet without a cluster: three decision services on loopback following
//! one tag of a real registry, each logging to standard output (a stream
//! per replica, as a cluster's collector keeps it). A tampered revision is
//! refused by all three; a newer one is served by all three, and the time
//! they take is printed; the three decide the same request alike; each
//! replica's stream verifies with its signed checkpoints.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use slicegate::bundle::KeyPair;
use slicegate_distribution::oci_digest;
use slicegate_distribution::testing::Registry;

use crate::support::*;

const POLL: Duration = Duration::from_millis(500);

/// A replica, killed when dropped (a failing test leaves none running).
struct Replica {
    child: Child,
    url: String,
    log: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    fn start(dir: &Path, reference: &str) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slicegate"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--permit-what-if",
                "--plain-http",
            ])
            .args(["--poll-interval", &format!("{}ms", POLL.as_millis())])
            .args(["--max-backoff", "1s", "--bundle", reference])
            .arg("--trust")
            .arg(dir.join("trust.toml"))
            .args(["--decision-log", "-", "--log-key"])
            .arg(dir.join("log-1.key"))
            .env("TMPDIR", dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        // With the log on stdout, the address is said on stderr.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let url = loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "serve ended");
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                break url.to_string();
            }
        };
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Replica {
            child,
            url,
            log: Some(log),
        }
    }

    fn bundle(&self) -> serde_json::Value {
        curl(&[&format!("{}/v1/bundle", self.url)])
    }

    fn decide(&self, request: &Path) -> serde_json::Value {
        curl(&[
            "-H",
            "content-type: application/json",
            "--data-binary",
            &format!("@{}", request.display()),
            &format!("{}/v1/decisions", self.url),
        ])
    }

    /// Stops it (SIGTERM) and returns its decision log stream.
    fn stop(mut self) -> Vec<u8> {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.child.wait().unwrap();
        self.log.take().unwrap().join().unwrap()
    }
}

fn curl(args: &[&str]) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["--silent", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn push(file: &Path, reference: &str) {
    let out = slicegate(&["push", file.to_str().unwrap(), reference, "--plain-http"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Waits until every replica's `/v1/bundle` satisfies `done`; the time it
/// took.
fn until(fleet: &[Replica], what: &str, done: impl Fn(&serde_json::Value) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if fleet.iter().all(|r| done(&r.bundle())) {
            return started.elapsed();
        }
        let infos: Vec<_> = fleet.iter().map(Replica::bundle).collect();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: {infos:#?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn three_replicas_follow_one_tag_refuse_alike_and_decide_alike() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    write_trust(&dir.path().join("trust.toml"), &key);
    write_log_key(dir.path());
    let stable = registry.reference("slicegate/fleet:stable");
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    push(&file("rev1.wasm", &build(&key, 1)), &stable);
    let fleet: Vec<Replica> = (0..3)
        .map(|_| Replica::start(dir.path(), &stable))
        .collect();
    until(&fleet, "revision 1 everywhere", |i| i["revision"] == 1);

    // A tampered revision 3 under the tag: refused by all, revision 1 kept.
    let rev3 = build(&key, 3);
    let rev3_path = file("rev3.wasm", &rev3);
    push(&rev3_path, &registry.reference("slicegate/fleet:staging"));
    let mut evil = rev3.clone();
    let last = evil.len() - 1;
    evil[last] ^= 1;
    std::fs::write(registry.blob_path(&oci_digest(&rev3)), &evil).unwrap();
    push(&rev3_path, &stable);
    until(&fleet, "the tampered revision refused everywhere", |i| {
        i["revision"] == 1
            && i["reload"]["lastFailure"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Invalid digest"))
    });

    // Revision 2: served everywhere.
    let rev2 = file("rev2.wasm", &build(&key, 2));
    push(&rev2, &stable);
    let took = until(&fleet, "revision 2 everywhere", |i| i["revision"] == 2);
    eprintln!(
        "fleet convergence: 3 replicas served revision 2 {} ms after the push (poll interval {} ms)",
        took.as_millis(),
        POLL.as_millis()
    );
    let digests: Vec<_> = fleet
        .iter()
        .map(|r| r.bundle()["origin"]["digest"].clone())
        .collect();
    assert!(
        digests.iter().all(|d| d == &digests[0] && d.is_string()),
        "{digests:?}"
    );

    // The same request, the same decision, from each.
    for example in ["placement.json", "huawei-core.json"] {
        let request = request_file(dir.path(), example);
        let answers: Vec<_> = fleet
            .iter()
            .map(|r| r.decide(&request)["decision"].clone())
            .collect();
        assert!(answers[0].is_object(), "{answers:?}");
        assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    }

    // Each replica's stream: a chain of its own, with signed checkpoints.
    for replica in fleet {
        let stream = replica.stop();
        let path = dir.path().join("stream.jsonl");
        std::fs::write(&path, &stream).unwrap();
        let key = dir.path().join("log-1.pub");
        let out = slicegate(&[
            "log",
            "verify",
            path.to_str().unwrap(),
            "--stream",
            "--key",
            key.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let lines = String::from_utf8(stream).unwrap();
        assert!(lines.lines().count() >= 4, "{lines}");
        assert!(lines.lines().all(|l| l.starts_with('{')), "{lines}");
        // Without its signed start checkpoint (cut, or forged without the
        // key), or empty, a keyed stream does not verify.
        let rest: String = lines.lines().skip(1).map(|l| format!("{l}\n")).collect();
        for (what, body) in [("cut", rest.as_str()), ("empty", "")] {
            std::fs::write(&path, body).unwrap();
            let out = slicegate(&[
                "log",
                "verify",
                path.to_str().unwrap(),
                "--stream",
                "--key",
                key.to_str().unwrap(),
            ]);
            assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out.stdout));
        }
    }
}

/// The Kubernetes deployment's trust store loads as a trust store (its
/// `state` in the pod's writable volume), and every file of the folder is
/// listed in its kustomization.
#[test]
fn the_kubernetes_trust_store_loads_and_every_manifest_is_listed() {
    let folder = repo().join("deploy/kubernetes");
    let configmap = std::fs::read_to_string(folder.join("trust-configmap.yaml")).unwrap();
    let body: String = configmap
        .split("trust.toml: |\n")
        .nth(1)
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trust.toml");
    std::fs::write(&path, body).unwrap();
    let trust = slicegate::bundle::TrustStore::load(&path).unwrap();
    assert_eq!(trust.keys.len(), 1);
    assert_eq!(
        trust.state_path,
        Path::new("/var/lib/slicegate/trust.state.json")
    );
    let kustomization = std::fs::read_to_string(folder.join("kustomization.yaml")).unwrap();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".yaml") && name != "kustomization.yaml" {
            assert!(kustomization.contains(&format!("- {name}")), "{name}");
        }
    }
}
