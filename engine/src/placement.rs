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

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use cedar_policy::{Authorizer, Context, EntityTypeName, EntityUid, Request};
use cedar_policy_core::ast::{self, PartialValue, Value};
use cedar_policy_core::extensions::Extensions;

use crate::decision;
use crate::describe;
use crate::exports::slicegate::policy::placement::{
    CriticalComponentNotice, CustomerCategory, Equipment, Operation, PlacementRequest,
    RemoteSession, Site, Slice,
};
use crate::load::LoadedPolicySet;
use crate::reach;
use crate::registry::{ModelFacts, Registry, VendorFacts};
use crate::slicegate::policy::types::{Decision, Error};
use crate::time::Instant;
use crate::trust::{Applying, Trust};

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

/// Decides one placement.
pub fn decide(set: &LoadedPolicySet, request: &PlacementRequest) -> Result<Decision, Error> {
    let (schema, registry) = parts(set)?;
    let at = evaluation_time(&request.at)?;
    let placement = to_cedar(set, registry, request, &at)?;
    evaluate(set, schema, placement)
}

/// Evaluates a placement (or plan) already turned into Cedar.
pub fn evaluate(
    set: &LoadedPolicySet,
    schema: &cedar_policy::Schema,
    placement: CedarPlacement,
) -> Result<Decision, Error> {
    let (policies, base) = set
        .index
        .as_ref()
        .and_then(|index| index.select(&placement.action, placement.network.as_deref()))
        .unwrap_or((&set.policies, set.base.as_ref()));
    // The request's roots of the entities evaluation can read (see `reach`).
    let mut roots: Vec<ast::EntityUID> = Vec::new();
    for uid in [&placement.principal, &placement.action, &placement.resource] {
        roots.push(uid.as_ref().clone());
    }
    for (_, value) in &placement.context {
        reach::uids_in(value, &mut roots);
    }
    let context = cedar_context(placement.context);
    let cedar_request = Request::new(
        placement.principal,
        placement.action,
        placement.resource,
        context,
        (!placement.request_checked).then_some(schema),
    )
    .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let authorize = |entities: &cedar_policy::Entities| {
        Authorizer::new().is_authorized(&cedar_request, policies, entities)
    };
    let mut added = placement.entities;
    if placement.shapes_checked {
        // The request's entities and what evaluation can reach from them, the
        // request and the policies: flat in the size of the reference data.
        if let (Some(by_uid), Some(base)) = (set.by_uid.as_ref(), base) {
            match reach::closure(by_uid, base, added, roots) {
                Ok(store) => {
                    let store = store?;
                    return Ok(decision::from_response(
                        set,
                        &authorize(&cedar_policy::Entities::from(store)),
                    ));
                }
                Err(back) => added = back,
            }
        }
        return Ok(decision::from_response(
            set,
            &authorize(&with_request_entities(set, added)?),
        ));
    }
    let entities = set
        .entities
        .clone()
        .add_entities(
            added.into_iter().map(cedar_policy::Entity::from),
            Some(schema),
        )
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    Ok(decision::from_response(set, &authorize(&entities)))
}

/// The loaded entities with a request's own entities (equipment, slice,
/// site) added; their shapes were checked against the schema at load. (The
/// fallback when a decision's closure cannot be taken, see `evaluate`.)
///
/// The reference entities' transitive closure was computed at load, and the
/// request's entities come with their ancestors already closed (see
/// [`closed_parents`]) and are nobody's ancestors, so the closure is not
/// recomputed (Cedar's public `add_entities` recomputes it over the whole
/// store, copying every entity): only the store's map is copied.
fn with_request_entities(
    set: &LoadedPolicySet,
    added: Vec<ast::Entity>,
) -> Result<cedar_policy::Entities, Error> {
    let core: &cedar_policy_core::entities::Entities = set.entities.as_ref();
    reach::add_closed(core.clone(), added.into_iter().map(Arc::new))
        .map(cedar_policy::Entities::from)
        .map_err(Error::SchemaViolation)
}

