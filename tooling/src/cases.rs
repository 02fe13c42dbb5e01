//! Policy test cases: placement requests and deployment plans with the
//! decision they must get, run through the compiled component and, for
//! placements, cross-checked with native `cedar-policy` on the engine's own
//! Cedar form of the request.
//!
//! A case file (`*.tests.yaml`, `*.tests.yml` or `*.tests.json`, next to the
//! policies) holds named `fixtures` and `cases`. A case starts from a fixture (`given`) and changes
//! it with a JSON merge patch (`with`, RFC 7386: objects merge, anything else
//! replaces, `null` removes); the result must parse as a placement request
//! (or, with `"kind": "plan"`, a plan file) with no unknown field. Fixtures
//! are shared by every file of a run.
//!
//! ```json
//! {
//!   "fixtures": {"gb-ran": {"operation": "place", "...": "..."}},
//!   "cases": [
//!     {"name": "Huawei radio, the instant of the deadline", "given": "gb-ran",
//!      "with": {"equipment": {"vendor": "huawei", "model": "huawei-gnb-aau"},
//!               "at": "2022-10-13T00:00:00+01:00"},
//!      "expect": "deny", "determining": ["uk-hrv/no-new-installation"]}
//!   ]
//! }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::native::{self, NativePolicySet};
use slicegate::Decision;
use slicegate::PlacementRequest;
use slicegate::PlanFile;
use slicegate::PolicySources;
use slicegate::{CedarRequest, Decider};

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// Allowed.
    Allow,
    /// Denied.
    Deny,
}

/// What a case asks about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseKind {
    /// One placement request.
    #[default]
    Placement,
    /// A deployment plan (plan-file format).
    Plan,
    /// A generic Cedar request (`principal`, `action`, `resource`,
    /// `context`, and the `entities` it brings), for custom schemas.
    Cedar,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    /// What the case shows, one line.
    pub name: String,
    /// Placement (default) or plan.
    #[serde(default)]
    pub kind: CaseKind,
    /// The fixture to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    /// A JSON merge patch applied to the fixture (or the whole request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<Value>,
    /// The expected decision (for a plan: the whole plan's).
    pub expect: Expect,
    /// The policy ids expected to determine the decision (as a set). For a
    /// plan, those of the plan-level decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub determining: Option<Vec<String>>,
    /// The expected failure kind of a request refused before evaluation
    /// (`unknown-entity`, `invalid-request`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Plans: the expected plan-level decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_rules: Option<Expect>,
    /// Plans: expected shares in basis points, by designation list or
    /// vendor group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shares: BTreeMap<String, u32>,
    /// Packs the case's expectation needs besides its own (a case in
    /// `packs/us-fcc-889/` whose deny also names a State Department rule).
    /// A bundle built without one of them does not run the case, and the
    /// run says how many it left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packs: Vec<String>,
}

/// A case file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    fixtures: BTreeMap<String, Value>,
    #[serde(default)]
    cases: Vec<Case>,
}

/// A case file, read.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its fixtures.
    pub fixtures: BTreeMap<String, Value>,
    /// Its cases, with the line each starts on.
    pub cases: Vec<(usize, Case)>,
}

/// A case file that cannot be used. Never a skipped case.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a case file (the message carries line and column).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why, with the line.
        message: String,
    },
    /// Two files define the same fixture.
    #[error("fixture `{name}` is defined in both {first} and {second}")]
    DuplicateFixture {
        /// The fixture.
        name: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
}

/// Whether `path` is YAML (by extension); anything else is read as JSON.
fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// The line (1-based) each case starts on: the `- name:` item of the
/// `cases` list in YAML, the `"name":` key in JSON. A case whose line cannot
/// be found gets 0.
fn case_lines(text: &str, yaml: bool, count: usize) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut in_cases = false;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("cases:") || line.contains("\"cases\"") {
            in_cases = true;
            continue;
        }
        let starts_case = if yaml {
            trimmed.starts_with("- name:")
        } else {
            trimmed.starts_with("{\"name\"") || trimmed.starts_with("\"name\"")
        };
        if in_cases && starts_case {
            lines.push(number + 1);
        }
    }
    lines.resize(count, 0);
    lines
}

