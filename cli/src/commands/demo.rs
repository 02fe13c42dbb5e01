//! `slicegate demo`: the example network's deployment plans and a few single
//! placements against the default 5G library, through the path operators
//! use: build → sign → verify → load → check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use comfy_table::{ContentArrangement, Table};
use serde::Deserialize;
use slicegate::bundle::{
    self, BuildOptions, BundleLoader, BundleName, CompileCache, KeyPair, LoadedBundle, Revision,
    TrustStore,
};
use slicegate::plan::PlanFile;
use slicegate::{Decider, Decision, DeploymentPlan, PlacementRequest, PlanResult, PolicySources};

use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// The policy folder (schema.cedarschema, packs/, data/). Defaults to the
    /// repository's `policies/`.
    #[arg(long)]
    policies: Option<PathBuf>,
    /// The placements to evaluate. Defaults to
    /// `<policies>/examples/demo-placements.json`.
    #[arg(long)]
    placements: Option<PathBuf>,
    /// The deployment plans to check (plan files). Defaults to every file
    /// in `<policies>/examples/plans/`.
    #[arg(long = "plan")]
    plans: Vec<PathBuf>,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPlacement {
    label: String,
    request: PlacementRequest,
}

/// A decider on the policy folder `dir` (or the repository's `policies/`),
/// parsed now, with the engine's compiled code cached.
pub fn folder_decider(dir: Option<&Path>) -> anyhow::Result<(Decider, PolicySources)> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => crate::library::default_policies()?,
    };
    let sources = PolicySources::from_dir(&dir)
        .with_context(|| format!("reading policies from {}", dir.display()))?;
    let runtime = CompileCache::default_location()
        .engine_runtime(slicegate::Limits::default())
        .context("starting the policy runtime")?;
    let decider = Decider::new(&runtime, &sources)
        .map_err(|failure| anyhow!("loading {}: {failure}", dir.display()))?;
    Ok((decider, sources))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policies = match args.policies {
        Some(dir) => dir,
        None => crate::library::default_policies()?,
    };
    let placements_path = args
        .placements
        .unwrap_or_else(|| policies.join("examples/demo-placements.json"));
    let sources = PolicySources::from_dir(&policies)
        .with_context(|| format!("reading policies from {}", policies.display()))?;
    let text = std::fs::read_to_string(&placements_path)
        .with_context(|| format!("reading {}", placements_path.display()))?;
    let placements: Vec<DemoPlacement> = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", placements_path.display()))?;
    let plan_paths = if args.plans.is_empty() {
        plan_files(&policies.join("examples/plans"))?
    } else {
        args.plans.clone()
    };
    let mut plans = Vec::new();
    for path in &plan_paths {
        let file = PlanFile::read(path)?;
        let plan = file.resolve(&path.display().to_string())?;
        plans.push((file, plan));
    }

    // 1. Build: check natively, pre-initialise the engine with the policies.
    let options = BuildOptions {
        name: BundleName("slicegate-demo".to_string()),
        revision: Revision(1),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        not_before: None,
        not_after: None,
        tests: None,
    };
    let unsigned = bundle::build(&sources, &options).context("building the demo bundle")?;
    // 2. Sign with a demo key made for this run.
    let key = KeyPair::generate()?;
    let signed = bundle::sign_embedded(&unsigned, &key, "demo-key")?;
    // 3. Verify against a trust store holding only that key, then load.
    let state = tempfile::tempdir().context("creating a folder for the demo's revision state")?;
    let trust = TrustStore::single_key("demo-key", key.public(), state.path().join("state.json"));
    let mut loader = BundleLoader::new(trust).with_cache(CompileCache::default_location());
    let loaded = loader
        .load(&signed, None)
        .context("verifying and loading the demo bundle")?;
    // 4. Decide. The demo replays fixed dates around the deadlines: what-if
    //    evaluation, marked as such in every decision.
    let mut decider = loaded
        .decider()
        .map_err(|failure| anyhow!("starting the demo bundle: {failure}"))?
        .permit_what_if(true);
    let requests: Vec<PlacementRequest> = placements.iter().map(|p| p.request.clone()).collect();
    let decisions = decider.decide_batch(&requests);
    let plan_results: Vec<PlanResult> = plans
        .iter()
        .map(|(_, plan)| decider.check_plan(plan))
        .collect();

    if args.output.json() {
        print_json(&plans, &plan_results, &placements, &decisions)?;
    } else {
        print_human(
            &loaded,
            signed.len(),
            &policies,
            &plans,
            &plan_results,
            &placements,
            &decisions,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The plans' results and the placements' decisions as one JSON document.
fn print_json(
    plans: &[(PlanFile, DeploymentPlan)],
    plan_results: &[PlanResult],
    placements: &[DemoPlacement],
    decisions: &[Decision],
) -> anyhow::Result<()> {
    let plans: Vec<_> = plans
        .iter()
        .zip(plan_results)
        .map(|((file, _), result)| {
            serde_json::json!({"name": file.name, "network": file.network, "result": result})
        })
        .collect();
    let rows: Vec<_> = placements
        .iter()
        .zip(decisions)
        .map(|(p, d)| serde_json::json!({"label": p.label, "request": p.request, "decision": d}))
        .collect();
    let out = serde_json::json!({"plans": plans, "placements": rows});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// What was built, each plan's report, and a table of the placements.
fn print_human(
    loaded: &LoadedBundle,
    signed_len: usize,
    policies: &Path,
    plans: &[(PlanFile, DeploymentPlan)],
    plan_results: &[PlanResult],
    placements: &[DemoPlacement],
    decisions: &[Decision],
) {
    println!(
        "slicegate demo: built {} revision {} from {} ({} policies, packs {}; {} bytes), signed with a demo key, verified, loaded{}",
        loaded.manifest.name,
        loaded.manifest.revision,
        policies.display(),
        loaded.manifest.policy_count,
        loaded.manifest.packs.join(", "),
        signed_len,
        if loaded.cache_hit {
            " (compiled code from the cache)"
        } else {
            ""
        }
    );
    for ((file, _), result) in plans.iter().zip(plan_results) {
        println!();
        println!("== plan: {} ({}) ==", file.name, file.network);
        if !file.description.is_empty() {
            println!("{}", file.description);
        }
        print!("{}", output::plan_report(result));
    }
    println!();
    println!("== single placements ==");
    let mut table = Table::new();
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(160)
        .set_header(["#", "placement", "request", "decision", "reasons"]);
    for (index, (placement, decision)) in placements.iter().zip(decisions).enumerate() {
        let r = &placement.request;
        let request = format!(
            "{} {} {}\nnetwork {} at {}",
            r.operation.name(),
            r.equipment.vendor,
            r.equipment.model,
            r.network,
            r.at.as_deref().unwrap_or("now"),
        );
        table.add_row([
            (index + 1).to_string(),
            placement.label.clone(),
            request,
            output::verdict(decision).to_string(),
            output::reasons(decision).join("\n"),
        ]);
    }
    println!("{table}");
    println!(
        "(evaluation times are what-if times from the demo file; a deployed host uses its own clock)"
    );
}

/// The plan files in `dir`, sorted by name.
fn plan_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
