//! The host's single entry point for a bundle: verify, then check the
//! revision, then compile (or take from the cache), then decide.

use std::path::Path;
use std::time::SystemTime;

use super::cache::CompileCache;
use super::manifest::{BundleManifest, BundleName, Revision};
use super::trust::{KeyId, RevisionState, TrustStore};
use super::verify::{BundleError, VerifiedBundle, verify};
use crate::decider::Decider;
use crate::decision::Failure;
use crate::limits::Limits;
use crate::runtime::Runtime;
pub use crate::validity::Validity;

/// A verified, compiled bundle, ready to decide.
#[derive(Clone)]
pub struct LoadedBundle {
    /// The manifest.
    pub manifest: BundleManifest,
    /// sha256 of the bundle's signed content (every section but the
    /// signature), hex.
    pub sha256: String,
    /// The trusted keys whose signatures were counted.
    pub signers: Vec<KeyId>,
    /// Whether compiled code came from the cache.
    pub cache_hit: bool,
    /// When the bundle may decide: its own window, narrowed to the time
    /// enough of its signing keys stay valid. Checked at every decision.
    pub validity: Validity,
    runtime: Runtime,
}

impl LoadedBundle {
    /// A decider over this bundle; each of its instances is pre-initialised,
    /// and it decides nothing outside the bundle's [`Validity`].
    pub fn decider(&self) -> Result<Decider, Failure> {
        Ok(Decider::preinitialised(&self.runtime)?.within(self.validity.clone()))
    }

    /// The runtime (for instantiating directly).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

/// The window of `manifest`, signed by `signers` of `trust`.
fn validity_of(manifest: &BundleManifest, signers: &[KeyId], trust: &TrustStore) -> Validity {
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| super::trust::parse_instant(t).ok())
    };
    let mut validity = Validity {
        not_before: parse(&manifest.not_before),
        not_after: parse(&manifest.not_after),
        limited_by: manifest
            .not_after
            .as_ref()
            .map(|t| format!("the bundle's not-after ({t})")),
    };
    // The signers' expiries, latest first (never = the end of time): the
    // bundle stays signed by `threshold` valid keys until the
    // threshold-th of them.
    let mut ends: Vec<Option<SystemTime>> = signers
        .iter()
        .filter_map(|id| trust.keys.iter().find(|k| &k.id == id))
        .map(|k| k.not_after)
        .collect();
    ends.sort_by(|a, b| match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(a), Some(b)) => b.cmp(a),
    });
    let threshold = usize::try_from(trust.threshold.max(1)).unwrap_or(usize::MAX);
    if let Some(Some(keys_end)) = ends.get(threshold - 1)
        && validity.not_after.is_none_or(|end| *keys_end < end)
    {
        validity.not_after = Some(*keys_end);
        validity.limited_by = Some(format!(
            "its signing keys' validity (from then on fewer than {} of the keys that signed \
             it are valid)",
            trust.threshold.max(1)
        ));
    }
    validity
}

/// Loads bundles under one trust store. Nothing is compiled or instantiated
/// for a bundle that fails verification.
pub struct BundleLoader {
    trust: TrustStore,
    limits: Limits,
    cache: Option<CompileCache>,
    now: Option<SystemTime>,
    rollback_override: bool,
    compiled: u64,
    /// The engine (and its instance pool) this loader's bundles run on,
    /// made by the first load: a reload does not pay for a new one (~3 ms
    /// here, most of a cached load after the signature check). Bundles
    /// loaded through one loader share its pool of instances.
    engine: Option<wasmtime::Engine>,
}

impl BundleLoader {
    /// A loader that trusts `trust`, with default limits and no cache.
    pub fn new(trust: TrustStore) -> Self {
        BundleLoader {
            trust,
            limits: Limits::default(),
            cache: None,
            now: None,
            rollback_override: false,
            compiled: 0,
            engine: None,
        }
    }

