//! A bundle's policy sources, checked to be what its compiled component
//! decides with. A bundle carries its sources beside the pre-initialised
//! component; tools that read the sources (`prove`, `diff`) must not be
//! shown other policies than the ones that decide, so the component's own
//! account of its policy set (ids and the hashes of the policy, schema and
//! entity texts it loaded) is compared with the sources loaded afresh.

use slicegate::{Decider, Limits, PolicySources, Runtime};

/// The sources `bytes` carries and a decider running its own compiled
/// component, once the two are shown to hold the same policy set.
pub fn open(bytes: &[u8]) -> Result<(PolicySources, Decider), String> {
    let sources = slicegate::bundle::embedded_sources(bytes)
        .map_err(|e| format!("the policy sources it carries: {e}"))?;
    let limits = Limits::default();
    let runtime =
        Runtime::from_component(bytes, limits).map_err(|e| format!("its component: {e}"))?;
    let mut compiled =
        Decider::preinitialised(&runtime).map_err(|e| format!("its component: {e}"))?;
    let shipped = compiled
        .info()
        .map_err(|e| format!("its component's policy set: {e}"))?;
    let fresh_runtime = Runtime::new(limits).map_err(|e| e.to_string())?;
    let mut fresh = Decider::new(&fresh_runtime, &sources)
        .map_err(|e| format!("the policy sources it carries do not load: {e}"))?;
    let expected = fresh.info().map_err(|e| e.to_string())?;
    let differs = [
        ("policy ids", shipped.policy_ids != expected.policy_ids),
        (
            "policies",
            shipped.policies_sha256 != expected.policies_sha256,
        ),
        ("schema", shipped.schema_sha256 != expected.schema_sha256),
        (
            "reference data",
            shipped.entities_sha256 != expected.entities_sha256,
        ),
    ]
    .into_iter()
    .filter(|(_, differs)| *differs)
    .map(|(what, _)| what)
    .collect::<Vec<_>>();
    if !differs.is_empty() {
        return Err(format!(
            "the sources it carries are not what its compiled component decides with ({} \
             differ): the bundle was altered after it was built; rebuild it",
            differs.join(", ")
        ));
    }
    Ok((sources, compiled))
}
