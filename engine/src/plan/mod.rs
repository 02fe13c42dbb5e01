//! Deployment plans: the installed equipment plus the changes, decided item
//! by item, then the plan-level rules on aggregates computed here from the
//! plan — shares of the access network in basis points, rounded up so that a
//! share a fraction over a cap is over it. No share is taken from the caller.

mod changes;
mod shares;

use std::collections::{HashMap, HashSet};

use cedar_policy_core::ast::Value;

use crate::decide::{decide, evaluate};
use crate::exports::slicegate::policy::placement::{
    DeploymentPlan, ItemDecision, Operation, PlacementRequest, PlanChange, PlanItem, PlanResult,
    Share, ShareMetric,
};
use crate::placement::CedarPlacement;
use crate::registry::{LISTS, Registry};
use crate::slicegate::policy::types::Error;
use crate::state::{LoadedPolicySet, parts};
use crate::time::Instant;
use crate::values::{
    core_uid, datetime, entity, entity_ref, evaluation_time, operation_name, string, types, uid,
};

use changes::{check_weight, consistent_records, unchanged_except};
use shares::{Shares, basis_points};

pub fn invalid(what: String) -> Error {
    Error::InvalidRequest(format!("deployment plan: {what}"))
}

/// Checks `plan`.
pub fn check(set: &LoadedPolicySet, plan: &DeploymentPlan) -> Result<PlanResult, Error> {
    let (schema, registry) = parts(set)?;
    let at = evaluation_time(&plan.at)?;
    check_network(registry, plan)?;
    consistent_records(plan)?;
    let mut inventory = Inventory::installed(registry, plan)?;
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
        let decided = inventory.apply(registry, change)?;
        changed.insert(decided.equipment.id.clone());
        let decision = decide(
            set,
            &request(
                change.operation,
                &decided,
                change.peer.clone(),
                change.remote.clone(),
            ),
        );
        items.push(ItemDecision {
            equipment_id: decided.equipment.id.clone(),
            operation: change.operation,
            decision,
        });
    }
    for item in plan
        .installed
        .iter()
        .filter(|i| !changed.contains(&i.equipment.id))
    {
        let decision = decide(set, &request(Operation::Operate, item, None, None));
        items.push(ItemDecision {
            equipment_id: item.equipment.id.clone(),
            operation: Operation::Operate,
            decision,
        });
    }
    let shares = Shares::of(registry, inventory.after(), plan.metric, &at);
    let (listed_shares, vendor_shares) = share_lists(&shares);
    let plan_decision = evaluate(
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

/// The plan's network is on record, enforceable by the loaded packs, and
/// counted by the metric the plan uses.
fn check_network(registry: &Registry, plan: &DeploymentPlan) -> Result<(), Error> {
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
    Ok(())
}

/// Each list's and each vendor group's share in basis points, the vendor
/// groups largest first.
fn share_lists(shares: &Shares) -> (Vec<Share>, Vec<Share>) {
    let listed: Vec<Share> = LISTS
        .iter()
        .zip(&shares.listed)
        .map(|((name, _), (part, of))| Share {
            name: (*name).to_string(),
            basis_points: basis_points(*part, *of),
        })
        .collect();
    let mut vendors: Vec<Share> = shares
        .vendors
        .iter()
        .map(|(vendor, (part, of))| Share {
            name: vendor.clone(),
            basis_points: basis_points(*part, *of),
        })
        .collect();
    vendors.sort_by_key(|s| std::cmp::Reverse(s.basis_points));
    (listed, vendors)
}

/// The inventory as the plan's changes apply, in a stable order.
struct Inventory {
    items: Vec<Option<PlanItem>>,
    index: HashMap<String, usize>,
}

impl Inventory {
    /// The installed equipment, each once, each access item with a weight.
    fn installed(registry: &Registry, plan: &DeploymentPlan) -> Result<Self, Error> {
        let mut inventory = Inventory {
            items: Vec::new(),
            index: HashMap::new(),
        };
        for item in &plan.installed {
            if inventory.index.contains_key(&item.equipment.id) {
                return Err(invalid(format!(
                    "equipment `{}` is installed twice",
                    item.equipment.id
                )));
            }
            check_weight(registry, item, "installed")?;
            inventory.add(item.clone());
        }
        Ok(inventory)
    }

    fn add(&mut self, item: PlanItem) {
        self.index
            .insert(item.equipment.id.clone(), self.items.len());
        self.items.push(Some(item));
    }

    /// Applies `change` and returns the record it is decided on: a place
    /// or scale-out adds an item, a terminate removes one, and a change
    /// naming an installed item may change only what its operation changes.
    fn apply(&mut self, registry: &Registry, change: &PlanChange) -> Result<PlanItem, Error> {
        let id = &change.item.equipment.id;
        let existing = self
            .index
            .get(id)
            .copied()
            .filter(|&i| self.items[i].is_some());
        let name = operation_name(change.operation);
        match (change.operation, existing) {
            (Operation::Place, Some(_)) => Err(invalid(format!(
                "`place` of equipment `{id}`, which is already installed (use scale or upgrade)"
            ))),
            (Operation::Place | Operation::Scale, None) => {
                check_weight(registry, &change.item, name)?;
                self.add(change.item.clone());
                Ok(change.item.clone())
            }
            (operation, Some(i)) => {
                let installed = self.items[i].clone().ok_or_else(|| {
                    Error::Internal(format!("installed equipment `{id}` has no record"))
                })?;
                unchanged_except(&installed, &change.item, operation)?;
                match operation {
                    Operation::Scale => {
                        check_weight(registry, &change.item, name)?;
                        self.items[i] = Some(PlanItem {
                            weight: installed.weight.saturating_add(change.item.weight),
                            ..installed
                        });
                    }
                    Operation::Upgrade => {
                        self.items[i] = Some(PlanItem {
                            weight: installed.weight,
                            ..change.item.clone()
                        });
                    }
                    Operation::Terminate => self.items[i] = None,
                    _ => {}
                }
                Ok(change.item.clone())
            }
            (operation, None) => Err(invalid(format!(
                "`{}` of equipment `{id}`, which is not installed",
                operation_name(operation)
            ))),
        }
    }

    /// The items after every change.
    fn after(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().flatten()
    }
}

pub fn metric_name(metric: ShareMetric) -> &'static str {
    match metric {
        ShareMetric::Sites => "sites",
        ShareMetric::Cells => "cells",
        ShareMetric::Traffic => "traffic",
    }
}

fn long(value: u64) -> Value {
    crate::values::long(i64::try_from(value).unwrap_or(i64::MAX))
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
    let entity = entity(core_uid(&types.plan, "plan"), attrs, HashSet::new());
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
