//! Side-by-side timings: the component vs native `cedar-policy` in-process,
//! on the same policies, entities and requests. Reported as medians and
//! ratios; never asserted in tests.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::decider::Decider;
use crate::native::{self, NativePolicySet};
use crate::placement::PlacementRequest;
use crate::runtime::Runtime;
use crate::sources::PolicySources;

/// Errors setting up a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The policy set did not load on one side.
    #[error("loading the policy set ({side}): {message}")]
    Load {
        /// `component` or `native`.
        side: &'static str,
        /// Why.
        message: String,
    },
    /// A side did not decide the benchmark request.
    #[error("the benchmark request was not decided ({side}): {message}")]
    Undecided {
        /// `component` or `native`.
        side: &'static str,
        /// Why.
        message: String,
    },
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// What was measured.
    pub scenario: String,
    /// Median time through the component, in nanoseconds.
    pub component_median_ns: u64,
    /// Median time with native `cedar-policy`, in nanoseconds, when there is
    /// a native counterpart.
    pub native_median_ns: Option<u64>,
    /// component / native.
    pub ratio: Option<f64>,
    /// Samples taken on each side.
    pub samples: usize,
    /// Fuel the component used (roughly, WebAssembly instructions), per
    /// decision: deterministic, so it shows a change the noisy medians
    /// cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_fuel: Option<u64>,
}

/// Placements per batch in the batch row.
pub const BATCH: usize = 100;

