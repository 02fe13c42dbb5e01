//! The product catalog: network functions, models with their bills of
//! materials, and networks.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::raw::{RawEntity, bad, entity_ref};
use super::{DOMAINS, METRICS, ModelFacts, NetworkFacts, VendorFacts};
use crate::slicegate::policy::types::Error;

/// A function's domain, criticality and whether it is an access radio.
pub type FunctionFacts = (String, bool, bool);

/// Network functions by id.
pub fn functions(raw: &[RawEntity<'_>]) -> Result<HashMap<String, FunctionFacts>, Error> {
    let mut functions = HashMap::new();
    for function in raw {
        let domain = function.text("domain").unwrap_or_default();
        if !DOMAINS.contains(&domain) {
            return Err(bad(format!(
                "NetworkFunction `{}` has domain `{domain}`, which is not one of {}",
                function.id,
                DOMAINS.join(", ")
            )));
        }
        functions.insert(
            function.id.clone(),
            (
                domain.to_string(),
                function.flag("critical", true),
                // Missing reads as not a radio: it then never dilutes.
                function.flag("accessRadio", false),
            ),
        );
    }
    Ok(functions)
}

/// Models by id, each with its maker, function and bill of materials, all
/// on record.
pub fn models(
    raw: &[RawEntity<'_>],
    functions: &HashMap<String, FunctionFacts>,
    vendors: &HashMap<String, VendorFacts>,
) -> Result<HashMap<String, ModelFacts>, Error> {
    let mut models = HashMap::new();
    for model in raw {
        let (Some(vendor), Some(function)) =
            (model.reference("vendor"), model.reference("function"))
        else {
            return Err(bad(format!(
                "Model `{}` needs a vendor and a function",
                model.id
            )));
        };
        if !vendors.contains_key(&vendor) {
            return Err(bad(format!(
                "Model `{}` is made by `{vendor}`, which is not in the registry",
                model.id
            )));
        }
        let Some((domain, critical, access_radio)) = functions.get(&function) else {
            return Err(bad(format!(
                "Model `{}` has function `{function}`, which is not a NetworkFunction",
                model.id
            )));
        };
        let components = bill_of_materials(model, vendors)?;
        models.insert(
            model.id.clone(),
            ModelFacts {
                vendor,
                function,
                domain: domain.clone(),
                critical: *critical,
                components,
                access_radio: *access_radio,
            },
        );
    }
    Ok(models)
}

/// A model's component vendors, sorted, each on record.
fn bill_of_materials(
    model: &RawEntity<'_>,
    vendors: &HashMap<String, VendorFacts>,
) -> Result<Vec<String>, Error> {
    let mut components: Vec<String> = model
        .attrs
        .get("components")
        .and_then(Json::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(entity_ref)
                .map(|(_, id)| id)
                .collect()
        })
        .unwrap_or_default();
    components.sort();
    components.dedup();
    if let Some(unknown) = components.iter().find(|c| !vendors.contains_key(*c)) {
        return Err(bad(format!(
            "Model `{}` lists component vendor `{unknown}`, which is not in the registry",
            model.id
        )));
    }
    Ok(components)
}

/// Networks by id: regimes, carrier (on record) and share metric.
pub fn networks(
    raw: &[RawEntity<'_>],
    vendors: &HashMap<String, VendorFacts>,
) -> Result<HashMap<String, NetworkFacts>, Error> {
    let mut networks = HashMap::new();
    for network in raw {
        let carrier = network.reference("carrier");
        if let Some(carrier) = &carrier
            && !vendors.contains_key(carrier)
        {
            return Err(bad(format!(
                "Network `{}` is run by carrier `{carrier}`, which is not in the registry",
                network.id
            )));
        }
        let metric = network.text("accessShareMetric").map(str::to_string);
        if let Some(metric) = &metric
            && !METRICS.contains(&metric.as_str())
        {
            return Err(bad(format!(
                "Network `{}` counts shares by `{metric}`, which is not one of {}",
                network.id,
                METRICS.join(", ")
            )));
        }
        let regimes = network
            .attrs
            .get("regimes")
            .and_then(Json::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        networks.insert(
            network.id.clone(),
            NetworkFacts {
                regimes,
                carrier,
                metric,
            },
        );
    }
    Ok(networks)
}
