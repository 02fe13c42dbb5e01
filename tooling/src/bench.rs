//! Side-by-side timings: the component vs native `cedar-policy` in-process,
//! on the same policies, entities and requests. Reported as medians and
//! ratios; never asserted in tests.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::native::{self, NativePolicySet};
use slicegate::PlacementRequest;
use slicegate::Runtime;
use slicegate::{CedarRequest, Decider};
use slicegate::{PolicySources, SourceFile};

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
    /// decision: independent of the machine's load, so it shows a change
    /// the noisy medians cannot.
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

/// Medians of several figures timed in turn, one sample of each per round
/// (after `samples / 10` warm-up rounds): on a noisy machine every figure
/// sees the same conditions, so their ratios hold even when the medians
/// drift between runs.
fn interleaved<const N: usize>(samples: usize, mut fs: [&mut dyn FnMut(); N]) -> [Duration; N] {
    for _ in 0..samples / 10 {
        for f in fs.iter_mut() {
            f();
        }
    }
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(samples));
    for _ in 0..samples.max(1) {
        for (f, times) in fs.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            f();
            times.push(start.elapsed());
        }
    }
    times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    })
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

/// One placement, ready to be decided both ways: by the component's typed
/// `placement` interface (a what-if time fixed, so every run decides the
/// same question) and by native Cedar on the engine's own Cedar form of it
/// (`cedar-form`), so both sides evaluate identical requests and entities.
/// Both sides have decided it once, and agreed, before it is returned.
pub struct Prepared {
    /// The component, loaded with the policy sources.
    pub typed: Decider,
    /// The placement, with its evaluation time.
    pub request: PlacementRequest,
    /// Native Cedar, loaded with the sources and the placement's entities.
    pub native: NativePolicySet,
    /// The placement as a plain Cedar request.
    pub generic: CedarRequest,
    /// The sources with the placement's entities added (what `native` holds).
    pub with_inventory: PolicySources,
}

/// `sources` with the 5G schema's `Designation` type renamed in the schema
/// and the reference data (no policy names it), so the engine loads them as
/// a custom schema.
fn as_custom_schema(sources: &PolicySources) -> PolicySources {
    let mut custom = sources.clone();
    if let Some(schema) = custom.schema.as_mut() {
        schema.text = schema
            .text
            .replace("entity Designation =", "entity DesignationEntry =");
    }
    for file in &mut custom.entities {
        file.text = file
            .text
            .replace(
                "\"type\": \"Designation\"",
                "\"type\": \"DesignationEntry\"",
            )
            .replace("\"type\":\"Designation\"", "\"type\":\"DesignationEntry\"");
    }
    custom
}

impl Prepared {
    /// Loads both sides and checks that they agree on `request`.
    pub fn new(
        runtime: &Runtime,
        sources: &PolicySources,
        request: &PlacementRequest,
    ) -> Result<Self, BenchError> {
        let mut what_if = request.clone();
        what_if.at = Some(
            request
                .at
                .clone()
                .unwrap_or_else(|| "2026-01-01T00:00:00Z".to_string()),
        );
        let mut typed = Decider::new(runtime, sources)
            .map_err(|failure| BenchError::Load {
                side: "component",
                message: failure.to_string(),
            })?
            .permit_what_if(true);
        let undecided =
            |side: &'static str| move |message: String| BenchError::Undecided { side, message };
        let form = typed
            .cedar_form(&what_if)
            .map_err(|failure| undecided("component")(failure.to_string()))?;
        let (inventory, generic) =
            native::placement_as_cedar(&form).map_err(undecided("component"))?;
        let mut with_inventory = sources.clone();
        with_inventory.entities.push(inventory);
        let native =
            NativePolicySet::load(&with_inventory).map_err(|message| BenchError::Load {
                side: "native",
                message,
            })?;
        // Both sides must actually decide (and agree) before timing means
        // anything.
        let typed_decision = typed.decide(&what_if);
        let native_decision = native.authorize(&generic).map_err(undecided("native"))?;
        if typed_decision.cedar_allowed() != Some(native_decision.allowed) {
            return Err(undecided("component")(format!(
                "{typed_decision:?} vs native {native_decision:?}"
            )));
        }
        Ok(Prepared {
            typed,
            request: what_if,
            native,
            generic,
            with_inventory,
        })
    }

