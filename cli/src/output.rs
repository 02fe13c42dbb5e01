//! Printing decisions for people.

use slicegate::Decision;

/// One line per reason: the determining policies with their `@reason`, the
/// failure that denied, and erroring policies.
pub fn reasons(decision: &Decision) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(failure) = &decision.failure {
        lines.push(failure.to_string());
    }
    for policy in &decision.determining {
        let effect = if policy.permit { "permit" } else { "forbid" };
        match &policy.reason {
            Some(reason) => lines.push(format!("{effect} {}: {reason}", policy.policy_id)),
            None => lines.push(format!("{effect} {}", policy.policy_id)),
        }
    }
    if decision.determining.is_empty() && decision.failure.is_none() && !decision.allowed {
        lines.push("no permit matched (default deny)".to_string());
    }
    for error in &decision.errors {
        lines.push(format!("error in {}: {}", error.policy_id, error.message));
    }
    lines
}

/// `ALLOW` or `DENY`.
pub fn verdict(decision: &Decision) -> &'static str {
    if decision.allowed { "ALLOW" } else { "DENY" }
}

/// A checked plan for people: a row per item, the shares, the plan-level
/// decision and the verdict.
pub fn plan_report(result: &slicegate::PlanResult) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if let Some(failure) = &result.failure {
        let _ = writeln!(out, "REFUSED: {failure}");
        return out;
    }
    let mut table = comfy_table::Table::new();
    table
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(160)
        .set_header(["equipment", "operation", "decision", "reasons"]);
    for item in &result.items {
        let reasons = if item.decision.allowed {
            // An allow is explained by its permit; keep the table short.
            String::new()
        } else {
            reasons(&item.decision).join("\n")
        };
        table.add_row([
            item.equipment_id.clone(),
            item.operation.name().to_string(),
            verdict(&item.decision).to_string(),
            reasons,
        ]);
    }
    let _ = writeln!(out, "{table}");
    let listed: Vec<String> = result
        .listed_shares
        .iter()
        .filter(|s| s.basis_points > 0)
        .map(|s| format!("{} {}", s.name, percent(s.basis_points)))
        .collect();
    let vendors: Vec<String> = result
        .vendor_shares
        .iter()
        .map(|s| format!("{} {}", s.name, percent(s.basis_points)))
        .collect();
    let _ = writeln!(
        out,
        "access network after the plan: weight {}; vendor groups: {}; designated: {}",
        result.access_weight,
        if vendors.is_empty() {
            "none".to_string()
        } else {
            vendors.join(", ")
        },
        if listed.is_empty() {
            "none".to_string()
        } else {
            listed.join(", ")
        },
    );
    let plan_reasons = reasons(&result.plan);
    let _ = writeln!(
        out,
        "plan-level rules: {}{}",
        verdict(&result.plan),
        if result.plan.allowed {
            String::new()
        } else {
            format!(" — {}", plan_reasons.join("; "))
        }
    );
    let denied = result.items.iter().filter(|i| !i.decision.allowed).count();
    let _ = writeln!(
        out,
        "plan: {} ({} of {} items denied{})",
        if result.allowed { "ALLOWED" } else { "DENIED" },
        denied,
        result.items.len(),
        if result.plan.allowed {
            ""
        } else {
            ", plan-level rule denied"
        }
    );
    out
}

/// Basis points as a percentage (`3501` → `35.01 %`).
pub fn percent(bp: u32) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}
