//! The parties a placement names — maker, components, remote-management
//! provider, site host, peer carrier — each checked against the registry,
//! with the trust facts the policies read.

use crate::exports::slicegate::policy::placement::{Equipment, PlacementRequest};
use crate::registry::{ModelFacts, Registry, VendorFacts};
use crate::slicegate::policy::types::Error;
use crate::trust::{Applying, Trust};

/// The parties of a placement, each checked against the registry, with the
/// trust facts the policies read.
pub struct Parties<'r> {
    /// The maker's facts.
    pub maker: &'r VendorFacts,
    /// The components: the catalog's bill of materials and those the request
    /// adds, each once, sorted.
    pub components: Vec<&'r str>,
    pub maker_trust: Trust<'r>,
    /// The maker and every component's vendor.
    pub supply: Trust<'r>,
    pub provider: Option<Trust<'r>>,
    pub host: Option<Trust<'r>>,
    /// `Some(None)`: a peer whose carrier is not on record.
    pub carrier: Option<Option<(&'r str, Trust<'r>)>>,
    /// The provider, the host and the carrier.
    pub services: Trust<'r>,
    /// Everyone.
    pub everyone: Trust<'r>,
}

/// The parties of `request` for a slice of `category`, refusing any that is
/// not on record (a peer whose carrier is unknown is the one party that may
/// be missing: it is marked so, and the policies decide).
pub fn parties<'r>(
    registry: &'r Registry,
    request: &PlacementRequest,
    applying: Applying<'_>,
) -> Result<Parties<'r>, Error> {
    let (maker, _, components) = catalog_item(registry, &request.equipment)?;
    let maker_trust = Trust::of(
        registry,
        [request.equipment.vendor.as_str()],
        "vendor",
        false,
        applying,
    )?;
    let supply = maker_trust.union(&Trust::of(
        registry,
        components.iter().copied(),
        "component vendor",
        false,
        applying,
    )?);
    let provider = match &request.remote {
        Some(remote) => {
            registry.jurisdiction(&remote.from_country, "remote session country")?;
            Some(Trust::of(
                registry,
                [remote.provider.as_str()],
                "remote-management provider",
                false,
                applying,
            )?)
        }
        None => None,
    };
    let host = match &request.site.host {
        Some(host) => Some(Trust::of(
            registry,
            [host.as_str()],
            "site host",
            false,
            applying,
        )?),
        None => None,
    };
    let carrier = match &request.peer {
        Some(peer) => {
            let Some(facts) = registry.networks.get(peer) else {
                return Err(Error::UnknownEntity(format!(
                    "peer network `{peer}` is not in the bundle's network registry"
                )));
            };
            match &facts.carrier {
                Some(carrier) => {
                    let Some((id, _)) = registry.vendors.get_key_value(carrier) else {
                        return Err(Error::UnknownEntity(format!(
                            "carrier `{carrier}` of peer network `{peer}` is not in the \
                             bundle's vendor registry"
                        )));
                    };
                    Some(Some((
                        id.as_str(),
                        Trust::of(registry, [id.as_str()], "carrier", false, applying)?,
                    )))
                }
                None => Some(None),
            }
        }
        None => None,
    };
    let mut services = Trust::of(
        registry,
        [],
        "party",
        matches!(carrier, Some(None)),
        applying,
    )?;
    for trust in [provider.as_ref(), host.as_ref()]
        .into_iter()
        .flatten()
        .chain(carrier.iter().flatten().map(|(_, t)| t))
    {
        services = services.union(trust);
    }
    let everyone = supply.union(&services);
    Ok(Parties {
        maker,
        components,
        maker_trust,
        supply,
        provider,
        host,
        carrier,
        services,
        everyone,
    })
}

/// The ultimate owner of an item's maker and the trust facts of its supply
/// (the maker and every component, the catalog's and the request's), for a
/// slice: what a plan's shares count.
pub fn supply<'r>(
    registry: &'r Registry,
    equipment: &Equipment,
    applying: Applying<'_>,
) -> Result<(&'r str, Trust<'r>), Error> {
    let (maker, _, components) = catalog_item(registry, equipment)?;
    let trust = Trust::of(
        registry,
        std::iter::once(equipment.vendor.as_str()).chain(components.iter().copied()),
        "vendor",
        false,
        applying,
    )?;
    Ok((maker.owner.as_str(), trust))
}

/// The equipment's maker, catalog model and components (the model's bill of
/// materials merged with the request's list: a request can add parts, never
/// remove them), refusing an unknown maker, model or component vendor and a
/// model claimed for another maker.
pub fn catalog_item<'r>(
    registry: &'r Registry,
    equipment: &Equipment,
) -> Result<(&'r VendorFacts, &'r ModelFacts, Vec<&'r str>), Error> {
    if equipment.id.is_empty() {
        return Err(Error::InvalidRequest("equipment id is empty".to_string()));
    }
    let maker = registry.vendor(&equipment.vendor, "vendor")?;
    let Some(model) = registry.models.get(&equipment.model) else {
        return Err(Error::UnknownEntity(format!(
            "model `{}` is not in the bundle's product catalog",
            equipment.model
        )));
    };
    if model.vendor != equipment.vendor {
        return Err(Error::InvalidRequest(format!(
            "model `{}` is made by `{}`, not `{}`",
            equipment.model, model.vendor, equipment.vendor
        )));
    }
    let mut components: Vec<&str> = model.components.iter().map(String::as_str).collect();
    for component in &equipment.components {
        let Some((id, _)) = registry.vendors.get_key_value(component) else {
            return Err(Error::UnknownEntity(format!(
                "component vendor `{component}` is not in the bundle's vendor registry"
            )));
        };
        components.push(id);
    }
    components.sort_unstable();
    components.dedup();
    Ok((maker, model, components))
}