    /// The component loaded with `with_inventory` as a custom schema, for
    /// the generic authorizer, once it has decided `generic` as native Cedar
    /// does.
    ///
    /// On a bundle with the 5G schema the generic authorizer refuses
    /// placement actions (they go through the typed interface, which derives
    /// the parties' facts and takes the time from the host). The same
    /// policies, entities and request stay decidable as a custom schema: the
    /// library's `Designation` type renamed, so the engine does not treat
    /// the schema as the 5G one and evaluates what the request brings, as
    /// native Cedar does.
    pub fn generic_component(&self, runtime: &Runtime) -> Result<Decider, BenchError> {
        let mut component = Decider::new(runtime, &as_custom_schema(&self.with_inventory))
            .map_err(|failure| BenchError::Load {
                side: "component",
                message: failure.to_string(),
            })?;
        let component_decision = component.authorize(&self.generic);
        let native_decision =
            self.native
                .authorize(&self.generic)
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
        Ok(component)
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
    let prepared = Prepared::new(runtime, sources, request)?;
    let mut component = prepared.generic_component(runtime)?;
    let Prepared {
        mut typed,
        request: what_if,
        native,
        generic,
        ..
    } = prepared;
    let [native_time, component_time, typed_time] = interleaved(
        samples,
        [
            &mut || {
                let _ = std::hint::black_box(native.authorize(&generic));
            },
            &mut || {
                std::hint::black_box(component.authorize(&generic));
            },
            &mut || {
                std::hint::black_box(typed.decide(&what_if));
            },
        ],
    );
    // The same placement 100 times in one guest call: what a batch
    // amortises (the boundary, the instance lookup), per decision; native
    // deciding it 100 times alongside.
    let batch: Vec<PlacementRequest> = vec![what_if.clone(); BATCH];
    let [batch_time, batch_native] = interleaved(
        (samples / BATCH).max(3),
        [
            &mut || {
                std::hint::black_box(typed.decide_batch(&batch));
            },
            &mut || {
                for _ in 0..BATCH {
                    let _ = std::hint::black_box(native.authorize(&generic));
                }
            },
        ],
    )
    .map(|t| t / BATCH as u32);
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
                Some(batch_native),
            ),
            batch_fuel,
        ),
    ])
}

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
    let loaded = &bundle.loaded;
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

    let preinitialised = median(samples, || {
        let _ = std::hint::black_box(bundle.fresh_decision(request, &at));
    });
    let instantiate_only = median(samples, || {
        let _ = std::hint::black_box(loaded.runtime().instantiate());
    });
    let hashing = median(samples, || {
        use sha2::Digest;
        std::hint::black_box(sha2::Sha256::digest(&bundle.signed));
    });
    let mut at_request = request.clone();
    at_request.at = Some(at.clone());
    let parsing = median(samples, || {
        if let Ok(decider) = Decider::new(runtime, sources) {
            let mut decider = decider.permit_what_if(true);
            let _ = std::hint::black_box(decider.decide(&at_request));
        }
    });

    // Native Cedar parsing the same policies and entities, then deciding.
    let Prepared {
        generic,
        with_inventory,
        ..
    } = Prepared::new(runtime, sources, request)?;
    let native_parse = median(samples, || {
        if let Ok(set) = NativePolicySet::load(&with_inventory) {
            let _ = std::hint::black_box(set.authorize(&generic));
        }
    });

    Ok(vec![
        row(
            "verify + load to ready, compiled code cached, new loader (a first load)",
            samples,
            cached,
            None,
        ),
        row(
            "  of which: sha256 of the whole bundle (signature check)",
            samples,
            hashing,
            None,
        ),
        row(
            "verify + load to ready, cached, engine reused (a reload)",
            samples,
            reloaded,
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
            "  of which: instantiating alone",
            samples,
            instantiate_only,
            None,
        ),
        row(
            "fresh instance + first decision, parsing policies at instantiation",
            samples,
            parsing,
            Some(native_parse),
        ),
    ])
}

/// A generated scale-up of a policy library: `inventory` catalog models
/// added to its reference data and `policies` generated policies.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scale {
    /// Catalog models added (copies of the library's models under new ids,
    /// so each names a real vendor and network function).
    pub inventory: usize,
    /// Policies added: `forbid`s on the bench request's action and
    /// principal, each false for it, so they are evaluated in full.
    pub policies: usize,
    /// Whether every generated policy applies to the bench network (gated on
    /// one of its regimes). Otherwise they are spread ten to a generated
    /// regime, the way packs are written per jurisdiction, and the bench
    /// network has the first of those regimes.
    pub all_apply: bool,
}

