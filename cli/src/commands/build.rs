//! `slicegate build`: policies → a pre-initialised, unsigned bundle, tested
//! through its own component before it is written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use slicegate::PolicySources;
use slicegate::bundle::{self, BuildError, BuildOptions, BundleName, Revision};
use slicegate_tooling::cases::CaseFile;
use slicegate_tooling::testing::TestedBuildError;

#[derive(clap::Args)]
pub struct Args {
    /// The policy folder (schema.cedarschema, packs/<pack>/*.cedar,
    /// data/*.json). Default: `policies/` here, else the library built into
    /// slicegate.
    dir: Option<PathBuf>,
    /// Where to write the bundle.
    #[arg(long, short = 'o', default_value = "bundle.wasm")]
    output: PathBuf,
    /// The bundle name (hosts track revisions per name). Defaults to the
    /// folder's name.
    #[arg(long)]
    name: Option<String>,
    /// The bundle revision: a host refuses a revision lower than one it
    /// already accepted for the same name.
    #[arg(long, default_value_t = 1)]
    revision: u64,
    /// Not valid before this instant (RFC 3339).
    #[arg(long)]
    not_before: Option<String>,
    /// Not valid after this instant (RFC 3339).
    #[arg(long)]
    not_after: Option<String>,
    /// Only these packs (comma-separated names of folders under packs/).
    #[arg(long, value_delimiter = ',')]
    packs: Option<Vec<String>>,
    /// The build time recorded in the manifest (RFC 3339). Defaults to
    /// SOURCE_DATE_EPOCH when set, else now; fix it for reproducible builds.
    #[arg(long)]
    created_at: Option<String>,
    /// Refuse to build when the check finds warnings (validator warnings,
    /// policies missing @pack, @reason or @source).
    #[arg(long)]
    deny_warnings: bool,
    /// Skip the test cases (`*.tests.yaml`/`.yml`/`.json` under DIR), which
    /// otherwise run through the built component and must all pass; the
    /// manifest then records no test summary.
    #[arg(long)]
    no_test: bool,
    /// Prove the invariants (`invariants/` under DIR, see `slicegate
    /// prove`) first, and write no bundle unless every one holds.
    #[arg(long)]
    prove: bool,
}

/// SOURCE_DATE_EPOCH as RFC 3339, else now.
fn default_created_at() -> anyhow::Result<String> {
    let time = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => {
            let seconds: u64 = epoch.trim().parse().with_context(|| {
                format!("SOURCE_DATE_EPOCH `{epoch}` is not a number of seconds")
            })?;
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds)
        }
        Err(_) => std::time::SystemTime::now(),
    };
    Ok(humantime::format_rfc3339_seconds(time).to_string())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => crate::library::default_policies()?,
    };
    let sources = PolicySources::from_dir_with_packs(&dir, args.packs.as_deref())
        .with_context(|| format!("reading policies from {}", dir.display()))?;
    let options = build_options(&dir, &args)?;
    eprintln!(
        "building {} revision {} from {} ({} policy file(s), packs: {})",
        options.name,
        options.revision,
        dir.display(),
        sources.policies.len(),
        sources.packs().join(", ")
    );
    note_unenforced(&sources);
    // Warnings first (the build's own check stops only on errors).
    let warnings = print_warnings(&sources);
    if warnings > 0 && args.deny_warnings {
        eprintln!("{warnings} warning(s) and --deny-warnings; no bundle written");
        return Ok(ExitCode::from(1));
    }
    if args.prove && !proved(&dir, &sources)? {
        return Ok(ExitCode::from(2));
    }
    let built = if args.no_test {
        build_untested(&sources, &options)?
    } else {
        build_and_test(&dir, &sources, &options)?
    };
    let Some(bytes) = built else {
        return Ok(ExitCode::from(1));
    };
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let inspection = bundle::inspect(&bytes, None)?;
    println!(
        "wrote {} ({} bytes, {} policies, {warnings} warning(s), content sha256 {}); unsigned: sign it with `slicegate sign`",
        args.output.display(),
        bytes.len(),
        inspection.manifest.policy_count,
        inspection.content_sha256
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether every invariant under `dir/invariants` holds for `sources`
/// (each verdict printed to stderr).
fn proved(dir: &Path, sources: &PolicySources) -> anyhow::Result<bool> {
    use slicegate_tooling::prove::{self, Invariants, Verdict};
    let mut invariants = Invariants::read_dir(&dir.join("invariants"))?;
    // With --packs, a pack left out keeps its promises out too (its
    // invariant file is named after it); other files always apply.
    let all_packs = PolicySources::from_dir(dir)
        .map(|all| all.packs())
        .unwrap_or_default();
    let built = sources.packs();
    let mut skipped: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    invariants.invariants.retain(|i| {
        let stem = Path::new(&i.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kept = built.contains(&stem) || !all_packs.contains(&stem);
        if !kept {
            skipped
                .entry(i.file.clone())
                .or_default()
                .push(i.id.clone());
        }
        kept
    });
    // Said, never silent: a promise filed under the wrong pack's name is
    // visible here.
    for (file, ids) in &skipped {
        eprintln!(
            "not proved: {file} (its pack is not in this bundle): {}",
            ids.join(", ")
        );
    }
    if invariants.invariants.is_empty() {
        anyhow::bail!(
            "--prove: {} holds no invariant",
            dir.join("invariants").display()
        );
    }
    prove::ensure_solver()?;
    let (schema, policies) = prove::load(sources)?;
    let reports = prove::prove(&schema, &policies, &invariants, |r| {
        let verdict = match r.verdict {
            Verdict::Proved => "proved ",
            Verdict::Refuted(_) => "REFUTED",
        };
        eprintln!("{verdict} {} ({:.2} s)", r.id, r.took.as_secs_f64());
    })?;
    let refuted: Vec<&str> = reports
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Refuted(_)))
        .map(|r| r.id.as_str())
        .collect();
    if refuted.is_empty() {
        eprintln!("{} invariant(s) proved", reports.len());
        return Ok(true);
    }
    eprintln!(
        "refuted: {}; no bundle written (`slicegate prove {}` shows the counterexamples)",
        refuted.join(", "),
        dir.display()
    );
    Ok(false)
}

