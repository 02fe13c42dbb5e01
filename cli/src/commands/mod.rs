//! One module per subcommand.

pub mod authorize;
pub mod conformance;
pub mod demo;
