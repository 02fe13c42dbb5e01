//! `slicegate bench`: the component vs native cedar-policy, side by side.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use comfy_table::Table;
use serde::Deserialize;
use slicegate::bundle::CompileCache;
use slicegate::{Limits, PlacementRequest, PolicySources};
use slicegate_tooling::bench;

#[derive(clap::Args)]
pub struct Args {
    /// The policy folder. Defaults to the repository's `policies/`.
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Fewer samples and smaller scale-ups (up to 1 000 models and 100
    /// policies): about half a minute, for CI.
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    output: crate::format::FormatArg,
    /// Skip the generated scale-ups (inventory and policy count).
    #[arg(long)]
    no_scale: bool,
}

#[derive(Deserialize)]
struct DemoPlacement {
    request: PlacementRequest,
}

/// The memory cap for the scale-ups.
const SCALE_MEMORY: usize = 3 << 30;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policies = args
        .policies
        .map_or_else(crate::library::default_policies, Ok)?;
    let sources = PolicySources::from_dir(&policies)
        .with_context(|| format!("reading policies from {}", policies.display()))?;
    let request = demo_request(&policies)?;

    let samples = if args.quick { 500 } else { 20_000 };
    let runtime = CompileCache::default_location()
        .engine_runtime(Limits::default())
        .context("starting the policy runtime")?;
    let mut rows = bench::one_decision(&runtime, &sources, &request, samples)?;
    let (cold, uncached) = if args.quick { (20, 1) } else { (200, 3) };
    eprintln!("cold start: building and signing a bundle, then loading it repeatedly ...");
    rows.extend(bench::cold_start(
        &runtime, &sources, &request, cold, uncached,
    )?);

    if !args.no_scale {
        rows.extend(scale_ups(&sources, &request, args.quick)?);
    }

    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&rows, &policies);
    Ok(ExitCode::SUCCESS)
}

/// The benchmark request: the first demo placement (a Huawei UPF in a UK
/// core), which reads the ownership chain, the network's regimes and a
/// deadline.
fn demo_request(policies: &Path) -> anyhow::Result<PlacementRequest> {
    let demo_path = policies.join("examples/demo-placements.json");
    let demo: Vec<DemoPlacement> = serde_json::from_str(
        &std::fs::read_to_string(&demo_path)
            .with_context(|| format!("reading {}", demo_path.display()))?,
    )
    .with_context(|| format!("parsing {}", demo_path.display()))?;
    Ok(demo
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{} has no placements", demo_path.display()))?
        .request)
}

/// The generated scale-ups: larger inventories, more policies, and the
/// most policies all applying (smaller with `quick`).
fn scale_ups(
    sources: &PolicySources,
    request: &PlacementRequest,
    quick: bool,
) -> anyhow::Result<Vec<bench::BenchRow>> {
    let (inventories, policy_counts): (&[usize], &[usize]) = if quick {
        (&[100, 1_000], &[10, 100])
    } else {
        (&[100, 1_000, 10_000, 100_000], &[10, 100, 1_000])
    };
    let scales = inventories
        .iter()
        .map(|&inventory| bench::Scale {
            inventory,
            policies: 0,
            all_apply: false,
        })
        .chain(policy_counts.iter().map(|&policies| bench::Scale {
            inventory: 100,
            policies,
            all_apply: false,
        }))
        .chain(policy_counts.last().map(|&policies| bench::Scale {
            inventory: 100,
            policies,
            all_apply: true,
        }));
    let scale_samples = if quick { 100 } else { 2_000 };
    // Loading 100k generated models takes more than the default memory
    // cap; decisions are unaffected by the cap.
    let big = CompileCache::default_location()
        .engine_runtime(Limits {
            memory_bytes: SCALE_MEMORY,
            ..Limits::default()
        })
        .context("starting the policy runtime for the scale-ups")?;
    let mut rows = Vec::new();
    for scale in scales {
        eprintln!("scale-up: {} ...", scale.label());
        rows.extend(bench::scaled_decision(
            &big,
            sources,
            request,
            scale,
            scale_samples,
        )?);
    }
    Ok(rows)
}

/// The rows as a table, with the sample counts, where the policies came
/// from and what the ratios and fuel mean.
fn print_table(rows: &[bench::BenchRow], policies: &Path) {
    let mut table = Table::new();
    table.set_header([
        "scenario",
        "component (median)",
        "native (median)",
        "ratio",
        "guest fuel",
    ]);
    for row in rows {
        table.add_row([
            row.scenario.clone(),
            human(row.component_median_ns),
            row.native_median_ns
                .map(human)
                .unwrap_or_else(|| "-".to_string()),
            row.ratio
                .map(|r| format!("{r:.2}×"))
                .unwrap_or_else(|| "-".to_string()),
            row.component_fuel
                .map(|f| f.to_string())
                .unwrap_or_else(|| "-".to_string()),
        ]);
    }
    println!("{table}");
    println!(
        "samples per figure, in the table's order: {}; policies from {}",
        rows.iter()
            .map(|r| r.samples.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        policies.display()
    );
    println!(
        "ratios are against native cedar-policy in this process, timed in turn with the component sample by sample: one decision for the decision rows (the batch row: native per decision, 100 at a time), parsing the policy set + first decision for the fresh-instance rows"
    );
    println!(
        "guest fuel: WebAssembly fuel one decision used (roughly instructions; independent of the machine's load to a few tenths of a percent, so comparable across runs where the medians are not)"
    );
    if let Some(batch) = rows
        .iter()
        .find(|r| r.scenario.starts_with("per decision in a batch"))
    {
        println!(
            "batch throughput on one core: {:.0} decisions/s (design target: 100 000)",
            1e9 / batch.component_median_ns.max(1) as f64
        );
    }
}

/// Nanoseconds as µs or ms.
fn human(nanos: u64) -> String {
    if nanos >= 1_000_000 {
        format!("{:.2} ms", nanos as f64 / 1e6)
    } else {
        format!("{:.1} µs", nanos as f64 / 1e3)
    }
}