/// At load: the entities a placement builds conform to the loaded schema in
/// every shape they can take, so decisions need not check them again. Two
/// placements are built and checked: one with every optional attribute
/// (critical-component notice, slice differentiator, site host, and trust
/// records holding every designation the bundle has) and one with none.
/// Attribute types are fixed by this code and checked independently, so
/// every other combination conforms too. A schema that does not accept them
/// does not load.
pub fn check_mapping(set: &LoadedPolicySet) -> Result<(), Error> {
    let (schema, registry) = parts(set)?;
    let types = types()?;
    let Some((model_id, model)) = registry.models.iter().min_by_key(|(id, _)| *id) else {
        return Ok(());
    };
    let Some(country) = registry.jurisdictions.iter().min() else {
        return Ok(());
    };
    let mut vendors: Vec<&str> = registry.vendors.keys().map(String::as_str).collect();
    vendors.sort();
    let every = Trust::of(
        registry,
        vendors.iter().copied(),
        "vendor",
        true,
        Applying::Every,
    )?
    .value(types);
    let maker = registry.vendor(&model.vendor, "vendor")?;
    let full = Equipment {
        id: "shape-check".to_string(),
        vendor: model.vendor.clone(),
        model: model_id.clone(),
        software_version: "0".to_string(),
        software_signed: true,
        sbom: true,
        components: Vec::new(),
        subsidy_funded: true,
        critical_component_notice: Some(CriticalComponentNotice {
            filed: "2026-01-01T00:00:00Z".to_string(),
            prohibited: true,
        }),
    };
    let bare = Equipment {
        critical_component_notice: None,
        ..full.clone()
    };
    let slice = |sd| Slice {
        id: "shape-check".to_string(),
        sst: 1,
        sd,
        category: CustomerCategory::Consumer,
        us_federal: false,
    };
    let site = |host: Option<&str>| Site {
        id: "shape-check".to_string(),
        country: country.clone(),
        sensitive: false,
        host: host.map(str::to_string),
    };
    let full_components = vendors.clone();
    for (equipment, components, slice, site) in [
        (
            full,
            full_components,
            slice(Some(1)),
            site(vendors.first().copied()),
        ),
        (bare, Vec::new(), slice(None), site(None)),
    ] {
        let host_trust = site.host.as_ref().map(|_| every.clone());
        let entities = [
            equipment_entity(
                set,
                types,
                &equipment,
                model,
                maker,
                &components,
                [every.clone(), every.clone()],
            )?,
            slice_entity(types, &slice)?,
            site_entity(registry, types, &site, host_trust)?,
        ]
        .map(cedar_policy::Entity::from);
        set.entities
            .clone()
            .add_entities(entities, Some(schema))
            .map_err(|e| {
                Error::PolicyLoad(format!(
                    "the schema does not accept the entities a placement is made of: {}",
                    describe(&e)
                ))
            })?;
    }
    Ok(())
}

