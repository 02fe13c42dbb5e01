//! The reference data a placement needs, indexed once at load: every
//! vendor's ownership chain, its trust facts and the designation entries
//! that reach it, the product catalog with its bills of materials, the
//! network functions, networks and jurisdictions.
//!
//! Built from the same entity JSON Cedar parses, when the schema is the 5G
//! schema (it declares `Designation` and `Model`). Chains and each entry's
//! reach through the corporate graph are computed here, once, so that no
//! decision walks a chain and no caller can restate a vendor's facts.

use std::collections::{BTreeMap, HashMap, HashSet};

use cedar_policy_core::ast::Value;
use serde_json::Value as Json;

use crate::slicegate::policy::types::Error;
use crate::time::Instant;

/// The designation lists the schema's `Listings` record knows: the list name
/// used in reference data, and the record attribute it becomes.
pub const LISTS: [(&str, &str); 9] = [
    ("fcc-covered", "fccCovered"),
    ("ndaa-889", "ndaa889"),
    ("uk-designated", "ukDesignated"),
    ("eu-high-risk", "euHighRisk"),
    ("clean-carrier", "cleanCarrier"),
    ("clean-cloud", "cleanCloud"),
    ("clean-cable", "cleanCable"),
    ("de-2024", "de2024"),
    ("se-pts-2020", "sePts2020"),
];

/// The domains a network function may belong to; the policies compare these
/// names, so any other (a typo such as `Core`) would switch rules off.
pub const DOMAINS: [&str; 9] = [
    "ran",
    "transport",
    "core",
    "oam",
    "mano",
    "edge",
    "security",
    "interconnect",
    "surveillance",
];

/// The slice customer categories (the WIT `customer-category` names).
pub const CATEGORIES: [&str; 7] = [
    "consumer",
    "enterprise",
    "critical-infrastructure",
    "public-safety",
    "government",
    "defense",
    "diplomatic",
];

/// The regimes of the default library. A network may name these and the
/// `@pack` of any loaded policy; any other name (a typo such as `uk-hrv `)
/// would switch a whole pack off for that network, so it is refused at load.
pub const REGIMES: [&str; 8] = [
    "baseline-procurement",
    "state-dept-5g",
    "us-clean-network",
    "us-fcc-889",
    "eu-5g-toolbox",
    "uk-hrv",
    "de-2024",
    "se-pts-2020",
];

/// How far a designation entry reaches through the corporate graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The named vendor and every company below it.
    Subsidiaries,
    /// Every company under the named vendor's ultimate parent: its parents,
    /// sister companies and subsidiaries.
    Group,
}

/// What a share of the access network can count.
pub const METRICS: [&str; 3] = ["sites", "cells", "traffic"];

/// How deep an ownership chain may be before it is taken for a cycle.
const MAX_CHAIN: usize = 64;

/// One designation entry, as it reaches a vendor.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry's id (`fcc-covered/huawei`).
    pub id: String,
    pub since: Instant,
    /// Cedar's `datetime` of `since`, built once here so decisions share it.
    pub since_value: Value,
    /// When the subsidy ban for the entry starts (`since` when the entry
    /// gives no date of its own).
    pub subsidy_from: Instant,
    pub subsidy_value: Value,
    /// `all`, or the id of a scope in [`Registry::scopes`].
    pub scope: String,
}

/// Trust facts of a vendor's whole ownership chain: each reads "some vendor
/// of the chain has this", so they combine across parties with `or`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub no_independent_judiciary: bool,
    pub intelligence_cooperation_law: bool,
    pub state_controlled: bool,
    pub ownership_unresolved: bool,
    pub ownership_opaque: bool,
    pub ip_theft_record: bool,
}

