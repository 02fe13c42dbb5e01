//! Deployment plans: the installed equipment plus the changes, decided item
//! by item, then the plan-level rules on aggregates computed here from the
//! plan — shares of the access network in basis points, rounded up so that a
//! share a fraction over a cap is over it. No share is taken from the caller.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use cedar_policy_core::ast::Value;

use crate::exports::slicegate::policy::placement::{
    DeploymentPlan, ItemDecision, Operation, PlacementRequest, PlanItem, PlanResult, Share,
    ShareMetric, Site, Slice,
};
use crate::load::LoadedPolicySet;
use crate::placement::{
    self, CedarPlacement, core_uid, datetime, entity_ref, evaluation_time, string, types, uid,
};
use crate::registry::{LISTS, Registry};
use crate::slicegate::policy::types::Error;
use crate::time::Instant;

/// `part / total` in basis points, rounded up; 0 when there is no total.
pub fn basis_points(part: u64, total: u64) -> u32 {
    if total == 0 {
        return 0;
    }
    let bp = (u128::from(part) * 10_000).div_ceil(u128::from(total));
    u32::try_from(bp).unwrap_or(u32::MAX)
}

fn invalid(what: String) -> Error {
    Error::InvalidRequest(format!("deployment plan: {what}"))
}

/// Checks `plan`.
pub fn check(set: &LoadedPolicySet, plan: &DeploymentPlan) -> Result<PlanResult, Error> {
    let (schema, registry) = placement::parts(set)?;
    let at = evaluation_time(&plan.at)?;
    let Some(network) = registry.networks.get(&plan.network) else {
        return Err(Error::UnknownEntity(format!(
            "network `{}` is not in the bundle's network registry",
            plan.network
        )));
    };
    registry.enforceable(&plan.network)?;
    let metric = metric_name(plan.metric);
    if let Some(pinned) = &network.metric
        && pinned != metric
    {
        return Err(invalid(format!(
            "network `{}` counts access-network shares by {pinned}; this plan counts {metric}",
            plan.network
        )));
    }

    consistent_records(plan)?;

    // The inventory after the plan, in a stable order.
    let mut inventory: Vec<Option<PlanItem>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for item in &plan.installed {
        if index.contains_key(&item.equipment.id) {
            return Err(invalid(format!(
                "equipment `{}` is installed twice",
                item.equipment.id
            )));
        }
        check_weight(registry, item, "installed")?;
        index.insert(item.equipment.id.clone(), inventory.len());
        inventory.push(Some(item.clone()));
    }

    let request =
        |operation: Operation, item: &PlanItem, peer: Option<String>, remote| PlacementRequest {
            operation,
            equipment: item.equipment.clone(),
            slice: item.slice.clone(),
            site: item.site.clone(),
            network: plan.network.clone(),
            peer,
            remote,
            at: plan.at.clone(),
        };

    let mut items = Vec::new();
    let mut changed: HashSet<String> = HashSet::new();
    for change in &plan.changes {
        let id = &change.item.equipment.id;
        let existing = index.get(id).copied().filter(|&i| inventory[i].is_some());
        let name = placement::operation_name(change.operation);
        // The record the change is decided on.
        let decided = match (change.operation, existing) {
            (Operation::Place, Some(_)) => {
                return Err(invalid(format!(
                    "`place` of equipment `{id}`, which is already installed (use scale or upgrade)"
                )));
            }
            (Operation::Place | Operation::Scale, None) => {
                check_weight(registry, &change.item, name)?;
                index.insert(id.clone(), inventory.len());
                inventory.push(Some(change.item.clone()));
                change.item.clone()
            }
            (operation, Some(i)) => {
                let installed = inventory[i].clone().ok_or_else(|| {
                    Error::Internal(format!("installed equipment `{id}` has no record"))
                })?;
                unchanged_except(&installed, &change.item, operation)?;
                match operation {
                    Operation::Scale => {
                        check_weight(registry, &change.item, name)?;
                        inventory[i] = Some(PlanItem {
                            weight: installed.weight.saturating_add(change.item.weight),
                            ..installed.clone()
                        });
                    }
                    Operation::Upgrade => {
                        inventory[i] = Some(PlanItem {
                            weight: installed.weight,
                            ..change.item.clone()
                        });
                    }
                    Operation::Terminate => inventory[i] = None,
                    _ => {}
                }
                change.item.clone()
            }
            (operation, None) => {
                return Err(invalid(format!(
                    "`{}` of equipment `{id}`, which is not installed",
                    placement::operation_name(operation)
                )));
            }
        };
        changed.insert(id.clone());
        let decision = placement::decide(
            set,
            &request(
                change.operation,
                &decided,
                change.peer.clone(),
                change.remote.clone(),
            ),
        );
        items.push(ItemDecision {
            equipment_id: id.clone(),
            operation: change.operation,
            decision,
        });
    }
    for item in &plan.installed {
        if changed.contains(&item.equipment.id) {
            continue;
        }
        let decision = placement::decide(set, &request(Operation::Operate, item, None, None));
        items.push(ItemDecision {
            equipment_id: item.equipment.id.clone(),
            operation: Operation::Operate,
            decision,
        });
    }

    let shares = Shares::of(registry, inventory.iter().flatten(), plan.metric, &at);
    let listed_shares: Vec<Share> = LISTS
        .iter()
        .zip(&shares.listed)
        .map(|((name, _), (part, of))| Share {
            name: (*name).to_string(),
            basis_points: basis_points(*part, *of),
        })
        .collect();
    let mut vendor_shares: Vec<Share> = shares
        .vendors
        .iter()
        .map(|(vendor, (part, of))| Share {
            name: vendor.clone(),
            basis_points: basis_points(*part, *of),
        })
        .collect();
    vendor_shares.sort_by_key(|s| std::cmp::Reverse(s.basis_points));

    let plan_decision = placement::evaluate(
        set,
        schema,
        plan_request(plan, &at, shares.total, &listed_shares, &vendor_shares)?,
    )?;
    let allowed = plan_decision.allowed
        && items
            .iter()
            .all(|item| matches!(&item.decision, Ok(d) if d.allowed));
    Ok(PlanResult {
        allowed,
        items,
        plan: plan_decision,
        access_weight: shares.total,
        listed_shares,
        vendor_shares,
    })
}