/// `direct` parents with all their ancestors in the loaded entities: the
/// closed ancestor set Cedar would compute.
fn closed_parents(
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

/// The Cedar form of a placement as JSON: `{principal, action, resource,
/// context, entities}` in Cedar's JSON formats. `entities` holds only the
/// per-request entities; the reference data is the bundle's.
pub fn cedar_form(set: &LoadedPolicySet, request: &PlacementRequest) -> Result<String, Error> {
    let (schema, registry) = parts(set)?;
    let at = evaluation_time(&request.at)?;
    let placement = to_cedar(set, registry, request, &at)?;
    // Checked exactly as a decision checks them, so the form is one Cedar
    // accepts.
    let entities: Vec<cedar_policy::Entity> = placement
        .entities
        .iter()
        .cloned()
        .map(cedar_policy::Entity::from)
        .collect();
    set.entities
        .clone()
        .add_entities(entities.clone(), Some(schema))
        .map_err(|e| Error::SchemaViolation(describe(&e)))?;
    let uid_json = |uid: &EntityUid| serde_json::json!({"type": uid.type_name().to_string(), "id": uid.id().unescaped()});
    let entities = entities
        .iter()
        .map(|entity| {
            entity
                .to_json_value()
                .map_err(|e| Error::Internal(describe(&e)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Cedar has no JSON writer for a context; a record attribute of a
    // throwaway entity serialises the same values in the same format.
    let holder = cedar_policy::Entity::from(entity(
        core_uid(&types()?.plan, "context"),
        vec![("context", Value::record(placement.context, None))],
        HashSet::new(),
    ));
    let context = holder
        .to_json_value()
        .map_err(|e| Error::Internal(describe(&e)))?
        .pointer("/attrs/context")
        .cloned()
        .unwrap_or_default();
    let form = serde_json::json!({
        "principal": uid_json(&placement.principal),
        "action": uid_json(&placement.action),
        "resource": uid_json(&placement.resource),
        "context": context,
        "entities": entities,
    });
    Ok(form.to_string())
}

/// The entity types of the 5G schema, parsed once per process: Cedar's
/// parser is far too slow to run for every decision.
pub struct PlacementTypes {
    pub action: EntityTypeName,
    pub equipment: EntityTypeName,
    pub function: EntityTypeName,
    pub jurisdiction: EntityTypeName,
    pub model: EntityTypeName,
    pub network: EntityTypeName,
    pub plan: EntityTypeName,
    pub site: EntityTypeName,
    pub slice: EntityTypeName,
    pub vendor: EntityTypeName,
}

pub fn types() -> Result<&'static PlacementTypes, Error> {
    static TYPES: OnceLock<Result<PlacementTypes, String>> = OnceLock::new();
    let parse = |name: &str| {
        name.parse::<EntityTypeName>()
            .map_err(|e| format!("type name `{name}`: {e}"))
    };
    TYPES
        .get_or_init(|| {
            Ok(PlacementTypes {
                action: parse("Action")?,
                equipment: parse("Equipment")?,
                function: parse("NetworkFunction")?,
                jurisdiction: parse("Jurisdiction")?,
                model: parse("Model")?,
                network: parse("Network")?,
                plan: parse("Plan")?,
                site: parse("Site")?,
                slice: parse("Slice")?,
                vendor: parse("Vendor")?,
            })
        })
        .as_ref()
        .map_err(|e| Error::Internal(e.clone()))
}

/// Parses the schema's type names now, so that a pre-initialised snapshot
/// holds them and no decision pays for it.
pub fn warm_up() {
    let _ = types();
}

pub fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from(core_uid(type_name, id))
}

/// An entity uid of Cedar's core form (what values and entities hold).
pub fn core_uid(type_name: &EntityTypeName, id: &str) -> ast::EntityUID {
    ast::EntityUID::from_components(type_name.as_ref().clone(), ast::Eid::new(id), None)
}

/// The evaluation time, checked and normalised to Cedar's `datetime` form.
pub fn evaluation_time(at: &str) -> Result<Instant, Error> {
    Instant::parse_exact(at).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "evaluation time `{at}` is not an RFC 3339 instant like 2024-01-01T00:00:00Z \
             (with a zone, to the millisecond at most)"
        ))
    })
}

/// Cedar's `datetime` value of an instant, made by calling the extension
/// function itself. (`RestrictedExpression::new_datetime` parses the name
/// `datetime` with Cedar's policy parser on every call, and evaluating the
/// expression costs more again: together most of a decision's time.)
pub fn datetime(at: &Instant) -> Result<Value, Error> {
    static NAME: OnceLock<Result<ast::Name, String>> = OnceLock::new();
    let name = NAME
        .get_or_init(|| ast::Name::parse_unqualified_name("datetime").map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Internal(e.clone()))?;
    let function = Extensions::all_available()
        .func(name)
        .map_err(|e| Error::Internal(describe(&e)))?;
    match function.call(&[Value::from(at.cedar.as_str())]) {
        Ok(PartialValue::Value(value)) => Ok(value),
        Ok(PartialValue::Residual(_)) => Err(Error::Internal(
            "datetime() gave a residual for a concrete string".to_string(),
        )),
        Err(e) => Err(Error::InvalidRequest(format!(
            "instant `{}`: {}",
            at.cedar,
            describe(&e)
        ))),
    }
}

pub fn string(value: &str) -> Value {
    Value::from(value)
}

pub fn long(value: i64) -> Value {
    Value::from(value)
}

pub fn boolean(value: bool) -> Value {
    Value::from(value)
}

