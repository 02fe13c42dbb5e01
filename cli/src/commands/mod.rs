//! One module per subcommand.

pub mod authorize;
pub mod bench;
pub mod conformance;
pub mod demo;
