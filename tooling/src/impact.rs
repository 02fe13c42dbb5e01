//! What a policy change does to a real network: every item of the
//! operator's plans (installed equipment and changes, and each plan's
//! adoption) or of an inventory of placement requests, decided under two
//! policy sets at one instant — or under one policy set at each deadline
//! of a time range (a compliance calendar).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
                for item in &result.items {
                    out.push((
                        Item {
                            source: name.clone(),
                            equipment: item.equipment_id.clone(),
                            operation: item.operation.name().to_string(),
                        },
                        Outcome::of(&item.decision),
                    ));
                }
                let mut adoption = Outcome::of(&result.plan);
                adoption.allowed = result.allowed;
                if let Some(failure) = &result.failure {
                    adoption.failure = Some(failure.to_string());
                }
                out.push((
                    Item {
                        source: name.clone(),
                        equipment: "(plan)".to_string(),
                        operation: "adopt".to_string(),
                    },
                    adoption,
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
            for (request, decision) in requests.iter().zip(&decisions) {
                out.push((
                    Item {
                        source: name.clone(),
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
        if deciding.determining.is_empty() {
            vec!["(no policy)".to_string()]
        } else {
            deciding.determining.clone()
        }
    }
}

/// The items whose decision (allowed or not) differs between `before` and
/// `after` (the same items, in the same order).
pub fn changes(before: &[(Item, Outcome)], after: &[(Item, Outcome)]) -> Vec<Change> {
    let after: BTreeMap<&Item, &Outcome> = after.iter().map(|(i, o)| (i, o)).collect();
    before
        .iter()
        .filter_map(|(item, old)| {
            let new = after.get(item)?;
            (old.allowed != new.allowed).then(|| Change {
                item: item.clone(),
                before: old.clone(),
                after: (*new).clone(),
            })
        })
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

/// Every instant a datetime literal in `texts` (policies, reference data)
/// names, as RFC 3339 strings, inside `[from, to]`, with `from` first: the
/// deadlines at which decisions can change.
pub fn deadlines<'a>(texts: impl Iterator<Item = &'a str>, from: &str, to: &str) -> Vec<String> {
    let parse = |s: &str| {
        humantime::parse_rfc3339_weak(s)
            .ok()
            .or_else(|| cedar_instant(s))
    };
    let (Some(start), Some(end)) = (parse(from), parse(to)) else {
        return Vec::new();
    };
    let mut found = BTreeSet::new();
    found.insert(start);
    for text in texts {
        for literal in datetime_literals(text) {
            if let Some(at) = parse(&literal)
                && at >= start
                && at <= end
            {
                found.insert(at);
            }
        }
    }
    found
        .into_iter()
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .collect()
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

/// A Cedar datetime (`2024-01-01`, `2024-01-01T00:00:00Z`, or with a
/// `+hhmm` offset) as an instant.
fn cedar_instant(text: &str) -> Option<std::time::SystemTime> {
    if text.len() == 10 {
        return humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")).ok();
    }
    // `2024-01-01T00:00:00+0100` → shift by the offset.
    let (main, sign, offset) = match text.len().checked_sub(5).map(|i| text.split_at(i)) {
        Some((main, offset)) if offset.starts_with('+') || offset.starts_with('-') => {
            (main, &offset[..1], &offset[1..])
        }
        _ => return None,
    };
    let base = humantime::parse_rfc3339_weak(main.split('.').next()?).ok()?;
    let hours: u64 = offset.get(..2)?.parse().ok()?;
    let minutes: u64 = offset.get(2..)?.parse().ok()?;
    let shift = std::time::Duration::from_secs(hours * 3600 + minutes * 60);
    if sign == "+" {
        base.checked_sub(shift)
    } else {
        base.checked_add(shift)
    }
}
