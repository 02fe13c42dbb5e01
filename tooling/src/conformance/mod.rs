//! Running Cedar's own integration-test corpus through the component and
//! through native `cedar-policy` side by side.
//!
//! A request passes when the component agrees with native Cedar on the
//! decision, the reason set and the erroring-policy set, and on whether the
//! test's policies validate. Where native Cedar itself differs from the
//! corpus's recorded expectation (the corpus was generated with an older
//! Cedar), the difference is reported separately, never hidden.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use crate::native::NativePolicySet;
use slicegate::Decision;
use slicegate::Runtime;
use slicegate::{CedarRequest, EntityRef};
use slicegate::{PolicyIdMode, PolicySources, SourceFile};

/// Errors that stop a conformance run (as opposed to disagreements).
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The corpus could not be read or extracted.
    #[error("reading the corpus at {path}: {message}")]
    Corpus {
        /// Where.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A test file is malformed.
    #[error("test {path}: {message}")]
    Test {
        /// The test file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

mod component;
pub use component::Paths;

/// Each worker thread's stack (address space only until used).
const WORKER_STACK: usize = 256 << 20;

/// One request of a corpus test, with its expected answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CorpusRequest {
    description: String,
    principal: serde_json::Value,
    action: serde_json::Value,
    resource: serde_json::Value,
    context: serde_json::Value,
    #[serde(default = "yes")]
    validate_request: bool,
    decision: String,
    reason: Vec<String>,
    errors: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A corpus test file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CorpusTest {
    policies: String,
    entities: String,
    schema: String,
    should_validate: bool,
    #[serde(default)]
    policy_format: Option<String>,
    #[serde(default)]
    schema_format: Option<String>,
    requests: Vec<CorpusRequest>,
}

/// What one side answered for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Cedar decided.
    Decided {
        /// Cedar's decision (before slicegate's fail-closed rule).
        allowed: bool,
        /// Determining policy ids.
        reason: BTreeSet<String>,
        /// Erroring policy ids.
        errors: BTreeSet<String>,
    },
    /// The request (or the test's policy set) could not be evaluated.
    Failed(String),
}

impl Answer {
    fn agrees_with(&self, other: &Answer) -> bool {
        match (self, other) {
            // Both refused: the messages come from the same Cedar code but may
            // be worded by different layers; the outcome is what must agree.
            (Answer::Failed(_), Answer::Failed(_)) => true,
            (a, b) => a == b,
        }
    }

    fn from_component(decision: &Decision) -> Answer {
        match decision.cedar_allowed() {
            Some(allowed) => Answer::Decided {
                allowed,
                reason: decision
                    .determining
                    .iter()
                    .map(|p| p.policy_id.clone())
                    .collect(),
                errors: decision
                    .errors
                    .iter()
                    .map(|e| e.policy_id.clone())
                    .collect(),
            },
            None => Answer::Failed(
                decision
                    .failure
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
        }
    }
}

/// A request on which the component and native Cedar disagree, or on which
/// native Cedar differs from the corpus's expectation.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The test file.
    pub test: PathBuf,
    /// The request's description (or `validation` for the test's policies).
    pub request: String,
    /// What the reference said (native Cedar, or the corpus).
    pub expected: String,
    /// What was got (the component, or native Cedar).
    pub got: String,
}

/// The outcome of a conformance run.
#[derive(Debug, Default)]
pub struct ConformanceReport {
    /// Test files run.
    pub tests: usize,
    /// Requests on which the component agreed with native Cedar.
    pub passed: usize,
    /// Requests on which it did not.
    pub failed: usize,
    /// The disagreements between the component and native Cedar.
    pub disagreements: Vec<Difference>,
    /// Where native Cedar differs from the corpus's recorded expectations.
    pub expectation_differences: Vec<Difference>,
    /// Which path the component took: policies compiled, decisions made by
    /// the compiled evaluator and by the interpreter.
    pub paths: component::Paths,
}

/// Runs the corpus at `path`: a `.tar.gz` archive (extracted to a temporary
/// folder) or a folder of test JSON files. `progress` is called with
/// (tests done, tests in all) as the run goes.
pub fn run(
    path: &Path,
    runtime: &Runtime,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ConformanceReport, ConformanceError> {
    let corpus_err = |message: String| ConformanceError::Corpus {
        path: path.to_path_buf(),
        message,
    };
    let _extracted;
    let root = if path.is_file() {
        let dir = tempfile::tempdir().map_err(|e| corpus_err(e.to_string()))?;
        let file = fs::File::open(path).map_err(|e| corpus_err(e.to_string()))?;
        tar::Archive::new(flate2::read::GzDecoder::new(file))
            .unpack(dir.path())
            .map_err(|e| corpus_err(format!("extracting: {e}")))?;
        let root = dir.path().to_path_buf();
        _extracted = dir;
        root
    } else if path.is_dir() {
        path.to_path_buf()
    } else {
        return Err(corpus_err("no such file or folder".to_string()));
    };

    let mut tests = Vec::new();
    find_tests(&root, &mut tests).map_err(|e| corpus_err(e.to_string()))?;
    tests.sort();
    if tests.is_empty() {
        return Err(corpus_err("no test JSON files found".to_string()));
    }

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let report = Mutex::new(ConformanceReport::default());
    let first_error = Mutex::new(None);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            // Native Cedar parses policy text recursively: a large stack, so
            // deeply nested policies are parsed (or refused), not a crash.
            let worker = std::thread::Builder::new()
                .name("conformance".to_string())
                .stack_size(WORKER_STACK);
            let spawned = worker.spawn_scoped(scope, || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(test) = tests.get(index) else { break };
                    match run_test(test, &root, runtime) {
                        Ok(outcome) => {
                            let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
                            report.tests += 1;
                            report.passed += outcome.passed;
                            report.failed += outcome.failed;
                            report.paths.add(&outcome.paths);
                            report.disagreements.extend(outcome.disagreements);
                            report
                                .expectation_differences
                                .extend(outcome.expectation_differences);
                        }
                        Err(error) => {
                            first_error
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get_or_insert(error);
                            break;
                        }
                    }
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(finished, tests.len());
                }
            });
            if let Err(error) = spawned {
                first_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(corpus_err(format!("starting a worker thread: {error}")));
            }
        }
    });
    if let Some(error) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(error);
    }
    let mut report = report.into_inner().unwrap_or_else(|e| e.into_inner());
    report
        .disagreements
        .sort_by(|a, b| (&a.test, &a.request).cmp(&(&b.test, &b.request)));
    report
        .expectation_differences
        .sort_by(|a, b| (&a.test, &a.request).cmp(&(&b.test, &b.request)));
    Ok(report)
}

