//! `slicegate log verify`: check a decision log's hash chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use slicegate::decision_log;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check that every record follows the one before it (sequence numbers
    /// and hash chain) and report the first broken record.
    ///
    /// An incomplete last line (a write cut short by a crash) is reported
    /// but not an error unless --strict. Exit status: 0 intact, 1 broken.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The decision log (JSON Lines).
    file: PathBuf,
    /// Treat an incomplete last line as a failure.
    #[arg(long)]
    strict: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Verify(args) = command;
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let report = decision_log::verify(&bytes);
    let failed = !report.intact() || (args.strict && report.incomplete_tail_bytes > 0);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let name = args.file.display();
        match &report.broken {
            None => println!("{name}: {} record(s), chain intact", report.verified),
            Some(broken) => println!(
                "{name}: chain broken at line {}: {}\n{} record(s) before it verify",
                broken.line, broken.reason, report.verified
            ),
        }
        if report.incomplete_tail_bytes > 0 {
            println!(
                "{name}: ends in an incomplete record ({} bytes; a write cut short by a crash){}",
                report.incomplete_tail_bytes,
                if args.strict {
                    ""
                } else {
                    "; the records before it verify"
                }
            );
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
