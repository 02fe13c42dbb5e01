//! Running the mutations of a suite's cases and reporting every fail-open one.

use super::*;

impl Runner<'_> {
    /// Mutates every denied placement and plan case of `files` (those
    /// whose name or file contains `filter`) into `report`.
    pub fn mutate(&mut self, files: &[CaseFile], filter: Option<&str>) -> MutationReport {
        let mut report = MutationReport::default();
        for file in files {
            let path = file.path.display().to_string();
            for (line, case) in &file.cases {
                if filter.is_some_and(|f| !case.name.contains(f) && !path.contains(f))
                    || !self.applies(case)
                {
                    continue;
                }
                self.mutate_case(&path, *line, case, &mut report);
            }
        }
        report
    }

    fn mutate_case(&mut self, file: &str, line: usize, case: &Case, report: &mut MutationReport) {
        let Ok(value) = self.resolve(case) else {
            return;
        };
        let (original, mutations) = match case.kind {
            CaseKind::Placement => match self.decide_value(&value) {
                Some(decision) => (
                    decision,
                    placement_mutations(&value, &self.unrecorded_peers),
                ),
                None => return,
            },
            CaseKind::Plan => match self.plan_value(file, &value) {
                Some(decision) => (decision, plan_mutations(&value, &self.unrecorded_peers)),
                None => return,
            },
            CaseKind::Cedar => return,
        };
        // A request refused as malformed was never decided: making it
        // well-formed is not weakening it.
        if is_malformed(&original) {
            return;
        }
        let mutations = if original.allowed {
            // An allowed case is not weakened, but a party nobody recorded
            // can never be allowed: each peer swapped for one whose carrier
            // is not on record must be denied.
            let swapped = unrecorded_peer_mutations(&value, &self.unrecorded_peers);
            if swapped.is_empty() {
                return;
            }
            report.allowed_cases += 1;
            swapped
        } else {
            report.denied_cases += 1;
            mutations
        };
        for mutation in mutations {
            report.mutations += 1;
            *report.by_kind.entry(kind(&mutation.name)).or_default() += 1;
            let decided = match case.kind {
                CaseKind::Placement => self.decide_value(&mutation.value),
                _ => self.plan_value(file, &mutation.value),
            };
            // A mutation that is not a request any more is refused.
            let Some(decision) = decided.filter(|d| d.allowed) else {
                report.held += 1;
                continue;
            };
            if let Some((vendor, at)) = &mutation.dropped
                && !self.bundle_knows_part(case.kind, &mutation.value, at, vendor)
            {
                report.request_only_parts += 1;
                continue;
            }
            report.fail_open.push(FailOpen {
                file: file.to_string(),
                line,
                case: case.name.clone(),
                mutation: mutation.name.clone(),
                why: mutation.why.to_string(),
                denied_by: ids(&original),
                allowed_by: ids(&decision),
            });
        }
    }

    fn decide_value(&mut self, value: &Value) -> Option<Decision> {
        let request: PlacementRequest = serde_json::from_value(value.clone()).ok()?;
        Some(self.decider().decide(&request))
    }

    /// The plan's decision as one: allowed only when the whole plan is.
    fn plan_value(&mut self, file: &str, value: &Value) -> Option<Decision> {
        let plan: PlanFile = serde_json::from_value(value.clone()).ok()?;
        let plan = plan.resolve(file).ok()?;
        let checked = self.decider().check_plan(&plan);
        let mut decision = checked.plan.clone();
        decision.allowed = checked.allowed;
        decision.failure = checked.failure.clone().or(decision.failure);
        if !checked.allowed {
            for item in checked.items.iter().filter(|i| !i.decision.allowed) {
                decision
                    .determining
                    .extend(item.decision.determining.iter().cloned());
            }
        }
        Some(decision)
    }

    /// Whether the component still counts `vendor` among the equipment's
    /// components after the request dropped it: a part of the catalog's
    /// bill of materials.
    fn bundle_knows_part(&mut self, kind: CaseKind, value: &Value, at: &str, vendor: &str) -> bool {
        let request = match kind {
            CaseKind::Placement => value.clone(),
            _ => {
                // The plan item as a placement: its equipment where it runs.
                let Some(item) = at.strip_suffix("/equipment").and_then(|p| value.pointer(p))
                else {
                    return true;
                };
                let find = |list: &str, id: Option<&Value>| {
                    value
                        .get(list)
                        .and_then(Value::as_array)
                        .and_then(|all| all.iter().find(|x| x.get("id") == id))
                        .cloned()
                };
                json!({
                    "operation": "operate",
                    "equipment": item.get("equipment"),
                    "slice": find("slices", item.get("slice")),
                    "site": find("sites", item.get("site")),
                    "network": value.get("network"),
                    "at": value.get("at"),
                })
            }
        };
        let Ok(request) = serde_json::from_value::<PlacementRequest>(request) else {
            return true;
        };
        let Ok(form) = self.decider().cedar_form(&request) else {
            return true;
        };
        let parts: BTreeSet<&str> = form
            .pointer("/entities/0/attrs/components")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.pointer("/__entity/id").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        parts.contains(vendor)
    }
}
