//! `slicegate log verify`: check a decision log's hash chain, its signed
//! checkpoints and the latest checkpoint beside it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use slicegate::bundle::public_key_from_bytes;
use slicegate::decision_log::{self, VerifyOptions};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a decision log: every line follows the one before it (sequence
    /// numbers and hash chain); with --key, every checkpoint in it is signed
    /// by the log key and covers exactly the lines before it, and the latest
    /// checkpoint (the side file `<log>.checkpoint`) names a line the log
    /// has, with that line's hash — so a cut or rewritten end is caught.
    ///
    /// An incomplete last line (a write cut short, or a cut) is an error
    /// unless --allow-incomplete-tail. Lines after the last checkpoint are
    /// reported as unanchored. Exit status: 0 intact, 1 broken.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The decision log (JSON Lines); `-` reads it from standard input.
    file: PathBuf,
    /// The log key's public key file (`slicegate keygen` writes it as
    /// `ID.pub`): checkpoints must be signed by it.
    #[arg(long)]
    key: Option<PathBuf>,
    /// The latest checkpoint (default: `<file>.checkpoint`, required with
    /// --key).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Accept an incomplete last line (a write cut short by a crash).
    #[arg(long)]
    allow_incomplete_tail: bool,
    /// The log is a stream (`serve --decision-log -`: one replica's standard
    /// output, as the cluster's collector kept it). A stream has no side
    /// file: with --key its end is anchored only by the last signed
    /// checkpoint in it, so records after that one are reported unanchored.
    #[arg(long, conflicts_with = "checkpoint")]
    stream: bool,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Verify(args) = command;
    let bytes = if args.file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("reading the log from standard input")?;
        bytes
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    let key = match &args.key {
        Some(path) => {
            let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(public_key_from_bytes(&raw).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    let side_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| decision_log::side_path(&args.file));
    let side = if args.stream {
        None
    } else {
        decision_log::read_side(&side_path).map_err(anyhow::Error::msg)?
    };
    if key.is_some() && side.is_none() && !args.stream {
        bail!(
            "{}: no checkpoint beside the log: without it the log's end cannot be checked \
             (the service writes it at every checkpoint and at shutdown)",
            side_path.display()
        );
    }
    let keyed = key.is_some();
    let report = decision_log::verify_with(&bytes, &VerifyOptions { key, side });
    let torn = report.incomplete_tail_bytes > 0 && !args.allow_incomplete_tail;
    // A stream written with a log key begins with its writer's signed start
    // checkpoint (there is no side file to anchor it otherwise): one that
    // does not was cut, forged, or written without the key.
    let unstarted = args.stream && keyed && !starts_with_a_start_checkpoint(&bytes);
    let failed = !report.intact() || torn || unstarted;
    if unstarted {
        eprintln!(
            "{}: does not begin with a signed start checkpoint: a stream written with a log key \
             always does (this one was cut, forged, or written without the key)",
            args.file.display()
        );
    }
    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let name = args.file.display();
        match &report.broken {
            None if args.key.is_some() => println!(
                "{name}: {} record(s), chain intact; {} checkpoint(s) signed by the log key{}",
                report.records,
                report.checkpoints,
                if report.side_checked {
                    "; the side file's checkpoint matches the log"
                } else {
                    ""
                },
            ),
            None => println!(
                "{name}: {} record(s), chain intact{}\n{name}: no --key: the chain shows nothing \
                 inside was changed, not that its end was not cut or rewritten",
                report.records,
                if report.unchecked_checkpoints > 0 {
                    format!(
                        "; {} checkpoint(s) in it, not checked (give --key)",
                        report.unchecked_checkpoints
                    )
                } else {
                    String::new()
                }
            ),
            Some(broken) => println!(
                "{name}: broken at line {}: {}\n{} line(s) before it verify",
                broken.line, broken.reason, report.verified
            ),
        }
        if args.key.is_some() && report.broken.is_none() {
            println!(
                "{name}: {} record(s) after the last checkpoint (unanchored: only hash-chained); \
                 {}",
                report.unanchored,
                if report.clean_stop {
                    "closed by its writer (final checkpoint)"
                } else {
                    "not closed: its writer is running, or stopped without closing it"
                }
            );
            if report.adopted > 0 {
                println!(
                    "{name}: {} record(s) were written before a crash and adopted by the next \
                     writer's start (only hash-chained: not covered by a checkpoint before the \
                     crash)",
                    report.adopted
                );
            }
        }
        if report.incomplete_tail_bytes > 0 {
            println!(
                "{name}: ends in an incomplete line ({} bytes: a write cut short, or a cut){}",
                report.incomplete_tail_bytes,
                if args.allow_incomplete_tail {
                    "; accepted (--allow-incomplete-tail), the lines before it verify"
                } else {
                    ""
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

/// Whether the first line of `bytes` is a start checkpoint at line 1 (its
/// signature is checked with the rest).
fn starts_with_a_start_checkpoint(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(first)
        .is_ok_and(|line| line["seq"] == 1 && line["checkpoint"]["event"] == "start")
}
