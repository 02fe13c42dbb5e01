//! Cold start: a signed bundle verified, loaded and first decided.

use super::*;

/// A signed bundle of the sources, with a trust store that accepts it and a
/// compiled-code cache it has been loaded through once: what cold-start
/// figures load again and again.
pub struct SignedBundle {
    /// The signed bundle bytes.
    pub signed: Vec<u8>,
    /// Trusts the bundle's one key.
    pub trust: slicegate::bundle::TrustStore,
    /// Holds the bundle's compiled code.
    pub cache: slicegate::bundle::CompileCache,
    /// The bundle, loaded.
    pub loaded: slicegate::bundle::LoadedBundle,
    /// Holds the trust state and the cache.
    pub dir: tempfile::TempDir,
}

impl SignedBundle {
    /// Builds, signs and loads a bundle of `sources`.
    pub fn new(sources: &PolicySources) -> Result<Self, BenchError> {
        use slicegate::bundle::{
            self, BuildOptions, BundleLoader, BundleName, CompileCache, KeyPair, Revision,
            TrustStore,
        };
        let setup = |message: String| BenchError::Load {
            side: "component",
            message,
        };
        let options = BuildOptions {
            name: BundleName("bench".to_string()),
            revision: Revision(1),
            created_at: "2026-01-01T00:00:00Z".to_string(),
            not_before: None,
            not_after: None,
            tests: None,
        };
        let unsigned = bundle::build(sources, &options).map_err(|e| setup(e.to_string()))?;
        let key = KeyPair::generate().map_err(|e| setup(e.to_string()))?;
        let signed =
            bundle::sign_embedded(&unsigned, &key, "bench").map_err(|e| setup(e.to_string()))?;
        let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
        let trust = TrustStore::single_key("bench", key.public(), dir.path().join("state.json"));
        let cache = CompileCache::new(dir.path().join("cache"));
        let loaded = BundleLoader::new(trust.clone())
            .with_cache(cache.clone())
            .load(&signed, None)
            .map_err(|e| setup(e.to_string()))?;
        Ok(SignedBundle {
            signed,
            trust,
            cache,
            loaded,
            dir,
        })
    }

    /// A fresh instance of the pre-initialised bundle deciding `request` (at
    /// its what-if time, or `at`): the instance-per-decision strategy.
    pub fn fresh_decision(&self, request: &PlacementRequest, at: &str) -> Result<bool, String> {
        let mut request = request.clone();
        request.at = Some(request.at.clone().unwrap_or_else(|| at.to_string()));
        let mut decider = Decider::preinitialised(self.loaded.runtime())
            .map_err(|e| e.to_string())?
            .permit_what_if(true);
        let decision = decider.decide(&request);
        match decision.failure {
            Some(failure) => Err(failure.to_string()),
            None => Ok(decision.allowed),
        }
    }

    /// Verifies and loads the bundle again through `loader` (as a reloading
    /// service does: its engine already made).
    pub fn reload_with(
        &self,
        loader: &mut slicegate::bundle::BundleLoader,
    ) -> Result<slicegate::bundle::LoadedBundle, String> {
        loader.load(&self.signed, None).map_err(|e| e.to_string())
    }

    /// A loader of this bundle's trust and cache.
    pub fn loader(&self) -> slicegate::bundle::BundleLoader {
        slicegate::bundle::BundleLoader::new(self.trust.clone()).with_cache(self.cache.clone())
    }

    /// Verifies and loads the bundle again with a new loader (so a new
    /// engine), through the cache or not.
    pub fn reload(&self, cached: bool) -> Result<slicegate::bundle::LoadedBundle, String> {
        let mut loader = if cached {
            self.loader()
        } else {
            slicegate::bundle::BundleLoader::new(self.trust.clone())
        };
        self.reload_with(&mut loader)
    }
}

/// Cold start: verify + load a signed bundle to ready (cached and uncached
/// compiled code), and a fresh instance + first decision for the
/// pre-initialised bundle vs the bare engine that parses the policy set at
/// instantiation (with native Cedar's parse + first decision beside it).
pub fn cold_start(
    runtime: &Runtime,
    sources: &PolicySources,
    request: &PlacementRequest,
    samples: usize,
    uncached_samples: usize,
) -> Result<Vec<BenchRow>, BenchError> {
    let at = request
        .at
        .clone()
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".to_string());
    let bundle = SignedBundle::new(sources)?;
    let loads = time_loads(&bundle, samples, uncached_samples);
    let instances = time_first_decisions(runtime, sources, request, &bundle, &at, samples);
    let native_parse = time_native_parse(runtime, sources, request, samples)?;
    Ok(cold_rows(
        samples,
        uncached_samples,
        &loads,
        &instances,
        native_parse,
    ))
}