    /// Caches compiled code in `cache`.
    pub fn with_cache(mut self, cache: CompileCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Runs bundles under `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.engine = None;
        self
    }

    /// Verifies as if the time were `now` (for tests and what-if checks);
    /// by default the host's clock.
    pub fn at_time(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Accepts a revision lower than the highest recorded. Every use is
    /// logged as a warning.
    pub fn allow_rollback(mut self, allow: bool) -> Self {
        self.rollback_override = allow;
        self
    }

    /// How many bundles this loader compiled or took from the cache (that
    /// is, got past verification).
    pub fn components_prepared(&self) -> u64 {
        self.compiled
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    fn now(&self) -> SystemTime {
        self.now.unwrap_or_else(SystemTime::now)
    }

    /// Verifies `bytes` (signatures, threshold, window, manifest) without
    /// loading it or checking the revision.
    pub fn verify(
        &self,
        bytes: &[u8],
        detached: Option<&[u8]>,
    ) -> Result<VerifiedBundle, BundleError> {
        verify(bytes, detached, &self.trust, self.now())
    }

    /// Reads `path` and loads it. A detached signature at `<path>.sig` is
    /// used when the bundle has no embedded one.
    pub fn load_file(&mut self, path: &Path) -> Result<LoadedBundle, BundleError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| BundleError::Read {
                path: p.display().to_string(),
                message: e.to_string(),
            })
        };
        let bytes = read(path)?;
        let sig_path = detached_signature_path(path);
        let detached = if sig_path.is_file() && !has_embedded_signature(&bytes) {
            Some(read(&sig_path)?)
        } else {
            None
        };
        self.load(&bytes, detached.as_deref())
    }

    /// Verifies, checks the revision against the recorded highest, compiles
    /// (or takes from the cache) and records the revision.
    pub fn load(
        &mut self,
        bytes: &[u8],
        detached: Option<&[u8]>,
    ) -> Result<LoadedBundle, BundleError> {
        let verified = self.verify(bytes, detached)?;
        let name = verified.manifest.name.clone();
        let revision = verified.manifest.revision;
        let mut state = RevisionState::load(&self.trust.state_path)?;
        if let Some(&highest) = state.highest.get(&name)
            && revision < highest
        {
            if !self.rollback_override {
                return Err(BundleError::Rollback {
                    name: name.0,
                    revision: revision.0,
                    highest: highest.0,
                });
            }
            tracing::warn!(
                bundle = %name, %revision, %highest,
                "rollback override: accepting a revision lower than one already accepted"
            );
        }

        let engine = match &self.engine {
            Some(engine) => engine.clone(),
            None => {
                let engine = Runtime::engine(&self.limits)?;
                self.engine = Some(engine.clone());
                engine
            }
        };
        let (component, cache_hit) = match &self.cache {
            Some(cache) => cache.component(&engine, &verified.bytes, &verified.sha256)?,
            None => (
                wasmtime::component::Component::new(&engine, &verified.bytes)
                    .map_err(crate::runtime::RuntimeError::Compile)?,
                false,
            ),
        };
        let runtime = Runtime::assemble(engine, component, self.limits)?;
        self.compiled += 1;

        if record(&mut state, &name, revision) {
            state.save(&self.trust.state_path)?;
        }
        let validity = validity_of(&verified.manifest, &verified.signers, &self.trust);
        Ok(LoadedBundle {
            manifest: verified.manifest,
            sha256: verified.sha256,
            signers: verified.signers,
            cache_hit,
            validity,
            runtime,
        })
    }
}

/// Records `revision` as accepted; returns whether the state changed.
fn record(state: &mut RevisionState, name: &BundleName, revision: Revision) -> bool {
    match state.highest.get_mut(name) {
        Some(highest) if *highest >= revision => false,
        Some(highest) => {
            *highest = revision;
            true
        }
        None => {
            state.highest.insert(name.clone(), revision);
            true
        }
    }
}

/// Where a bundle's detached signature lives: `<bundle>.sig` beside it
/// (the name kept byte for byte, UTF-8 or not).
pub fn detached_signature_path(bundle: &Path) -> std::path::PathBuf {
    let mut sig = bundle.as_os_str().to_owned();
    sig.push(".sig");
    sig.into()
}

pub fn has_embedded_signature(bytes: &[u8]) -> bool {
    super::sections::parse(bytes)
        .ok()
        .and_then(|sections| super::signature::embedded(bytes, &sections).ok().flatten())
        .is_some()
}
