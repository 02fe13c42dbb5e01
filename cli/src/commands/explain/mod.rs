//! `slicegate explain`: one placement, the decision, every policy's part in
//! it (condition by condition) and the facts it read; or a Cedar request
//! over given entities, such as a counterexample of `prove` (see `cedar`).

mod cedar;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use serde_json::Value;
use slicegate::PlacementRequest;
use slicegate_tooling::explain::{Explanation, PolicyExplanation};

use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// The placement request (JSON, as `decide` takes it). Its `at`, if any,
    /// is honoured as a what-if time; without one the host's clock decides.
    ///
    /// Or a counterexample folder that `slicegate prove --counterexamples`
    /// wrote (request.json, entities.json, policies.cedar,
    /// schema.cedarschema), or, with --entities, a Cedar request as
    /// `authorize` takes it: decided by native cedar-policy over exactly
    /// those entities (no reference data added, no fact derived) with the
    /// engine's rule that an erroring forbid denies.
    request: PathBuf,
    /// The policy folder. Defaults to the repository's `policies/` (for a
    /// counterexample folder: the policies and schema written in it).
    #[arg(long)]
    policies: Option<PathBuf>,
    /// Explain REQUEST as a Cedar request over exactly these entities (a
    /// JSON array in Cedar's entity format: the whole entity store).
    #[arg(long, value_name = "FILE")]
    entities: Option<PathBuf>,
    /// List every policy, also those whose scope does not match.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