/// Medians of verifying and loading the signed bundle to ready.
struct LoadTimes {
    /// Through the compiled-code cache, with a new loader each time.
    cached: Duration,
    /// Through the cache, the loader (and its engine) reused.
    reloaded: Duration,
    /// Without the cache: the code compiled each time.
    uncached: Duration,
}

/// Times verifying and loading `bundle` to ready: cached with a new loader,
/// cached with one loader reused, and uncached (`uncached_samples`, at
/// least one).
fn time_loads(bundle: &SignedBundle, samples: usize, uncached_samples: usize) -> LoadTimes {
    let cached = median(samples, || {
        let _ = std::hint::black_box(bundle.reload(true));
    });
    let mut loader = bundle.loader();
    let _ = bundle.reload_with(&mut loader);
    let reloaded = median(samples, || {
        let _ = std::hint::black_box(bundle.reload_with(&mut loader));
    });
    let uncached = median(uncached_samples.max(1), || {
        let _ = std::hint::black_box(bundle.reload(false));
    });
    LoadTimes {
        cached,
        reloaded,
        uncached,
    }
}

/// Medians of a fresh instance's first decision, and of its parts.
struct FirstDecisionTimes {
    /// A fresh instance of the pre-initialised bundle, first decision.
    preinitialised: Duration,
    /// Instantiating the pre-initialised bundle alone.
    instantiate_only: Duration,
    /// sha256 of the whole signed bundle (the signature check's share).
    hashing: Duration,
    /// The bare engine parsing the policy set at instantiation, first
    /// decision.
    parsing: Duration,
}

/// Times a fresh instance + first decision of `request` (at `at`) for the
/// pre-initialised `bundle` and for the bare engine of `runtime` parsing
/// `sources`, with instantiating and hashing the bundle on their own.
fn time_first_decisions(
    runtime: &Runtime,
    sources: &PolicySources,
    request: &PlacementRequest,
    bundle: &SignedBundle,
    at: &str,
    samples: usize,
) -> FirstDecisionTimes {
    let loaded = &bundle.loaded;
    let preinitialised = median(samples, || {
        let _ = std::hint::black_box(bundle.fresh_decision(request, at));
    });
    let instantiate_only = median(samples, || {
        let _ = std::hint::black_box(loaded.runtime().instantiate());
    });
    let hashing = median(samples, || {
        use sha2::Digest;
        std::hint::black_box(sha2::Sha256::digest(&bundle.signed));
    });
    let mut at_request = request.clone();
    at_request.at = Some(at.to_string());
    let parsing = median(samples, || {
        if let Ok(decider) = Decider::new(runtime, sources) {
            let mut decider = decider.permit_what_if(true);
            let _ = std::hint::black_box(decider.decide(&at_request));
        }
    });
    FirstDecisionTimes {
        preinitialised,
        instantiate_only,
        hashing,
        parsing,
    }
}

/// Times native Cedar parsing the same policies and entities, then
/// deciding.
fn time_native_parse(
    runtime: &Runtime,
    sources: &PolicySources,
    request: &PlacementRequest,
    samples: usize,
) -> Result<Duration, BenchError> {
    let Prepared {
        generic,
        with_inventory,
        ..
    } = Prepared::new(runtime, sources, request)?;
    Ok(median(samples, || {
        if let Ok(set) = NativePolicySet::load(&with_inventory) {
            let _ = std::hint::black_box(set.authorize(&generic));
        }
    }))
}

/// The cold-start rows, in the report's order.
fn cold_rows(
    samples: usize,
    uncached_samples: usize,
    loads: &LoadTimes,
    instances: &FirstDecisionTimes,
    native_parse: Duration,
) -> Vec<BenchRow> {
    vec![
        row(
            "verify + load to ready, compiled code cached, new loader (a first load)",
            samples,
            loads.cached,
            None,
        ),
        row(
            "  of which: sha256 of the whole bundle (signature check)",
            samples,
            instances.hashing,
            None,
        ),
        row(
            "verify + load to ready, cached, engine reused (a reload)",
            samples,
            loads.reloaded,
            None,
        ),
        row(
            "verify + load to ready, uncached (compiles)",
            uncached_samples.max(1),
            loads.uncached,
            None,
        ),
        row(
            "fresh instance + first decision, pre-initialised bundle",
            samples,
            instances.preinitialised,
            Some(native_parse),
        ),
        row(
            "  of which: instantiating alone",
            samples,
            instances.instantiate_only,
            None,
        ),
        row(
            "fresh instance + first decision, parsing policies at instantiation",
            samples,
            instances.parsing,
            Some(native_parse),
        ),
    ]
}
