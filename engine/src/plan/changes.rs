//! What a plan may say about installed equipment: each site and slice one
//! way, every access item with a weight, and changes that change only what
//! their operation changes.

use std::collections::HashMap;

use crate::exports::slicegate::policy::placement::{
    DeploymentPlan, Operation, PlanItem, Site, Slice,
};
use crate::registry::Registry;
use crate::slicegate::policy::types::Error;
use crate::values::operation_name;

use super::invalid;

/// One site (and one slice) is one record throughout a plan: an item cannot
/// claim its site is not sensitive, or its slice not federal, while another
/// item at the same site or on the same slice says otherwise.
pub fn consistent_records(plan: &DeploymentPlan) -> Result<(), Error> {
    let items = plan
        .installed
        .iter()
        .chain(plan.changes.iter().map(|change| &change.item));
    one_spelling("site", items.clone().map(|item| item.site.id.as_str()))?;
    one_spelling("slice", items.clone().map(|item| item.slice.id.as_str()))?;
    one_spelling(
        "equipment",
        items.clone().map(|item| item.equipment.id.as_str()),
    )?;
    one_change_per_item(plan)?;
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

/// Ids that differ only in letter case or surrounding white space would
/// name one site, slice or item two ways (and count it twice in a share):
/// refused.
fn one_spelling<'a>(what: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), Error> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for id in ids {
        if let Some(other) = seen.insert(id.trim().to_lowercase(), id)
            && other != id
        {
            return Err(invalid(format!(
                "{what} ids `{other}` and `{id}` differ only in letter case or spacing; one \
                 {what} is one id in a plan"
            )));
        }
    }
    Ok(())
}

/// A plan changes each item's record at most once: two such changes to one
/// item (a scale and a terminate, an upgrade and a heal) leave what it is
/// decided on to the order they are read in. Remote sessions and
/// interconnections are not changes to the record: an item may have
/// several.
fn one_change_per_item(plan: &DeploymentPlan) -> Result<(), Error> {
    let mut seen: HashMap<&str, Operation> = HashMap::new();
    for change in &plan.changes {
        if matches!(
            change.operation,
            Operation::RemoteManage | Operation::Interconnect
        ) {
            continue;
        }
        let id = change.item.equipment.id.as_str();
        if let Some(first) = seen.insert(id, change.operation) {
            return Err(invalid(format!(
                "equipment `{id}` has two changes in one plan (`{}` and `{}`); a plan changes \
                 each item once: send one plan per step",
                operation_name(first),
                operation_name(change.operation)
            )));
        }
    }
    Ok(())
}

/// An access-network item must count: a weight of 0 would leave it out of
/// every share.
pub fn check_weight(registry: &Registry, item: &PlanItem, what: &str) -> Result<(), Error> {
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
pub fn unchanged_except(
    installed: &PlanItem,
    change: &PlanItem,
    operation: Operation,
) -> Result<(), Error> {
    let id = &installed.equipment.id;
    let name = operation_name(operation);
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

pub fn refuse_differences(id: &str, name: &str, differs: &[&str], may: &str) -> Result<(), Error> {
    if differs.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "`{name}` of installed equipment `{id}` changes {}; a `{name}` may change only {may}. \
         Other equipment in its place is a `terminate` and a `place`",
        differs.join(", ")
    )))
}
