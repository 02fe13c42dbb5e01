//! Shares of the access network after a plan, per designation list and per
//! vendor group, in basis points rounded up.

use std::collections::{BTreeMap, BTreeSet};

use crate::exports::slicegate::policy::placement::{PlanItem, ShareMetric};
use crate::placement::supply;
use crate::registry::{LISTS, Registry};
use crate::time::Instant;
use crate::values::category_name;

/// `part / total` in basis points, rounded up; 0 when there is no total.
pub fn basis_points(part: u64, total: u64) -> u32 {
    if total == 0 {
        return 0;
    }
    let bp = (u128::from(part) * 10_000).div_ceil(u128::from(total));
    u32::try_from(bp).unwrap_or(u32::MAX)
}

/// The access network after a plan, by the plan's metric, as each party's
/// part of it: (numerator, denominator) per designation list and per vendor
/// group. The access network is its radios (functions that carry cells: a
/// gNB, an O-RU): their weights for cells and traffic, the distinct sites
/// with one for sites (counted here, whatever weights the plan gives). A
/// party's part is its access equipment — radios, and the other RAN
/// equipment it makes or supplies (O-DU, O-CU, RIC, non-5G radios) — and
/// that other equipment also joins the party's own denominator: it can
/// raise its own share, never lower anyone else's. So an item the caller
/// adds (a central unit in a data centre, a second unit on the same cell)
/// never dilutes a cap.
pub struct Shares {
    /// The radios' total (the access network's weight or sites).
    pub total: u64,
    pub listed: [(u64, u64); LISTS.len()],
    pub vendors: BTreeMap<String, (u64, u64)>,
}

/// One party's access equipment while counting.
#[derive(Default)]
struct Part<'p> {
    weight: u64,
    other_weight: u64,
    sites: BTreeSet<&'p str>,
    other_sites: BTreeSet<&'p str>,
}

impl<'p> Part<'p> {
    fn add(&mut self, radio: bool, weight: u64, site: &'p str) {
        self.weight += weight;
        self.sites.insert(site);
        if !radio {
            self.other_weight += weight;
            self.other_sites.insert(site);
        }
    }

    /// (numerator, denominator) against the radios' `weight` or `sites`.
    fn share(&self, metric: ShareMetric, weight: u64, sites: &BTreeSet<&str>) -> (u64, u64) {
        match metric {
            ShareMetric::Cells | ShareMetric::Traffic => {
                (self.weight, weight.saturating_add(self.other_weight))
            }
            ShareMetric::Sites => {
                let outside = self
                    .other_sites
                    .iter()
                    .filter(|s| !sites.contains(*s))
                    .count();
                (self.sites.len() as u64, (sites.len() + outside) as u64)
            }
        }
    }
}

impl Shares {
    pub fn of<'p>(
        registry: &Registry,
        items: impl Iterator<Item = &'p PlanItem>,
        metric: ShareMetric,
        at: &Instant,
    ) -> Shares {
        let mut radio_weight = 0u64;
        let mut radio_sites: BTreeSet<&str> = BTreeSet::new();
        let mut listed: [Part<'p>; LISTS.len()] = Default::default();
        let mut vendors: BTreeMap<String, Part<'p>> = BTreeMap::new();
        for item in items {
            // An item the registry cannot place is refused as an item above;
            // it cannot be counted here, and the plan is not allowed anyway.
            let Some(model) = registry.models.get(&item.equipment.model) else {
                continue;
            };
            if model.domain != "ran" {
                continue;
            }
            let applying = crate::trust::Applying::Slice(
                category_name(item.slice.category),
                item.slice.us_federal,
            );
            let Ok((owner, supply)) = supply(registry, &item.equipment, applying) else {
                continue;
            };
            let weight = u64::from(item.weight);
            let site = item.site.id.as_str();
            let radio = model.access_radio;
            if radio {
                radio_weight = radio_weight.saturating_add(weight);
                radio_sites.insert(site);
            }
            vendors
                .entry(owner.to_string())
                .or_default()
                .add(radio, weight, site);
            for (index, part) in listed.iter_mut().enumerate() {
                if supply.listed_at(index, at.millis) {
                    part.add(radio, weight, site);
                }
            }
        }
        let total = match metric {
            ShareMetric::Cells | ShareMetric::Traffic => radio_weight,
            ShareMetric::Sites => radio_sites.len() as u64,
        };
        Shares {
            total,
            listed: listed.map(|p| p.share(metric, radio_weight, &radio_sites)),
            vendors: vendors
                .into_iter()
                .map(|(v, p)| (v, p.share(metric, radio_weight, &radio_sites)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::basis_points;

    #[test]
    fn shares_round_up_so_a_fraction_over_a_cap_is_over_it() {
        assert_eq!(basis_points(3500, 10_000), 3500);
        assert_eq!(basis_points(3501, 10_000), 3501);
        // 35.005 %: 3500.5 bp, rounded up.
        assert_eq!(basis_points(7001, 20_000), 3501);
        assert_eq!(basis_points(1, 3), 3334);
        assert_eq!(basis_points(0, 0), 0);
        assert_eq!(basis_points(u64::MAX, u64::MAX), 10_000);
    }
}
