//! `slicegate authorize`: one generic Cedar request.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use slicegate::bundle::CompileCache;
use slicegate::{Decider, Limits, PolicySources};

use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// Cedar policy file (policy ids are Cedar's positional ones: policy0, ...).
    #[arg(long, short = 'p')]
    policies: PathBuf,
    /// Cedar schema (human syntax). Without it nothing is validated and the
    /// entities and context are taken as given (a warning says so).
    #[arg(long, short = 's')]
    schema: Option<PathBuf>,
    /// Entities, as a JSON array in Cedar's entity format.
    #[arg(long, short = 'e')]
    entities: Option<PathBuf>,
    /// The request: {"principal": "User::\"alice\"", "action": ...,
    /// "resource": ..., "context": {...}}.
    #[arg(long)]
    request_json: PathBuf,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let sources = PolicySources::from_files(
        &args.policies,
        args.schema.as_deref(),
        args.entities.as_deref(),
    )?;
    let text = std::fs::read_to_string(&args.request_json)
        .with_context(|| format!("reading request {}", args.request_json.display()))?;
    let request = slicegate_tooling::native::request_from_json(&text)
        .map_err(|e| anyhow!("request {}: {e}", args.request_json.display()))?;

    if args.schema.is_none() {
        eprintln!(
            "warning: no schema (-s): nothing is validated, and the entities and context are \
             taken exactly as given. Decisions of the 5G library go through its typed interface \
             (explain, check-plan, serve, a bundle), which derives every party's facts and takes \
             the time from the host; with the 5G schema this command refuses placements."
        );
    }
    let runtime = CompileCache::default_location()
        .engine_runtime(Limits::default())
        .context("starting the policy runtime")?;
    let mut decider = Decider::new(&runtime, &sources)
        .map_err(|failure| anyhow!("loading {}: {failure}", args.policies.display()))?;
    if !decider.load_report().validates {
        eprintln!(
            "warning: the policies do not pass strict validation against the schema:\n  {}",
            decider.load_report().validation_errors.join("\n  ")
        );
    }
    let decision = decider.authorize(&request);
    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&decision)?);
    } else {
        println!("{}", output::verdict(&decision));
        for line in output::reasons(&decision) {
            println!("  {line}");
        }
    }
    Ok(if decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