pub fn entity_ref(type_name: &EntityTypeName, id: &str) -> Value {
    Value::from(core_uid(type_name, id))
}

fn record(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::record(pairs, None)
}

/// An entity of Cedar's core form with these attribute values.
pub fn entity(
    uid: ast::EntityUID,
    attrs: Vec<(&'static str, Value)>,
    parents: HashSet<ast::EntityUID>,
) -> ast::Entity {
    ast::Entity::new_with_attr_partial_value(
        uid,
        attrs
            .into_iter()
            .map(|(key, value)| (key.into(), PartialValue::Value(value))),
        HashSet::new(),
        parents,
        [],
    )
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

/// The parties of a placement, each checked against the registry, with the
/// trust facts the policies read.
pub struct Parties<'r> {
    /// The maker's facts.
    pub maker: &'r VendorFacts,
    /// The components: the catalog's bill of materials and those the request
    /// adds, each once, sorted.
    pub components: Vec<&'r str>,
    pub maker_trust: Trust<'r>,
    /// The maker and every component's vendor.
    pub supply: Trust<'r>,
    pub provider: Option<Trust<'r>>,
    pub host: Option<Trust<'r>>,
    /// `Some(None)`: a peer whose carrier is not on record.
    pub carrier: Option<Option<(&'r str, Trust<'r>)>>,
    /// The provider, the host and the carrier.
    pub services: Trust<'r>,
    /// Everyone.
    pub everyone: Trust<'r>,
}

/// The parties of `request` for a slice of `category`, refusing any that is
/// not on record (a peer whose carrier is unknown is the one party that may
/// be missing: it is marked so, and the policies decide).
pub fn parties<'r>(
    registry: &'r Registry,
    request: &PlacementRequest,
    applying: Applying<'_>,
) -> Result<Parties<'r>, Error> {
    let (maker, _, components) = catalog_item(registry, &request.equipment)?;
    let maker_trust = Trust::of(
        registry,
        [request.equipment.vendor.as_str()],
        "vendor",
        false,
        applying,
    )?;
    let supply = maker_trust.union(&Trust::of(
        registry,
        components.iter().copied(),
        "component vendor",
        false,
        applying,
    )?);
    let provider = match &request.remote {
        Some(remote) => {
            registry.jurisdiction(&remote.from_country, "remote session country")?;
            Some(Trust::of(
                registry,
                [remote.provider.as_str()],
                "remote-management provider",
                false,
                applying,
            )?)
        }
        None => None,
    };
    let host = match &request.site.host {
        Some(host) => Some(Trust::of(
            registry,
            [host.as_str()],
            "site host",
            false,
            applying,
        )?),
        None => None,
    };
    let carrier = match &request.peer {
        Some(peer) => {
            let Some(facts) = registry.networks.get(peer) else {
                return Err(Error::UnknownEntity(format!(
                    "peer network `{peer}` is not in the bundle's network registry"
                )));
            };
            match &facts.carrier {
                Some(carrier) => {
                    let Some((id, _)) = registry.vendors.get_key_value(carrier) else {
                        return Err(Error::UnknownEntity(format!(
                            "carrier `{carrier}` of peer network `{peer}` is not in the \
                             bundle's vendor registry"
                        )));
                    };
                    Some(Some((
                        id.as_str(),
                        Trust::of(registry, [id.as_str()], "carrier", false, applying)?,
                    )))
                }
                None => Some(None),
            }
        }
        None => None,
    };
    let mut services = Trust::of(
        registry,
        [],
        "party",
        matches!(carrier, Some(None)),
        applying,
    )?;
    for trust in [provider.as_ref(), host.as_ref()]
        .into_iter()
        .flatten()
        .chain(carrier.iter().flatten().map(|(_, t)| t))
    {
        services = services.union(trust);
    }
    let everyone = supply.union(&services);
    Ok(Parties {
        maker,
        components,
        maker_trust,
        supply,
        provider,
        host,
        carrier,
        services,
        everyone,
    })
}

