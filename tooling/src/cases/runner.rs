//! Running cases: each through the component and native Cedar, with
//! coverage of the policies that determined them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::checks::*;
use super::*;

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    /// The case file.
    pub file: String,
    /// The line the case starts on (0 if unknown).
    pub line: usize,
    /// The case's name.
    pub name: String,
    /// Whether every expectation held and native Cedar agreed.
    pub passed: bool,
    /// What did not hold, one line each.
    pub problems: Vec<String>,
    /// The policies that determined the decision (for a plan: every item's
    /// and the plan rule's).
    pub determining: Vec<String>,
    /// The policies that errored.
    pub errored: Vec<String>,
    /// Why the decision came out as it did: each determining policy with its
    /// effect and `@reason`, each erroring policy with Cedar's message, a
    /// failure that denied before evaluation.
    pub explanation: Vec<String>,
}

/// Runs cases through a decider (which must permit what-if times: cases set
/// their own), cross-checking with native Cedar when `native` gives the
/// policy sources (parsed once; each request brings its own inventory).
pub struct Runner<'a> {
    decider: &'a mut Decider,
    native: Option<Result<NativePolicySet, String>>,
    fixtures: BTreeMap<String, (String, Value)>,
    /// The packs the bundle holds, when known: cases needing others are
    /// left out.
    packs: Option<BTreeSet<String>>,
    /// Networks of the bundle whose carrier is not on record (for the
    /// mutation that swaps in an unknown peer, in the `mutate` module).
    pub(crate) unrecorded_peers: Vec<String>,
    /// Each network's regimes, when known: a case on a network under a
    /// regime the bundle does not hold is left out like one needing a pack
    /// (the bundle refuses decisions on that network).
    network_regimes: BTreeMap<String, Vec<String>>,
    /// Each customer category's regimes that cover it on every network.
    category_regimes: BTreeMap<String, Vec<String>>,
    /// The regimes covering every US federal slice.
    federal_regimes: Vec<String>,
}

impl<'a> Runner<'a> {
    /// A runner over `files`' fixtures.
    pub fn new(
        decider: &'a mut Decider,
        native: Option<&'a PolicySources>,
        files: &[CaseFile],
    ) -> Result<Self, CaseFileError> {
        let mut fixtures: BTreeMap<String, (String, Value)> = BTreeMap::new();
        for file in files {
            let path = file.path.display().to_string();
            for (name, value) in &file.fixtures {
                if let Some((first, _)) = fixtures.get(name) {
                    return Err(CaseFileError::DuplicateFixture {
                        name: name.clone(),
                        first: first.clone(),
                        second: path,
                    });
                }
                fixtures.insert(name.clone(), (path.clone(), value.clone()));
            }
        }
        Ok(Runner {
            decider,
            native: native.map(NativePolicySet::load),
            fixtures,
            packs: None,
            unrecorded_peers: Vec::new(),
            network_regimes: BTreeMap::new(),
            category_regimes: BTreeMap::new(),
            federal_regimes: Vec::new(),
        })
    }

    /// Runs only the cases whose [`Case::packs`] are all among `packs` (the
    /// packs the bundle holds).
    pub fn with_packs(mut self, packs: &[String]) -> Self {
        self.packs = Some(packs.iter().cloned().collect());
        self
    }

    /// The regimes of each network of `sources` (Cedar entity JSON of type
    /// `Network`), so that [`Runner::applies`] leaves out cases on networks
    /// under regimes the bundle does not hold.
    pub fn with_network_regimes(mut self, sources: &PolicySources) -> Self {
        self.network_regimes = sources.network_regimes();
        self.category_regimes = sources.category_regimes();
        self.federal_regimes = sources.federal_regimes();
        self
    }

