//! `slicegate build`: check natively, pre-initialise the engine component
//! with the policy set, and write the manifest and sources beside it.

use wasmtime::component::wasm_wave;
use wasmtime::component::{Component, Linker, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wizer::Wizer;

use super::check::{self, CheckError};
use super::manifest::{
    BundleManifest, BundleName, EmbeddedSource, FORMAT_VERSION, FileDigest, MANIFEST_SECTION,
    Revision, SOURCES_SECTION,
};
use super::sections;
use crate::runtime::{ENGINE_COMPONENT, RuntimeError};
use crate::sources::{PolicyIdMode, PolicySources, SourceFile};
use crate::store::{HostState, link_imports};

/// The seed for the guest's hash maps while pre-initialising. Fixed, so the
/// same inputs give the same bytes.
const SNAPSHOT_SEED: (u64, u64) = (0x0000_0000_0000_0001, 0x5e1c_e6a7_e000_0000);

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The bundle name.
    pub name: BundleName,
    /// The revision.
    pub revision: Revision,
    /// When it was built (RFC 3339); fix it for reproducible output.
    pub created_at: String,
    /// Not valid before (RFC 3339).
    pub not_before: Option<String>,
    /// Not valid after (RFC 3339).
    pub not_after: Option<String>,
    /// The test summary to record, if tests ran.
    pub tests: Option<String>,
}