impl CaseFile {
    /// Reads one case file.
    pub fn read(path: &Path) -> Result<Self, CaseFileError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CaseFileError::Read {
            path: name.clone(),
            source,
        })?;
        let yaml = is_yaml(path);
        let raw: RawFile = if yaml {
            serde_norway::from_str(&text).map_err(|e| CaseFileError::Parse {
                path: name,
                message: e.to_string(),
            })?
        } else {
            serde_json::from_str(&text).map_err(|e| CaseFileError::Parse {
                path: name,
                message: e.to_string(),
            })?
        };
        let lines = case_lines(&text, yaml, raw.cases.len());
        Ok(CaseFile {
            path: path.to_path_buf(),
            fixtures: raw.fixtures,
            cases: lines.into_iter().zip(raw.cases).collect(),
        })
    }

    /// The case files of a policy folder for a build of `packs`: those of
    /// the chosen packs (`packs/<pack>/...`) and every one outside `packs/`
    /// (shared fixtures); a pack left out of the build leaves its cases out.
    pub fn discover_for_packs(
        dir: &Path,
        packs: &[String],
    ) -> Result<Vec<CaseFile>, CaseFileError> {
        let mut files = Self::discover(dir)?;
        files.retain(|file| {
            let relative = file.path.strip_prefix(dir).unwrap_or(&file.path);
            let mut parts = relative.components();
            match (parts.next(), parts.next()) {
                (Some(first), Some(pack)) if first.as_os_str() == "packs" => {
                    packs.iter().any(|p| pack.as_os_str() == p.as_str())
                }
                _ => true,
            }
        });
        Ok(files)
    }

    /// Every `*.tests.yaml`, `*.tests.yml` and `*.tests.json` under `dir`,
    /// sorted by path.
    pub fn discover(dir: &Path) -> Result<Vec<CaseFile>, CaseFileError> {
        let mut paths = Vec::new();
        collect(dir, &mut paths).map_err(|source| CaseFileError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        paths.sort();
        paths.iter().map(|p| CaseFile::read(p)).collect()
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            [".tests.yaml", ".tests.yml", ".tests.json"]
                .iter()
                .any(|ext| n.ends_with(ext))
        }) {
            out.push(path);
        }
    }
    Ok(())
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => {
            let mut patch = patch.clone();
            if let Value::Object(map) = &mut patch {
                map.retain(|_, v| !v.is_null());
            }
            *target = patch;
        }
    }
}

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
    /// mutation that swaps in an unknown peer, [`crate::mutate`]).
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
            merge_patch(&mut value, patch);
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

/// The case's value as `what`, or a problem recorded: a case that does not
/// parse is a broken case, never a deny.
fn parsed<T>(value: Result<T, String>, what: &str, result: &mut CaseResult) -> Option<T> {
    value
        .map_err(|e| result.problems.push(format!("the case is not {what}: {e}")))
        .ok()
}

/// Records a problem unless native Cedar decided as the component did, by
/// the same policies.
fn compare_with_native(
    decision: &Decision,
    answer: Result<native::NativeDecision, String>,
    result: &mut CaseResult,
) {
    match answer {
        Ok(native) => {
            let component: BTreeSet<String> = decision
                .determining_ids()
                .into_iter()
                .map(String::from)
                .collect();
            if decision.cedar_allowed() != Some(native.allowed) || component != native.reason {
                result.problems.push(format!(
                    "component and native Cedar disagree: component {} by {:?}, native {} by {:?}",
                    verdict(decision.cedar_allowed()),
                    component,
                    verdict(Some(native.allowed)),
                    native.reason
                ));
            }
        }
        Err(message) => result.problems.push(format!(
            "native Cedar could not decide the request: {message}"
        )),
    }
}

fn name(expect: Expect) -> &'static str {
    match expect {
        Expect::Allow => "allow",
        Expect::Deny => "deny",
    }
}

fn verdict(allowed: Option<bool>) -> &'static str {
    match allowed {
        Some(true) => "allow",
        Some(false) => "deny",
        None => "no decision",
    }
}

