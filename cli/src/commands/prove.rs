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
    /// Write each counterexample to `DIR/<invariant id>/` as files
    /// `slicegate authorize` takes (request.json, entities.json,
    /// policies.cedar, schema.cedarschema).
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

/// The policy sources of a folder, or those a bundle carries.
pub(crate) fn policy_sources(path: &Path) -> anyhow::Result<PolicySources> {
    if path.is_dir() {
        return PolicySources::from_dir(path)
            .with_context(|| format!("reading policies from {}", path.display()));
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    slicegate::bundle::embedded_sources(&bytes)
        .with_context(|| format!("{}: the policy sources it carries", path.display()))
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
    for report in reports {
        let Verdict::Refuted(c) = &report.verdict else {
            continue;
        };
        let folder = dir.join(report.id.replace(['/', '\\'], "_"));
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
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
            "counterexample of {}: slicegate authorize --policies {at}/policies.cedar \
             --schema {at}/schema.cedarschema --entities {at}/entities.json \
             --request-json {at}/request.json",
            report.id
        );
    }
    Ok(())
}
