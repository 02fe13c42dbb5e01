//! The component's side of a conformance test: the policy set loaded twice
//! into fresh instances — compiled (as bundles are built) and with every
//! policy left to Cedar's interpreter — and every request decided by both,
//! with the path each compiled decision took.

use slicegate::{CedarRequest, Decider, Decision, Failure, PolicySources, Runtime};

use super::Answer;

/// Which path decisions took, summed over tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Paths {
    /// Policies loaded (in the tests whose set loaded).
    pub policies: u64,
    /// Of those, compiled.
    pub compiled_policies: u64,
    /// Decisions the compiled evaluator made (the policies it left to the
    /// interpreter evaluated beside it).
    pub compiled_decisions: u64,
    /// Decisions handed to the interpreter alone (an evaluation that errors,
    /// a request the evaluator does not take, a set with nothing compiled).
    pub interpreted_decisions: u64,
}

impl Paths {
    pub fn add(&mut self, other: &Paths) {
        self.policies += other.policies;
        self.compiled_policies += other.compiled_policies;
        self.compiled_decisions += other.compiled_decisions;
        self.interpreted_decisions += other.interpreted_decisions;
    }
}

/// Both engine runs of one test.
pub struct Run {
    /// Whether the policies validate (None when the set did not load).
    pub validates: Option<bool>,
    /// The compiled run's answers, in the form compared with native Cedar.
    pub answers: Vec<Answer>,
    /// The compiled run's decisions, whole.
    pub decisions: Vec<Decision>,
    /// The interpreted run's decisions, whole.
    pub interpreted: Vec<Decision>,
    pub paths: Paths,
}

/// Whether the compiled run's decision is the interpreted run's: the whole
/// record, except that two refusals to load the set agree by kind (nothing
/// was compiled; Cedar's load messages may name, say, either vertex of an
/// entity cycle, by the instance's hash order).
pub fn same(compiled: &Decision, interpreted: &Decision) -> bool {
    match (&compiled.failure, &interpreted.failure) {
        (Some(Failure::PolicyLoad(_)), Some(Failure::PolicyLoad(_))) => true,
        _ => compiled == interpreted,
    }
}

/// Loads `sources` into a fresh instance, compiled or not, and decides
/// `requests` in one batch; a set that does not load denies every request.
fn decide(
    runtime: &Runtime,
    sources: &PolicySources,
    requests: &[CedarRequest],
    compiled: bool,
) -> (Option<(bool, Decider)>, Vec<Decision>) {
    let loaded = if compiled {
        Decider::new(runtime, sources)
    } else {
        Decider::interpreted(runtime, sources)
    };
    match loaded {
        Ok(mut decider) => {
            let decisions = decider.authorize_batch(requests);
            (Some((decider.load_report().validates, decider)), decisions)
        }
        Err(failure) => (None, vec![Decision::denied(failure); requests.len()]),
    }
}

/// Runs `requests` through the component both ways.
pub fn run(runtime: &Runtime, sources: &PolicySources, requests: &[CedarRequest]) -> Run {
    let (loaded, decisions) = decide(runtime, sources, requests, true);
    let (_, interpreted) = decide(runtime, sources, requests, false);
    let mut paths = Paths::default();
    let validates = loaded.map(|(validates, mut decider)| {
        if let Ok(info) = decider.info() {
            paths = Paths {
                policies: u64::from(info.policy_count),
                compiled_policies: u64::from(info.compiled_policies),
                compiled_decisions: info.compiled_decisions,
                interpreted_decisions: info.interpreted_decisions,
            };
        }
        validates
    });
    Run {
        validates,
        answers: decisions.iter().map(Answer::from_component).collect(),
        decisions,
        interpreted,
        paths,
    }
}