impl Flags {
    /// Both parties' facts: adverse if either has it.
    pub fn or(self, other: Flags) -> Flags {
        Flags {
            no_independent_judiciary: self.no_independent_judiciary
                || other.no_independent_judiciary,
            intelligence_cooperation_law: self.intelligence_cooperation_law
                || other.intelligence_cooperation_law,
            state_controlled: self.state_controlled || other.state_controlled,
            ownership_unresolved: self.ownership_unresolved || other.ownership_unresolved,
            ownership_opaque: self.ownership_opaque || other.ownership_opaque,
            ip_theft_record: self.ip_theft_record || other.ip_theft_record,
        }
    }
}

/// What a decision needs to know about a vendor.
#[derive(Debug, Clone)]
pub struct VendorFacts {
    /// The top of the ownership chain.
    pub owner: String,
    /// The vendor and every owner above it, from the vendor up.
    pub chain: Vec<String>,
    /// The chain's trust facts.
    pub flags: Flags,
    /// The designation entries that reach this vendor, by list index (into
    /// [`LISTS`]).
    pub entries: [Vec<Entry>; LISTS.len()],
}

/// A catalog model.
#[derive(Debug, Clone)]
pub struct ModelFacts {
    pub vendor: String,
    pub function: String,
    pub domain: String,
    /// The function is critical (BSI Act), whoever makes the model.
    pub critical: bool,
    /// The bill of materials: vendors of the components inside.
    pub components: Vec<String>,
    /// Its function carries the access network's cells (a gNB, an O-RU).
    pub access_radio: bool,
}

/// The slices a narrower designation scope applies to.
#[derive(Debug, Clone, Default)]
pub struct ScopeFacts {
    /// Slices of these customer categories.
    pub categories: HashSet<String>,
    /// Every slice serving a US federal customer too.
    pub us_federal: bool,
}

/// A network in the registry.
#[derive(Debug, Clone)]
pub struct NetworkFacts {
    /// The regimes it is under.
    pub regimes: Vec<String>,
    /// The carrier running it, when on record.
    pub carrier: Option<String>,
    /// What its access-network shares count, when on record.
    pub metric: Option<String>,
}

/// The indexed reference data.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub vendors: HashMap<String, VendorFacts>,
    pub models: HashMap<String, ModelFacts>,
    pub networks: HashMap<String, NetworkFacts>,
    pub jurisdictions: HashSet<String>,
    /// Designation scope id → the slices it applies to.
    pub scopes: HashMap<String, ScopeFacts>,
    /// Regimes that apply beyond the networks naming them: regime → the
    /// customer categories whose slices it covers on every network
    /// (`Regime` entities).
    pub category_regimes: Vec<(String, HashSet<String>)>,
    /// Regimes that cover every slice serving a US federal customer, on
    /// every network.
    pub federal_regimes: Vec<String>,
    /// Those of them whose packs are not loaded.
    pub unenforced_federal: Vec<String>,
    /// Network → the regimes it is under whose packs are not loaded
    /// ([`Registry::check_regimes`]; until that runs, every regime counts
    /// as not loaded).
    pub unenforced: HashMap<String, Vec<String>>,
    /// Customer category → the regimes covering its slices everywhere whose
    /// packs are not loaded (likewise).
    pub unenforced_categories: HashMap<String, Vec<String>>,
}

/// One reference-data entity as written in Cedar's JSON entity format.
struct RawEntity<'a> {
    id: String,
    attrs: &'a serde_json::Map<String, Json>,
    parents: Vec<(String, String)>,
}

impl RawEntity<'_> {
    fn text(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).and_then(Json::as_str)
    }

    /// A boolean attribute; a missing one reads as `adverse` (the entities
    /// were checked against the schema, so this is a second line only).
    fn flag(&self, key: &str, adverse: bool) -> bool {
        self.attrs
            .get(key)
            .and_then(Json::as_bool)
            .unwrap_or(adverse)
    }

    fn reference(&self, key: &str) -> Option<String> {
        self.attrs.get(key).and_then(entity_ref).map(|(_, id)| id)
    }
}

fn bad(what: String) -> Error {
    Error::PolicyLoad(format!("reference data: {what}"))
}

