//! Builds the guest (`engine/`) for wasm32-wasip2 and embeds the component.
//!
//! A fresh machine runs with `RUSTUP_AUTO_INSTALL=0`, so the wasm target is
//! added here when it is missing: `cargo build` on a fresh clone is the whole
//! set-up. The guest has its own target directory beside the workspace's
//! (`target/engine-wasm`) so that dev, test and clippy builds share one guest
//! build and cargo's own incremental checks keep it cheap.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ has a parent")
        .to_path_buf();
    let engine = root.join("engine");
    for path in ["src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", engine.join(path).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let target_dir = guest_target_dir(&out_dir, &root);

    ensure_wasm_target();

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = Command::new(cargo);
    build
        .current_dir(&engine)
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's wrappers (clippy-driver), flags and profile overrides
    // are for the native workspace, not the guest.
    for var in [
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        build.env_remove(var);
    }
    let status = build.status().unwrap_or_else(|e| {
        panic!(
            "running cargo to build the guest in {}: {e}",
            engine.display()
        )
    });
    assert!(
        status.success(),
        "building the guest component (engine/) for {TARGET} failed; see the errors above"
    );

    let built = target_dir
        .join(TARGET)
        .join("release")
        .join("slicegate_engine.wasm");
    let embedded = out_dir.join("slicegate_engine.wasm");
    std::fs::copy(&built, &embedded).unwrap_or_else(|e| {
        panic!(
            "copying the guest component {} to {}: {e}",
            built.display(),
            embedded.display()
        )
    });
}

/// `<workspace target dir>/engine-wasm`, found from OUT_DIR
/// (`<target>/<profile>/build/<pkg>-<hash>/out`).
fn guest_target_dir(out_dir: &Path, root: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(|target| target.join("engine-wasm"))
        .unwrap_or_else(|| root.join("target").join("engine-wasm"))
}

/// Adds the wasm target with rustup when the sysroot does not have it.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .as_ref()
        .is_some_and(|root| root.join("lib/rustlib").join(TARGET).join("lib").is_dir());
    if installed {
        return;
    }
    println!("cargo:warning=adding the {TARGET} target with rustup (first build on this machine)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .unwrap_or_else(|e| {
            panic!("the {TARGET} target is missing and rustup could not be run to add it: {e}")
        });
    assert!(
        status.success(),
        "`rustup target add {TARGET}` failed; the guest cannot be built without it"
    );
}
