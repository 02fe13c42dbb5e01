//! Property-based fuzzing (proptest, on stable Rust) of every parser and of
//! the decision path, with a fixed budget: `SLICEGATE_FUZZ_CASES` cases per
//! property (256 by default; CI runs the default, `scripts/fuzz.sh` runs
//! thousands). A failing input is shrunk and written by proptest to
//! `tests/fuzz.proptest-regressions`, which is checked in and replayed first
//! on every later run (the regression corpus).
//!
//! - bundles and signatures: flipped, cut, inserted and random bytes are an
//!   error, never a panic, and anything accepted is the signed content;
//! - trust stores, case files, plan files, placement requests and SOL003
//!   grants: any text or JSON is a value or an error, never a panic, and
//!   nothing malformed is allowed;
//! - decision logs: any change to a checkpointed log is caught;
//! - differential: generated Cedar policies, entities and requests decided
//!   by the component and by native `cedar-policy` give the same decision,
//!   the same determining policies and the same erroring policies.
//!
//! One test binary (`fuzz`); the properties are grouped by what they fuzz
//! in the modules below, with the shared pieces (the case budget and the
//! regression file, the runtime and the library, byte mutations) in
//! `support`.

mod differential;
mod logs;
mod requests;
mod signed;
mod support;
