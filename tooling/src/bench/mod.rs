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

    /// The component loaded with `sources` and every policy left to Cedar's
    /// interpreter (compiling off), once it has decided the placement
    /// exactly as the compiled component does.
    pub fn interpreted(
        &self,
        runtime: &Runtime,
        sources: &PolicySources,
    ) -> Result<Decider, BenchError> {
        let mut interpreted = Decider::interpreted(runtime, sources)
            .map_err(|failure| BenchError::Load {
                side: "component",
                message: failure.to_string(),
            })?
            .permit_what_if(true);
        let mut typed = Decider::new(runtime, sources)
            .map_err(|failure| BenchError::Load {
                side: "component",
                message: failure.to_string(),
            })?
            .permit_what_if(true);
        let (compiled, by_interpreter) = (
            typed.decide(&self.request),
            interpreted.decide(&self.request),
        );
        if compiled != by_interpreter {
            return Err(BenchError::Undecided {
                side: "component",
                message: format!("compiled {compiled:?} vs interpreted {by_interpreter:?}"),
            });
        }
        Ok(interpreted)
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
    let mut interpreted = prepared.interpreted(runtime, sources)?;
    let Prepared {
        mut typed,
        request: what_if,
        native,
        generic,
        ..
    } = prepared;
    let [native_time, component_time, typed_time, interpreted_time] = interleaved(
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
            &mut || {
                std::hint::black_box(interpreted.decide(&what_if));
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
    interpreted.decide(&what_if);
    let interpreted_fuel = interpreted.last_fuel();
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
                "one decision, typed placement interface (policies compiled)",
                samples,
                typed_time,
                Some(native_time),
            ),
            typed_fuel,
        ),
        with_fuel(
            row(
                "one decision, typed placement interface, compiling off (Cedar's interpreter in the engine)",
                samples,
                interpreted_time,
                Some(native_time),
            ),
            interpreted_fuel,
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

mod cold;
pub use cold::{SignedBundle, cold_start};

mod scale;
pub use scale::{Scale, scale_up, scaled_decision};