fn record(decision: &Decision, result: &mut CaseResult) {
    if let Some(failure) = &decision.failure {
        result.explanation.push(format!("refused: {failure}"));
    }
    for policy in &decision.determining {
        if !result.determining.contains(&policy.policy_id) {
            result.determining.push(policy.policy_id.clone());
            result.explanation.push(format!(
                "{} {}: {}",
                if policy.permit { "permit" } else { "forbid" },
                policy.policy_id,
                policy.reason.as_deref().unwrap_or("(no @reason)")
            ));
        }
    }
    for error in &decision.errors {
        if !result.errored.contains(&error.policy_id) {
            result.errored.push(error.policy_id.clone());
            result
                .explanation
                .push(format!("error in {}: {}", error.policy_id, error.message));
        }
    }
}

fn compare_ids(expected: &[String], decision: &Decision, what: &str, result: &mut CaseResult) {
    let want: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    let got: BTreeSet<&str> = decision.determining_ids().into_iter().collect();
    if want != got {
        result.problems.push(format!(
            "expected {what} determined by {want:?}, got {got:?}"
        ));
    }
}

fn check_decision(case: &Case, decision: &Decision, result: &mut CaseResult) {
    let got = if decision.allowed {
        Expect::Allow
    } else {
        Expect::Deny
    };
    if got != case.expect {
        let why = match &decision.failure {
            Some(failure) => format!(" ({failure})"),
            None => format!(" by [{}]", decision.determining_ids().join(", ")),
        };
        result.problems.push(format!(
            "expected {}, got {}{why}",
            name(case.expect),
            name(got)
        ));
    }
    if let Some(expected) = &case.determining {
        compare_ids(expected, decision, "the decision", result);
    }
    check_failure(case, decision.failure.as_ref(), result);
}

/// The case's expected failure against the one that refused the request
/// (or plan) before evaluation, if any.
fn check_failure(case: &Case, failure: Option<&slicegate::Failure>, result: &mut CaseResult) {
    let kind = failure.and_then(|f| {
        serde_json::to_value(f)
            .ok()
            .and_then(|v| v.get("kind").and_then(Value::as_str).map(String::from))
    });
    match (&case.failure, kind.as_deref()) {
        (Some(want), got) if got != Some(want.as_str()) => result.problems.push(format!(
            "expected failure `{want}`, got {}",
            got.map_or("none".to_string(), |g| format!("`{g}`"))
        )),
        // A deny by a failure the case did not name is not the deny it
        // describes (an erroring forbid is still a policy's deny).
        (None, Some(got)) if got != "forbid-errored" => result.problems.push(format!(
            "denied by failure `{got}` ({}), not by a policy",
            failure.map(ToString::to_string).unwrap_or_default()
        )),
        _ => {}
    }
}

/// Per-policy coverage over a run: how many cases each policy determined or
/// errored on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// Policy id → cases it determined.
    pub determined: BTreeMap<String, usize>,
    /// Policy id → cases it errored on.
    pub errored: BTreeMap<String, usize>,
}

impl Coverage {
    /// Coverage of `results` over `policy_ids`.
    pub fn of(policy_ids: &[String], results: &[CaseResult]) -> Self {
        let mut coverage = Coverage::default();
        for id in policy_ids {
            coverage.determined.insert(id.clone(), 0);
            coverage.errored.insert(id.clone(), 0);
        }
        for result in results {
            for id in &result.determining {
                *coverage.determined.entry(id.clone()).or_default() += 1;
            }
            for id in &result.errored {
                *coverage.errored.entry(id.clone()).or_default() += 1;
            }
        }
        coverage
    }

    /// The policies no case exercised.
    pub fn unexercised(&self) -> Vec<&str> {
        self.determined
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// One file's results in a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// The case file.
    pub file: String,
    /// Its cases' results (those the filter kept).
    pub results: Vec<CaseResult>,
}

/// A whole run: every file, the totals and the policy coverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suite {
    /// Per file, in path order.
    pub files: Vec<FileReport>,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases left out because they need packs the bundle does not hold.
    pub not_run: usize,
    /// Per-policy coverage.
    pub coverage: Coverage,
    /// Policies that determined at least one case, as a percentage of all.
    pub coverage_percent: f64,
}