/// One site (and one slice) is one record throughout a plan: an item cannot
/// claim its site is not sensitive, or its slice not federal, while another
/// item at the same site or on the same slice says otherwise.
fn consistent_records(plan: &DeploymentPlan) -> Result<(), Error> {
    let items = plan
        .installed
        .iter()
        .chain(plan.changes.iter().map(|change| &change.item));
    let mut sites: HashMap<&str, &Site> = HashMap::new();
    let mut slices: HashMap<&str, &Slice> = HashMap::new();
    for item in items {
        if let Some(seen) = sites.insert(&item.site.id, &item.site)
            && seen != &item.site
        {
            return Err(invalid(format!(
                "site `{}` is described two ways (equipment `{}` among them); one site is one \
                 record in a plan",
                item.site.id, item.equipment.id
            )));
        }
        if let Some(seen) = slices.insert(&item.slice.id, &item.slice)
            && seen != &item.slice
        {
            return Err(invalid(format!(
                "slice `{}` is described two ways (equipment `{}` among them); one slice is one \
                 record in a plan",
                item.slice.id, item.equipment.id
            )));
        }
    }
    Ok(())
}

/// An access-network item must count: a weight of 0 would leave it out of
/// every share.
fn check_weight(registry: &Registry, item: &PlanItem, what: &str) -> Result<(), Error> {
    let access = registry
        .models
        .get(&item.equipment.model)
        .is_some_and(|m| m.domain == "ran");
    if access && item.weight == 0 {
        return Err(invalid(format!(
            "{what} equipment `{}` is access-network equipment with weight 0; every access \
             item counts in the shares, so give it its weight (at least 1)",
            item.equipment.id
        )));
    }
    Ok(())
}

