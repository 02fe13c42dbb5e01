//! The reference data a placement needs, indexed once at load: every
//! vendor's ownership chain, its trust facts and the designation entries
//! that reach it, the product catalog with its bills of materials, the
//! network functions, networks and jurisdictions.
//!
//! Built from the same entity JSON Cedar parses, when the schema is the 5G
//! schema (it declares `Designation` and `Model`). Chains and each entry's
//! reach through the corporate graph are computed here, once, so that no
//! decision walks a chain and no caller can restate a vendor's facts.

mod catalog;
mod raw;
mod regimes;
#[cfg(test)]
mod tests;
mod vendors;

use std::collections::{HashMap, HashSet};

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

/// The most vendors an ownership chain may have (a longer one is refused
/// at load, with its length, as a loop is with its cycle).
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
    /// The schema's `Listing` record of this entry when it is also the
    /// entry with the earliest subsidy ban (the usual case), built once.
    pub listing_value: Value,
}

impl Entry {
    /// The `Listing` record of a group whose earliest entry is `since` and
    /// whose earliest subsidy ban is `subsidy`'s.
    pub fn listing(since: &Entry, subsidy: &Entry) -> Value {
        Value::record(
            [
                ("since", since.since_value.clone()),
                ("entry", crate::values::string(&since.id)),
                ("scope", crate::values::string(&since.scope)),
                ("subsidyBanFrom", subsidy.subsidy_value.clone()),
            ],
            None,
        )
    }
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
    /// Every adverse fact: what is taken of a party not on record.
    pub const ADVERSE: Flags = Flags {
        no_independent_judiciary: true,
        intelligence_cooperation_law: true,
        state_controlled: true,
        ownership_unresolved: true,
        ownership_opaque: true,
        ip_theft_record: true,
    };

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
    /// `Trust` records already built ([`crate::trust::TrustValues`]).
    pub trust_records: TrustRecords,
}

/// `Trust` records built by earlier decisions on this registry, keyed by
/// everything they are built from (the parties, `unknown`, the flags, each
/// list's chosen entry and earliest subsidy ban, as text). Owned by the
/// registry it was built from (a clone starts empty). At most
/// [`TrustRecords::MAX`] are kept; past that, records are built each time.
#[derive(Default)]
pub struct TrustRecords(std::cell::RefCell<HashMap<Vec<u8>, Value, foldhash::fast::FixedState>>);

impl TrustRecords {
    pub const MAX: usize = 1024;

    pub fn get(&self, key: &[u8]) -> Option<Value> {
        self.0.borrow().get(key).cloned()
    }

    pub fn keep(&self, key: Vec<u8>, value: &Value) {
        let mut records = self.0.borrow_mut();
        if records.len() < Self::MAX {
            records.insert(key, value.clone());
        }
    }
}

impl Clone for TrustRecords {
    fn clone(&self) -> Self {
        TrustRecords::default()
    }
}

impl std::fmt::Debug for TrustRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustRecords({})", self.0.borrow().len())
    }
}

impl Registry {
    /// Indexes `entities` (Cedar entity JSON, already parsed by Cedar
    /// against the schema, so types and attribute shapes are right).
    pub fn build(entities: &[Json]) -> Result<Registry, Error> {
        let by_type = raw::by_type(entities)?;
        let empty = Vec::new();
        let of = |t: &str| by_type.get(t).unwrap_or(&empty);
        let jurisdictions = vendors::jurisdictions(of("Jurisdiction"));
        let scopes = regimes::scopes(of("DesignationScope"))?;
        let vendors = vendors::vendors(of("Vendor"), &jurisdictions)?;
        let mut vendors = vendors::designate(vendors, of("Designation"), &scopes)?;
        let functions = catalog::functions(of("NetworkFunction"))?;
        let models = catalog::models(of("Model"), &functions, &vendors)?;
        let networks = catalog::networks(of("Network"), &vendors)?;
        vendors.shrink_to_fit();
        let (category_regimes, federal_regimes) = regimes::regimes(of("Regime"))?;
        let mut registry = Registry {
            unenforced: HashMap::new(),
            unenforced_categories: HashMap::new(),
            trust_records: TrustRecords::default(),
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

    /// Whether an entry of `scope` applies to a slice of `category` that
    /// serves a US federal customer (`us_federal`) or not.
    pub fn applies(&self, scope: &str, category: &str, us_federal: bool) -> bool {
        scope == "all"
            || self.scopes.get(scope).is_some_and(|facts| {
                facts.categories.contains(category) || (us_federal && facts.us_federal)
            })
    }
}