impl Scale {
    /// The row label.
    pub fn label(&self) -> String {
        let policies = match (self.policies, self.all_apply) {
            (0, _) => "library policies".to_string(),
            (n, true) => format!("+{n} generated policies, all applying"),
            (n, false) => format!("+{n} generated policies, 10 per regime"),
        };
        format!(
            "one decision, typed, +{} catalog models, {policies}",
            self.inventory
        )
    }
}

/// The network the generated data and the bench request use.
const BENCH_NETWORK: &str = "gb-example-mobile";

/// `sources` scaled up as `scale` says (see [`Scale`]).
pub fn scale_up(sources: &PolicySources, scale: Scale) -> Result<PolicySources, BenchError> {
    use serde_json::{Value, json};
    let setup = |message: String| BenchError::Load {
        side: "scale-up",
        message,
    };
    let mut scaled = sources.clone();
    let mut models = Vec::new();
    let mut vendors = Vec::new();
    for file in &mut scaled.entities {
        let mut entities: Vec<Value> =
            serde_json::from_str(&file.text).map_err(|e| setup(format!("{}: {e}", file.name)))?;
        for entity in &mut entities {
            match entity.pointer("/uid/type").and_then(Value::as_str) {
                Some("Model") => models.push(entity.clone()),
                Some("Vendor") => vendors.extend(
                    entity
                        .pointer("/uid/id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                ),
                Some("Network")
                    if entity.pointer("/uid/id").and_then(Value::as_str) == Some(BENCH_NETWORK)
                        && scale.policies > 0
                        && !scale.all_apply =>
                {
                    if let Some(Value::Array(regimes)) = entity.pointer_mut("/attrs/regimes") {
                        regimes.push(json!("generated-0"));
                    }
                }
                _ => {}
            }
        }
        file.text = Value::Array(entities).to_string();
    }
    if models.is_empty() || vendors.is_empty() {
        return Err(setup(
            "the library has no Model or Vendor entities to copy".to_string(),
        ));
    }
    let generated: Vec<Value> = (0..scale.inventory)
        .map(|i| {
            let mut model = models[i % models.len()].clone();
            if let Some(id) = model.pointer_mut("/uid/id") {
                *id = json!(format!("generated-{i}"));
            }
            model
        })
        .collect();
    scaled.entities.push(SourceFile {
        name: "generated/inventory.json".to_string(),
        text: Value::Array(generated).to_string(),
    });
    vendors.sort();
    let text: String = (0..scale.policies)
        .map(|i| {
            let regime = if scale.all_apply {
                "uk-hrv".to_string()
            } else {
                format!("generated-{}", i / 10)
            };
            format!(
                "@id(\"generated/{i}\")\n@pack(\"{pack}\")\n@reason(\"generated policy {i}\")\n\
                 forbid (principal, action == Action::\"operate\", resource)\n\
                 when {{ context.network.regimes.contains(\"{regime}\") && principal.domain == \"core\" \
                 && principal.vendor == Vendor::\"{vendor}\" && context.at >= datetime(\"2099-01-01T00:00:00Z\") }};\n",
                vendor = vendors[i % vendors.len()],
                // A regime a network names must be the library's or a loaded
                // pack's: each generated regime is its ten policies' pack.
                pack = if scale.all_apply { "generated" } else { regime.as_str() }
            )
        })
        .collect();
    scaled.policies.push(SourceFile {
        name: "generated/policies.cedar".to_string(),
        text,
    });
    Ok(scaled)
}

/// One typed decision on a scaled-up library (see [`Scale`]) against native
/// Cedar deciding the same Cedar request on the same scaled-up data.
pub fn scaled_decision(
    runtime: &Runtime,
    sources: &PolicySources,
    request: &PlacementRequest,
    scale: Scale,
    samples: usize,
) -> Result<BenchRow, BenchError> {
    let Prepared {
        mut typed,
        request: what_if,
        native,
        generic,
        ..
    } = Prepared::new(runtime, &scale_up(sources, scale)?, request)?;
    let fuel = typed.last_fuel();
    let [native_time, typed_time] = interleaved(
        samples,
        [
            &mut || {
                let _ = std::hint::black_box(native.authorize(&generic));
            },
            &mut || {
                std::hint::black_box(typed.decide(&what_if));
            },
        ],
    );
    let mut row = row(&scale.label(), samples, typed_time, Some(native_time));
    row.component_fuel = fuel;
    Ok(row)
}
