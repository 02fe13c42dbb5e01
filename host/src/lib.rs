//! # slicegate
//!
//! Decide whether vendor equipment may be placed, kept, upgraded or managed
//! in a 5G network slice, with trust and procurement rules written in Cedar
//! and evaluated inside a sandboxed WebAssembly component.
//!
//! The library an orchestrator embeds:
//!
//! - [`Runtime`] compiles the policy component once per process;
//! - [`Decider`] loads a policy set into an instance and answers every
//!   request with a [`Decision`], failing closed: any error, trap or limit is
//!   a deny with its [`Failure`] attached, and a trapped instance is replaced;
//! - [`PlacementRequest`] is the orchestrator's typed question, [`CedarRequest`]
//!   the generic Cedar one;
//! - [`conformance`] runs Cedar's own corpus through the component and native
//!   `cedar-policy` side by side.
//!
//! ```no_run
//! use slicegate::{Decider, Limits, PolicySources, Runtime};
//!
//! let runtime = Runtime::new(Limits::default())?;
//! let sources = PolicySources::from_dir("policies".as_ref())?;
//! let mut decider = Decider::new(&runtime, &sources)?;
//! let request = serde_json::from_str(r#"{
//!     "operation": "place",
//!     "equipment": {"id": "gnb-1", "vendor": "ericsson", "model": "ericsson-gnb",
//!                   "softwareVersion": "23.Q4", "softwareSigned": true,
//!                   "sbom": true, "subsidyFunded": false},
//!     "slice": {"id": "embb-1", "sst": 1, "category": "consumer", "usFederal": false},
//!     "site": {"id": "lon-01", "country": "GB", "sensitive": false},
//!     "network": "gb-example-mobile"
//! }"#)?;
//! let decision = decider.decide(&request);
//! println!("allowed: {}", decision.allowed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bindings;
pub mod bundle;
mod decider;
mod decision;
pub mod decision_log;
mod digest;
pub mod errors;
mod instance;
mod limits;
mod placement;
pub mod plan;
pub mod reload;
mod runtime;
pub mod sol003;
mod sources;
mod store;
mod validity;

pub use bindings::exports::slicegate::policy::metadata::PolicySetInfo;
pub use decider::{CedarRequest, Decider, EntityRef, LoadReport};
pub use decision::{Decision, DeterminingPolicy, Failure, PolicyError};
pub use digest::sha256_hex;
pub use instance::PolicyInstance;
pub use limits::{LimitKind, Limits};
pub use placement::{
    CriticalComponentNotice, CustomerCategory, Equipment, EvaluationTime, Operation,
    PlacementRequest, RemoteSession, Site, Slice,
};
pub use plan::{DeploymentPlan, PlanFile, PlanResult};
pub use runtime::{ENGINE_COMPONENT, Runtime, RuntimeError};
pub use sources::{PolicyIdMode, PolicySources, SourceFile, SourcesError};