/// The ultimate owner of an item's maker and the trust facts of its supply
/// (the maker and every component, the catalog's and the request's), for a
/// slice: what a plan's shares count.
pub fn supply<'r>(
    registry: &'r Registry,
    equipment: &Equipment,
    applying: Applying<'_>,
) -> Result<(&'r str, Trust<'r>), Error> {
    let (maker, _, components) = catalog_item(registry, equipment)?;
    let trust = Trust::of(
        registry,
        std::iter::once(equipment.vendor.as_str()).chain(components.iter().copied()),
        "vendor",
        false,
        applying,
    )?;
    Ok((maker.owner.as_str(), trust))
}

/// The equipment's maker, catalog model and components (the model's bill of
/// materials merged with the request's list: a request can add parts, never
/// remove them), refusing an unknown maker, model or component vendor and a
/// model claimed for another maker.
fn catalog_item<'r>(
    registry: &'r Registry,
    equipment: &Equipment,
) -> Result<(&'r VendorFacts, &'r ModelFacts, Vec<&'r str>), Error> {
    if equipment.id.is_empty() {
        return Err(Error::InvalidRequest("equipment id is empty".to_string()));
    }
    let maker = registry.vendor(&equipment.vendor, "vendor")?;
    let Some(model) = registry.models.get(&equipment.model) else {
        return Err(Error::UnknownEntity(format!(
            "model `{}` is not in the bundle's product catalog",
            equipment.model
        )));
    };
    if model.vendor != equipment.vendor {
        return Err(Error::InvalidRequest(format!(
            "model `{}` is made by `{}`, not `{}`",
            equipment.model, model.vendor, equipment.vendor
        )));
    }
    let mut components: Vec<&str> = model.components.iter().map(String::as_str).collect();
    for component in &equipment.components {
        let Some((id, _)) = registry.vendors.get_key_value(component) else {
            return Err(Error::UnknownEntity(format!(
                "component vendor `{component}` is not in the bundle's vendor registry"
            )));
        };
        components.push(id);
    }
    components.sort_unstable();
    components.dedup();
    Ok((maker, model, components))
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
    let applying = Applying::Slice(
        category_name(request.slice.category),
        request.slice.us_federal,
    );
    let parties = parties(registry, request, applying)?;
    let (_, model, _) = catalog_item(registry, &request.equipment)?;
    let equipment = equipment_entity(
        set,
        types,
        &request.equipment,
        model,
        parties.maker,
        &parties.components,
        [
            parties.maker_trust.value(types),
            parties.supply.value(types),
        ],
    )?;
    let slice = slice_entity(types, &request.slice)?;
    let site = site_entity(
        registry,
        types,
        &request.site,
        parties.host.as_ref().map(|t| t.value(types)),
    )?;
    let peer = request.peer.as_ref().map(|peer| {
        peer_value(
            types,
            peer,
            parties
                .carrier
                .as_ref()
                .and_then(|c| c.as_ref())
                .map(|(id, trust)| (*id, trust.value(types))),
        )
    });
    let remote = match (&request.remote, &parties.provider) {
        (Some(remote), Some(provider)) => Some(remote_value(types, remote, provider.value(types))),
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
        [parties.everyone.value(types), parties.services.value(types)],
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

/// A placement's context: the evaluation time, the network, the site, the
/// peer and remote-session records when the request has them, and the
/// trust facts of every party and of the service parties.
fn placement_context(
    types: &PlacementTypes,
    at: Value,
    network: &str,
    site: ast::EntityUID,
    peer: Option<Value>,
    remote: Option<Value>,
    [parties, services]: [Value; 2],
) -> Vec<(&'static str, Value)> {
    let mut context = vec![
        ("at", at),
        ("network", entity_ref(&types.network, network)),
        ("site", Value::from(site)),
        ("parties", parties),
        ("services", services),
    ];
    context.extend(peer.map(|peer| ("peer", peer)));
    context.extend(remote.map(|remote| ("remote", remote)));
    context
}

fn cedar_context(pairs: Vec<(&'static str, Value)>) -> Context {
    Context::from(ast::Context::Value(Arc::new(
        pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value))
            .collect::<BTreeMap<_, _>>(),
    )))
}

/// Every operation a placement can ask about.
const OPERATIONS: [Operation; 8] = [
    Operation::Place,
    Operation::Scale,
    Operation::Upgrade,
    Operation::Heal,
    Operation::Operate,
    Operation::RemoteManage,
    Operation::Interconnect,
    Operation::Terminate,
];

/// At load: the kinds of request the schema accepts in every shape they can
/// take, so decisions of those kinds need not be checked again. Each kind is
/// checked with trust records holding every designation the bundle has and
/// holding none (their attributes are independent optional attributes, and
/// every other value's type is fixed by this code). A kind the schema
/// refuses is left out: its decisions are checked, and refused, one by one.
pub fn checked_requests(set: &LoadedPolicySet) -> Result<HashSet<RequestKind>, Error> {
    let (schema, registry) = parts(set)?;
    let types = types()?;
    let mut checked = HashSet::new();
    let (Some(network), Some(country), Some(vendor)) = (
        registry.networks.keys().min(),
        registry.jurisdictions.iter().min(),
        registry.vendors.keys().min(),
    ) else {
        return Ok(checked);
    };
    let at = Instant::parse("2026-01-01T00:00:00Z")
        .ok_or_else(|| Error::Internal("the check's instant does not parse".to_string()))?;
    let at = datetime(&at)?;
    let mut vendors: Vec<&str> = registry.vendors.keys().map(String::as_str).collect();
    vendors.sort();
    let every = Trust::of(
        registry,
        vendors.iter().copied(),
        "vendor",
        true,
        Applying::Every,
    )?
    .value(types);
    let none = Trust::of(registry, [], "vendor", false, Applying::Every)?.value(types);
    let remote = RemoteSession {
        from_country: country.clone(),
        provider: vendor.clone(),
        authority_approved: true,
    };
    for operation in OPERATIONS {
        for peer in [
            PeerShape::None,
            PeerShape::KnownCarrier,
            PeerShape::UnknownCarrier,
        ] {
            for remote_session in [false, true] {
                let accepted = [&every, &none].into_iter().all(|trust| {
                    let peer_record = match peer {
                        PeerShape::None => None,
                        PeerShape::KnownCarrier => {
                            Some(peer_value(types, network, Some((vendor, trust.clone()))))
                        }
                        PeerShape::UnknownCarrier => Some(peer_value(types, network, None)),
                    };
                    let context = placement_context(
                        types,
                        at.clone(),
                        network,
                        core_uid(&types.site, "shape-check"),
                        peer_record,
                        remote_session.then(|| remote_value(types, &remote, trust.clone())),
                        [trust.clone(), trust.clone()],
                    );
                    Request::new(
                        uid(&types.equipment, "shape-check"),
                        uid(&types.action, operation_name(operation)),
                        uid(&types.slice, "shape-check"),
                        cedar_context(context),
                        Some(schema),
                    )
                    .is_ok()
                });
                if accepted {
                    checked.insert((operation_name(operation), peer, remote_session));
                }
            }
        }
    }
    Ok(checked)
}

/// The context's `peer` record: the network and, when on record, its
/// carrier with the carrier's trust facts.
fn peer_value(types: &PlacementTypes, peer: &str, carrier: Option<(&str, Value)>) -> Value {
    let mut fields = vec![("network", entity_ref(&types.network, peer))];
    if let Some((carrier, trust)) = carrier {
        fields.push(("carrier", entity_ref(&types.vendor, carrier)));
        fields.push(("carrierTrust", trust));
    }
    record(fields)
}

/// The context's `remote` record.
fn remote_value(types: &PlacementTypes, remote: &RemoteSession, provider_trust: Value) -> Value {
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

/// The equipment entity: the request's own facts (software, SBOM, subsidy,
/// notice) and the derived ones (function, domain, criticality, owner, the
/// maker's and the supply's trust facts, the merged components), `in` its
/// maker and every component vendor.
fn equipment_entity(
    set: &LoadedPolicySet,
    types: &PlacementTypes,
    equipment: &Equipment,
    model: &ModelFacts,
    maker: &VendorFacts,
    components: &[&str],
    [maker_trust, supply_trust]: [Value; 2],
) -> Result<ast::Entity, Error> {
    let mut parents = HashSet::from([core_uid(&types.vendor, &equipment.vendor)]);
    parents.extend(components.iter().map(|c| core_uid(&types.vendor, c)));
    let mut attrs = vec![
        ("vendor", entity_ref(&types.vendor, &equipment.vendor)),
        ("model", entity_ref(&types.model, &equipment.model)),
        ("function", entity_ref(&types.function, &model.function)),
        ("domain", string(&model.domain)),
        ("critical", boolean(model.critical)),
        ("owner", entity_ref(&types.vendor, &maker.owner)),
        ("maker", maker_trust),
        ("supply", supply_trust),
        (
            "components",
            Value::set(
                components.iter().map(|c| entity_ref(&types.vendor, c)),
                None,
            ),
        ),
        ("softwareVersion", string(&equipment.software_version)),
        ("softwareSigned", boolean(equipment.software_signed)),
        ("sbom", boolean(equipment.sbom)),
        ("subsidyFunded", boolean(equipment.subsidy_funded)),
    ];
    if let Some(notice) = &equipment.critical_component_notice {
        let filed = Instant::parse_exact(&notice.filed).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "critical-component notice date `{}` is not an RFC 3339 instant (with a zone, \
                 to the millisecond at most)",
                notice.filed
            ))
        })?;
        attrs.push((
            "criticalNotice",
            record([
                ("filed", datetime(&filed)?),
                ("prohibited", boolean(notice.prohibited)),
            ]),
        ));
    }
    Ok(entity(
        core_uid(&types.equipment, &equipment.id),
        attrs,
        closed_parents(set, parents),
    ))
}

