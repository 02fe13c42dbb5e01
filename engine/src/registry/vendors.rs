//! Vendors: ownership chains, trust facts and the designation entries that
//! reach each through the corporate graph.

use cedar_policy_core::ast::Value;
use std::collections::HashMap;

use super::raw::{RawEntity, bad, datetime};
use super::{Entry, Flags, LISTS, MAX_CHAIN, Reach, ScopeFacts, VendorFacts};
use crate::slicegate::policy::types::Error;
use crate::time::Instant;

/// Jurisdictions: (no independent judiciary, intelligence law).
pub fn jurisdictions(raw: &[RawEntity<'_>]) -> HashMap<String, (bool, bool)> {
    raw.iter()
        .map(|j| {
            (
                j.id.clone(),
                (
                    !j.flag("independentJudiciary", false),
                    j.flag("intelligenceCooperationLaw", true),
                ),
            )
        })
        .collect()
}

/// Every vendor's chain and its trust facts (designations come after).
pub fn vendors(
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
            if chain.iter().any(|c| c == up) {
                return Err(bad(format!(
                    "the ownership chain of Vendor `{id}` loops: {} → {up}",
                    chain.join(" → ")
                )));
            }
            if chain.len() >= MAX_CHAIN {
                return Err(bad(format!(
                    "the ownership chain of Vendor `{id}` is longer than {MAX_CHAIN} vendors \
                     (the most the registry follows): {} → {up} → …",
                    chain[..3].join(" → ")
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
pub fn designate(
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
        let mut value = Entry {
            id: entry.id.clone(),
            since_value: crate::values::datetime(&since)?,
            since,
            subsidy_value: crate::values::datetime(&subsidy_from)?,
            subsidy_from,
            scope,
            listing_value: Value::from(false),
        };
        value.listing_value = Entry::listing(&value, &value);
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