/// An entity reference: `{"__entity": {"type", "id"}}` or `{"type", "id"}`.
fn entity_ref(value: &Json) -> Option<(String, String)> {
    let inner = value.get("__entity").unwrap_or(value);
    Some((
        inner.get("type")?.as_str()?.to_string(),
        inner.get("id")?.as_str()?.to_string(),
    ))
}

/// A datetime: `{"__extn": {"fn": "datetime", "arg"}}` or a plain string.
fn datetime(value: &Json) -> Option<&str> {
    match value {
        Json::String(text) => Some(text),
        Json::Object(_) => value.get("__extn")?.get("arg")?.as_str(),
        _ => None,
    }
}

/// The entity types the engine builds per request: reference data may not
/// hold them, or a bundle could carry an item with facts nobody derived.
const INVENTORY_TYPES: [&str; 4] = ["Equipment", "Site", "Slice", "Plan"];

impl Registry {
    /// Indexes `entities` (Cedar entity JSON, already parsed by Cedar
    /// against the schema, so types and attribute shapes are right).
    pub fn build(entities: &[Json]) -> Result<Registry, Error> {
        let mut by_type: BTreeMap<String, Vec<RawEntity<'_>>> = BTreeMap::new();
        for value in entities {
            let Some((type_name, id)) = value.get("uid").and_then(entity_ref) else {
                continue;
            };
            if INVENTORY_TYPES.contains(&type_name.as_str()) {
                return Err(bad(format!(
                    "{type_name} `{id}` is live inventory, which slicegate builds per request \
                     from the typed request; reference data may not hold it"
                )));
            }
            let Some(attrs) = value.get("attrs").and_then(Json::as_object) else {
                continue;
            };
            let parents = value
                .get("parents")
                .and_then(Json::as_array)
                .map(|ps| ps.iter().filter_map(entity_ref).collect())
                .unwrap_or_default();
            by_type
                .entry(type_name)
                .or_default()
                .push(RawEntity { id, attrs, parents });
        }
        let empty = Vec::new();
        let of = |t: &str| by_type.get(t).unwrap_or(&empty);

        // Jurisdictions: (no independent judiciary, intelligence law).
        let mut jurisdictions: HashMap<String, (bool, bool)> = HashMap::new();
        for j in of("Jurisdiction") {
            jurisdictions.insert(
                j.id.clone(),
                (
                    !j.flag("independentJudiciary", false),
                    j.flag("intelligenceCooperationLaw", true),
                ),
            );
        }

        let scopes = scopes(of("DesignationScope"))?;
        let vendors = vendors(of("Vendor"), &jurisdictions)?;
        let mut vendors = designate(vendors, of("Designation"), &scopes)?;

        let mut functions: HashMap<String, (String, bool, bool)> = HashMap::new();
        for function in of("NetworkFunction") {
            let domain = function.text("domain").unwrap_or_default();
            if !DOMAINS.contains(&domain) {
                return Err(bad(format!(
                    "NetworkFunction `{}` has domain `{domain}`, which is not one of {}",
                    function.id,
                    DOMAINS.join(", ")
                )));
            }
            functions.insert(
                function.id.clone(),
                (
                    domain.to_string(),
                    function.flag("critical", true),
                    // Missing reads as not a radio: it then never dilutes.
                    function.flag("accessRadio", false),
                ),
            );
        }
        let mut models = HashMap::new();
        for model in of("Model") {
            let (Some(vendor), Some(function)) =
                (model.reference("vendor"), model.reference("function"))
            else {
                return Err(bad(format!(
                    "Model `{}` needs a vendor and a function",
                    model.id
                )));
            };
            if !vendors.contains_key(&vendor) {
                return Err(bad(format!(
                    "Model `{}` is made by `{vendor}`, which is not in the registry",
                    model.id
                )));
            }
            let Some((domain, critical, access_radio)) = functions.get(&function) else {
                return Err(bad(format!(
                    "Model `{}` has function `{function}`, which is not a NetworkFunction",
                    model.id
                )));
            };
            let mut components: Vec<String> = model
                .attrs
                .get("components")
                .and_then(Json::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .filter_map(entity_ref)
                        .map(|(_, id)| id)
                        .collect()
                })
                .unwrap_or_default();
            components.sort();
            components.dedup();
            if let Some(unknown) = components.iter().find(|c| !vendors.contains_key(*c)) {
                return Err(bad(format!(
                    "Model `{}` lists component vendor `{unknown}`, which is not in the registry",
                    model.id
                )));
            }
            models.insert(
                model.id.clone(),
                ModelFacts {
                    vendor,
                    function,
                    domain: domain.clone(),
                    critical: *critical,
                    components,
                    access_radio: *access_radio,
                },
            );
        }

