//! The guest gets no ambient authority: its imports are an explicit allow
//! list, and nothing that reaches files, sockets, clocks or real randomness.

use slicegate::{Limits, Runtime};

/// Interfaces the Rust standard library needs on wasm32-wasip2 for stdio,
/// exit and its hash seeds. The host gives all of them an empty context.
const ALLOWED: &[&str] = &[
    "wasi:io/error",
    "wasi:io/streams",
    "wasi:io/poll",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:random/insecure-seed",
    "slicegate:policy/types",
];

#[test]
fn guest_imports_are_within_the_allow_list() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    let imports = runtime.imports();
    assert!(!imports.is_empty(), "the component imports nothing at all?");
    for import in &imports {
        let name = import.split('@').next().unwrap_or(import);
        assert!(
            ALLOWED.contains(&name),
            "the guest imports `{import}`, which is not on the allow list"
        );
    }
    for forbidden in [
        "wasi:filesystem",
        "wasi:sockets",
        "wasi:clocks",
        "wasi:http",
        "wasi:random/random",
    ] {
        assert!(
            !imports.iter().any(|i| i.starts_with(forbidden)),
            "the guest imports {forbidden}: {imports:?}"
        );
    }
}