/// Exit status: 0 allow, 2 deny, 1 error (as `authorize`).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.request.is_dir() || args.entities.is_some() {
        return cedar::run(&args);
    }
    let text = std::fs::read_to_string(&args.request)
        .with_context(|| format!("reading {}", args.request.display()))?;
    let request: PlacementRequest = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a placement request (a Cedar request needs --entities FILE; a \
             counterexample of `prove` is explained by naming its folder)",
            args.request.display()
        )
    })?;
    let (decider, sources) = super::demo::folder_decider(args.policies.as_deref())?;
    let mut decider = decider.permit_what_if(true);
    let decision = decider.decide(&request);
    let allowed = decision.allowed;
    let form = match decider.cedar_form(&request) {
        Ok(form) => form,
        Err(failure) => {
            // Refused before evaluation: there is nothing more to explain.
            if args.output.json() {
                println!("{}", serde_json::to_string_pretty(&decision)?);
            } else {
                println!("{}: {failure}", output::verdict(&decision));
            }
            return Ok(ExitCode::from(2));
        }
    };
    let explanation = slicegate_tooling::explain::explain(&sources, form, decision)
        .map_err(|e| anyhow!("explaining the decision: {e}"))?;
    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
    } else {
        print!("{}", render(&request, &explanation, args.all));
    }
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn listings(value: &Value) -> String {
    let Some(map) = value.as_object() else {
        return "none".to_string();
    };
    if map.is_empty() {
        return "none".to_string();
    }
    map.iter()
        .map(|(list, listing)| {
            format!(
                "{list} since {} ({}, scope {})",
                listing["since"]["__extn"]["arg"].as_str().unwrap_or("?"),
                listing["entry"].as_str().unwrap_or("?"),
                listing["scope"].as_str().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One party group's trust facts on a line: the parties, the adverse facts
/// that hold and the designations.
fn trust_line(trust: &Value) -> String {
    let parties: Vec<&str> = trust["parties"]
        .as_array()
        .map(|p| p.iter().map(id).collect())
        .unwrap_or_default();
    let adverse: Vec<&str> = [
        ("unknownParty", "a party not on record"),
        ("noIndependentJudiciary", "no independent judiciary"),
        ("intelligenceCooperationLaw", "intelligence-cooperation law"),
        ("stateControlled", "state-controlled"),
        ("ownershipUnresolved", "ownership unresolved"),
        ("ownershipOpaque", "ownership not transparent"),
        ("ipTheftRecord", "IP-theft record"),
    ]
    .into_iter()
    .filter(|(key, _)| trust[*key] == Value::Bool(true))
    .map(|(_, text)| text)
    .collect();
    format!(
        "{}; {}; designations: {}",
        if parties.is_empty() {
            "nobody".to_string()
        } else {
            parties.join(", ")
        },
        if adverse.is_empty() {
            "no adverse fact".to_string()
        } else {
            adverse.join(", ")
        },
        listings(&trust["listed"])
    )
}

fn id(value: &Value) -> &str {
    value["__entity"]["id"].as_str().unwrap_or("?")
}

fn policy_lines(out: &mut String, policy: &PolicyExplanation) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "  {} {} — {}",
        policy.effect,
        policy.policy_id,
        policy.reason.as_deref().unwrap_or("(no @reason)")
    );
    let _ = writeln!(out, "      {}", policy.summary);
    for condition in &policy.conditions {
        let mark = match condition.value.as_str() {
            "true" => "true ",
            "false" => "false",
            "error" => "ERROR",
            _ => "  -  ",
        };
        let _ = writeln!(out, "      {mark} {} {}", condition.kind, condition.text);
    }
}

fn render(request: &PlacementRequest, explanation: &Explanation, all: bool) -> String {
    let mut out = String::new();
    header_lines(&mut out, request, explanation);
    fact_lines(&mut out, explanation);
    policy_sections(&mut out, explanation, all);
    out
}

/// The verdict with its evaluation time, and the request on one line.
fn header_lines(out: &mut String, request: &PlacementRequest, explanation: &Explanation) {
    use std::fmt::Write;
    let decision = &explanation.decision;
    let when = match &decision.evaluated_at {
        Some(slicegate::EvaluationTime::WhatIf(at)) => format!("what-if time {at}"),
        Some(slicegate::EvaluationTime::HostClock(at)) => format!("host clock {at}"),
        None => "no time".to_string(),
    };
    let _ = writeln!(out, "{} ({when})", output::verdict(decision));
    let equipment = &explanation.cedar_form["entities"][0]["attrs"];
    let _ = writeln!(
        out,
        "request: {} {} {} ({}, {}) for slice {} ({}) at site {} ({}) in {}",
        request.operation.name(),
        request.equipment.vendor,
        request.equipment.model,
        id(&equipment["function"]),
        equipment["domain"].as_str().unwrap_or("?"),
        request.slice.id,
        serde_json::to_value(request.slice.category)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        request.site.id,
        request.site.country,
        request.network
    );
}

/// The facts the decision read: the vendor chain, the components, each
/// party group's trust, example values and the software facts.
fn fact_lines(out: &mut String, explanation: &Explanation) {
    use std::fmt::Write;
    let equipment = &explanation.cedar_form["entities"][0]["attrs"];
    let _ = writeln!(out, "facts read:");
    let _ = writeln!(
        out,
        "  vendor chain: {} (owner {})",
        explanation.vendor_chain.join(" → "),
        id(&equipment["owner"]),
    );
    let components: Vec<&str> = equipment["components"]
        .as_array()
        .map(|c| c.iter().map(id).collect())
        .unwrap_or_default();
    if !components.is_empty() {
        let _ = writeln!(
            out,
            "  components from: {} (the catalog's bill of materials and the request's)",
            components.join(", ")
        );
    }
    trust_lines(out, explanation);
    for line in &explanation.examples {
        let _ = writeln!(out, "  example value: {line}");
    }
    let _ = writeln!(
        out,
        "  software signed: {}, SBOM: {}, subsidy-funded: {}",
        equipment["softwareSigned"], equipment["sbom"], equipment["subsidyFunded"]
    );
}

/// Each party group's trust facts, one line per group on record, and a
/// line for a peer whose carrier is not on record.
fn trust_lines(out: &mut String, explanation: &Explanation) {
    use std::fmt::Write;
    let equipment = &explanation.cedar_form["entities"][0]["attrs"];
    let context = &explanation.cedar_form["context"];
    let site = explanation.cedar_form["entities"]
        .as_array()
        .and_then(|entities| {
            entities
                .iter()
                .find(|e| e["uid"]["type"] == "Site")
                .map(|e| &e["attrs"])
        });
    for (role, trust) in [
        ("maker", Some(&equipment["maker"])),
        ("maker and components", Some(&equipment["supply"])),
        (
            "remote-management provider",
            context.get("remote").map(|r| &r["providerTrust"]),
        ),
        ("site host", site.and_then(|s| s.get("hostTrust"))),
        (
            "peer carrier",
            context.get("peer").map(|p| &p["carrierTrust"]),
        ),
        ("every party", Some(&context["parties"])),
    ] {
        if let Some(trust) = trust {
            let _ = writeln!(out, "  {role}: {}", trust_line(trust));
        }
    }
    if let Some(peer) = context.get("peer")
        && peer.get("carrierTrust").is_none()
    {
        let _ = writeln!(
            out,
            "  peer carrier: not on record (the peer network's carrier is unknown)"
        );
    }
}

/// The failure, if any, then the policies: those that applied, those in
/// scope that did not, and those out of scope (listed with `all`, counted
/// otherwise).
pub(super) fn policy_sections(out: &mut String, explanation: &Explanation, all: bool) {
    use std::fmt::Write;
    let applied: Vec<&PolicyExplanation> =
        explanation.policies.iter().filter(|p| p.applied).collect();
    let matched: Vec<&PolicyExplanation> = explanation
        .policies
        .iter()
        .filter(|p| !p.applied && p.scope_matched)
        .collect();
    let out_of_scope: Vec<&PolicyExplanation> = explanation
        .policies
        .iter()
        .filter(|p| !p.scope_matched)
        .collect();
    if let Some(failure) = &explanation.decision.failure {
        let _ = writeln!(out, "failure: {failure}");
    }
    let _ = writeln!(out, "applied ({}):", applied.len());
    for policy in applied {
        policy_lines(out, policy);
    }
    let _ = writeln!(out, "in scope but did not apply ({}):", matched.len());
    for policy in matched {
        policy_lines(out, policy);
    }
    if all {
        let _ = writeln!(out, "out of scope ({}):", out_of_scope.len());
        for policy in out_of_scope {
            policy_lines(out, policy);
        }
    } else {
        let _ = writeln!(
            out,
            "out of scope: {} policies (--all lists them)",
            out_of_scope.len()
        );
    }
}
