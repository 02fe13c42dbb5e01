//! `slicegate test`: the policy test cases through the artifact that ships
//! (a bundle built from a policy folder, or a given bundle) and through
//! native Cedar, with per-policy coverage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use slicegate::PolicySources;
use slicegate::bundle::{self, BuildOptions, BundleName, Revision};
use slicegate_tooling::cases::{CaseFile, Suite};
use slicegate_tooling::mutate::MutationReport;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A line per file, failures in full, coverage, `N passed, M failed`.
    Human,
    /// The whole run as JSON.
    Json,
    /// JUnit XML for CI systems.
    Junit,
}

#[derive(clap::Args)]
pub struct Args {
    /// A policy folder (built into a bundle for the run; its cases are the
    /// `*.tests.yaml`/`.yml`/`.json` files under it) or a bundle (`.wasm`,
    /// tested with the cases under --cases). Default: `policies/` here,
    /// else the library built into slicegate.
    path: Option<PathBuf>,
    /// Where the case files are, when PATH is a bundle. Default: `policies/`
    /// here, else the library built into slicegate.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Run only the cases whose name or file contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Fail when fewer than this percentage of the policies determine at
    /// least one case.
    #[arg(long, value_name = "PCT")]
    coverage_min: Option<f64>,
    /// Also prove that dropping information never helps: every case the
    /// library denies is decided again with less information or a weaker
    /// claim (a component left out, unsigned software, no SBOM, a dropped
    /// notification or session, an unknown party, a weight of 0, a slice
    /// scope, another metric), and any that is then allowed is reported as
    /// fail-open (exit 1).
    #[arg(long)]
    mutate: bool,
    /// Also write every case (and the example plans and placements under
    /// the cases' `examples/`) to FILE as the request the component takes,
    /// with this host's decision: the input of the cross-host conformance
    /// run (`scripts/cross-host.sh`), where the Python and Node hosts
    /// decide the same requests on the same bundle.
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
}

/// Exit status: 0 when every case passed (and coverage is at least
/// --coverage-min), 1 otherwise or on an error.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = match &args.path {
        Some(path) => path.clone(),
        None => crate::library::default_policies()?,
    };
    let (bundle_bytes, sources, cases_dir) = if path.is_dir() {
        build_folder(&path, &args)?
    } else {
        read_bundle(&path, &args)?
    };
    // Only the cases of the packs the bundle holds (and the shared fixtures).
    let files = CaseFile::discover_for_packs(&cases_dir, &sources.packs())?;
    let step = crate::progress::Step::start(format!(
        "running {} case file(s) from {} through the component and native Cedar ...",
        files.len(),
        cases_dir.display()
    ));
    let suite = slicegate_tooling::testing::test_component(
        &bundle_bytes,
        &sources,
        &files,
        args.filter.as_deref(),
    )?;
    drop(step);
    let mutations = if args.mutate {
        let _step = crate::progress::Step::start(
            "mutating every denied case (less information, weaker claims) ...",
        );
        Some(slicegate_tooling::testing::mutate_component(
            &bundle_bytes,
            &sources,
            &files,
            args.filter.as_deref(),
        )?)
    } else {
        None
    };
    if let Some(out) = &args.export {
        export(&bundle_bytes, &sources, &files, &cases_dir, out)?;
    }
    print_report(args.format, &suite, mutations.as_ref())?;
    Ok(if passed(&args, &suite, mutations.as_ref()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes the cases of `files` (and the examples under `cases_dir`) with
/// this host's decisions to `out`.
fn export(
    bundle_bytes: &[u8],
    sources: &PolicySources,
    files: &[CaseFile],
    cases_dir: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let examples = cases_dir.join("examples");
    let export = slicegate_tooling::testing::export_component(
        bundle_bytes,
        sources,
        files,
        examples.is_dir().then_some(examples.as_path()),
    )?;
    let text = serde_json::to_string_pretty(&export)?;
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "exported {} request(s) to {} (median placement decision {:.0} µs)",
        export.cases.len(),
        out.display(),
        export.placement_median_micros
    );
    Ok(())
}

/// The bundle built from the policy folder `path`, its sources, and where
/// its cases are (--cases, else the folder itself).
fn build_folder(path: &Path, args: &Args) -> anyhow::Result<(Vec<u8>, PolicySources, PathBuf)> {
    let sources = PolicySources::from_dir(path)
        .with_context(|| format!("reading policies from {}", path.display()))?;
    let _step =
        crate::progress::Step::start(format!("building {} for the test run ...", path.display()));
    let options = BuildOptions {
        name: BundleName("slicegate-test".to_string()),
        revision: Revision(1),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    let bytes = bundle::build(&sources, &options).map_err(|e| match e {
        bundle::BuildError::Check(problems) => anyhow::anyhow!(
            "the policies do not check:\n{}",
            problems
                .0
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow::Error::new(other).context("building the bundle"),
    })?;
    let cases = args.cases.clone().unwrap_or_else(|| path.to_path_buf());
    Ok((bytes, sources, cases))
}

/// The bundle at `path`, the sources embedded in it, and where its cases
/// are (--cases, else the default policy folder).
fn read_bundle(path: &Path, args: &Args) -> anyhow::Result<(Vec<u8>, PolicySources, PathBuf)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let sources =
        bundle::embedded_sources(&bytes).with_context(|| format!("testing {}", path.display()))?;
    let cases = args
        .cases
        .clone()
        .map_or_else(crate::library::default_policies, Ok)?;
    Ok((bytes, sources, cases))
}

/// Prints the suite (and the mutation report, if any) in `format`.
fn print_report(
    format: Format,
    suite: &Suite,
    mutations: Option<&MutationReport>,
) -> anyhow::Result<()> {
    match format {
        Format::Human => {
            print!("{}", suite.to_human());
            if let Some(report) = mutations {
                print!("{}", report.to_human());
            }
        }
        Format::Json => match mutations {
            Some(report) => println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "suite": suite,
                    "mutations": report,
                }))?
            ),
            None => println!("{}", serde_json::to_string_pretty(suite)?),
        },
        Format::Junit => {
            print!("{}", suite.to_junit());
            if let Some(report) = mutations {
                eprint!("{}", report.to_human());
            }
        }
    }
    Ok(())
}

/// Whether the run passed: every case passed (and at least one ran), no
/// mutation failed open and coverage is at least --coverage-min. Says on
/// stderr why not.
fn passed(args: &Args, suite: &Suite, mutations: Option<&MutationReport>) -> bool {
    let mut ok = suite.failed == 0 && suite.passed > 0;
    if let Some(report) = mutations
        && !report.fail_open.is_empty()
    {
        eprintln!(
            "{} mutation(s) turned a deny into an allow: the library fails open",
            report.fail_open.len()
        );
        ok = false;
    }
    if suite.passed + suite.failed == 0 {
        eprintln!("no test case ran (check the path and --filter)");
    }
    if let Some(min) = args.coverage_min
        && suite.coverage_percent < min
    {
        eprintln!(
            "policy coverage {:.1} % is below --coverage-min {min} %",
            suite.coverage_percent
        );
        ok = false;
    }
    ok
}
