//! The `slicegate` binary as a user runs it.
//!
//! One test binary (`cli`); the tests are grouped by command in the modules
//! below, with the shared helpers (running the binary, writing files, the
//! library built once) in `support`.

mod authorize;
mod build_prove;
mod bundles;
mod conformance;
mod counterexamples;
mod decisions;
mod mutate;
mod process;
mod proofs;
mod support;
mod testing;
