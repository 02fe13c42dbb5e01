//! Testing what ships: the case files run through a built bundle's own
//! component (pre-initialised, exactly as hosts will instantiate it) and,
//! for placements, through native Cedar on the bundle's embedded sources.
//! `build_tested` refuses to produce a bundle whose tests fail and records
//! the summary in the manifest of one whose tests pass.

use slicegate::bundle::{BuildError, BuildOptions, prepare};
use slicegate::{Limits, PolicySources, Runtime};

use crate::cases::{CaseFile, Runner, Suite};

/// Why tests could not run (not a failing case: those are in the suite).
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The bundle's component did not compile or instantiate.
    #[error("starting the bundle's component: {0}")]
    Start(String),
    /// The case files' fixtures clash.
    #[error(transparent)]
    Cases(#[from] crate::cases::CaseFileError),
    /// A case could not be exported.
    #[error("exporting the cases: {0}")]
    Export(String),
}

/// A decider over the pre-initialised component `bundle` that takes the
/// cases' own times.
fn what_if_decider(bundle: &[u8]) -> Result<slicegate::Decider, TestError> {
    let runtime = Runtime::from_component(bundle, Limits::default())
        .map_err(|e| TestError::Start(e.to_string()))?;
    Ok(slicegate::Decider::preinitialised(&runtime)
        .map_err(|e| TestError::Start(e.to_string()))?
        .permit_what_if(true))
}

/// Runs `files` (optionally only cases matching `filter`) through the
/// pre-initialised component `bundle`, cross-checking placements with native
/// Cedar on `sources`.
pub fn test_component(
    bundle: &[u8],
    sources: &PolicySources,
    files: &[CaseFile],
    filter: Option<&str>,
) -> Result<Suite, TestError> {
    let mut decider = what_if_decider(bundle)?;
    let ids = decider
        .info()
        .map_err(|e| TestError::Start(e.to_string()))?
        .policy_ids;
    let mut runner = Runner::new(&mut decider, Some(sources), files)?
        .with_packs(&sources.packs())
        .with_network_regimes(sources);
    Ok(Suite::run(&mut runner, files, filter, &ids))
}

/// Every case of `files` (and the examples under `examples`) as the
/// request the component takes, with this host's decision (see
/// [`crate::cases::export`]).
pub fn export_component(
    bundle: &[u8],
    sources: &PolicySources,
    files: &[CaseFile],
    examples: Option<&std::path::Path>,
) -> Result<crate::cases::export::Export, TestError> {
    let mut decider = what_if_decider(bundle)?;
    let mut runner = Runner::new(&mut decider, None, files)?
        .with_packs(&sources.packs())
        .with_network_regimes(sources);
    crate::cases::export::export(&mut runner, files, examples).map_err(TestError::Export)
}

/// Runs the fail-closed mutations of every denied case of `files`
/// (optionally only cases matching `filter`) through the pre-initialised
/// component `bundle` (see [`crate::mutate`]).
pub fn mutate_component(
    bundle: &[u8],
    sources: &PolicySources,
    files: &[CaseFile],
    filter: Option<&str>,
) -> Result<crate::mutate::MutationReport, TestError> {
    let mut decider = what_if_decider(bundle)?;
    let mut runner = Runner::new(&mut decider, None, files)?
        .with_packs(&sources.packs())
        .with_network_regimes(sources)
        .with_unrecorded_peers(sources);
    Ok(runner.mutate(files, filter))
}

/// Why a tested build produced no bundle.
#[derive(Debug, thiserror::Error)]
pub enum TestedBuildError {
    /// The build itself failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The tests could not run.
    #[error(transparent)]
    Test(#[from] TestError),
    /// Some case failed: no bundle.
    #[error("{} of {} test cases failed; no bundle", .0.failed, .0.failed + .0.passed)]
    Failed(Box<Suite>),
}

/// Builds `sources`, runs `files` through the built component, and returns
/// the bundle (its manifest recording the test summary) only if every case
/// passed. The snapshot is made once: recording the summary only rewrites
/// the manifest section.
pub fn build_tested(
    sources: &PolicySources,
    options: &BuildOptions,
    files: &[CaseFile],
) -> Result<(Vec<u8>, Suite), TestedBuildError> {
    let mut prepared = prepare(sources, options)?;
    let suite = test_component(&prepared.bytes()?, sources, files, None)?;
    if suite.failed > 0 {
        return Err(TestedBuildError::Failed(Box::new(suite)));
    }
    prepared.manifest.tests = Some(suite.manifest_summary());
    Ok((prepared.bytes()?, suite))
}
