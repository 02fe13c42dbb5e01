//! The example, run as a user runs it: a signed bundle and a trust store
//! on disk, the binary's output read back.

use std::path::Path;
use std::process::Command;

use slicegate::PolicySources;
use slicegate::bundle::{self, BuildOptions, BundleName, KeyPair, Revision};

#[test]
fn it_loads_a_signed_bundle_and_prints_the_verdict_with_the_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let sources = PolicySources::from_dir(&policies).unwrap();
    let options = BuildOptions {
        name: BundleName("lib".to_string()),
        revision: Revision(1),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    let key = KeyPair::generate().unwrap();
    let unsigned = bundle::build(&sources, &options).unwrap();
    let signed = bundle::sign_embedded(&unsigned, &key, "ops").unwrap();
    std::fs::write(dir.path().join("lib.wasm"), &signed).unwrap();
    let trust = format!(
        "threshold = 1\n\n[[keys]]\nid = \"ops\"\npublic_key = \"{}\"\n",
        key.public_hex()
    );
    std::fs::write(dir.path().join("trust.toml"), trust).unwrap();

    let run = |bundle: &str| {
        Command::new(env!("CARGO_BIN_EXE_embed-rust"))
            .arg(dir.path().join(bundle))
            .arg(dir.path().join("trust.toml"))
            .output()
            .unwrap()
    };
    let output = run("lib.wasm");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("bundle lib revision 1, signed by ops"),
        "{stdout}"
    );
    assert!(stdout.contains("allowed: false"), "{stdout}");
    assert!(
        stdout.contains("forbid uk-hrv/out-of-core: Huawei goods, services and facilities"),
        "{stdout}"
    );

    // An unsigned bundle is refused before anything runs.
    std::fs::write(dir.path().join("unsigned.wasm"), &unsigned).unwrap();
    let output = run("unsigned.wasm");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsigned"));
}
