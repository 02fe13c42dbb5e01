//! The smallest orchestrator embedding of slicegate: load the policies,
//! decide one placement, print the verdict and the reasons.
//!
//! Run it from the repository root:
//!
//! ```sh
//! cargo run -p embed-rust
//! ```

use std::path::Path;

use slicegate::{
    CustomerCategory, Decider, Equipment, Limits, Operation, PlacementRequest, PolicySources,
    Runtime, Site, Slice,
};

fn main() -> anyhow::Result<()> {
    // 1. Compile the policy component once per process. Every decision runs
    //    in a sandboxed instance with a fuel budget and a memory cap.
    let runtime = Runtime::new(Limits::default())?;

    // 2. Load the policy set: schema, packs and reference data.
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let sources = PolicySources::from_dir(&policies)?;
    let mut decider = Decider::new(&runtime, &sources)?;

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
