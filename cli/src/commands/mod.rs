//! One module per subcommand.

pub mod authorize;
pub mod bench;
pub mod build;
pub mod check_plan;
pub mod conformance;
pub mod demo;
pub mod diff;
pub mod explain;
pub mod impact;
pub mod keys;
pub mod log;
pub mod prove;
pub mod push;
pub mod serve;
pub mod test;
pub mod verify;
