//! `slicegate check-plan`: a deployment plan, item by item and against the
//! plan-level rules, from a policy folder or a signed bundle.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use slicegate::bundle::{BundleLoader, CompileCache, TrustStore};
use slicegate::plan::PlanFile;

use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// The plan file (JSON): network, metric, sites, slices, installed
    /// equipment and changes. See policies/examples/plans/.
    plan: PathBuf,
    /// Decide with the policies in this folder (parsed now, not signed).
    /// Defaults to the repository's `policies/` when no --bundle is given.
    #[arg(long, conflicts_with = "bundle")]
    policies: Option<PathBuf>,
    /// Decide with this signed bundle, verified against --trust first.
    #[arg(long, requires = "trust")]
    bundle: Option<PathBuf>,
    /// The trust store for --bundle (TOML).
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Honour the plan's own `at` (a what-if evaluation, marked as such).
    /// Without it the host's clock decides and a plan that sets `at` is
    /// refused.
    #[arg(long)]
    what_if: bool,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

/// Exit status: 0 the plan is allowed, 2 it is denied, 1 an error.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = PlanFile::read(&args.plan)?;
    let plan = file.resolve(&args.plan.display().to_string())?;
    let cache = CompileCache::default_location();
    let decider = match (&args.bundle, &args.trust) {
        (Some(bundle), Some(trust)) => {
            let trust = TrustStore::load(trust)?;
            let loaded = BundleLoader::new(trust)
                .with_cache(cache)
                .load_file(bundle)
                .with_context(|| format!("loading {}", bundle.display()))?;
            loaded
                .decider()
                .map_err(|failure| anyhow!("starting {}: {failure}", bundle.display()))?
        }
        _ => super::demo::folder_decider(args.policies.as_deref())?.0,
    };
    let mut decider = decider.permit_what_if(args.what_if);
    let result = decider.check_plan(&plan);
    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        if !file.name.is_empty() {
            println!("plan: {} ({})", file.name, file.network);
        }
        print!("{}", output::plan_report(&result));
    }
    Ok(if result.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
