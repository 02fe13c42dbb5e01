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
    /// compliance calendar: the items that change at each deadline the
    /// policies and reference data name inside the range.
    #[arg(long)]
    at: Option<String>,
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
    let old_sources = policy_sources(&args.old)?;
    let mut old = decider(&runtime, &old_sources, &args.old)?;
    let range = args.at.as_deref().and_then(|at| at.split_once(".."));
    let json = args.output.json();
    let steps = match (&args.new, range) {
        (Some(new), None) => {
            let at = args.at.clone().unwrap_or_else(now);
            let mut new = decider(&runtime, &policy_sources(new)?, new)?;
            let before = impact::decide_all(&mut old, &work, &at);
            let after = impact::decide_all(&mut new, &work, &at);
            vec![(at, impact::changes(&before, &after))]
        }
        (None, Some((from, to))) => calendar(&mut old, &old_sources, &work, from, to)?,
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
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"changed": total, "steps": out}))?
        );
    } else {
        for (at, changes) in &steps {
            print_step(at, changes, args.new.is_some());
        }
        println!("{total} decision(s) change");
    }
    Ok(if total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn decider(
    runtime: &Runtime,
    sources: &PolicySources,
    path: &std::path::Path,
) -> anyhow::Result<Decider> {
    Ok(Decider::new(runtime, sources)
        .map_err(|f| anyhow::anyhow!("{f}"))
        .with_context(|| format!("loading {}", path.display()))?
        .permit_what_if(true))
}

/// The changes at each deadline inside `from..to`, against the instant
/// before it.
fn calendar(
    decider: &mut Decider,
    sources: &PolicySources,
    work: &Workload,
    from: &str,
    to: &str,
) -> anyhow::Result<Vec<(String, Vec<Change>)>> {
    let texts = sources
        .policies
        .iter()
        .chain(&sources.entities)
        .map(|f| f.text.as_str());
    let instants = impact::deadlines(texts, from, to);
    if instants.is_empty() {
        anyhow::bail!("--at {from}..{to}: both ends must be RFC 3339 instants");
    }
    let mut steps = Vec::new();
    let mut before = impact::decide_all(decider, work, &instants[0]);
    for at in &instants[1..] {
        let after = impact::decide_all(decider, work, at);
        let changes = impact::changes(&before, &after);
        if !changes.is_empty() {
            steps.push((at.clone(), changes));
        }
        before = after;
    }
    Ok(steps)
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