/// The median of `samples` timings of `f`, after `samples / 10` warm-up runs.
fn median(samples: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..samples / 10 {
        f();
    }
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn row(scenario: &str, samples: usize, component: Duration, native: Option<Duration>) -> BenchRow {
    BenchRow {
        scenario: scenario.to_string(),
        component_median_ns: nanos(component),
        native_median_ns: native.map(nanos),
        ratio: native.map(|n| component.as_secs_f64() / n.as_secs_f64().max(1e-12)),
        samples,
        component_fuel: None,
    }
}

/// One placement decision: through the component's typed `placement`
/// interface, through its generic `authorizer`, and with native Cedar on the
/// same Cedar request. `samples` timings per figure.
pub fn one_decision(
    runtime: &Runtime,
    sources: &PolicySources,
    request: &PlacementRequest,
    samples: usize,
) -> Result<Vec<BenchRow>, BenchError> {
    let at = request
        .at
        .clone()
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".to_string());
    let load = |side: &'static str| {
        move |failure: crate::Failure| BenchError::Load {
            side,
            message: failure.to_string(),
        }
    };
    let mut typed = Decider::new(runtime, sources)
        .map_err(load("component"))?
        .permit_what_if(true);
    let mut what_if = request.clone();
    what_if.at = Some(at.clone());
    // The same question as plain Cedar: the engine's own mapping of the
    // placement, so both sides evaluate identical requests and entities.
    let form = typed
        .cedar_form(&what_if)
        .map_err(|failure| BenchError::Undecided {
            side: "component",
            message: failure.to_string(),
        })?;
    let (inventory, generic) =
        native::placement_as_cedar(&form).map_err(|message| BenchError::Undecided {
            side: "component",
            message,
        })?;
    let mut with_inventory = sources.clone();
    with_inventory.entities.push(inventory);
    let mut component = Decider::new(runtime, &with_inventory).map_err(load("component"))?;
    let native = NativePolicySet::load(&with_inventory).map_err(|message| BenchError::Load {
        side: "native",
        message,
    })?;

    // Both sides must actually decide (and agree) before timing means anything.
    let component_decision = component.authorize(&generic);
    let native_decision = native
        .authorize(&generic)
        .map_err(|message| BenchError::Undecided {
            side: "native",
            message,
        })?;
    if component_decision.cedar_allowed() != Some(native_decision.allowed) {
        return Err(BenchError::Undecided {
            side: "component",
            message: format!("{component_decision:?} vs native {native_decision:?}"),
        });
    }
    let native_time = median(samples, || {
        let _ = std::hint::black_box(native.authorize(&generic));
    });
    let component_time = median(samples, || {
        std::hint::black_box(component.authorize(&generic));
    });
    let typed_time = median(samples, || {
        std::hint::black_box(typed.decide(&what_if));
    });
    // The same placement 100 times in one guest call: what a batch
    // amortises (the boundary, the instance lookup), per decision.
    let batch: Vec<PlacementRequest> = vec![what_if.clone(); BATCH];
    let batch_time = median((samples / BATCH).max(3), || {
        std::hint::black_box(typed.decide_batch(&batch));
    }) / BATCH as u32;
    let batch_fuel = typed.last_fuel().map(|f| f / BATCH as u64);
    typed.decide(&what_if);
    let typed_fuel = typed.last_fuel();
    component.authorize(&generic);
    let generic_fuel = component.last_fuel();
    let with_fuel = |mut row: BenchRow, fuel: Option<u64>| {
        row.component_fuel = fuel;
        row
    };
    Ok(vec![
        with_fuel(
            row(
                "one decision, generic authorizer (Cedar JSON context)",
                samples,
                component_time,
                Some(native_time),
            ),
            generic_fuel,
        ),
        with_fuel(
            row(
                "one decision, typed placement interface",
                samples,
                typed_time,
                Some(native_time),
            ),
            typed_fuel,
        ),
        with_fuel(
            row(
                "per decision in a batch of 100, typed placement interface",
                (samples / BATCH).max(3),
                batch_time,
                Some(native_time),
            ),
            batch_fuel,
        ),
    ])
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
    use crate::bundle::{
        self, BuildOptions, BundleLoader, BundleName, CompileCache, KeyPair, Revision, TrustStore,
    };
    let setup = |message: String| BenchError::Load {
        side: "component",
        message,
    };
    let at = request
        .at
        .clone()
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".to_string());
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
    let mut loader = BundleLoader::new(trust.clone()).with_cache(cache.clone());
    let loaded = loader
        .load(&signed, None)
        .map_err(|e| setup(e.to_string()))?;

    let cached = median(samples, || {
        let mut loader = BundleLoader::new(trust.clone()).with_cache(cache.clone());
        let _ = std::hint::black_box(loader.load(&signed, None));
    });
    let uncached = median(uncached_samples.max(1), || {
        let mut loader = BundleLoader::new(trust.clone());
        let _ = std::hint::black_box(loader.load(&signed, None));
    });

    let wit_request = request.to_wit(&at);
    let preinitialised = median(samples, || {
        if let Ok(mut instance) = loaded.runtime().instantiate() {
            let _ = std::hint::black_box(instance.decide(&wit_request));
        }
    });
    let wit_sources = sources.to_wit();
    let parsing = median(samples, || {
        if let Ok(mut instance) = runtime.instantiate() {
            let _ = instance.load(&wit_sources);
            let _ = std::hint::black_box(instance.decide(&wit_request));
        }
    });

    let mut what_if = request.clone();
    what_if.at = Some(at.clone());
    let form = Decider::preinitialised(loaded.runtime())
        .map_err(|e| setup(e.to_string()))?
        .permit_what_if(true)
        .cedar_form(&what_if)
        .map_err(|e| setup(e.to_string()))?;
    let (inventory, generic) = native::placement_as_cedar(&form).map_err(setup)?;
    let mut with_inventory = sources.clone();
    with_inventory.entities.push(inventory);
    let native_parse = median(samples, || {
        if let Ok(set) = NativePolicySet::load(&with_inventory) {
            let _ = std::hint::black_box(set.authorize(&generic));
        }
    });

    Ok(vec![
        row(
            "verify + load to ready, compiled code cached",
            samples,
            cached,
            None,
        ),
        row(
            "verify + load to ready, uncached (compiles)",
            uncached_samples.max(1),
            uncached,
            None,
        ),
        row(
            "fresh instance + first decision, pre-initialised bundle",
            samples,
            preinitialised,
            Some(native_parse),
        ),
        row(
            "fresh instance + first decision, parsing policies at instantiation",
            samples,
            parsing,
            Some(native_parse),
        ),
    ])
}
