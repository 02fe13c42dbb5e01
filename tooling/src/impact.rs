//! What a policy change does to a real network: every item of the
//! operator's plans (installed equipment and changes, and each plan's
//! adoption) or of an inventory of placement requests, decided under two
//! policy sets at one instant — or under one policy set at each deadline
//! of a time range (a compliance calendar).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use slicegate::{Decider, Decision, DeploymentPlan, PlacementRequest, PlanFile};

/// The network to re-decide.
#[derive(Debug, Clone)]
pub enum Workload {
    /// Deployment plans, each with the name it is reported under.
    Plans(Vec<(String, DeploymentPlan)>),
    /// Placement requests (an inventory), with the file they came from.
    Inventory(String, Vec<PlacementRequest>),
}

impl Workload {
    /// Every `*.json` plan file of `dir` (sorted).
    pub fn plans(dir: &Path) -> Result<Self, String> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("{} holds no plan file (*.json)", dir.display()));
        }
        let mut plans = Vec::new();
        for path in files {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let file = PlanFile::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let plan = file
                .resolve(&name)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            plans.push((name, plan));
        }
        Ok(Workload::Plans(plans))
    }

    /// A JSON array of placement requests.
    pub fn inventory(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let requests: Vec<PlacementRequest> = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: an inventory is a JSON array of placement requests: {e}",
                path.display()
            )
        })?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Ok(Workload::Inventory(name, requests))
    }
}

/// One decided item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// The plan or inventory file.
    pub source: String,
    /// Its place in the file: the inventory's index, or the plan's item
    /// order (changes, then kept items); the plan-level rules come last.
    pub position: usize,
    /// The equipment id (`(plan)` for a plan's adoption).
    pub equipment: String,
    /// The operation decided.
    pub operation: String,
}

/// A decision, as compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Allowed.
    pub allowed: bool,
    /// The determining policies.
    pub determining: Vec<String>,
    /// Why it was denied other than by a policy, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The request itself was refused (malformed, or naming what the
    /// policies' reference data does not know): not a decision.
    pub refused: bool,
}

impl Outcome {
    fn of(decision: &Decision) -> Self {
        Outcome {
            allowed: decision.allowed,
            determining: decision
                .determining
                .iter()
                .map(|p| p.policy_id.clone())
                .collect(),
            failure: decision.failure.as_ref().map(ToString::to_string),
            refused: decision.failure.as_ref().is_some_and(|f| {
                matches!(
                    f,
                    slicegate::Failure::InvalidRequest(_)
                        | slicegate::Failure::UnknownEntity(_)
                        | slicegate::Failure::SchemaViolation(_)
                )
            }),
        }
    }

    fn refused_whole(failure: &slicegate::Failure) -> Self {
        Outcome {
            allowed: false,
            determining: Vec::new(),
            failure: Some(format!("the whole plan was refused: {failure}")),
            refused: true,
        }
    }
}

/// Every item of `work` decided by `decider` at `at` (RFC 3339; the
/// decider must permit what-if times).
pub fn decide_all(decider: &mut Decider, work: &Workload, at: &str) -> Vec<(Item, Outcome)> {
    let mut out = Vec::new();
    match work {
        Workload::Plans(plans) => {
            for (name, plan) in plans {
                let mut plan = plan.clone();
                plan.at = Some(at.to_string());
                let result = decider.check_plan(&plan);
                // The items as the engine lists them: each change, then each
                // installed item no change names (a change decides the
                // installed item it names). A side that refuses the plan
                // whole reports these refused, at the same positions, so the
                // two sides pair item by item.
                let named: std::collections::HashSet<&str> = plan
                    .changes
                    .iter()
                    .map(|c| c.item.equipment.id.as_str())
                    .collect();
                let listed: Vec<(&String, &str)> = plan
                    .changes
                    .iter()
                    .map(|c| (&c.item.equipment.id, c.operation.name()))
                    .chain(
                        plan.installed
                            .iter()
                            .filter(|i| !named.contains(i.equipment.id.as_str()))
                            .map(|i| (&i.equipment.id, "operate")),
                    )
                    .collect();
                let refused = result.failure.as_ref().filter(|_| result.items.is_empty());
                for (position, item) in result.items.iter().enumerate() {
                    out.push((
                        Item {
                            source: name.clone(),
                            position,
                            equipment: item.equipment_id.clone(),
                            operation: item.operation.name().to_string(),
                        },
                        Outcome::of(&item.decision),
                    ));
                }
                if let Some(failure) = refused {
                    for (position, (id, operation)) in listed.iter().enumerate() {
                        out.push((
                            Item {
                                source: name.clone(),
                                position,
                                equipment: (*id).clone(),
                                operation: operation.to_string(),
                            },
                            Outcome::refused_whole(failure),
                        ));
                    }
                }
                // The plan-level rules (shares, caps), on their own.
                let mut rules = Outcome::of(&result.plan);
                if let Some(failure) = &result.failure {
                    rules = Outcome::refused_whole(failure);
                }
                out.push((
                    Item {
                        source: name.clone(),
                        position: listed.len().max(result.items.len()),
                        equipment: "(plan-level rules)".to_string(),
                        operation: "adopt".to_string(),
                    },
                    rules,
                ));
            }
        }
        Workload::Inventory(name, requests) => {
            let requests: Vec<PlacementRequest> = requests
                .iter()
                .cloned()
                .map(|mut r| {
                    r.at = Some(at.to_string());
                    r
                })
                .collect();
            let decisions = decider.decide_batch(&requests);
            for (position, (request, decision)) in requests.iter().zip(&decisions).enumerate() {
                out.push((
                    Item {
                        source: name.clone(),
                        position,
                        equipment: request.equipment.id.clone(),
                        operation: request.operation.name().to_string(),
                    },
                    Outcome::of(decision),
                ));
            }
        }
    }
    out
}

