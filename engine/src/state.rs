//! The instance's state: the policy set a `load` made, with everything
//! decisions read from it (schema, entities, registry, index, decision
//! stores, the request kinds checked at load).

use std::collections::{HashMap, HashSet};

use cedar_policy::{Entities, PolicyId, PolicySet, Schema};
use cedar_policy_core::ast;

use crate::exports::slicegate::policy::metadata::PolicySetInfo;
use crate::index::PolicyIndex;
use crate::registry::Registry;
use crate::slicegate::policy::types::Error;

/// Everything a decision needs, parsed once.
pub struct LoadedPolicySet {
    pub policies: PolicySet,
    pub schema: Option<Schema>,
    pub entities: Entities,
    /// The reference data indexed for placements; `None` unless the schema
    /// is the 5G schema.
    pub registry: Option<Registry>,
    /// The policies that can apply, by action and network (5G schema only).
    pub index: Option<PolicyIndex>,
    pub revision: u64,
    pub info: PolicySetInfo,
    /// Each policy's effect and explaining annotations, read once here:
    /// Cedar parses the key on every annotation lookup.
    pub facts: HashMap<PolicyId, PolicyFacts>,
    /// The loaded entities by uid, for taking a decision's closure
    /// ([`crate::reach`]).
    pub by_uid: Option<crate::stores::ByUid>,
    /// The entity type names the schema and the entities use, parsed once.
    pub type_names: HashMap<String, cedar_policy::EntityTypeName>,
    /// The kinds of placement request the schema was found at load to
    /// accept in every shape (checked at load).
    pub requests_checked: std::collections::HashSet<crate::state::RequestKind>,
    /// The whole policy set's base store ([`crate::stores::base`]).
    pub base: Option<cedar_policy_core::entities::Entities>,
    /// The whole policy set, compiled ([`crate::compiled`]).
    pub compiled: crate::compiled::CompiledSet,
}

/// What a decision reports about a policy it names.
pub struct PolicyFacts {
    pub permit: bool,
    pub pack: Option<String>,
    pub reason: Option<String>,
    pub source: Option<String>,
}

/// How a request's peer record is shaped (it decides the context's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerShape {
    /// No peer (every operation but interconnect).
    None,
    /// A peer network whose carrier is on record.
    KnownCarrier,
    /// A peer network whose carrier the registry does not know.
    UnknownCarrier,
}

/// The kind of a placement request whose shape the schema was checked
/// against at load: operation, peer shape, remote session present.
pub type RequestKind = (&'static str, PeerShape, bool);

/// The parts of a loaded set placement needs: the 5G schema and registry.
pub fn parts(set: &LoadedPolicySet) -> Result<(&cedar_policy::Schema, &Registry), Error> {
    match (set.schema.as_ref(), set.registry.as_ref()) {
        (Some(schema), Some(registry)) => Ok((schema, registry)),
        _ => Err(Error::InvalidRequest(
            "placement requests need a policy set loaded with the 5G schema \
             (entity types Vendor, Designation, Model, Network, ...)"
                .to_string(),
        )),
    }
}

/// `direct` parents with all their ancestors in the loaded entities: the
/// closed ancestor set Cedar would compute.
pub fn closed_parents(
    set: &LoadedPolicySet,
    direct: HashSet<ast::EntityUID>,
) -> HashSet<ast::EntityUID> {
    let core: &cedar_policy_core::entities::Entities = set.entities.as_ref();
    let mut all = direct.clone();
    for parent in &direct {
        if let cedar_policy_core::entities::Dereference::Data(entity) = core.entity(parent) {
            all.extend(entity.ancestors().cloned());
        }
    }
    all
}
