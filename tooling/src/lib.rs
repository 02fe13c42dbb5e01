//! # slicegate-tooling
//!
//! The policy tooling around the embedding crate `slicegate`, as Cedar
//! keeps `cedar-testing` and its CLI apart from `cedar-policy`: test cases
//! and coverage ([`cases`]), fail-open mutations ([`mutate`]), tested
//! bundle builds ([`testing`]), explanations ([`explain`]), native
//! `cedar-policy` for comparison ([`native`]), Cedar's conformance corpus
//! ([`conformance`]) and benchmarks ([`bench`]).

pub mod bench;
pub mod bundled;
pub mod cases;
pub mod conformance;
pub mod diff;
pub mod explain;
pub mod impact;
pub mod mutate;
pub mod native;
pub mod prove;
pub mod testing;
