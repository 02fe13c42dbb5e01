//! `slicegate impact OLD NEW --plans DIR`: what a policy change does to the
//! operator's network before it is deployed; with one bundle and a time
//! range, a compliance calendar.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use slicegate::{Decider, Limits, PolicySources, Runtime};
use slicegate_tooling::impact::{self, Change, Workload};

use super::prove::policy_sources;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("network").required(true).args(["plans", "inventory"])))]
pub struct Args {
    /// The current policies: a bundle (`.wasm`, the sources it carries) or a
    /// policy folder.
    old: PathBuf,
    /// The proposed policies, the same way. Without it, --at must be a range
    /// and the run is a compliance calendar of OLD.
    new: Option<PathBuf>,
    /// A folder of deployment plans (`*.json`, as `check-plan` takes them):
    /// every installed item, every change and each plan's adoption.
    #[arg(long, value_name = "DIR")]
    plans: Option<PathBuf>,
    /// A JSON array of placement requests (the inventory).
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// When to decide (RFC 3339; default now), or `FROM..TO` for a
    /// compliance calendar: the items that change inside the range, each at
    /// the first second it changes (found between the deadlines the
    /// policies and reference data name and every --step).
    #[arg(long)]
    at: Option<String>,
    /// For a calendar: decide at least this often between the named
    /// deadlines, so computed ones (a notification plus its waiting period)
    /// are found too; a change that reverts within one step and names no
    /// deadline can be missed.
    #[arg(long, default_value = "7days", value_parser = humantime::parse_duration)]
    step: std::time::Duration,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

/// Exit status: 0 when nothing changes, 2 when some decision changes, 1 on
/// an error.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let work = match (&args.plans, &args.inventory) {
        (Some(dir), _) => Workload::plans(dir),
        (None, Some(file)) => Workload::inventory(file),
        (None, None) => unreachable!("clap requires one"),
    }
    .map_err(anyhow::Error::msg)?;
    let runtime = Runtime::new(Limits::default())?;
    let range = args.at.as_deref().and_then(|at| at.split_once(".."));
    if let (Some(at), None) = (&args.at, range) {
        instant(at, "--at")?;
    }
    let (old_sources, mut old) = decider(&runtime, &args.old)?;
    let json = args.output.json();
    let undecided;
    let steps = match (&args.new, range) {
        (Some(new), None) => {
            // Checked above; asked in one normal form.
            let at = match &args.at {
                Some(at) => impact::format_instant(instant(at, "--at")?),
                None => now(),
            };
            let (_, mut new) = decider(&runtime, new)?;
            let before = impact::decide_all(&mut old, &work, &at);
            let after = impact::decide_all(&mut new, &work, &at);
            undecided = impact::undecided(&before, &after);
            vec![(at, impact::changes(&before, &after))]
        }
        (None, Some((from, to))) => {
            let (from, to) = (instant(from, "--at FROM")?, instant(to, "--at TO")?);
            if from >= to {
                anyhow::bail!("--at FROM..TO: FROM must be before TO");
            }
            // The calendar works to the second, and decides the whole
            // network at every step: bounded, so a typo is not an
            // afternoon's run.
            const MAX_STEPS: u128 = 10_000;
            let span = to.duration_since(from).unwrap_or_default();
            if args.step < std::time::Duration::from_secs(1) {
                anyhow::bail!(
                    "--step {:?}: at least 1s (the calendar works to the second)",
                    args.step
                );
            }
            if span.as_millis() / args.step.as_millis() > MAX_STEPS {
                anyhow::bail!(
                    "--step {} over {}: more than {MAX_STEPS} steps; give a longer --step or a \
                     shorter range",
                    humantime::format_duration(args.step),
                    humantime::format_duration(span)
                );
            }
            let texts = old_sources
                .policies
                .iter()
                .chain(&old_sources.entities)
                .map(|f| f.text.as_str());
            let instants = impact::deadlines(texts, from, to, args.step);
            let first = impact::decide_all(&mut old, &work, &impact::format_instant(from));
            undecided = impact::undecided(&first, &first);
            impact::calendar(&mut old, &work, &instants)
        }
        (Some(_), Some(_)) => {
            anyhow::bail!("a time range (--at FROM..TO) takes one bundle: the calendar of OLD")
        }
        (None, None) => anyhow::bail!(
            "give NEW to compare with, or --at FROM..TO for a compliance calendar of OLD"
        ),
    };
    let total: usize = steps.iter().map(|(_, c)| c.len()).sum();
    if json {
        let out: Vec<_> = steps
            .iter()
            .map(|(at, changes)| serde_json::json!({"at": at, "changes": changes}))
            .collect();
        let undecided: Vec<_> = undecided
            .iter()
            .map(|(item, why)| serde_json::json!({"item": item, "failure": why}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "changed": total, "steps": out, "undecided": undecided,
            }))?
        );
    } else {
        for (at, changes) in &steps {
            print_step(at, changes, args.new.is_some());
        }
        for (item, why) in &undecided {
            println!(
                "NOT DECIDED {} `{}` ({} #{}): {why}",
                item.operation, item.equipment, item.source, item.position
            );
        }
        println!("{total} decision(s) change");
    }
    if !undecided.is_empty() {
        eprintln!(
            "error: {} item(s) could not be decided on either side (listed above): fix them \
             and run again",
            undecided.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(if total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// An instant from the command line.
fn instant(text: &str, what: &str) -> anyhow::Result<std::time::SystemTime> {
    impact::parse_instant(text).ok_or_else(|| {
        anyhow::anyhow!(
            "{what} `{text}` is not an RFC 3339 instant from 1970 on (2026-06-01T00:00:00Z, or \
             with an offset: 2026-06-01T02:00:00+02:00)"
        )
    })
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The sources and a decider for a policy folder, or for a bundle its own
/// compiled component (once its sources are shown to be what it decides
/// with).
fn decider(runtime: &Runtime, path: &std::path::Path) -> anyhow::Result<(PolicySources, Decider)> {
    if path.is_dir() {
        let sources = policy_sources(path)?;
        let decider = Decider::new(runtime, &sources)
            .map_err(|f| anyhow::anyhow!("{f}"))
            .with_context(|| format!("loading {}", path.display()))?;
        return Ok((sources, decider.permit_what_if(true)));
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (sources, decider) = slicegate_tooling::bundled::open(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((sources, decider.permit_what_if(true)))
}

fn print_step(at: &str, changes: &[Change], comparing: bool) {
    if changes.is_empty() {
        println!("at {at}: no decision changes");
        return;
    }
    println!(
        "{}",
        if comparing {
            format!(
                "at {at}, NEW decides {} item(s) differently from OLD:",
                changes.len()
            )
        } else {
            format!("from {at}, {} item(s) change:", changes.len())
        }
    );
    for (policy, denied, allowed) in impact::by_policy(changes) {
        println!(
            "  {policy}: {} newly denied, {} newly allowed",
            denied.len(),
            allowed.len()
        );
        for change in denied.iter().chain(&allowed) {
            println!(
                "    {} {} `{}` ({})",
                if change.after.allowed {
                    "allowed"
                } else {
                    "DENIED "
                },
                change.item.operation,
                change.item.equipment,
                change.item.source
            );
        }
    }
}
