//! The reference data a placement needs, indexed once at load: every
//! vendor's ownership chain and effective designations, the product catalog,
//! networks and jurisdictions.
//!
//! Built from the same entity JSON Cedar parses, when the schema is the 5G
//! schema (it declares `Designation` and `Model`). The closure over ownership
//! chains is computed here, once, so that no decision walks a chain and no
//! caller can restate a vendor's designations.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

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
pub const DOMAINS: [&str; 8] = [
    "ran",
    "transport",
    "core",
    "oam",
    "mano",
    "edge",
    "security",
    "interconnect",
];

/// The scopes a designation entry may have: the whole list, or the narrow
/// scope the FCC gave some entries (which the policies interpret).
pub const SCOPES: [&str; 2] = ["all", "public-safety-surveillance"];

/// How deep an ownership chain may be before it is taken for a cycle.
const MAX_CHAIN: usize = 64;

/// An effective designation of one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub since: Instant,
    pub scope: String,
    /// The schema's `{since, scope}` record of it, built once here so that
    /// decisions share it.
    pub value: cedar_policy_core::ast::Value,
}

impl Listing {
    /// A listing and its Cedar record.
    pub fn new(since: Instant, scope: String) -> Result<Self, Error> {
        let value = cedar_policy_core::ast::Value::record(
            [
                ("since", crate::placement::datetime(&since)?),
                ("scope", crate::placement::string(&scope)),
            ],
            None,
        );
        Ok(Listing {
            since,
            scope,
            value,
        })
    }

    /// Whether `self` should stand for the list rather than `other`: an
    /// entry of scope `all` beats a narrower one, then the earlier wins.
    fn better_than(&self, other: &Listing) -> bool {
        let all = |l: &Listing| l.scope == "all";
        match (all(self), all(other)) {
            (true, false) => true,
            (false, true) => false,
            _ => self.since.millis < other.since.millis,
        }
    }
}

/// Effective designations by list index (into [`LISTS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listings(pub [Option<Listing>; LISTS.len()]);

impl Listings {
    /// Keeps, per list, the better of `self`'s and `other`'s entries.
    pub fn merge(&mut self, other: &Listings) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            if let Some(theirs) = theirs {
                let replace = match mine {
                    Some(current) => theirs.better_than(current),
                    None => true,
                };
                if replace {
                    *mine = Some(theirs.clone());
                }
            }
        }
    }
}

/// What a placement needs to know about a vendor.
#[derive(Debug, Clone)]
pub struct VendorFacts {
    /// The top of the ownership chain.
    pub owner: String,
    /// Every vendor from this one up to the top has `ownershipKnown`.
    pub resolved: bool,
    /// Designations of this vendor and of every owner above it.
    pub listed: Listings,
}

/// A catalog model.
#[derive(Debug, Clone)]
pub struct ModelFacts {
    pub vendor: String,
    pub function: String,
    pub domain: String,
}

/// A network in the registry.
#[derive(Debug, Clone)]
pub struct NetworkFacts {
    pub carrier: Option<String>,
}

/// The indexed reference data.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub vendors: HashMap<String, VendorFacts>,
    pub models: HashMap<String, ModelFacts>,
    pub networks: HashMap<String, NetworkFacts>,
    pub jurisdictions: HashSet<String>,
}

/// One reference-data entity as written in Cedar's JSON entity format.
struct RawEntity<'a> {
    id: String,
    attrs: &'a serde_json::Map<String, Value>,
    parents: Vec<(String, String)>,
}

fn bad(what: String) -> Error {
    Error::PolicyLoad(format!("reference data: {what}"))
}

/// An entity reference: `{"__entity": {"type", "id"}}` or `{"type", "id"}`.
fn entity_ref(value: &Value) -> Option<(String, String)> {
    let inner = value.get("__entity").unwrap_or(value);
    Some((
        inner.get("type")?.as_str()?.to_string(),
        inner.get("id")?.as_str()?.to_string(),
    ))
}

/// A datetime: `{"__extn": {"fn": "datetime", "arg"}}` or a plain string.
fn datetime(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        Value::Object(_) => value.get("__extn")?.get("arg")?.as_str(),
        _ => None,
    }
}

