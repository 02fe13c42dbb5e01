//! The per-request entities a placement becomes: the equipment (with its
//! derived facts), the slice and the site.

use std::collections::HashSet;

use cedar_policy_core::ast::{self, Value};

use crate::exports::slicegate::policy::placement::{Equipment, Site, Slice};
use crate::registry::{ModelFacts, Registry, VendorFacts};
use crate::slicegate::policy::types::Error;
use crate::state::{LoadedPolicySet, closed_parents};
use crate::time::Instant;
use crate::values::{
    PlacementTypes, boolean, category_name, core_uid, datetime, entity, entity_ref, long, record,
    string,
};

/// The equipment entity: the request's own facts (software, SBOM, subsidy,
/// notice) and the derived ones (function, domain, criticality, owner, the
/// maker's and the supply's trust facts, the merged components), `in` its
/// maker and every component vendor.
pub fn equipment_entity(
    set: &LoadedPolicySet,
    types: &PlacementTypes,
    equipment: &Equipment,
    model: &ModelFacts,
    maker: &VendorFacts,
    components: &[&str],
    [maker_trust, supply_trust]: [Value; 2],
) -> Result<ast::Entity, Error> {
    let mut parents = HashSet::from([core_uid(&types.vendor, &equipment.vendor)]);
    parents.extend(components.iter().map(|c| core_uid(&types.vendor, c)));
    // In the attributes' order: Cedar sorts them into a B-tree, and
    // sorted input costs it no moves.
    let mut attrs = vec![
        (
            "components",
            Value::set(
                components.iter().map(|c| entity_ref(&types.vendor, c)),
                None,
            ),
        ),
        ("critical", boolean(model.critical)),
    ];
    if let Some(notice) = &equipment.critical_component_notice {
        let filed = Instant::parse_exact(&notice.filed).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "critical-component notice date `{}` is not an RFC 3339 instant (with a zone, \
                 to the millisecond at most)",
                notice.filed
            ))
        })?;
        attrs.push((
            "criticalNotice",
            record([
                ("filed", datetime(&filed)?),
                ("prohibited", boolean(notice.prohibited)),
            ]),
        ));
    }
    attrs.extend([
        ("domain", string(&model.domain)),
        ("function", entity_ref(&types.function, &model.function)),
        ("maker", maker_trust),
        ("model", entity_ref(&types.model, &equipment.model)),
        ("owner", entity_ref(&types.vendor, &maker.owner)),
        ("sbom", boolean(equipment.sbom)),
        ("softwareSigned", boolean(equipment.software_signed)),
        ("softwareVersion", string(&equipment.software_version)),
        ("subsidyFunded", boolean(equipment.subsidy_funded)),
        ("supply", supply_trust),
        ("vendor", entity_ref(&types.vendor, &equipment.vendor)),
    ]);
    Ok(entity(
        core_uid(&types.equipment, &equipment.id),
        attrs,
        closed_parents(set, parents),
    ))
}

pub fn slice_entity(types: &PlacementTypes, slice: &Slice) -> Result<ast::Entity, Error> {
    if slice.id.is_empty() {
        return Err(Error::InvalidRequest("slice id is empty".to_string()));
    }
    let mut attrs = vec![
        ("sst", long(i64::from(slice.sst))),
        ("category", string(category_name(slice.category))),
        ("usFederal", boolean(slice.us_federal)),
    ];
    if let Some(sd) = slice.sd {
        if sd > 0x00ff_ffff {
            return Err(Error::InvalidRequest(format!(
                "slice differentiator {sd:#x} does not fit in 24 bits"
            )));
        }
        attrs.push(("sd", long(i64::from(sd))));
    }
    Ok(entity(
        core_uid(&types.slice, &slice.id),
        attrs,
        HashSet::new(),
    ))
}

pub fn site_entity(
    registry: &Registry,
    types: &PlacementTypes,
    site: &Site,
    host_trust: Option<Value>,
) -> Result<ast::Entity, Error> {
    if site.id.is_empty() {
        return Err(Error::InvalidRequest("site id is empty".to_string()));
    }
    registry.jurisdiction(&site.country, "site country")?;
    let mut attrs = vec![
        ("country", entity_ref(&types.jurisdiction, &site.country)),
        ("sensitive", boolean(site.sensitive)),
    ];
    match (&site.host, host_trust) {
        (Some(host), Some(trust)) => {
            registry.vendor(host, "site host")?;
            attrs.push(("host", entity_ref(&types.vendor, host)));
            attrs.push(("hostTrust", trust));
        }
        (None, None) => {}
        _ => {
            return Err(Error::Internal(
                "a site host without its trust facts".to_string(),
            ));
        }
    }
    Ok(entity(
        core_uid(&types.site, &site.id),
        attrs,
        HashSet::new(),
    ))
}