/// An item decided differently.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The item.
    pub item: Item,
    /// Before (OLD, or the earlier instant).
    pub before: Outcome,
    /// After (NEW, or the later instant).
    pub after: Outcome,
}

impl Change {
    /// The policies the change is reported under: those that now deny it
    /// (a newly denied item), or those that denied it before (a newly
    /// allowed one); `(no policy)` for a default deny or a failure.
    pub fn policies(&self) -> Vec<String> {
        let deciding = if self.after.allowed {
            &self.before
        } else {
            &self.after
        };
        match &deciding.failure {
            // A failure (a request refused, a forbid that errored) denies,
            // whatever permit Cedar named.
            Some(failure) => vec![format!("(failure: {failure})")],
            None if deciding.determining.is_empty() => vec!["(no policy)".to_string()],
            None => deciding.determining.clone(),
        }
    }
}

/// The items whose decision (allowed or not) differs between `before` and
/// `after`, paired by file and position (so two items with one id are two
/// items). An item on one side only is an error in the caller's input.
pub fn changes(before: &[(Item, Outcome)], after: &[(Item, Outcome)]) -> Vec<Change> {
    let after: BTreeMap<(&str, usize), (&Item, &Outcome)> = after
        .iter()
        .map(|(i, o)| ((i.source.as_str(), i.position), (i, o)))
        .collect();
    before
        .iter()
        .filter_map(|(item, old)| {
            let (_, new) = after.get(&(item.source.as_str(), item.position))?;
            (old.allowed != new.allowed).then(|| Change {
                item: item.clone(),
                before: old.clone(),
                after: (*new).clone(),
            })
        })
        .collect()
}

/// The items refused (not decided) on both sides: input the policies
/// cannot judge (an unknown vendor, a malformed request), which a
/// comparison must not pass over in silence.
pub fn undecided(before: &[(Item, Outcome)], after: &[(Item, Outcome)]) -> Vec<(Item, String)> {
    let after: BTreeMap<(&str, usize), &Outcome> = after
        .iter()
        .map(|(i, o)| ((i.source.as_str(), i.position), o))
        .collect();
    before
        .iter()
        .filter(|(item, old)| {
            old.refused
                && after
                    .get(&(item.source.as_str(), item.position))
                    .is_none_or(|new| new.refused)
        })
        .map(|(item, old)| (item.clone(), old.failure.clone().unwrap_or_default()))
        .collect()
}

/// Changes grouped by the policy they are reported under, with counts:
/// `(policy, newly denied, newly allowed)`.
pub fn by_policy(changes: &[Change]) -> Vec<(String, Vec<&Change>, Vec<&Change>)> {
    let mut groups: BTreeMap<String, (Vec<&Change>, Vec<&Change>)> = BTreeMap::new();
    for change in changes {
        for policy in change.policies() {
            let entry = groups.entry(policy).or_default();
            if change.after.allowed {
                entry.1.push(change);
            } else {
                entry.0.push(change);
            }
        }
    }
    groups
        .into_iter()
        .map(|(policy, (denied, allowed))| (policy, denied, allowed))
        .collect()
}

