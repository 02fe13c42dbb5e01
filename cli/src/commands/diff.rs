//! `slicegate diff OLD NEW`: two bundles or policy folders compared by
//! meaning, for every request the schema admits.

use std::path::PathBuf;
use std::process::ExitCode;

use slicegate_tooling::diff::{self, DiffReport};
use slicegate_tooling::prove;

use super::prove::policy_sources;

#[derive(clap::Args)]
pub struct Args {
    /// The old policies: a bundle (`.wasm`, the sources it carries) or a
    /// policy folder.
    old: PathBuf,
    /// The new policies, the same way. Its schema is the one both are
    /// compared under.
    new: PathBuf,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

/// Exit status: 0 when OLD and NEW decide every request alike, 2 when they
/// differ, 1 on an error.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (old_sources, new_sources) = (policy_sources(&args.old)?, policy_sources(&args.new)?);
    let old = prove::load(&old_sources)?;
    let new = prove::load(&new_sources)?;
    let sources = diff::source_changes(&old_sources, &new_sources);
    prove::ensure_solver()?;
    let json = args.output.json();
    let bar = crate::progress::bar("comparing", json);
    bar.set_length(new.0.request_envs().count() as u64);
    let report = diff::diff(&new.0, &old.1, &new.1, |_, _| bar.inc(1))?;
    bar.finish_and_clear();
    let same = report.equivalent() && !sources.any();
    if json {
        let mut out = serde_json::to_value(&report)?;
        out["equivalent"] = same.into();
        out["sources"] = serde_json::to_value(&sources)?;
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_human(&report);
        print_sources(&sources);
        if !same && report.equivalent() {
            println!("NOT equivalent: the policies decide alike, but the sources above differ");
        }
    }
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn print_sources(sources: &diff::SourceChanges) {
    if sources.schema_changed {
        println!(
            "the schema differs: the policies were compared under NEW's, and a changed action \
             group or attribute changes what they mean"
        );
    }
    for (what, packs) in [
        ("added", &sources.packs_added),
        ("removed", &sources.packs_removed),
    ] {
        if !packs.is_empty() {
            println!(
                "packs {what}: {} (a bundle's packs decide which regimes it holds rules for; \
                 requests under a regime without its pack are refused)",
                packs.join(", ")
            );
        }
    }
    for (what, ids) in [
        ("added", &sources.entities_added),
        ("removed", &sources.entities_removed),
        ("changed", &sources.entities_changed),
    ] {
        if !ids.is_empty() {
            println!(
                "reference data {what} ({}): {}",
                ids.len(),
                ids.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
                    + if ids.len() > 10 { ", …" } else { "" }
            );
        }
    }
    if !sources.entities_added.is_empty()
        || !sources.entities_removed.is_empty()
        || !sources.entities_changed.is_empty()
    {
        println!(
            "  (the symbolic comparison covers every entity store, so reference data is \
             compared entity by entity; `slicegate impact` shows what it changes on a network)"
        );
    }
}

fn print_human(report: &DiffReport) {
    let p = &report.policies;
    for (what, ids) in [
        ("added", &p.added),
        ("removed", &p.removed),
        ("changed", &p.changed),
    ] {
        if !ids.is_empty() {
            println!("policies {what}: {}", ids.join(", "));
        }
    }
    for d in &report.differences {
        let side = |allows: bool, by: &[String], erroring: &[String]| {
            let why = if !allows && !erroring.is_empty() {
                format!("the forbid {} errored: fail closed", erroring.join(", "))
            } else if by.is_empty() {
                "no policy".to_string()
            } else {
                by.join(", ")
            };
            format!("{} ({why})", if allows { "ALLOWS" } else { "denies" })
        };
        println!();
        match &d.erroring_forbid {
            Some(forbid) => println!(
                "{}: not shown equivalent: the forbid {forbid}, in one and not the other, can \
                 error on this request (the engine denies when a forbid errors)",
                d.environment
            ),
            None => println!("{}: the two decide differently", d.environment),
        }
        println!(
            "  OLD {}",
            side(d.old_allows, &d.old_determining, &d.old_erroring)
        );
        println!(
            "  NEW {}",
            side(d.new_allows, &d.new_determining, &d.new_erroring)
        );
        let r = &d.witness.request;
        for key in ["principal", "action", "resource"] {
            println!("  {key}: {}", r[key].as_str().unwrap_or("?"));
        }
        if let Some(at) = r["context"]["at"]["__extn"]["arg"].as_str() {
            println!("  at: {at}");
        }
        println!(
            "  context: {}",
            serde_json::to_string(&r["context"]).unwrap_or_default()
        );
    }
    if report.equivalent() {
        println!(
            "the policies are equivalent: the same decision for every request and every entity \
             store in {} request environments ({:.1} s)",
            report.environments, report.seconds
        );
    } else {
        println!(
            "{} of {} request environments differ ({:.1} s)",
            report.differences.len(),
            report.environments,
            report.seconds
        );
    }
}