/// Why a build failed. A failed build never produces a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The policies did not check.
    #[error("the policies do not check: {0}")]
    Check(#[from] CheckError),
    /// A time option is not RFC 3339.
    #[error("{0}")]
    Options(String),
    /// Pre-initialisation failed (including the engine refusing the set).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

use crate::sha256_hex as sha256;

/// Builds a bundle (unsigned) from `sources`: checked natively first, then
/// loaded into the engine and snapshotted.
pub fn build(sources: &PolicySources, options: &BuildOptions) -> Result<Vec<u8>, BuildError> {
    prepare(sources, options)?.bytes()
}

/// A checked, pre-initialised policy set and its manifest, before the
/// sections are appended: the manifest can still change (a test summary)
/// without snapshotting again.
pub struct PreparedBundle {
    snapshot: Vec<u8>,
    /// The manifest the bundle will carry (set `tests` before writing it).
    pub manifest: BundleManifest,
    embedded: Vec<EmbeddedSource>,
}

impl PreparedBundle {
    /// The bundle: the snapshot, then the manifest and sources sections.
    pub fn bytes(&self) -> Result<Vec<u8>, BuildError> {
        let json = |value: serde_json::Result<Vec<u8>>| {
            value.map_err(|e| BuildError::Options(format!("encoding the manifest: {e}")))
        };
        let mut bundle = self.snapshot.clone();
        let manifest_json = json(serde_json::to_vec_pretty(&self.manifest))?;
        let sources_json = json(serde_json::to_vec(&self.embedded))?;
        bundle.extend(sections::custom_section(MANIFEST_SECTION, &manifest_json));
        bundle.extend(sections::custom_section(SOURCES_SECTION, &sources_json));
        Ok(bundle)
    }
}

/// Checks and pre-initialises `sources` and writes their manifest: a bundle
/// whose manifest can still be completed (a test summary) before it is
/// written. The snapshot is made once.
pub fn prepare(
    sources: &PolicySources,
    options: &BuildOptions,
) -> Result<PreparedBundle, BuildError> {
    for time in [
        Some(&options.created_at),
        options.not_before.as_ref(),
        options.not_after.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        super::trust::parse_instant(time).map_err(BuildError::Options)?;
    }
    let checked = check::check(sources)?;

    let mut sources = sources.clone();
    sources.policy_ids = PolicyIdMode::Annotation;
    sources.strict = true;
    sources.bundle_name = options.name.0.clone();
    sources.bundle_revision = options.revision.0;
    let (snapshot, compiled_policies) = preinitialise_counting(ENGINE_COMPONENT, &sources)?;

    let digest = |file: &SourceFile, kind: &str| FileDigest {
        path: file.name.clone(),
        kind: kind.to_string(),
        sha256: sha256(file.text.as_bytes()),
    };
    let schema = sources.schema.as_ref();
    let mut files: Vec<FileDigest> = schema
        .map(|s| digest(s, "schema"))
        .into_iter()
        .chain(sources.policies.iter().map(|f| digest(f, "policy")))
        .chain(sources.entities.iter().map(|f| digest(f, "data")))
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = BundleManifest {
        format: FORMAT_VERSION,
        name: options.name.clone(),
        revision: options.revision,
        created_at: options.created_at.clone(),
        not_before: options.not_before.clone(),
        not_after: options.not_after.clone(),
        compiler: format!("slicegate {}", env!("CARGO_PKG_VERSION")),
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        engine_sha256: sha256(ENGINE_COMPONENT),
        cedar_version: crate::errors::CEDAR_VERSION.to_string(),
        schema_sha256: schema
            .map(|s| sha256(s.text.as_bytes()))
            .unwrap_or_default(),
        files,
        packs: sources.packs(),
        policy_count: u32::try_from(checked.policies.len()).unwrap_or(u32::MAX),
        compiled_policies: Some(compiled_policies),
        policies: checked.policies,
        tests: options.tests.clone(),
    };
    let mut embedded: Vec<EmbeddedSource> = schema
        .into_iter()
        .chain(&sources.policies)
        .chain(&sources.entities)
        .map(|f| EmbeddedSource {
            path: f.name.clone(),
            text: f.text.clone(),
        })
        .collect();
    embedded.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(PreparedBundle {
        snapshot,
        manifest,
        embedded,
    })
}

fn file_val(file: &SourceFile) -> Val {
    Val::Record(vec![
        ("name".to_string(), Val::String(file.name.clone())),
        ("text".to_string(), Val::String(file.text.clone())),
    ])
}

/// The `load` call that pre-initialisation runs, in WAVE syntax.
fn load_call(sources: &PolicySources) -> Result<String, RuntimeError> {
    let record = Val::Record(vec![
        (
            "policies".to_string(),
            Val::List(sources.policies.iter().map(file_val).collect()),
        ),
        (
            "schema".to_string(),
            Val::Option(sources.schema.as_ref().map(|s| Box::new(file_val(s)))),
        ),
        (
            "entities".to_string(),
            Val::List(sources.entities.iter().map(file_val).collect()),
        ),
        (
            "policy-ids".to_string(),
            Val::Enum(match sources.policy_ids {
                PolicyIdMode::Positional => "positional".to_string(),
                PolicyIdMode::Annotation => "annotation".to_string(),
            }),
        ),
        ("strict".to_string(), Val::Bool(sources.strict)),
        (
            "bundle-name".to_string(),
            Val::String(sources.bundle_name.clone()),
        ),
        (
            "bundle-revision".to_string(),
            Val::U64(sources.bundle_revision),
        ),
        ("compile".to_string(), Val::Bool(true)),
    ]);
    let args = wasm_wave::to_string(&record)
        .map_err(|e| RuntimeError::Preinitialise(format!("encoding the load call: {e}")))?;
    Ok(format!("slicegate:policy/loader.load@0.1.0({args})"))
}

/// Instantiates `component`, calls `load` with `sources` and snapshots the
/// instance. The load result is checked: a snapshot of a failed load is
/// never returned.
pub fn preinitialise(component: &[u8], sources: &PolicySources) -> Result<Vec<u8>, RuntimeError> {
    preinitialise_counting(component, sources).map(|(bytes, _)| bytes)
}

/// As [`preinitialise`], with the number of policies the engine compiled
/// (its load report's `compiled-policies`).
pub fn preinitialise_counting(
    component: &[u8],
    sources: &PolicySources,
) -> Result<(Vec<u8>, u32), RuntimeError> {
    preinitialise_within(
        component,
        sources,
        crate::limits::Limits::default().memory_bytes,
    )
}

/// As [`preinitialise_counting`], the load given at most `max_memory` bytes
/// of linear memory (by default what an instance may have at run time: a
/// bundle that needs more could not be instantiated with default limits).
pub fn preinitialise_within(
    component: &[u8],
    sources: &PolicySources,
    max_memory: usize,
) -> Result<(Vec<u8>, u32), RuntimeError> {
    let call = load_call(sources)?;
    let component = component.to_vec();
    // Wizening is async; keep it on its own thread and runtime, away from
    // any runtime of the caller's (the WASI sync bindings would panic).
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .map_err(|e| RuntimeError::Preinitialise(e.to_string()))?;
                runtime.block_on(snapshot(&component, &call, max_memory))
            })
            .join()
            .unwrap_or_else(|_| {
                Err(RuntimeError::Preinitialise(
                    "the snapshot thread panicked".to_string(),
                ))
            })
    })
}