        let mut networks = HashMap::new();
        for network in of("Network") {
            let carrier = network.reference("carrier");
            if let Some(carrier) = &carrier
                && !vendors.contains_key(carrier)
            {
                return Err(bad(format!(
                    "Network `{}` is run by carrier `{carrier}`, which is not in the registry",
                    network.id
                )));
            }
            let metric = network.text("accessShareMetric").map(str::to_string);
            if let Some(metric) = &metric
                && !METRICS.contains(&metric.as_str())
            {
                return Err(bad(format!(
                    "Network `{}` counts shares by `{metric}`, which is not one of {}",
                    network.id,
                    METRICS.join(", ")
                )));
            }
            let regimes = network
                .attrs
                .get("regimes")
                .and_then(Json::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            networks.insert(
                network.id.clone(),
                NetworkFacts {
                    regimes,
                    carrier,
                    metric,
                },
            );
        }

        vendors.shrink_to_fit();
        let (category_regimes, federal_regimes) = regimes(of("Regime"))?;
        let mut registry = Registry {
            unenforced: HashMap::new(),
            unenforced_categories: HashMap::new(),
            unenforced_federal: Vec::new(),
            category_regimes,
            federal_regimes,
            vendors,
            models,
            networks,
            jurisdictions: jurisdictions.into_keys().collect(),
            scopes,
        };
        // Until the loaded packs are known, no regime counts as enforced.
        registry.mark_unenforced(&HashSet::new());
        Ok(registry)
    }

    /// Records the networks and categories under regimes not in `packs`.
    fn mark_unenforced(&mut self, packs: &HashSet<String>) {
        let missing = |regimes: &mut dyn Iterator<Item = &String>| {
            let mut missing: Vec<String> =
                regimes.filter(|r| !packs.contains(*r)).cloned().collect();
            missing.sort();
            missing.dedup();
            missing
        };
        self.unenforced = self
            .networks
            .iter()
            .map(|(id, facts)| (id.clone(), missing(&mut facts.regimes.iter())))
            .filter(|(_, missing)| !missing.is_empty())
            .collect();
        self.unenforced_categories = CATEGORIES
            .iter()
            .map(|category| {
                let covering = self
                    .category_regimes
                    .iter()
                    .filter(|(_, categories)| categories.contains(*category))
                    .map(|(regime, _)| regime);
                (category.to_string(), missing(&mut covering.into_iter()))
            })
            .filter(|(_, missing)| !missing.is_empty())
            .collect();
        self.unenforced_federal = missing(&mut self.federal_regimes.iter());
    }

    /// A vendor's facts, or the refusal an unknown vendor gets.
    pub fn vendor(&self, id: &str, role: &str) -> Result<&VendorFacts, Error> {
        self.vendors.get(id).ok_or_else(|| {
            Error::UnknownEntity(format!(
                "{role} `{id}` is not in the bundle's vendor registry"
            ))
        })
    }

    /// A jurisdiction's id, or the refusal an unknown country gets.
    pub fn jurisdiction(&self, code: &str, role: &str) -> Result<(), Error> {
        if self.jurisdictions.contains(code) {
            Ok(())
        } else {
            Err(Error::UnknownEntity(format!(
                "{role} `{code}` is not in the bundle's jurisdictions"
            )))
        }
    }