    /// The networks of `sources` whose carrier is not on record (Cedar
    /// entity JSON of type `Network` without a `carrier`).
    pub fn with_unrecorded_peers(mut self, sources: &PolicySources) -> Self {
        let mut ids: Vec<String> = sources
            .networks()
            .filter(|e| e.pointer("/attrs/carrier").is_none())
            .filter_map(|e| {
                e.pointer("/uid/id")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        ids.sort();
        self.unrecorded_peers = ids;
        self
    }

    /// Whether the bundle holds every pack `case` needs: those it names,
    /// and every regime of the network it is about.
    pub fn applies(&self, case: &Case) -> bool {
        let Some(held) = &self.packs else {
            return true;
        };
        if !case.packs.iter().all(|p| held.contains(p)) {
            return false;
        }
        let Ok(request) = self.resolve(case) else {
            return true;
        };
        let network_held = request
            .get("network")
            .and_then(Value::as_str)
            .and_then(|n| self.network_regimes.get(n))
            .is_none_or(|regimes| regimes.iter().all(|r| held.contains(r)));
        // Every slice category the request (or plan) names, and whether a
        // slice serves a US federal customer.
        fn slices<'v>(value: &'v Value, out: &mut Vec<&'v str>, federal: &mut bool) {
            match value {
                Value::Object(map) => {
                    for (key, v) in map {
                        if key == "category"
                            && let Some(c) = v.as_str()
                        {
                            out.push(c);
                        }
                        if key == "usFederal" && v == &Value::Bool(true) {
                            *federal = true;
                        }
                        slices(v, out, federal);
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| slices(v, out, federal)),
                _ => {}
            }
        }
        let mut named = Vec::new();
        let mut federal = false;
        slices(&request, &mut named, &mut federal);
        network_held
            && named.iter().all(|c| {
                self.category_regimes
                    .get(*c)
                    .is_none_or(|regimes| regimes.iter().all(|r| held.contains(r)))
            })
            && (!federal || self.federal_regimes.iter().all(|r| held.contains(r)))
    }

    /// Runs every case of `file`.
    pub fn run_file(&mut self, file: &CaseFile) -> Vec<CaseResult> {
        file.cases
            .iter()
            .map(|(line, case)| self.run(&file.path.display().to_string(), *line, case))
            .collect()
    }

    /// The request (or plan file) a case asks about: its fixture changed by
    /// its patch.
    pub fn resolve(&self, case: &Case) -> Result<Value, String> {
        let mut value = match &case.given {
            Some(name) => match self.fixtures.get(name) {
                Some((_, fixture)) => fixture.clone(),
                None => return Err(format!("fixture `{name}` is not defined")),
            },
            None => Value::Object(serde_json::Map::new()),
        };
        if let Some(patch) = &case.with {
            json_patch::merge(&mut value, patch);
        }
        Ok(value)
    }

    /// The decider the runner decides with.
    pub fn decider(&mut self) -> &mut Decider {
        self.decider
    }

    /// Runs one case.
    pub fn run(&mut self, file: &str, line: usize, case: &Case) -> CaseResult {
        let mut result = CaseResult {
            file: file.to_string(),
            line,
            name: case.name.clone(),
            passed: false,
            problems: Vec::new(),
            determining: Vec::new(),
            errored: Vec::new(),
            explanation: Vec::new(),
        };
        let value = match self.resolve(case) {
            Ok(value) => value,
            Err(problem) => {
                result.problems.push(problem);
                return result;
            }
        };
        match case.kind {
            CaseKind::Placement => self.run_placement(case, value, &mut result),
            CaseKind::Plan => self.run_plan(case, value, &mut result),
            CaseKind::Cedar => self.run_cedar(case, value, &mut result),
        }
        result.passed = result.problems.is_empty();
        result
    }

    fn run_placement(&mut self, case: &Case, value: Value, result: &mut CaseResult) {
        let Some(request) = parsed(
            serde_json::from_value::<PlacementRequest>(value).map_err(|e| e.to_string()),
            "a placement request",
            result,
        ) else {
            return;
        };
        let decision = self.decider.decide(&request);
        record(&decision, result);
        check_decision(case, &decision, result);
        if self.native.is_some() {
            self.cross_check(&request, &decision, result);
        }
    }

    /// Native Cedar's answer to `request`, when the runner cross-checks.
    fn native_answer(
        &self,
        request: &CedarRequest,
    ) -> Option<Result<native::NativeDecision, String>> {
        self.native.as_ref().map(|native| match native {
            Ok(set) => set.authorize(request),
            Err(message) => Err(message.clone()),
        })
    }

    /// Native Cedar on the engine's Cedar form of the same request.
    fn cross_check(
        &mut self,
        request: &PlacementRequest,
        decision: &Decision,
        result: &mut CaseResult,
    ) {
        let Ok(form) = self.decider.cedar_form(request) else {
            // Refused before evaluation: there is no Cedar request to compare.
            if decision.cedar_allowed().is_some() {
                result
                    .problems
                    .push("the component decided but has no Cedar form of the request".to_string());
            }
            return;
        };
        // The form is a generic request carrying the placement's inventory.
        let answer = match serde_json::from_value::<CedarRequest>(form) {
            Ok(generic) => self.native_answer(&generic),
            Err(e) => Some(Err(format!("the Cedar form is not a request: {e}"))),
        };
        if let Some(answer) = answer {
            compare_with_native(decision, answer, result);
        }
    }

    fn run_cedar(&mut self, case: &Case, value: Value, result: &mut CaseResult) {
        let Some(request) = parsed(
            crate::native::request_from_json(&value.to_string()),
            "a Cedar request",
            result,
        ) else {
            return;
        };
        let decision = self.decider.authorize(&request);
        record(&decision, result);
        check_decision(case, &decision, result);
        if decision.cedar_allowed().is_none() {
            // Refused before evaluation: nothing for native Cedar to decide.
            return;
        }
        if let Some(answer) = self.native_answer(&request) {
            compare_with_native(&decision, answer, result);
        }
    }

    fn run_plan(&mut self, case: &Case, value: Value, result: &mut CaseResult) {
        let Some(file) = parsed(
            serde_json::from_value::<PlanFile>(value).map_err(|e| e.to_string()),
            "a plan file",
            result,
        ) else {
            return;
        };
        let plan = match file.resolve(&result.file) {
            Ok(plan) => plan,
            Err(e) => {
                result.problems.push(e.to_string());
                return;
            }
        };
        let checked = self.decider.check_plan(&plan);
        for item in &checked.items {
            record(&item.decision, result);
        }
        record(&checked.plan, result);
        let got = if checked.allowed {
            Expect::Allow
        } else {
            Expect::Deny
        };
        if got != case.expect {
            let denied: Vec<String> = checked
                .items
                .iter()
                .filter(|i| !i.decision.allowed)
                .map(|i| {
                    format!(
                        "{} {}: {}",
                        i.operation.name(),
                        i.equipment_id,
                        i.decision.determining_ids().join(", ")
                    )
                })
                .collect();
            result.problems.push(format!(
                "expected the plan to be {}, got {} (denied items: [{}]; plan rules: {}{})",
                name(case.expect),
                name(got),
                denied.join("; "),
                verdict(Some(checked.plan.allowed)),
                checked
                    .failure
                    .as_ref()
                    .map(|f| format!("; refused: {f}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(rules) = case.plan_rules {
            let got_rules = if checked.plan.allowed {
                Expect::Allow
            } else {
                Expect::Deny
            };
            if rules != got_rules {
                result.problems.push(format!(
                    "expected the plan-level rules to {}, got {} by [{}]",
                    name(rules),
                    name(got_rules),
                    checked.plan.determining_ids().join(", ")
                ));
            }
        }
        if let Some(expected) = &case.determining {
            compare_ids(expected, &checked.plan, "plan-level rules", result);
        }
        check_failure(case, checked.failure.as_ref(), result);
        for (share, expected) in &case.shares {
            let got = checked
                .listed_share(share)
                .or_else(|| {
                    checked
                        .vendor_shares
                        .iter()
                        .find(|s| &s.name == share)
                        .map(|s| s.basis_points)
                })
                .unwrap_or(0);
            if got != *expected {
                result.problems.push(format!(
                    "expected share `{share}` = {expected} bp, got {got} bp"
                ));
            }
        }
    }
}