impl Registry {
    /// Indexes `entities` (Cedar entity JSON, already parsed by Cedar
    /// against the schema, so types and attribute shapes are right).
    pub fn build(entities: &[Value]) -> Result<Registry, Error> {
        let mut by_type: BTreeMap<String, Vec<RawEntity<'_>>> = BTreeMap::new();
        for value in entities {
            let Some((type_name, id)) = value.get("uid").and_then(entity_ref) else {
                continue;
            };
            let Some(attrs) = value.get("attrs").and_then(Value::as_object) else {
                continue;
            };
            let parents = value
                .get("parents")
                .and_then(Value::as_array)
                .map(|ps| ps.iter().filter_map(entity_ref).collect())
                .unwrap_or_default();
            by_type
                .entry(type_name)
                .or_default()
                .push(RawEntity { id, attrs, parents });
        }
        let empty = Vec::new();
        let of = |t: &str| by_type.get(t).unwrap_or(&empty);

        let jurisdictions: HashSet<String> =
            of("Jurisdiction").iter().map(|e| e.id.clone()).collect();

        // Direct facts: each vendor's controlling owner and own designations.
        let mut parent: HashMap<String, Option<String>> = HashMap::new();
        let mut known: HashMap<String, bool> = HashMap::new();
        for vendor in of("Vendor") {
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
            parent.insert(vendor.id.clone(), owners.first().map(|(_, id)| id.clone()));
            let ownership_known = vendor
                .attrs
                .get("ownershipKnown")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            known.insert(vendor.id.clone(), ownership_known);
        }
        let mut own_listings: HashMap<String, Listings> = HashMap::new();
        for entry in of("Designation") {
            let list = entry
                .attrs
                .get("list")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(index) = LISTS.iter().position(|(name, _)| *name == list) else {
                let names: Vec<&str> = LISTS.iter().map(|(name, _)| *name).collect();
                return Err(bad(format!(
                    "Designation `{}` names list `{list}`, which is not one of {}",
                    entry.id,
                    names.join(", ")
                )));
            };
            let vendor = entry
                .attrs
                .get("vendor")
                .and_then(entity_ref)
                .map(|(_, id)| id)
                .unwrap_or_default();
            if !parent.contains_key(&vendor) {
                return Err(bad(format!(
                    "Designation `{}` names vendor `{vendor}`, which is not in the registry",
                    entry.id
                )));
            }
            let since_text = entry.attrs.get("since").and_then(datetime).unwrap_or("");
            let since = Instant::parse(since_text).ok_or_else(|| {
                bad(format!(
                    "Designation `{}`: `since` `{since_text}` is not a datetime",
                    entry.id
                ))
            })?;
            let scope = entry
                .attrs
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("all")
                .to_string();
            if !SCOPES.contains(&scope.as_str()) {
                return Err(bad(format!(
                    "Designation `{}` has scope `{scope}`, which is not one of {}",
                    entry.id,
                    SCOPES.join(", ")
                )));
            }
            let mut single = Listings::default();
            single.0[index] = Some(Listing::new(since, scope)?);
            own_listings.entry(vendor).or_default().merge(&single);
        }

        // Closure over each ownership chain.
        let mut vendors = HashMap::new();
        for id in parent.keys() {
            let mut chain = vec![id.clone()];
            let mut current = id.clone();
            while let Some(Some(up)) = parent.get(&current) {
                if !parent.contains_key(up) {
                    return Err(bad(format!(
                        "Vendor `{current}` is owned by `{up}`, which is not in the registry"
                    )));
                }
                if chain.contains(up) || chain.len() > MAX_CHAIN {
                    return Err(bad(format!(
                        "the ownership chain of Vendor `{id}` loops: {} → {up}",
                        chain.join(" → ")
                    )));
                }
                chain.push(up.clone());
                current = up.clone();
            }
            let mut listed = Listings::default();
            for link in &chain {
                if let Some(own) = own_listings.get(link) {
                    listed.merge(own);
                }
            }
            vendors.insert(
                id.clone(),
                VendorFacts {
                    owner: current,
                    resolved: chain.iter().all(|v| known.get(v).copied().unwrap_or(false)),
                    listed,
                },
            );
        }

        let mut domains: HashMap<String, String> = HashMap::new();
        for function in of("NetworkFunction") {
            let domain = function
                .attrs
                .get("domain")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !DOMAINS.contains(&domain) {
                return Err(bad(format!(
                    "NetworkFunction `{}` has domain `{domain}`, which is not one of {}",
                    function.id,
                    DOMAINS.join(", ")
                )));
            }
            domains.insert(function.id.clone(), domain.to_string());
        }
        let mut models = HashMap::new();
        for model in of("Model") {
            let vendor = model.attrs.get("vendor").and_then(entity_ref);
            let function = model.attrs.get("function").and_then(entity_ref);
            let (Some((_, vendor)), Some((_, function))) = (vendor, function) else {
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
            let Some(domain) = domains.get(&function) else {
                return Err(bad(format!(
                    "Model `{}` has function `{function}`, which is not a NetworkFunction",
                    model.id
                )));
            };
            models.insert(
                model.id.clone(),
                ModelFacts {
                    vendor,
                    function,
                    domain: domain.clone(),
                },
            );
        }

        let mut networks = HashMap::new();
        for network in of("Network") {
            let carrier = network
                .attrs
                .get("carrier")
                .and_then(entity_ref)
                .map(|(_, id)| id);
            if let Some(carrier) = &carrier
                && !vendors.contains_key(carrier)
            {
                return Err(bad(format!(
                    "Network `{}` is run by carrier `{carrier}`, which is not in the registry",
                    network.id
                )));
            }
            networks.insert(network.id.clone(), NetworkFacts { carrier });
        }

        Ok(Registry {
            vendors,
            models,
            networks,
            jurisdictions,
        })
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
}

#[cfg(test)]
mod tests {
    use super::{Listing, Listings};
    use crate::time::Instant;

    fn listing(at: &str, scope: &str) -> Listings {
        let mut listings = Listings::default();
        listings.0[0] = Some(Listing::new(Instant::parse(at).unwrap(), scope.to_string()).unwrap());
        listings
    }

    #[test]
    fn the_earliest_entry_stands_and_a_full_scope_beats_a_narrow_one() {
        let mut merged = listing("2022-03-25", "all");
        merged.merge(&listing("2021-03-12", "all"));
        assert_eq!(merged.0[0].as_ref().unwrap().since.cedar, "2021-03-12");
        merged.merge(&listing("2019-01-01", "public-safety-surveillance"));
        let kept = merged.0[0].as_ref().unwrap();
        assert_eq!(
            (kept.since.cedar.as_str(), kept.scope.as_str()),
            ("2021-03-12", "all")
        );
        let mut narrow = listing("2021-03-12", "public-safety-surveillance");
        narrow.merge(&listing("2022-09-20", "all"));
        assert_eq!(narrow.0[0].as_ref().unwrap().scope, "all");
    }
}