/// Why the engine's load failed in pre-initialisation, said for the
/// people who wrote the policies and the data: a memory cap or a trap named
/// (with what usually causes it), anything else as it came.
fn load_failure(error: &wasmtime::Error, memory_refused: bool, max_memory: usize) -> RuntimeError {
    if memory_refused {
        return RuntimeError::Preinitialise(format!(
            "loading the policy set needs more than {} MiB of engine memory, the most an instance may have by default; split the policies into smaller bundles ({error:#})",
            max_memory >> 20
        ));
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => RuntimeError::Preinitialise(
            "the engine ran out of stack loading the policy set: something in it is nested too \
             deeply to load (an expression nested some hundred levels, or a chain of entity \
             parents thousands long)"
                .to_string(),
        ),
        Some(trap) => RuntimeError::Preinitialise(format!(
            "the engine trapped loading the policy set ({trap}): nothing was built; deeply \
             nested policies or data are the usual cause"
        )),
        None => RuntimeError::Preinitialise(format!("{error:#}")),
    }
}

async fn snapshot(
    component: &[u8],
    call: &str,
    max_memory: usize,
) -> Result<(Vec<u8>, u32), RuntimeError> {
    // One instance, once: no copy-on-write memory image (on Linux a sealed
    // memfd, whose seal the kernel may refuse for a moment under load).
    let mut config = Config::new();
    config.memory_init_cow(false);
    let engine = Engine::new(&config).map_err(RuntimeError::Engine)?;
    let mut store = Store::new(&engine, HostState::new(SNAPSHOT_SEED, max_memory));
    store.limiter(|state| &mut state.memory);
    // The snapshot reads the whole linear memory back in one call: allow
    // that much (the default allowance, 128 MiB, would fail a large set).
    store.set_hostcall_fuel(max_memory.saturating_add(16 << 20));
    let mut linker = Linker::<HostState>::new(&engine);
    let parsed = Component::new(&engine, component).map_err(RuntimeError::Compile)?;
    link_imports(&mut linker, &parsed).map_err(RuntimeError::Link)?;
    let (bytes, results) = Wizer::new()
        .init_func(call)
        .keep_init_func(true)
        .run_component(&mut store, component, async |store, component| {
            linker.instantiate_async(store, component).await
        })
        .await
        .map_err(|e| load_failure(&e, store.data().memory.refused, max_memory))?;
    match results.first() {
        Some(Val::Result(Ok(report))) => {
            let compiled = match report.as_deref() {
                Some(Val::Record(fields)) => fields.iter().find_map(|(name, value)| match value {
                    Val::U32(count) if name == "compiled-policies" => Some(*count),
                    _ => None,
                }),
                _ => None,
            };
            compiled.map(|count| (bytes, count)).ok_or_else(|| {
                RuntimeError::Preinitialise(format!(
                    "the load report has no compiled-policies count: {report:?}"
                ))
            })
        }
        Some(Val::Result(Err(error))) => Err(RuntimeError::Preinitialise(format!(
            "the engine refused the policy set: {}",
            error
                .as_deref()
                .map(|e| wasm_wave::to_string(e).unwrap_or_else(|_| format!("{e:?}")))
                .unwrap_or_default()
        ))),
        other => Err(RuntimeError::Preinitialise(format!(
            "unexpected result from load: {other:?}"
        ))),
    }
}
