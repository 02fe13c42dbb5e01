//! The smallest orchestrator embedding of slicegate: verify and load a
//! signed policy bundle, decide one placement, print the verdict and the
//! reasons.
//!
//! Run it from the repository root with a bundle and its trust store (the
//! main README's operator workflow makes both):
//!
//! ```sh
//! cargo run -p embed-rust -- lib.wasm trust.toml
//! ```

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use slicegate::bundle::{BundleLoader, CompileCache, TrustStore};
use slicegate::{CustomerCategory, Equipment, Operation, PlacementRequest, Site, Slice};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(bundle), Some(trust)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: embed-rust BUNDLE.wasm TRUST.toml");
    };

    // 1. Verify the bundle against the trust store: signatures, threshold,
    //    validity window and revision. A bundle that fails is never
    //    compiled, let alone run. Compiled code is cached by bundle hash.
    let trust = TrustStore::load(&trust)?;
    let loaded = BundleLoader::new(trust)
        .with_cache(CompileCache::default_location())
        .load_file(&bundle)
        .with_context(|| format!("loading {}", bundle.display()))?;
    println!(
        "bundle {} revision {}, signed by {}",
        loaded.manifest.name,
        loaded.manifest.revision.0,
        loaded
            .signers
            .iter()
            .map(|k| k.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 2. A decider: every decision runs in a sandboxed, pre-initialised
    //    instance with a fuel budget and a memory cap. Keep it for the life
    //    of the process; it is not shared between threads (make one per
    //    thread, they are cheap).
    let mut decider = loaded
        .decider()
        .map_err(|failure| anyhow!("starting the bundle: {failure}"))?;

    // 3. Ask the question the orchestrator has: may this UPF be placed? The
    //    model id is looked up in the bundle's catalog (its function and
    //    domain come from there), the vendor in its registry (ownership and
    //    designations). No evaluation time is given: the host's clock decides.
    let request = PlacementRequest {
        operation: Operation::Place,
        equipment: Equipment {
            id: "upf-lon-2".into(),
            vendor: "huawei".into(),
            model: "huawei-upf-x".into(),
            software_version: "V100R021".into(),
            software_signed: true,
            sbom: true,
            components: Vec::new(),
            subsidy_funded: false,
            critical_component_notice: None,
        },
        slice: Slice {
            id: "embb-consumer".into(),
            sst: 1,
            sd: None,
            category: CustomerCategory::Consumer,
            us_federal: false,
        },
        site: Site {
            id: "gb-lon-core-1".into(),
            country: "GB".into(),
            sensitive: false,
            host: None,
        },
        network: "gb-example-mobile".into(),
        peer: None,
        remote: None,
        at: None,
    };
    let decision = decider.decide(&request);

    // 4. Enforce `allowed`; log the rest.
    println!("allowed: {}", decision.allowed);
    if let Some(failure) = &decision.failure {
        println!("failure: {failure}");
    }
    for policy in &decision.determining {
        println!(
            "{} {}: {}",
            if policy.permit { "permit" } else { "forbid" },
            policy.policy_id,
            policy.reason.as_deref().unwrap_or("(no @reason)")
        );
    }
    Ok(())
}
