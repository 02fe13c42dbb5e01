//! The SOL003 Grant adapter on the default library, through the component.
//!
//! One test binary (`sol003`); the tests are grouped by topic in the
//! modules below, with the shared helpers (the decider, the package map,
//! grants and contexts, resource definitions, `judge`) in `support`.

mod compute;
mod generated;
mod grants;
mod resources;
mod support;
