//! Regimes: which networks and slices each covers, which of them the loaded
//! packs enforce, and designation scopes.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::raw::{RawEntity, bad};
use super::{CATEGORIES, NetworkFacts, REGIMES, Registry, ScopeFacts};
use crate::slicegate::policy::types::Error;

impl Registry {
    /// Records the networks and categories under regimes not in `packs`.
    pub(super) fn mark_unenforced(&mut self, packs: &HashSet<String>) {
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
}

/// Regimes by the customer categories they cover, and those covering US
/// federal slices.
pub type SliceRegimes = (Vec<(String, HashSet<String>)>, Vec<String>);

/// The `Regime` entities: regimes that cover slices of some customer
/// categories, or serving a US federal customer, on every network.
pub fn regimes(raw: &[RawEntity<'_>]) -> Result<SliceRegimes, Error> {
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

/// Designation scopes: id → slice categories, every category one the
/// placement interface knows (a typo would silently narrow a scope).
pub fn scopes(raw: &[RawEntity<'_>]) -> Result<HashMap<String, ScopeFacts>, Error> {
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
