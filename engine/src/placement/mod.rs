//! The typed orchestrator interface: equipment, slice, site, network and
//! operation become a Cedar request against the 5G schema in `policies/`.
//!
//! Reference data (vendors, designations, catalog, networks) is in the
//! loaded entities and indexed in the [`Registry`]; the live inventory the
//! request names (equipment, slice, site) is built here per decision, with the
//! derived facts the schema marks as such (ultimate owner, effective
//! designations through ownership chains and components). A request naming a
//! vendor, model, network, peer or country the bundle does not know, or
//! missing a fact its operation needs, is refused before evaluation: an
//! unknown party is never silently trusted.

pub mod entities;
mod parties;

use cedar_policy::EntityUid;
use cedar_policy_core::ast::{self, Value};

use crate::exports::slicegate::policy::placement::{Operation, PlacementRequest, RemoteSession};
use crate::registry::Registry;
use crate::slicegate::policy::types::Error;
use crate::state::{LoadedPolicySet, PeerShape};
use crate::time::Instant;
use crate::trust::{Applying, TrustValues};
use crate::values::{
    PlacementTypes, boolean, category_name, datetime, entity_ref, operation_name, record, types,
    uid,
};

use entities::{equipment_entity, site_entity, slice_entity};
pub use parties::{catalog_item, parties, supply};

