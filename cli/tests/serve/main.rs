//! `slicegate serve` as a process: the http-client examples against it, a
//! reload by publishing a file, a kill -9, and `slicegate log verify` on
//! what the killed process left.
//!
//! One test binary (`serve`); the tests are grouped by topic in the modules
//! below, with the shared helpers (a running server, bundles, trust and
//! request files) in `support`.

mod checkpoints;
mod clients;
mod fleet;
mod registry;
mod stops;
mod support;