/// The build options: the name (--name, else the folder's), revision,
/// creation time and validity window.
fn build_options(dir: &Path, args: &Args) -> anyhow::Result<BuildOptions> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "policies".to_string()),
    };
    Ok(BuildOptions {
        name: BundleName(name),
        revision: Revision(args.revision),
        created_at: match &args.created_at {
            Some(t) => t.clone(),
            None => default_created_at()?,
        },
        not_before: args.not_before.clone(),
        not_after: args.not_after.clone(),
        tests: None,
    })
}

/// Notes the networks and slice kinds under regimes the build leaves out
/// (the bundle refuses every decision on them).
fn note_unenforced(sources: &PolicySources) {
    let unenforced = sources.networks_without_their_packs();
    if !unenforced.is_empty() {
        eprintln!(
            "note: {} network(s) of the reference data are under regimes this build leaves \
             out; the bundle refuses every decision on them:",
            unenforced.len()
        );
        for (network, missing) in &unenforced {
            eprintln!("  {network} (needs {})", missing.join(", "));
        }
    }
    let unenforced = sources.categories_without_their_packs();
    if !unenforced.is_empty() {
        eprintln!(
            "note: slices of {} kind(s) (customer categories, or usFederal) are covered on \
             every network by regimes this build leaves out; the bundle refuses every decision \
             on them:",
            unenforced.len()
        );
        for (category, missing) in &unenforced {
            eprintln!("  {category} (needs {})", missing.join(", "));
        }
    }
}

/// Prints the check's warnings and returns how many there were (none when
/// the check fails: the build reports its errors).
fn print_warnings(sources: &PolicySources) -> usize {
    let mut warnings = 0;
    if let Ok(checked) = bundle::check(sources) {
        for warning in &checked.warnings {
            eprintln!("warning: {warning}\n");
        }
        warnings = checked.warnings.len();
    }
    warnings
}

/// Reports the problems that stopped the build.
fn check_failed(problems: &bundle::CheckError) {
    for problem in &problems.0 {
        eprintln!("error: {problem}\n");
    }
    eprintln!("{} problem(s); no bundle written", problems.0.len());
}

/// Builds the bundle without running its tests; `None` when the policies do
/// not check (reported).
fn build_untested(
    sources: &PolicySources,
    options: &BuildOptions,
) -> anyhow::Result<Option<Vec<u8>>> {
    let step =
        crate::progress::Step::start("building the bundle (pre-initialising the engine) ...");
    let built = bundle::build(sources, options);
    drop(step);
    match built {
        Ok(bytes) => Ok(Some(bytes)),
        Err(BuildError::Check(problems)) => {
            check_failed(&problems);
            Ok(None)
        }
        Err(other) => Err(other).context("building the bundle"),
    }
}

/// Builds the bundle and runs the case files under `dir` through it; `None`
/// when the policies do not check or a test fails (reported).
fn build_and_test(
    dir: &Path,
    sources: &PolicySources,
    options: &BuildOptions,
) -> anyhow::Result<Option<Vec<u8>>> {
    let files = CaseFile::discover_for_packs(dir, &sources.packs())?;
    let step = crate::progress::Step::start(format!(
        "testing the build with {} case file(s) under {} (--no-test skips) ...",
        files.len(),
        dir.display()
    ));
    let built = slicegate_tooling::testing::build_tested(sources, options, &files);
    drop(step);
    match built {
        Ok((bytes, suite)) => {
            eprintln!("tests: {}", suite.manifest_summary());
            Ok(Some(bytes))
        }
        Err(TestedBuildError::Build(BuildError::Check(problems))) => {
            check_failed(&problems);
            Ok(None)
        }
        Err(TestedBuildError::Failed(suite)) => {
            eprint!("{}", suite.to_human());
            eprintln!("tests failed; no bundle written");
            Ok(None)
        }
        Err(other) => Err(other).context("building the bundle"),
    }
}
