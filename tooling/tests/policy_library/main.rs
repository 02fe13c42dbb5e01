//! The default 5G policy library, case by case, through the artifact that
//! ships: the library is built into a signed, pre-initialised bundle, loaded
//! through the trust checks, and every case file under `policies/`
//! is decided by that component — and cross-checked with native Cedar on the
//! engine's own Cedar form of each placement.
//!
//! One test binary (`policy_library`); the tests are grouped by topic in the
//! modules below, with the shared helpers (the library's sources and the
//! shipped decider, every case run once) in `support`.

mod cases;
mod compiled;
mod facts;
mod plans;
mod regimes;
mod support;
