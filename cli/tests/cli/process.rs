//! The command as a process: a closed pipe, no usable cache location, a
//! signal; nothing left behind.

use std::process::Command;

use crate::support::{SCHEMA, library_bundle, repo, slicegate, stderr, stdout, write};

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    use std::process::Stdio;
    for args in [
        vec!["inspect", library_bundle()],
        vec!["inspect", "--json", library_bundle()],
        vec!["test", library_bundle(), "--cases", "policies"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slicegate"))
            .args(&args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes anything.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(output.status.code(), Some(141), "{args:?}: {err}");
    }
}

/// With no usable cache location — no variables, or relative ones — the
/// command still answers, compiling in memory: nothing is written to the
/// working directory or a shared temporary folder.
#[test]
fn without_an_absolute_cache_location_nothing_is_cached_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let policies = write(
        dir.path(),
        "p.cedar",
        r#"permit(principal == User::"alice", action == Action::"view", resource);"#,
    );
    let schema = write(dir.path(), "s.cedarschema", SCHEMA);
    let request = write(
        dir.path(),
        "r.json",
        r#"{"principal": "User::\"alice\"", "action": "Action::\"view\"", "resource": "Photo::\"a.jpg\"", "context": {}}"#,
    );
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (var, value) in [
        (None, ""),
        (Some("XDG_CACHE_HOME"), "relative-cache"),
        (Some("SLICEGATE_CACHE_DIR"), "rel/cache"),
        (Some("HOME"), "home-rel"),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slicegate"));
        command
            .args([
                "authorize",
                "--policies",
                &policies,
                "--schema",
                &schema,
                "--request-json",
                &request,
            ])
            .current_dir(cwd.path())
            .env_remove("SLICEGATE_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("HOME")
            .env("TMPDIR", tmp.path());
        if let Some(var) = var {
            command.env(var, value);
        }
        let output = command.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{var:?}: {}",
            stderr(&output)
        );
        let written: Vec<_> = std::fs::read_dir(cwd.path())
            .unwrap()
            .chain(std::fs::read_dir(tmp.path()).unwrap())
            .map(|e| e.unwrap().path())
            .collect();
        assert!(written.is_empty(), "{var:?}: wrote {written:?}");
    }
}

/// Whatever ends a command — a signal or a reader that closed the pipe —
/// the run's temporary files (the built-in library written out, the demo's
/// state, caches) are removed: everything lives in one private folder that
/// goes with the run.
#[test]
fn a_run_ended_by_a_signal_or_a_closed_pipe_leaves_no_temporary_files() {
    use std::process::Stdio;
    let work = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_slicegate"))
            .args(args)
            .current_dir(work.path())
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let left = || {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    for (args, signal, status) in [
        (&["demo"][..], "-INT", 130),
        (&["test", "--mutate"][..], "-TERM", 143),
        (&["demo"][..], "-USR1", 138),
    ] {
        let mut child = spawn(args);
        // Once the run's folder holds the written-out library, stop it.
        let started = std::time::Instant::now();
        while !left().iter().any(|name| name.starts_with("slicegate-run-"))
            && started.elapsed() < std::time::Duration::from_secs(30)
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        assert_eq!(child.wait().unwrap().code(), Some(status), "{args:?}");
        assert!(left().is_empty(), "{args:?} {signal} left {:?}", left());
    }
    // A reader gone before the output (closed before the demo writes its
    // first line: deterministic, where a reader taking one line of the
    // demo's 42 kB races the pipe buffer, which holds all of it).
    let mut child = spawn(&["demo"]);
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(141));
    assert!(left().is_empty(), "a closed pipe left {:?}", left());
}

/// A usage error is an error (exit 1), never the 2 that means deny,
/// refuted, different or changed; `--help` succeeds.
#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    for args in [
        vec!["prove", "--bogus"],
        vec!["diff", "policies"],
        vec!["diff", "policies", "policies", "--format", "xml"],
        vec!["explain"],
        vec![
            "impact",
            "policies",
            "--plans",
            "policies/examples/plans",
            "--step=-1d",
        ],
        vec!["nonesuch"],
        // A calendar step below a second, or too many steps for the range.
        vec![
            "impact",
            "policies",
            "--plans",
            "policies/examples/plans",
            "--at",
            "2026-01-01T00:00:00Z..2026-01-02T00:00:00Z",
            "--step",
            "1ms",
        ],
        vec![
            "impact",
            "policies",
            "--plans",
            "policies/examples/plans",
            "--at",
            "2026-01-01T00:00:00Z..2036-01-02T00:00:00Z",
            "--step",
            "1s",
        ],
    ] {
        let out = slicegate(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
    for args in [vec!["--help"], vec!["prove", "--help"], vec!["--version"]] {
        let out = slicegate(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!stdout(&out).is_empty(), "{args:?}");
    }
}
