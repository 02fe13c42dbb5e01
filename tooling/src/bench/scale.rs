//! Scale-ups: generated catalog models and policies on top of a library.

use super::*;

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
pub(super) const BENCH_NETWORK: &str = "gb-example-mobile";

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
) -> Result<Vec<BenchRow>, BenchError> {
    let scaled = scale_up(sources, scale)?;
    let prepared = Prepared::new(runtime, &scaled, request)?;
    let mut interpreted = prepared.interpreted(runtime, &scaled)?;
    let Prepared {
        mut typed,
        request: what_if,
        native,
        generic,
        ..
    } = prepared;
    typed.decide(&what_if);
    let fuel = typed.last_fuel();
    interpreted.decide(&what_if);
    let interpreted_fuel = interpreted.last_fuel();
    let [native_time, typed_time, interpreted_time] = interleaved(
        samples,
        [
            &mut || {
                let _ = std::hint::black_box(native.authorize(&generic));
            },
            &mut || {
                std::hint::black_box(typed.decide(&what_if));
            },
            &mut || {
                std::hint::black_box(interpreted.decide(&what_if));
            },
        ],
    );
    let mut compiled = row(&scale.label(), samples, typed_time, Some(native_time));
    compiled.component_fuel = fuel;
    let label = format!("{}, compiling off", scale.label());
    let mut interpreted = row(&label, samples, interpreted_time, Some(native_time));
    interpreted.component_fuel = interpreted_fuel;
    Ok(vec![compiled, interpreted])
}