/// A change names installed equipment and may change only what its
/// operation changes: the software for an upgrade, the capacity (weight) for
/// a scale. Anything else differing — above all the vendor or the model —
/// would rewrite what is installed without deciding it: refused, with the
/// field.
fn unchanged_except(
    installed: &PlanItem,
    change: &PlanItem,
    operation: Operation,
) -> Result<(), Error> {
    let id = &installed.equipment.id;
    let name = placement::operation_name(operation);
    let mut differs: Vec<&str> = Vec::new();
    let (a, b) = (&installed.equipment, &change.equipment);
    if a.vendor != b.vendor {
        differs.push("vendor");
    }
    if a.model != b.model {
        differs.push("model");
    }
    // A terminate removes the item: only what identifies it must match.
    if operation == Operation::Terminate {
        return refuse_differences(id, name, &differs, "nothing but remove it");
    }
    if a.components != b.components {
        differs.push("components");
    }
    if a.subsidy_funded != b.subsidy_funded {
        differs.push("subsidyFunded");
    }
    if a.critical_component_notice != b.critical_component_notice {
        differs.push("criticalComponentNotice");
    }
    if operation != Operation::Upgrade {
        if a.software_version != b.software_version {
            differs.push("softwareVersion");
        }
        if a.software_signed != b.software_signed {
            differs.push("softwareSigned");
        }
        if a.sbom != b.sbom {
            differs.push("sbom");
        }
    }
    if installed.slice != change.slice {
        differs.push("slice");
    }
    if installed.site != change.site {
        differs.push("site");
    }
    // The weight of anything but a scale is not read: the installed weight
    // stays (capacity changes only by a scale).
    let may = match operation {
        Operation::Upgrade => "its software (softwareVersion, softwareSigned, sbom)",
        Operation::Scale => "its capacity (weight, added to the installed weight)",
        _ => "nothing of the installed record",
    };
    refuse_differences(id, name, &differs, may)
}

fn refuse_differences(id: &str, name: &str, differs: &[&str], may: &str) -> Result<(), Error> {
    if differs.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "`{name}` of installed equipment `{id}` changes {}; a `{name}` may change only {may}. \
         Other equipment in its place is a `terminate` and a `place`",
        differs.join(", ")
    )))
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
struct Shares {
    /// The radios' total (the access network's weight or sites).
    total: u64,
    listed: [(u64, u64); LISTS.len()],
    vendors: BTreeMap<String, (u64, u64)>,
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
    fn of<'p>(
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
                placement::category_name(item.slice.category),
                item.slice.us_federal,
            );
            let Ok((owner, supply)) = placement::supply(registry, &item.equipment, applying) else {
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

fn metric_name(metric: ShareMetric) -> &'static str {
    match metric {
        ShareMetric::Sites => "sites",
        ShareMetric::Cells => "cells",
        ShareMetric::Traffic => "traffic",
    }
}

fn long(value: u64) -> Value {
    placement::long(i64::try_from(value).unwrap_or(i64::MAX))
}

/// The `adopt` request: the plan's aggregates as a `Plan` entity.
fn plan_request(
    plan: &DeploymentPlan,
    at: &Instant,
    access_weight: u64,
    listed: &[Share],
    vendors: &[Share],
) -> Result<CedarPlacement, Error> {
    let types = types()?;
    let shares = Value::record(
        LISTS
            .iter()
            .zip(listed)
            .map(|((_, key), share)| (*key, long(share.basis_points.into()))),
        None,
    );
    let mut attrs = vec![
        ("network", entity_ref(&types.network, &plan.network)),
        ("metric", string(metric_name(plan.metric))),
        ("accessWeight", long(access_weight)),
        ("listedShareBp", shares),
        (
            "largestVendorShareBp",
            long(vendors.first().map_or(0, |s| s.basis_points.into())),
        ),
    ];
    if let Some(largest) = vendors.first() {
        attrs.push(("largestVendor", entity_ref(&types.vendor, &largest.name)));
    }
    let entity = placement::entity(core_uid(&types.plan, "plan"), attrs, HashSet::new());
    Ok(CedarPlacement {
        principal: uid(&types.plan, "plan"),
        action: uid(&types.action, "adopt"),
        resource: uid(&types.network, &plan.network),
        context: vec![("at", datetime(at)?)],
        entities: vec![entity],
        network: None,
        shapes_checked: false,
        request_checked: false,
    })
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
