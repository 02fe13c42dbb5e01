//! The engine's own unit tests (registry, stores, trust, plans, time),
//! run natively as part of the workspace's tests: the engine is built for
//! `wasm32-wasip2` and is not a workspace member, so `cargo test
//! --workspace` reaches its tests through here, in its own target folder.

use std::path::Path;
use std::process::Command;

#[test]
fn the_engine_s_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["test", "--manifest-path", "engine/Cargo.toml", "--locked"])
        .arg("--target-dir")
        .arg(root.join("target").join("engine-native"));
    // The outer build's wrappers and flags are not the engine's.
    for var in [
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        command.env_remove(var);
    }
    let output = command.output().expect("cargo runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the engine's tests failed:\n{report}"
    );
    assert!(report.contains("test result: ok"), "{report}");
    assert!(
        !report.contains(" 0 passed"),
        "no engine test ran:\n{report}"
    );
}
