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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::native::{self, NativePolicySet};

mod checks;
pub mod export;
mod runner;
mod suite;

pub use runner::{CaseResult, Runner};
use slicegate::Decision;
use slicegate::PlacementRequest;
use slicegate::PlanFile;
use slicegate::PolicySources;
use slicegate::{CedarRequest, Decider};
pub use suite::{Coverage, FileReport, Suite};

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