impl Suite {
    /// Runs every case of `files` whose name or file contains `filter`.
    pub fn run(
        runner: &mut Runner<'_>,
        files: &[CaseFile],
        filter: Option<&str>,
        policy_ids: &[String],
    ) -> Suite {
        let mut reports = Vec::new();
        let mut not_run = 0;
        for file in files {
            let path = file.path.display().to_string();
            let chosen: Vec<&(usize, Case)> = file
                .cases
                .iter()
                .filter(|(_, case)| {
                    filter.is_none_or(|f| case.name.contains(f) || path.contains(f))
                })
                .collect();
            let mut results: Vec<CaseResult> = Vec::new();
            for (line, case) in chosen {
                if runner.applies(case) {
                    results.push(runner.run(&path, *line, case));
                } else {
                    not_run += 1;
                }
            }
            if !results.is_empty() {
                reports.push(FileReport {
                    file: path,
                    results,
                });
            }
        }
        let all: Vec<CaseResult> = reports.iter().flat_map(|r| r.results.clone()).collect();
        let passed = all.iter().filter(|r| r.passed).count();
        let coverage = Coverage::of(policy_ids, &all);
        let exercised = coverage.determined.values().filter(|n| **n > 0).count();
        let coverage_percent = if coverage.determined.is_empty() {
            0.0
        } else {
            100.0 * exercised as f64 / coverage.determined.len() as f64
        };
        Suite {
            files: reports,
            passed,
            failed: all.len() - passed,
            not_run,
            coverage,
            coverage_percent,
        }
    }

    /// `N passed, M failed` (and how many cases need packs the bundle does
    /// not hold).
    pub fn summary(&self) -> String {
        let left_out = if self.not_run > 0 {
            format!(
                " ({} not run: they need packs this bundle does not hold)",
                self.not_run
            )
        } else {
            String::new()
        };
        format!("{} passed, {} failed{left_out}", self.passed, self.failed)
    }

    /// The summary recorded in a bundle's manifest.
    pub fn manifest_summary(&self) -> String {
        format!(
            "{}; policy coverage {:.1} % ({} of {} policies determined a case)",
            self.summary(),
            self.coverage_percent,
            self.coverage
                .determined
                .values()
                .filter(|n| **n > 0)
                .count(),
            self.coverage.determined.len()
        )
    }

    /// For people: a line per file, every failure in full, the coverage
    /// and the summary last.
    pub fn to_human(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for file in &self.files {
            let failed = file.results.iter().filter(|r| !r.passed).count();
            let _ = writeln!(
                out,
                "{}: {} passed{}",
                file.file,
                file.results.len() - failed,
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            );
            for result in file.results.iter().filter(|r| !r.passed) {
                let _ = writeln!(
                    out,
                    "  FAIL {}:{}: {}",
                    result.file, result.line, result.name
                );
                for problem in &result.problems {
                    let _ = writeln!(out, "      {problem}");
                }
                for line in &result.explanation {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
        let unexercised = self.coverage.unexercised();
        let _ = writeln!(
            out,
            "coverage: {:.1} % of {} policies determined at least one case{}",
            self.coverage_percent,
            self.coverage.determined.len(),
            if unexercised.is_empty() {
                String::new()
            } else {
                format!("; never: {}", unexercised.join(", "))
            }
        );
        let erroring: Vec<String> = self
            .coverage
            .errored
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(id, n)| format!("{id} ({n})"))
            .collect();
        if !erroring.is_empty() {
            let _ = writeln!(out, "errored: {}", erroring.join(", "));
        }
        let _ = writeln!(out, "{}", self.summary());
        out
    }

    /// JUnit XML, as CI systems read it: a `testsuite` per file, a
    /// `testcase` per case, a `failure` with the problems.
    pub fn to_junit(&self) -> String {
        use std::fmt::Write;
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"slicegate\" tests=\"{}\" failures=\"{}\">",
            self.passed + self.failed,
            self.failed
        );
        for file in &self.files {
            let failed = file.results.iter().filter(|r| !r.passed).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
                xml(&file.file),
                file.results.len()
            );
            for result in &file.results {
                let _ = write!(
                    out,
                    "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                    xml(&result.name),
                    xml(&file.file),
                    xml(&result.file),
                    result.line
                );
                if result.passed {
                    out.push_str("/>\n");
                } else {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(result.problems.first().map_or("", String::as_str)),
                        xml(&[result.problems.clone(), result.explanation.clone()]
                            .concat()
                            .join("\n"))
                    );
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Escapes text for an XML attribute or element.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to carry most control characters.
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
