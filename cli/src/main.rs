//! `slicegate`: build, test, explain and serve 5G trust and procurement
//! policies. A thin layer of subcommands over the `slicegate` library.

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Decide whether vendor equipment may be placed, kept, upgraded or managed
/// in a 5G network slice, with Cedar policies run in a sandboxed WebAssembly
/// component.
#[derive(Parser)]
#[command(name = "slicegate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decide one generic Cedar request (flags as `cedar authorize` has them).
    ///
    /// Exit status: 0 allow, 2 deny, 1 error.
    Authorize(commands::authorize::Args),
    /// Run Cedar's conformance corpus through the component and native
    /// cedar-policy side by side, and compare every answer.
    ///
    /// Ends with `N passed, M failed` over requests; exits non-zero on any
    /// disagreement.
    Conformance(commands::conformance::Args),
    /// Evaluate realistic placements against the bundled starter policies and
    /// print a table of request, decision and reasons.
    Demo(commands::demo::Args),
    /// Time decisions through the component against native cedar-policy on
    /// the same policies and request; prints medians and ratios.
    Bench(commands::bench::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLICEGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Authorize(args) => commands::authorize::run(args),
        Command::Conformance(args) => commands::conformance::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Bench(args) => commands::bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