fn slice_entity(types: &PlacementTypes, slice: &Slice) -> Result<ast::Entity, Error> {
    if slice.id.is_empty() {
        return Err(Error::InvalidRequest("slice id is empty".to_string()));
    }
    let mut attrs = vec![
        ("sst", long(i64::from(slice.sst))),
        ("category", string(category_name(slice.category))),
        ("usFederal", boolean(slice.us_federal)),
    ];
    if let Some(sd) = slice.sd {
        if sd > 0x00ff_ffff {
            return Err(Error::InvalidRequest(format!(
                "slice differentiator {sd:#x} does not fit in 24 bits"
            )));
        }
        attrs.push(("sd", long(i64::from(sd))));
    }
    Ok(entity(
        core_uid(&types.slice, &slice.id),
        attrs,
        HashSet::new(),
    ))
}

fn site_entity(
    registry: &Registry,
    types: &PlacementTypes,
    site: &Site,
    host_trust: Option<Value>,
) -> Result<ast::Entity, Error> {
    if site.id.is_empty() {
        return Err(Error::InvalidRequest("site id is empty".to_string()));
    }
    registry.jurisdiction(&site.country, "site country")?;
    let mut attrs = vec![
        ("country", entity_ref(&types.jurisdiction, &site.country)),
        ("sensitive", boolean(site.sensitive)),
    ];
    match (&site.host, host_trust) {
        (Some(host), Some(trust)) => {
            registry.vendor(host, "site host")?;
            attrs.push(("host", entity_ref(&types.vendor, host)));
            attrs.push(("hostTrust", trust));
        }
        (None, None) => {}
        _ => {
            return Err(Error::Internal(
                "a site host without its trust facts".to_string(),
            ));
        }
    }
    Ok(entity(
        core_uid(&types.site, &site.id),
        attrs,
        HashSet::new(),
    ))
}

/// The Cedar action id of an operation.
pub fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Place => "place",
        Operation::Scale => "scale",
        Operation::Upgrade => "upgrade",
        Operation::Heal => "heal",
        Operation::Operate => "operate",
        Operation::RemoteManage => "remote-manage",
        Operation::Interconnect => "interconnect",
        Operation::Terminate => "terminate",
    }
}

/// The schema's name for a customer category.
pub fn category_name(category: CustomerCategory) -> &'static str {
    match category {
        CustomerCategory::Consumer => "consumer",
        CustomerCategory::Enterprise => "enterprise",
        CustomerCategory::CriticalInfrastructure => "critical-infrastructure",
        CustomerCategory::PublicSafety => "public-safety",
        CustomerCategory::Government => "government",
        CustomerCategory::Defense => "defense",
        CustomerCategory::Diplomatic => "diplomatic",
    }
}
