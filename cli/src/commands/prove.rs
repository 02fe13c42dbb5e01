//! `slicegate prove`: the library's invariants, proved for every request
//! and every entity store the schema admits (cedar-policy-symcc and cvc5).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use slicegate::PolicySources;
use slicegate_tooling::prove::{self, InvariantReport, Invariants, Promise, Verdict};

#[derive(clap::Args)]
pub struct Args {
    /// A policy folder (its invariants are in `invariants/` beside `packs/`)
    /// or a bundle (`.wasm`: the sources it carries are proved; give the
    /// invariants with --invariants). Default: `policies/` here, else the
    /// library built into slicegate.
    path: Option<PathBuf>,
    /// The folder of invariant files (`*.cedar`). Default: `invariants/` of
    /// the policy folder, or of the default library for a bundle.
    #[arg(long)]
    invariants: Option<PathBuf>,
    /// Write each counterexample to `DIR/<invariant id>/` (the id with every
    /// character but letters, digits, `.`, `_` and `-` replaced): the
    /// request and entities in Cedar's JSON forms, the policies and the
    /// schema.
    #[arg(long, value_name = "DIR")]
    counterexamples: Option<PathBuf>,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

/// Exit status: 0 when every invariant holds, 2 when one is refuted, 1 on
/// an error (policies or invariants that do not load, no solver).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = match &args.path {
        Some(path) => path.clone(),
        None => crate::library::default_policies()?,
    };
    if let Some(dir) = &args.counterexamples {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--counterexamples {}", dir.display()))?;
    }
    let (sources, invariants_dir) = sources(&path, args.invariants.as_deref())?;
    let invariants = Invariants::read_dir(&invariants_dir)
        .with_context(|| format!("reading invariants from {}", invariants_dir.display()))?;
    if invariants.invariants.is_empty() {
        anyhow::bail!(
            "{} holds no invariant (a `forbid` or `permit` with @id and @reason in a .cedar file)",
            invariants_dir.display()
        );
    }
    prove::ensure_solver()?;
    let (schema, policies) = prove::load(&sources)?;
    let json = args.output.json();
    if !json {
        for assumption in &invariants.assumptions {
            println!(
                "assuming {} ({}): {}",
                assumption.id, assumption.file, assumption.reason
            );
        }
    }
    let total = invariants.invariants.len();
    let mut done = 0;
    let bar = crate::progress::bar("proving", json);
    bar.set_length(total as u64);
    let reports = prove::prove(&schema, &policies, &invariants, |report| {
        done += 1;
        bar.inc(1);
        if !json {
            bar.suspend(|| println!("{}", line(report)));
        }
    })?;
    bar.finish_and_clear();
    if let Some(dir) = &args.counterexamples {
        write_counterexamples(dir, &reports, &sources)?;
    }
    let refuted = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Refuted(_)))
        .count();
    let took: f64 = reports.iter().map(|r| r.took.as_secs_f64()).sum();
    if json {
        let out = serde_json::json!({
            "proved": reports.len() - refuted,
            "refuted": refuted,
            "seconds": (took * 1000.0).round() / 1000.0,
            "assumptions": invariants.assumptions.iter().map(|a| serde_json::json!({
                "id": a.id, "reason": a.reason, "file": a.file,
            })).collect::<Vec<_>>(),
            "invariants": reports,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for report in &reports {
            if let Verdict::Refuted(c) = &report.verdict {
                print_counterexample(report, c);
            }
        }
        println!(
            "{} proved, {refuted} refuted ({done} invariants, {took:.1} s)",
            reports.len() - refuted
        );
    }
    Ok(if refuted > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The policy sources of a folder, or those a bundle carries once they are
/// shown to be what its compiled component decides with.
pub(crate) fn policy_sources(path: &Path) -> anyhow::Result<PolicySources> {
    if path.is_dir() {
        return PolicySources::from_dir(path)
            .with_context(|| format!("reading policies from {}", path.display()));
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let _step = crate::progress::Step::start(format!(
        "checking that {}'s sources are what it decides with ...",
        path.display()
    ));
    slicegate_tooling::bundled::open(&bytes)
        .map(|(sources, _)| sources)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The sources to prove and the invariants folder.
fn sources(path: &Path, invariants: Option<&Path>) -> anyhow::Result<(PolicySources, PathBuf)> {
    let sources = policy_sources(path)?;
    if path.is_dir() {
        let dir = invariants.map_or_else(|| path.join("invariants"), Path::to_path_buf);
        return Ok((sources, dir));
    }
    let dir = match invariants {
        Some(dir) => dir.to_path_buf(),
        None => crate::library::default_policies()?.join("invariants"),
    };
    Ok((sources, dir))
}

fn line(report: &InvariantReport) -> String {
    let verdict = match report.verdict {
        Verdict::Proved => "proved ",
        Verdict::Refuted(_) => "REFUTED",
    };
    format!(
        "{verdict} {} ({:.2} s, {} request environment{})",
        report.id,
        report.took.as_secs_f64(),
        report.environments,
        if report.environments == 1 { "" } else { "s" }
    )
}

fn print_counterexample(report: &InvariantReport, c: &prove::Counterexample) {
    println!();
    println!("{} is refuted: {}", report.id, report.reason);
    match report.promise {
        Promise::NeverAllowed => println!(
            "  the library ALLOWS this request, which the invariant forbids (determining: {}):",
            list(&c.determining)
        ),
        Promise::AlwaysAllowed => println!(
            "  the library DENIES this request, which the invariant says is always allowed (determining: {}):",
            list(&c.determining)
        ),
    }
    println!("  environment: {}", c.environment);
    for key in ["principal", "action", "resource"] {
        println!("  {key}: {}", c.request[key].as_str().unwrap_or("?"));
    }
    println!(
        "  context: {}",
        serde_json::to_string(&c.request["context"]).unwrap_or_default()
    );
    let count = c.entities.as_array().map_or(0, Vec::len);
    println!("  entities: {count} (write them with --counterexamples DIR)");
    match (report.promise, &c.erroring_forbid) {
        (Promise::AlwaysAllowed, Some(forbid)) => println!(
            "  the forbid {forbid} errors on this request, and the engine denies a request on \
             which a forbid errors (fail closed)"
        ),
        // Only a forbid whose errors the engine form leaves out (Long `*`,
        // `toDate`) can error on a never-allowed counterexample.
        (Promise::NeverAllowed, Some(_)) => println!(
            "  note: {} errors on this request (an error the proof's engine form leaves out), \
             so the engine itself would deny it; the invariant still does not follow from the \
             policies",
            c.forbids_erroring.join(", ")
        ),
        (_, None) => {}
    }
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        "no policy".to_string()
    } else {
        ids.join(", ")
    }
}

/// Each refuted invariant's counterexample as files `slicegate authorize`
/// takes.
fn write_counterexamples(
    dir: &Path,
    reports: &[InvariantReport],
    sources: &PolicySources,
) -> anyhow::Result<()> {
    let mut used = std::collections::BTreeSet::new();
    for report in reports {
        let Verdict::Refuted(c) = &report.verdict else {
            continue;
        };
        let folder = dir.join(folder_name(&report.id, &mut used));
        if std::fs::symlink_metadata(&folder).is_ok() {
            anyhow::bail!(
                "{} already exists: give --counterexamples an empty folder",
                folder.display()
            );
        }
        std::fs::create_dir(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let write = |name: &str, text: String| {
            let path = folder.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
        };
        write("request.json", serde_json::to_string_pretty(&c.request)?)?;
        write("entities.json", serde_json::to_string_pretty(&c.entities)?)?;
        let policies: Vec<&str> = sources.policies.iter().map(|f| f.text.as_str()).collect();
        write("policies.cedar", policies.join("\n"))?;
        if let Some(schema) = &sources.schema {
            write("schema.cedarschema", schema.text.clone())?;
        }
        let at = folder.display();
        eprintln!(
            "counterexample of {} written to {at}/ (request.json, entities.json in Cedar's JSON \
             forms; policies.cedar; schema.cedarschema)",
            report.id
        );
    }
    Ok(())
}

/// A folder name for an invariant id: letters, digits, `.`, `_`, `-` kept,
/// everything else `_`, never `.`/`..`/empty, at most 100 characters, and
/// unique in the run (`-2`, `-3`, … on a collision).
fn folder_name(id: &str, used: &mut std::collections::BTreeSet<String>) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if name.trim_matches('.').is_empty() {
        name = format!("invariant{name}").replace('.', "_");
    }
    let mut unique = name.clone();
    let mut n = 1;
    while !used.insert(unique.clone()) {
        n += 1;
        unique = format!("{name}-{n}");
    }
    unique
}

#[cfg(test)]
mod tests {
    #[test]
    fn counterexample_folders_stay_inside_and_never_collide() {
        let mut used = std::collections::BTreeSet::new();
        let names: Vec<String> = ["..", ".", "", "a/b", "a_b", "../../etc", &"x".repeat(300)]
            .iter()
            .map(|id| super::folder_name(id, &mut used))
            .collect();
        for name in &names {
            assert!(!name.is_empty() && name != "." && name != "..", "{name:?}");
            assert!(!name.contains('/') && name.len() <= 103, "{name:?}");
        }
        assert_eq!(names[3], "a_b");
        assert_eq!(names[4], "a_b-2");
        assert_eq!(used.len(), names.len());
    }
}