/// An instant written as RFC 3339 (`Z` or a `±hh:mm` offset, `T`/`Z` in
/// either case, fractions of a second) or as Cedar writes datetimes
/// (`2024-01-01`, `…T00:00:00+0100`), from 1970 on.
pub fn parse_instant(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if text.len() == 10 {
        return humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")).ok();
    }
    let upper = text.to_ascii_uppercase();
    if let Some(utc) = upper.strip_suffix('Z') {
        return humantime::parse_rfc3339_weak(utc).ok();
    }
    // `±hh:mm` or `±hhmm` at the end.
    let (main, offset) = match upper.rfind(['+', '-']) {
        Some(i) if i > 10 => upper.split_at(i),
        _ => return None,
    };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let base = humantime::parse_rfc3339_weak(main).ok()?;
    let shift = Duration::from_secs(
        digits[..2].parse::<u64>().ok()? * 3600 + digits[2..].parse::<u64>().ok()? * 60,
    );
    if offset.starts_with('+') {
        base.checked_sub(shift)
    } else {
        base.checked_add(shift)
    }
}

/// `t` as the RFC 3339 instant decisions are asked at.
pub fn format_instant(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The instants a calendar decides at inside `[from, to]`: `from`, every
/// instant a datetime literal in `texts` (policies, reference data) names,
/// and every `step` from `from` (deadlines that are computed — a
/// notification plus a waiting period, a designation date plus a grace
/// period — name no literal). Sorted.
pub fn deadlines<'a>(
    texts: impl Iterator<Item = &'a str>,
    from: SystemTime,
    to: SystemTime,
    step: Duration,
) -> Vec<SystemTime> {
    let mut found = BTreeSet::new();
    found.insert(from);
    for text in texts {
        for literal in datetime_literals(text) {
            if let Some(at) = parse_instant(&literal)
                && at >= from
                && at <= to
            {
                found.insert(at);
            }
        }
    }
    if !step.is_zero() {
        let mut at = from;
        while let Some(next) = at.checked_add(step).filter(|t| *t <= to) {
            found.insert(next);
            at = next;
        }
    }
    found.into_iter().collect()
}

/// A compliance calendar: the decisions of `work` at each instant of
/// `instants` (see [`deadlines`]); where they change between two, the
/// first second they change at is found by bisection. Returns the changes
/// at each such instant.
pub fn calendar(
    decider: &mut Decider,
    work: &Workload,
    instants: &[SystemTime],
) -> Vec<(String, Vec<Change>)> {
    let Some(first) = instants.first() else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    let mut at = *first;
    let mut before = decide_all(decider, work, &format_instant(at));
    for next in &instants[1..] {
        let after = decide_all(decider, work, &format_instant(*next));
        // Every change between `at` and `next`, the earliest first.
        while !changes(&before, &after).is_empty() {
            let (instant, decided) = first_change(decider, work, &before, at, (*next, &after));
            steps.push((format_instant(instant), changes(&before, &decided)));
            before = decided;
            at = instant;
            if instant == *next {
                break;
            }
        }
        before = after;
        at = *next;
    }
    steps
}

/// The first second in `(from, to]` at which the decisions differ from
/// `before`, and the decisions there (`to` comes with its decisions).
fn first_change(
    decider: &mut Decider,
    work: &Workload,
    before: &[(Item, Outcome)],
    from: SystemTime,
    (to, at_to): (SystemTime, &[(Item, Outcome)]),
) -> (SystemTime, Vec<(Item, Outcome)>) {
    let (mut low, mut high) = (from, to);
    let mut decided = at_to.to_vec();
    while high.duration_since(low).unwrap_or_default() > Duration::from_secs(1) {
        let half = high.duration_since(low).unwrap_or_default() / 2;
        let mid = low + Duration::from_secs(half.as_secs().max(1));
        let at_mid = decide_all(decider, work, &format_instant(mid));
        if changes(before, &at_mid).is_empty() {
            low = mid;
        } else {
            high = mid;
            decided = at_mid;
        }
    }
    (high, decided)
}

/// The arguments of `datetime("…")` in policy text and of
/// `{"fn": "datetime", "arg": "…"}` in reference data.
fn datetime_literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (marker, end) in [
        ("datetime(\"", '"'),
        ("\"arg\": \"", '"'),
        ("\"arg\":\"", '"'),
    ] {
        let mut rest = text;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            if let Some(j) = rest.find(end) {
                out.push(rest[..j].to_string());
                rest = &rest[j..];
            }
        }
    }
    out
}
