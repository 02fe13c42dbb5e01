//! `slicegate explain` on a Cedar request over given entities — above all a
//! counterexample of `slicegate prove`, named by the folder it was written
//! to — decided by native cedar-policy with the engine's rule for erroring
//! forbids, and explained policy by policy like a placement.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use slicegate::{PolicyIdMode, PolicySources, SourceFile};
use slicegate_tooling::explain::Explanation;

use super::Args;
use crate::output;

/// Exit status: 0 allow, 2 deny, 1 error.
pub(super) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let (request_path, entities_path, folder) = if args.request.is_dir() {
        if args.entities.is_some() {
            bail!(
                "{} is a counterexample folder, which holds its own entities.json: --entities \
                 is for a request file",
                args.request.display()
            );
        }
        (
            args.request.join("request.json"),
            args.request.join("entities.json"),
            Some(args.request.as_path()),
        )
    } else {
        let entities = args.entities.clone().expect("checked by the caller");
        (args.request.clone(), entities, None)
    };
    let sources = sources(args.policies.as_deref(), folder)?;
    let text = std::fs::read_to_string(&request_path)
        .with_context(|| format!("reading {}", request_path.display()))?;
    let request = slicegate_tooling::native::request_from_json(&text)
        .map_err(|e| anyhow!("{}: {e}", request_path.display()))?;
    let text = std::fs::read_to_string(&entities_path)
        .with_context(|| format!("reading {}", entities_path.display()))?;
    let entities: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", entities_path.display()))?;
    if !entities.is_array() {
        bail!(
            "{}: the entities must be a JSON array in Cedar's entity format",
            entities_path.display()
        );
    }
    let explanation = slicegate_tooling::explain::explain_cedar(&sources, &request, &entities)
        .map_err(|e| anyhow!("explaining {}: {e}", request_path.display()))?;
    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{}", render(&explanation, args.all));
    }
    Ok(if explanation.decision.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The policies and schema: `--policies` when given (its reference data
/// left out: the entities are the whole store), else those a counterexample
/// folder holds, else the default library's.
fn sources(policies: Option<&Path>, folder: Option<&Path>) -> anyhow::Result<PolicySources> {
    let mut sources = match (policies, folder) {
        (Some(dir), _) => PolicySources::from_dir(dir)
            .with_context(|| format!("reading policies from {}", dir.display()))?,
        (None, Some(folder)) => counterexample_sources(folder)?,
        (None, None) => {
            let dir: PathBuf = crate::library::default_policies()?;
            PolicySources::from_dir(&dir)
                .with_context(|| format!("reading policies from {}", dir.display()))?
        }
    };
    sources.entities.clear();
    Ok(sources)
}

/// The policies and schema `prove --counterexamples` wrote beside a
/// counterexample: the library that was refuted.
fn counterexample_sources(folder: &Path) -> anyhow::Result<PolicySources> {
    let read = |name: &str| {
        let path = folder.join(name);
        SourceFile::read(&path, path.display().to_string())
            .with_context(|| format!("reading {} of the counterexample folder", name))
    };
    // Without its schema nothing would be validated: the request and the
    // entities would be taken as given.
    Ok(PolicySources {
        policies: vec![read("policies.cedar")?],
        schema: Some(read("schema.cedarschema")?),
        entities: Vec::new(),
        policy_ids: PolicyIdMode::Annotation,
        strict: true,
        bundle_name: "counterexample".to_string(),
        bundle_revision: 0,
    })
}

fn render(explanation: &Explanation, all: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let form = &explanation.cedar_form;
    let _ = writeln!(out, "{}", output::verdict(&explanation.decision));
    if let Some(by) = &explanation.decided_by {
        let _ = writeln!(out, "decided by {by}");
    }
    let uid = |v: &Value| {
        format!(
            "{}::{}",
            v["type"].as_str().unwrap_or("?"),
            Value::from(v["id"].as_str().unwrap_or("?"))
        )
    };
    let _ = writeln!(
        out,
        "request: {} {} {}",
        uid(&form["principal"]),
        uid(&form["action"]),
        uid(&form["resource"])
    );
    let _ = writeln!(
        out,
        "context: {}",
        serde_json::to_string(&form["context"]).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "entities: {} given",
        form["entities"].as_array().map_or(0, Vec::len)
    );
    super::policy_sections(&mut out, explanation, all);
    out
}