/// Test files: `*.json` that are not entity files.
fn find_tests(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_tests(&path, out)?;
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".json") && !name.ends_with("entities.json") {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// A test's paths are relative to the folder the corpus was extracted in
/// (or, for the hand-written tests, the conformance folder): try `root` and
/// its ancestors.
fn resolve(root: &Path, relative: &str) -> PathBuf {
    root.ancestors()
        .take(3)
        .map(|base| base.join(relative))
        .find(|candidate| candidate.exists())
        .unwrap_or_else(|| root.join(relative))
}

#[derive(Default)]
struct TestOutcome {
    passed: usize,
    failed: usize,
    paths: component::Paths,
    disagreements: Vec<Difference>,
    expectation_differences: Vec<Difference>,
}

fn run_test(path: &Path, root: &Path, runtime: &Runtime) -> Result<TestOutcome, ConformanceError> {
    let (test, sources, requests) = load_test(path, root)?;
    let (native_validates, native_answers) = run_native(&sources, &requests);
    let run = component::run(runtime, &sources, &requests);
    // Name tests relative to the corpus root, not a temporary folder.
    let path = path.strip_prefix(root).unwrap_or(path);
    let same: Vec<bool> = run
        .decisions
        .iter()
        .zip(&run.interpreted)
        .map(|(compiled, interpreted)| component::same(compiled, interpreted))
        .collect();
    let mut outcome = compare(
        path,
        &test,
        (native_validates, &native_answers),
        (run.validates, &run.answers, &same),
    );
    // The compiled path against the interpreter in the same engine: the
    // same decision record, reasons, errors and messages included.
    for ((request, compiled), interpreted) in test
        .requests
        .iter()
        .zip(&run.decisions)
        .zip(&run.interpreted)
    {
        if !component::same(compiled, interpreted) {
            outcome.disagreements.push(Difference {
                test: path.to_path_buf(),
                request: format!(
                    "{} (compiled vs interpreted in the engine)",
                    request.description
                ),
                expected: format!("{interpreted:?}"),
                got: format!("{compiled:?}"),
            });
        }
    }
    outcome.paths = run.paths;
    Ok(outcome)
}

/// Reads the test at `path` (its files resolved against `root`): the test,
/// its policy sources and its requests in Cedar form.
fn load_test(
    path: &Path,
    root: &Path,
) -> Result<(CorpusTest, PolicySources, Vec<CedarRequest>), ConformanceError> {
    let test_err = |message: String| ConformanceError::Test {
        path: path.to_path_buf(),
        message,
    };
    let text = fs::read_to_string(path).map_err(|e| test_err(e.to_string()))?;
    let test: CorpusTest = serde_json::from_str(&text).map_err(|e| test_err(e.to_string()))?;
    if test.policy_format.as_deref().is_some_and(|f| f != "cedar")
        || test.schema_format.as_deref().is_some_and(|f| f != "cedar")
    {
        return Err(test_err(
            "only the Cedar text formats are supported".to_string(),
        ));
    }
    let read = |relative: &str| {
        SourceFile::read(&resolve(root, relative), relative.to_string())
            .map_err(|e| test_err(e.to_string()))
    };
    let sources = PolicySources {
        policies: vec![read(&test.policies)?],
        schema: Some(read(&test.schema)?),
        entities: vec![read(&test.entities)?],
        policy_ids: PolicyIdMode::Positional,
        strict: false,
        bundle_name: "conformance".to_string(),
        bundle_revision: 0,
    };
    let requests: Vec<CedarRequest> = test
        .requests
        .iter()
        .map(|r| to_cedar_request(r).map_err(|e| test_err(format!("{}: {e}", r.description))))
        .collect::<Result<_, _>>()?;
    Ok((test, sources, requests))
}

/// Native Cedar on the test's sources: whether the policies validate (None
/// when the set did not load) and one answer per request.
fn run_native(sources: &PolicySources, requests: &[CedarRequest]) -> (Option<bool>, Vec<Answer>) {
    let native = NativePolicySet::load(sources);
    let validates = native.as_ref().map(NativePolicySet::validates).ok();
    let answers = requests
        .iter()
        .map(|request| match &native {
            Ok(set) => match set.authorize(request) {
                Ok(d) => Answer::Decided {
                    allowed: d.allowed,
                    reason: d.reason,
                    errors: d.errors,
                },
                Err(e) => Answer::Failed(e),
            },
            Err(e) => Answer::Failed(e.clone()),
        })
        .collect();
    (validates, answers)
}

/// Compares the component with native Cedar, and native Cedar with the
/// corpus's recorded expectations, on the test (named `path`). Each side is
/// whether the policies validate and one answer per request.
fn compare(
    path: &Path,
    test: &CorpusTest,
    (native_validates, native_answers): (Option<bool>, &[Answer]),
    (component_validates, component_answers, paths_agree): (Option<bool>, &[Answer], &[bool]),
) -> TestOutcome {
    let mut outcome = TestOutcome::default();
    let validation_agrees = component_validates == native_validates;
    if !validation_agrees {
        outcome.disagreements.push(Difference {
            test: path.to_path_buf(),
            request: "validation".to_string(),
            expected: format!("validates: {native_validates:?}"),
            got: format!("validates: {component_validates:?}"),
        });
    }
    if native_validates != Some(test.should_validate) {
        outcome.expectation_differences.push(Difference {
            test: path.to_path_buf(),
            request: "validation".to_string(),
            expected: format!("shouldValidate: {}", test.should_validate),
            got: format!("validates: {native_validates:?}"),
        });
    }
    for (((request, native), component), same) in test
        .requests
        .iter()
        .zip(native_answers)
        .zip(component_answers)
        .zip(paths_agree)
    {
        if validation_agrees && component.agrees_with(native) && *same {
            outcome.passed += 1;
        } else {
            outcome.failed += 1;
            if !component.agrees_with(native) {
                outcome.disagreements.push(Difference {
                    test: path.to_path_buf(),
                    request: request.description.clone(),
                    expected: format!("{native:?}"),
                    got: format!("{component:?}"),
                });
            }
        }
        let expected = Answer::Decided {
            allowed: request.decision == "allow",
            reason: request.reason.iter().cloned().collect(),
            errors: request.errors.iter().cloned().collect(),
        };
        if *native != expected {
            outcome.expectation_differences.push(Difference {
                test: path.to_path_buf(),
                request: request.description.clone(),
                expected: format!("{expected:?}"),
                got: format!("{native:?}"),
            });
        }
    }
    outcome
}

fn to_cedar_request(request: &CorpusRequest) -> Result<CedarRequest, String> {
    Ok(CedarRequest {
        principal: entity_ref(&request.principal)?,
        action: entity_ref(&request.action)?,
        resource: entity_ref(&request.resource)?,
        context: request.context.clone(),
        validate: request.validate_request,
        entities: None,
    })
}

/// `{"type": T, "id": I}` or `{"__entity": {"type": T, "id": I}}`.
fn entity_ref(value: &serde_json::Value) -> Result<EntityRef, String> {
    let inner = value.get("__entity").unwrap_or(value);
    serde_json::from_value(inner.clone()).map_err(|e| format!("entity reference {value}: {e}"))
}
