//! Deployment plans: the installed equipment plus the changes, decided item
//! by item, then the plan-level rules on aggregates computed here from the
//! plan — shares of the access network in basis points, rounded up so that a
//! share a fraction over a cap is over it. No share is taken from the caller.

use std::collections::{BTreeMap, HashMap, HashSet};

use cedar_policy_core::ast::Value;

use crate::exports::slicegate::policy::placement::{
    DeploymentPlan, ItemDecision, Operation, PlacementRequest, PlanItem, PlanResult, Share,
    ShareMetric,
};
use crate::load::LoadedPolicySet;
use crate::placement::{
    self, CedarPlacement, core_uid, datetime, entity_ref, evaluation_time, string, types, uid,
};
use crate::registry::LISTS;
use crate::slicegate::policy::types::Error;

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
    if !registry.networks.contains_key(&plan.network) {
        return Err(Error::UnknownEntity(format!(
            "network `{}` is not in the bundle's network registry",
            plan.network
        )));
    }

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
        match (change.operation, existing) {
            (Operation::Place, Some(_)) => {
                return Err(invalid(format!(
                    "`place` of equipment `{id}`, which is already installed (use scale or upgrade)"
                )));
            }
            (Operation::Place | Operation::Scale, None) => {
                index.insert(id.clone(), inventory.len());
                inventory.push(Some(change.item.clone()));
            }
            (Operation::Scale, Some(i)) => {
                let weight = inventory[i]
                    .as_ref()
                    .map_or(0, |installed| installed.weight)
                    .saturating_add(change.item.weight);
                inventory[i] = Some(PlanItem {
                    weight,
                    ..change.item.clone()
                });
            }
            (Operation::Terminate, Some(i)) => inventory[i] = None,
            (_, Some(i)) => inventory[i] = Some(change.item.clone()),
            (operation, None) => {
                return Err(invalid(format!(
                    "`{}` of equipment `{id}`, which is not installed",
                    placement::operation_name(operation)
                )));
            }
        }
        changed.insert(id.clone());
        let decision = placement::decide(
            set,
            &request(
                change.operation,
                &change.item,
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

    // Shares of the access network after the plan.
    let mut access_weight: u64 = 0;
    let mut listed_weight = [0u64; LISTS.len()];
    let mut vendor_weight: BTreeMap<String, u64> = BTreeMap::new();
    for item in inventory.iter().flatten() {
        if item.weight == 0 {
            continue;
        }
        if let Some(scope) = &plan.slice
            && &item.slice.id != scope
        {
            continue;
        }
        // An item the registry cannot place is denied above; it cannot be
        // counted here, and the plan is not allowed anyway.
        let Some(model) = registry.models.get(&item.equipment.model) else {
            continue;
        };
        if model.domain != "ran" {
            continue;
        }
        let Some(maker) = registry.vendors.get(&item.equipment.vendor) else {
            continue;
        };
        let weight = u64::from(item.weight);
        access_weight += weight;
        *vendor_weight.entry(maker.owner.clone()).or_default() += weight;
        for (slot, listing) in listed_weight.iter_mut().zip(maker.listed.0.iter()) {
            if listing
                .as_ref()
                .is_some_and(|l| l.since.millis <= at.millis)
            {
                *slot += weight;
            }
        }
    }
    let listed_shares: Vec<Share> = LISTS
        .iter()
        .zip(listed_weight)
        .map(|((name, _), weight)| Share {
            name: (*name).to_string(),
            basis_points: basis_points(weight, access_weight),
        })
        .collect();
    let mut vendor_shares: Vec<Share> = vendor_weight
        .iter()
        .map(|(vendor, weight)| Share {
            name: vendor.clone(),
            basis_points: basis_points(*weight, access_weight),
        })
        .collect();
    vendor_shares.sort_by_key(|s| std::cmp::Reverse(s.basis_points));

    let plan_decision = placement::evaluate(
        set,
        schema,
        plan_request(plan, &at, access_weight, &listed_shares, &vendor_shares)?,
    )?;
    let allowed = plan_decision.allowed
        && items
            .iter()
            .all(|item| matches!(&item.decision, Ok(d) if d.allowed));
    Ok(PlanResult {
        allowed,
        items,
        plan: plan_decision,
        access_weight,
        listed_shares,
        vendor_shares,
    })
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
    at: &crate::time::Instant,
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