    /// Refuses a network naming a regime that is neither one of
    /// [`REGIMES`] nor among `packs` (the `@pack` of the loaded policies),
    /// and records each network under a regime whose pack is not loaded:
    /// its rules are not in this policy set, so decisions on that network
    /// are refused ([`Registry::enforceable`]).
    pub fn check_regimes(&mut self, packs: &HashSet<String>) -> Result<(), Error> {
        let known: HashSet<&str> = REGIMES
            .iter()
            .copied()
            .chain(packs.iter().map(String::as_str))
            .collect();
        if let Some(regime) = self
            .category_regimes
            .iter()
            .map(|(r, _)| r)
            .chain(&self.federal_regimes)
            .find(|r| !known.contains(r.as_str()))
        {
            return Err(bad(format!(
                "Regime `{regime}` is neither a regime of the library nor the @pack of a \
                 loaded policy"
            )));
        }
        self.mark_unenforced(packs);
        let mut networks: Vec<(&String, &NetworkFacts)> = self.networks.iter().collect();
        networks.sort_by_key(|(id, _)| *id);
        for (id, facts) in networks {
            if let Some(unknown) = facts.regimes.iter().find(|r| !known.contains(r.as_str())) {
                let mut names: Vec<&str> = known.iter().copied().collect();
                names.sort_unstable();
                return Err(bad(format!(
                    "Network `{id}` names regime `{unknown}`, which is neither a regime of the \
                     library nor the @pack of a loaded policy ({})",
                    names.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// `Ok` when every regime `network` is under is a loaded pack; the
    /// refusal otherwise (a regime left out of the bundle is a rule set
    /// the bundle cannot apply, never one that does not apply).
    pub fn enforceable(&self, network: &str) -> Result<(), Error> {
        match self.unenforced.get(network) {
            None => Ok(()),
            Some(missing) => Err(Error::UnknownEntity(format!(
                "network `{network}` is under regime(s) {} whose rules this bundle does not \
                 contain (it was built without those packs): decisions on it are refused",
                missing.join(", ")
            ))),
        }
    }

    /// `Ok` when every regime covering slices of `category` (and, for a
    /// slice serving a US federal customer, federal slices) on every
    /// network is a loaded pack; the refusal otherwise.
    pub fn enforceable_slice(&self, category: &str, us_federal: bool) -> Result<(), Error> {
        if let Some(missing) = self.unenforced_categories.get(category) {
            return Err(Error::UnknownEntity(format!(
                "{category} slices are covered on every network by regime(s) {} whose rules \
                 this bundle does not contain (it was built without those packs): decisions on \
                 them are refused",
                missing.join(", ")
            )));
        }
        if us_federal && !self.unenforced_federal.is_empty() {
            return Err(Error::UnknownEntity(format!(
                "slices serving a US federal customer are covered on every network by \
                 regime(s) {} whose rules this bundle does not contain (it was built without \
                 those packs): decisions on them are refused",
                self.unenforced_federal.join(", ")
            )));
        }
        Ok(())
    }

    /// Whether an entry of `scope` applies to a slice of `category` that
    /// serves a US federal customer (`us_federal`) or not.
    pub fn applies(&self, scope: &str, category: &str, us_federal: bool) -> bool {
        scope == "all"
            || self.scopes.get(scope).is_some_and(|facts| {
                facts.categories.contains(category) || (us_federal && facts.us_federal)
            })
    }
}

/// Designation scopes: id → slice categories, every category one the
/// placement interface knows (a typo would silently narrow a scope).
/// Regimes by the customer categories they cover, and those covering US
/// federal slices.
type SliceRegimes = (Vec<(String, HashSet<String>)>, Vec<String>);

/// The `Regime` entities: regimes that cover slices of some customer
/// categories, or serving a US federal customer, on every network.
fn regimes(raw: &[RawEntity<'_>]) -> Result<SliceRegimes, Error> {
    let mut out = Vec::new();
    let mut federal = Vec::new();
    for regime in raw {
        let categories: HashSet<String> = regime
            .attrs
            .get("categories")
            .and_then(Json::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(unknown) = categories
            .iter()
            .find(|c| !CATEGORIES.contains(&c.as_str()))
        {
            return Err(bad(format!(
                "Regime `{}` names category `{unknown}`, which is not one of {}",
                regime.id,
                CATEGORIES.join(", ")
            )));
        }
        if regime.flag("usFederal", true) {
            federal.push(regime.id.clone());
        }
        out.push((regime.id.clone(), categories));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    federal.sort();
    Ok((out, federal))
}

fn scopes(raw: &[RawEntity<'_>]) -> Result<HashMap<String, ScopeFacts>, Error> {
    let mut scopes = HashMap::new();
    for scope in raw {
        if scope.id == "all" {
            return Err(bad(
                "DesignationScope `all` is built in (every slice); do not define it".to_string(),
            ));
        }
        let categories: HashSet<String> = scope
            .attrs
            .get("categories")
            .and_then(Json::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(unknown) = categories
            .iter()
            .find(|c| !CATEGORIES.contains(&c.as_str()))
        {
            return Err(bad(format!(
                "DesignationScope `{}` names category `{unknown}`, which is not one of {}",
                scope.id,
                CATEGORIES.join(", ")
            )));
        }
        scopes.insert(
            scope.id.clone(),
            ScopeFacts {
                categories,
                // Missing reads as the wider scope.
                us_federal: scope.flag("usFederal", true),
            },
        );
    }
    Ok(scopes)
}

/// Every vendor's chain and its trust facts (designations come after).
fn vendors(
    raw: &[RawEntity<'_>],
    jurisdictions: &HashMap<String, (bool, bool)>,
) -> Result<HashMap<String, VendorFacts>, Error> {
    let mut parent: HashMap<&str, Option<&str>> = HashMap::new();
    let mut own: HashMap<&str, Flags> = HashMap::new();
    for vendor in raw {
        let owners: Vec<&(String, String)> = vendor
            .parents
            .iter()
            .filter(|(t, _)| t == "Vendor")
            .collect();
        if owners.len() > 1 {
            return Err(bad(format!(
                "Vendor `{}` has {} owners; give one controlling owner as its parent",
                vendor.id,
                owners.len()
            )));
        }
        parent.insert(&vendor.id, owners.first().map(|(_, id)| id.as_str()));
        let jurisdiction = vendor.reference("jurisdiction").unwrap_or_default();
        let Some(&(no_judiciary, intelligence_law)) = jurisdictions.get(&jurisdiction) else {
            return Err(bad(format!(
                "Vendor `{}` is in jurisdiction `{jurisdiction}`, which is not in the registry",
                vendor.id
            )));
        };
        own.insert(
            &vendor.id,
            Flags {
                no_independent_judiciary: no_judiciary,
                intelligence_cooperation_law: intelligence_law,
                state_controlled: vendor.flag("stateControlled", true),
                ownership_unresolved: !vendor.flag("ownershipKnown", false),
                ownership_opaque: !vendor.flag("ownershipTransparent", false),
                ip_theft_record: vendor.flag("ipTheftRecord", true),
            },
        );
    }
    let mut vendors = HashMap::new();
    for &id in parent.keys() {
        let mut chain = vec![id.to_string()];
        let mut current = id;
        while let Some(Some(up)) = parent.get(current) {
            if !parent.contains_key(up) {
                return Err(bad(format!(
                    "Vendor `{current}` is owned by `{up}`, which is not in the registry"
                )));
            }
            if chain.iter().any(|c| c == up) || chain.len() > MAX_CHAIN {
                return Err(bad(format!(
                    "the ownership chain of Vendor `{id}` loops: {} → {up}",
                    chain.join(" → ")
                )));
            }
            chain.push((*up).to_string());
            current = up;
        }
        let flags = chain
            .iter()
            .filter_map(|link| own.get(link.as_str()))
            .fold(Flags::default(), |all, f| all.or(*f));
        vendors.insert(
            id.to_string(),
            VendorFacts {
                owner: current.to_string(),
                chain,
                flags,
                entries: Default::default(),
            },
        );
    }
    Ok(vendors)
}

/// Adds every designation entry to each vendor it reaches.
fn designate(
    mut vendors: HashMap<String, VendorFacts>,
    raw: &[RawEntity<'_>],
    scopes: &HashMap<String, ScopeFacts>,
) -> Result<HashMap<String, VendorFacts>, Error> {
    // Who sits below whom: every vendor with its chain.
    let below = |top: &str| -> Vec<String> {
        let mut reached: Vec<String> = vendors
            .iter()
            .filter(|(_, facts)| facts.chain.iter().any(|link| link == top))
            .map(|(id, _)| id.clone())
            .collect();
        reached.sort();
        reached
    };
    let mut reached_by: Vec<(usize, Entry, Vec<String>)> = Vec::new();
    for entry in raw {
        let list = entry.text("list").unwrap_or_default();
        let Some(index) = LISTS.iter().position(|(name, _)| *name == list) else {
            let names: Vec<&str> = LISTS.iter().map(|(name, _)| *name).collect();
            return Err(bad(format!(
                "Designation `{}` names list `{list}`, which is not one of {}",
                entry.id,
                names.join(", ")
            )));
        };
        let vendor = entry.reference("vendor").unwrap_or_default();
        let Some(facts) = vendors.get(&vendor) else {
            return Err(bad(format!(
                "Designation `{}` names vendor `{vendor}`, which is not in the registry",
                entry.id
            )));
        };
        let instant = |key: &str| -> Result<Option<Instant>, Error> {
            let Some(value) = entry.attrs.get(key) else {
                return Ok(None);
            };
            let text = datetime(value).unwrap_or("");
            Instant::parse(text).map(Some).ok_or_else(|| {
                bad(format!(
                    "Designation `{}`: `{key}` `{text}` is not a datetime",
                    entry.id
                ))
            })
        };
        let since = instant("since")?
            .ok_or_else(|| bad(format!("Designation `{}` has no `since`", entry.id)))?;
        let subsidy_from = instant("subsidyBanFrom")?.unwrap_or_else(|| since.clone());
        let scope = entry.text("scope").unwrap_or("all").to_string();
        if scope != "all" && !scopes.contains_key(&scope) {
            let mut known: Vec<&str> = scopes.keys().map(String::as_str).collect();
            known.sort();
            return Err(bad(format!(
                "Designation `{}` has scope `{scope}`, which is neither `all` nor a \
                 DesignationScope ({})",
                entry.id,
                known.join(", ")
            )));
        }
        let reach = match entry.text("reach") {
            Some("subsidiaries") => Reach::Subsidiaries,
            Some("group") => Reach::Group,
            other => {
                return Err(bad(format!(
                    "Designation `{}` has reach `{}`; give `subsidiaries` or `group` as the \
                     list's text defines it",
                    entry.id,
                    other.unwrap_or("(none)")
                )));
            }
        };
        let top = match reach {
            Reach::Subsidiaries => vendor.clone(),
            Reach::Group => facts.owner.clone(),
        };
        let value = Entry {
            id: entry.id.clone(),
            since_value: crate::placement::datetime(&since)?,
            since,
            subsidy_value: crate::placement::datetime(&subsidy_from)?,
            subsidy_from,
            scope,
        };
        reached_by.push((index, value, below(&top)));
    }
    for (index, entry, reached) in reached_by {
        for id in reached {
            if let Some(facts) = vendors.get_mut(&id) {
                facts.entries[index].push(entry.clone());
            }
        }
    }
    Ok(vendors)
}

#[cfg(test)]
mod tests {
    use super::Registry;

    fn vendor(id: &str, parent: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "uid": {"type": "Vendor", "id": id},
            "attrs": {"jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "XX"}},
                      "ownershipKnown": true, "ownershipTransparent": true,
                      "stateControlled": false, "ipTheftRecord": false},
            "parents": parent.map(|p| vec![serde_json::json!({"type": "Vendor", "id": p})]).unwrap_or_default(),
        })
    }

    fn entry(list: &str, vendor: &str, reach: &str) -> serde_json::Value {
        serde_json::json!({
            "uid": {"type": "Designation", "id": format!("{list}/{vendor}")},
            "attrs": {"list": list, "vendor": {"__entity": {"type": "Vendor", "id": vendor}},
                      "since": "2020-01-01", "scope": "all", "reach": reach},
            "parents": [],
        })
    }

    fn group(entries: Vec<serde_json::Value>) -> Registry {
        let mut all = vec![
            serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"},
                "attrs": {"independentJudiciary": true, "intelligenceCooperationLaw": false}, "parents": []}),
            vendor("top", None),
            vendor("listed", Some("top")),
            vendor("sister", Some("top")),
            vendor("child", Some("listed")),
            vendor("grandchild", Some("child")),
        ];
        all.extend(entries);
        Registry::build(&all).expect("a registry")
    }

    fn reached(registry: &Registry, list: usize) -> Vec<&str> {
        let mut ids: Vec<&str> = registry
            .vendors
            .iter()
            .filter(|(_, f)| !f.entries[list].is_empty())
            .map(|(id, _)| id.as_str())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn an_entry_reaches_subsidiaries_or_the_whole_group_as_its_list_defines() {
        let registry = group(vec![
            entry("uk-designated", "listed", "subsidiaries"),
            entry("fcc-covered", "listed", "group"),
        ]);
        assert_eq!(reached(&registry, 2), ["child", "grandchild", "listed"]);
        assert_eq!(
            reached(&registry, 0),
            ["child", "grandchild", "listed", "sister", "top"]
        );
    }

    #[test]
    fn an_entry_without_a_reach_or_with_an_unknown_scope_is_refused() {
        let mut no_reach = entry("uk-designated", "listed", "x");
        no_reach["attrs"].as_object_mut().unwrap().remove("reach");
        let mut all = vec![
            serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"}, "attrs": {}, "parents": []}),
            vendor("listed", None),
        ];
        all.push(no_reach);
        let err = Registry::build(&all).unwrap_err();
        assert!(format!("{err:?}").contains("reach"), "{err:?}");
        let mut narrow = entry("uk-designated", "listed", "group");
        narrow["attrs"]["scope"] = "somewhere".into();
        all.pop();
        all.push(narrow);
        let err = Registry::build(&all).unwrap_err();
        assert!(format!("{err:?}").contains("scope `somewhere`"), "{err:?}");
    }

    #[test]
    fn a_missing_fact_reads_as_the_adverse_one() {
        let all = vec![
            serde_json::json!({"uid": {"type": "Jurisdiction", "id": "XX"}, "attrs": {}, "parents": []}),
            serde_json::json!({"uid": {"type": "Vendor", "id": "bare"},
                "attrs": {"jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "XX"}}}, "parents": []}),
        ];
        let registry = Registry::build(&all).expect("a registry");
        let flags = registry.vendors["bare"].flags;
        assert!(flags.no_independent_judiciary && flags.intelligence_cooperation_law);
        assert!(flags.state_controlled && flags.ip_theft_record);
        assert!(flags.ownership_unresolved && flags.ownership_opaque);
    }

    #[test]
    fn inventory_in_reference_data_is_refused() {
        let all = vec![
            serde_json::json!({"uid": {"type": "Equipment", "id": "e"}, "attrs": {}, "parents": []}),
        ];
        let err = Registry::build(&all).unwrap_err();
        assert!(format!("{err:?}").contains("live inventory"), "{err:?}");
    }
}
