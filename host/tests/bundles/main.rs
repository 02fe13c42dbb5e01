//! Signed bundles: reproducible builds, every refusal (each before anything
//! is compiled or instantiated), detached and multiple signatures, and
//! interoperability with `wasmsign2` both ways.
//!
//! One test binary (`bundles`); the tests are grouped by topic in the
//! modules below, with the shared helpers (the library's sources, the
//! bundle built once, trust stores, a refusal) in `support`.

mod building;
mod loaded;
mod refusals;
mod support;
mod trust_stores;
mod wasmsign2_interop;