/// A placement turned into Cedar: the request's parts and the per-request
/// entities (equipment, slice, site).
pub struct CedarPlacement {
    pub principal: EntityUid,
    pub action: EntityUid,
    pub resource: EntityUid,
    /// The context's attributes, as values (built directly: no Cedar
    /// expression is parsed or evaluated to build a request).
    pub context: Vec<(&'static str, Value)>,
    pub entities: Vec<ast::Entity>,
    /// The network the context's `network` names, if it has one (selects
    /// the policies that can apply).
    pub network: Option<String>,
    /// The entities' shapes were checked against the schema at load
    /// ([`check_mapping`]), so they are not checked again per decision.
    pub shapes_checked: bool,
    /// The request (its principal and resource types for the action, and
    /// its context's shape) was checked against the schema at load
    /// ([`checked_requests`]), so `Request::new` need not check it again.
    pub request_checked: bool,
}

/// Turns a typed placement into Cedar, refusing unknown parties and
/// operations missing the facts they need.
pub fn to_cedar(
    set: &LoadedPolicySet,
    registry: &Registry,
    request: &PlacementRequest,
    at: &Instant,
) -> Result<CedarPlacement, Error> {
    let types = types()?;
    if !registry.networks.contains_key(&request.network) {
        return Err(Error::UnknownEntity(format!(
            "network `{}` is not in the bundle's network registry",
            request.network
        )));
    }
    registry.enforceable(&request.network)?;
    registry.enforceable_slice(
        category_name(request.slice.category),
        request.slice.us_federal,
    )?;
    let operation = operation_name(request.operation);
    check_records(request)?;
    let applying = Applying::Slice(
        category_name(request.slice.category),
        request.slice.us_federal,
    );
    let parties = parties(registry, request, applying)?;
    let (_, model, _) = catalog_item(registry, &request.equipment)?;
    let mut values = TrustValues::new(registry);
    let maker_trust = values.value(&parties.maker_trust, types);
    let supply_trust = values.value(&parties.supply, types);
    let equipment = equipment_entity(
        set,
        types,
        &request.equipment,
        model,
        parties.maker,
        &parties.components,
        [maker_trust, supply_trust],
    )?;
    let slice = slice_entity(types, &request.slice)?;
    let site = site_entity(
        registry,
        types,
        &request.site,
        parties.host.as_ref().map(|t| values.value(t, types)),
    )?;
    let peer = request.peer.as_ref().map(|peer| {
        peer_value(
            types,
            peer,
            parties
                .carrier
                .as_ref()
                .and_then(|c| c.as_ref())
                .map(|(id, trust)| (*id, values.value(trust, types))),
        )
    });
    let remote = match (&request.remote, &parties.provider) {
        (Some(remote), Some(provider)) => {
            Some(remote_value(types, remote, values.value(provider, types)))
        }
        _ => None,
    };
    let peer_shape = match &parties.carrier {
        None => PeerShape::None,
        Some(Some(_)) => PeerShape::KnownCarrier,
        Some(None) => PeerShape::UnknownCarrier,
    };
    let context = placement_context(
        types,
        datetime(at)?,
        &request.network,
        site.uid().clone(),
        peer,
        remote,
        [
            values.value(&parties.everyone, types),
            values.value(&parties.services, types),
        ],
    );

    Ok(CedarPlacement {
        principal: EntityUid::from(equipment.uid().clone()),
        action: uid(&types.action, operation),
        resource: EntityUid::from(slice.uid().clone()),
        context,
        entities: vec![equipment, slice, site],
        network: Some(request.network.clone()),
        shapes_checked: true,
        request_checked: set.requests_checked.contains(&(
            operation,
            peer_shape,
            request.remote.is_some(),
        )),
    })
}

/// Records only where their operation has them: a peer on an interconnect
/// (required there), a remote session on a remote-manage (required there).
fn check_records(request: &PlacementRequest) -> Result<(), Error> {
    let operation = operation_name(request.operation);
    match (request.operation, &request.peer, &request.remote) {
        (Operation::Interconnect, None, _) => {
            return Err(Error::InvalidRequest(
                "an interconnect request must name the peer network".to_string(),
            ));
        }
        (Operation::RemoteManage, _, None) => {
            return Err(Error::InvalidRequest(
                "a remote-manage request must describe the remote session".to_string(),
            ));
        }
        (op, Some(_), _) if op != Operation::Interconnect => {
            return Err(Error::InvalidRequest(format!(
                "a `{operation}` request cannot name a peer network: only an interconnect has one"
            )));
        }
        (op, _, Some(_)) if op != Operation::RemoteManage => {
            return Err(Error::InvalidRequest(format!(
                "a `{operation}` request cannot carry a remote session: only a remote-manage has one"
            )));
        }
        _ => {}
    }
    Ok(())
}

/// A placement's context: the evaluation time, the network, the site, the
/// peer and remote-session records when the request has them, and the
/// trust facts of every party and of the service parties.
pub fn placement_context(
    types: &PlacementTypes,
    at: Value,
    network: &str,
    site: ast::EntityUID,
    peer: Option<Value>,
    remote: Option<Value>,
    [parties, services]: [Value; 2],
) -> Vec<(&'static str, Value)> {
    // In the keys' order (Cedar sorts them into a B-tree).
    let mut context = vec![
        ("at", at),
        ("network", entity_ref(&types.network, network)),
        ("parties", parties),
    ];
    context.extend(peer.map(|peer| ("peer", peer)));
    context.extend(remote.map(|remote| ("remote", remote)));
    context.extend([("services", services), ("site", Value::from(site))]);
    context
}

/// The context's `peer` record: the network and, when on record, its
/// carrier with the carrier's trust facts.
pub fn peer_value(types: &PlacementTypes, peer: &str, carrier: Option<(&str, Value)>) -> Value {
    let mut fields = vec![("network", entity_ref(&types.network, peer))];
    if let Some((carrier, trust)) = carrier {
        fields.push(("carrier", entity_ref(&types.vendor, carrier)));
        fields.push(("carrierTrust", trust));
    }
    record(fields)
}

/// The context's `remote` record.
pub fn remote_value(
    types: &PlacementTypes,
    remote: &RemoteSession,
    provider_trust: Value,
) -> Value {
    record([
        (
            "from",
            entity_ref(&types.jurisdiction, &remote.from_country),
        ),
        ("provider", entity_ref(&types.vendor, &remote.provider)),
        ("providerTrust", provider_trust),
        ("authorityApproved", boolean(remote.authority_approved)),
    ])
}
