//! `build --prove` and the packs a build takes: a library whose invariants
//! do not hold is not built, a pack left out is named, a policy claiming
//! another pack's name is refused.

use crate::proofs::{library_copy, without_out_of_core};
use crate::support::*;

#[test]
fn build_with_prove_refuses_a_library_whose_invariants_do_not_hold() {
    let dir = tempfile::tempdir().unwrap();
    let copy = library_copy(dir.path(), "packs/uk-hrv/uk-hrv.cedar", without_out_of_core);
    let out = dir.path().join("refused.wasm");
    let build = slicegate(&[
        "build",
        &copy,
        "-o",
        out.to_str().unwrap(),
        "--prove",
        "--no-test",
    ]);
    assert_eq!(build.status.code(), Some(2), "{}", stderr(&build));
    assert!(
        stderr(&build).contains("refuted: uk-hrv/never-designated-in-core-from-2024"),
        "{}",
        stderr(&build)
    );
    assert!(!out.exists(), "a bundle was written");
    let good = dir.path().join("good.wasm");
    let build = slicegate(&[
        "build",
        "policies",
        "-o",
        good.to_str().unwrap(),
        "--prove",
        "--no-test",
    ]);
    assert!(build.status.success(), "{}", stderr(&build));
    assert!(good.is_file());
    // With --packs, the invariants of the packs left out are named, not
    // dropped silently.
    let some = dir.path().join("some.wasm");
    let build = slicegate(&[
        "build",
        "policies",
        "-o",
        some.to_str().unwrap(),
        "--packs",
        "baseline-procurement,uk-hrv",
        "--prove",
        "--no-test",
    ]);
    assert!(build.status.success(), "{}", stderr(&build));
    assert!(
        stderr(&build)
            .contains("not proved: invariants/de-2024.cedar (its pack is not in this bundle)"),
        "{}",
        stderr(&build)
    );
    assert!(!stderr(&build).contains("not proved: invariants/uk-hrv.cedar"));
}

/// A policy claiming another pack than its folder's is refused at build:
/// the engine reads a bundle's regimes from `@pack`.
#[test]
fn build_refuses_a_policy_claiming_another_pack() {
    let dir = tempfile::tempdir().unwrap();
    let copy = library_copy(
        dir.path(),
        "packs/baseline-procurement/baseline.cedar",
        |t| {
            format!(
                "{t}\n@id(\"t/noop\") @pack(\"uk-hrv\") @reason(\"x\") @source(\"x\")\n\
             forbid (principal, action == Action::\"terminate\", resource) when {{ false }};\n"
            )
        },
    );
    let out = dir.path().join("b.wasm");
    let build = slicegate(&[
        "build",
        &copy,
        "--packs",
        "baseline-procurement",
        "--no-test",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(build.status.code(), Some(1), "{}", stderr(&build));
    assert!(
        stderr(&build).contains("is in packs/baseline-procurement/ but says @pack(\"uk-hrv\")"),
        "{}",
        stderr(&build)
    );
    assert!(!out.exists());
}
