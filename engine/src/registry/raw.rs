//! Reference-data entities as Cedar's JSON entity format writes them.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::slicegate::policy::types::Error;

/// One reference-data entity as written in Cedar's JSON entity format.
pub struct RawEntity<'a> {
    pub id: String,
    pub attrs: &'a serde_json::Map<String, Json>,
    pub parents: Vec<(String, String)>,
}

impl RawEntity<'_> {
    pub fn text(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).and_then(Json::as_str)
    }

    /// A boolean attribute; a missing one reads as `adverse` (the entities
    /// were checked against the schema, so this is a second line only).
    pub fn flag(&self, key: &str, adverse: bool) -> bool {
        self.attrs
            .get(key)
            .and_then(Json::as_bool)
            .unwrap_or(adverse)
    }

    pub fn reference(&self, key: &str) -> Option<String> {
        self.attrs.get(key).and_then(entity_ref).map(|(_, id)| id)
    }
}

pub fn bad(what: String) -> Error {
    Error::PolicyLoad(format!("reference data: {what}"))
}

/// An entity reference: `{"__entity": {"type", "id"}}` or `{"type", "id"}`.
pub fn entity_ref(value: &Json) -> Option<(String, String)> {
    let inner = value.get("__entity").unwrap_or(value);
    Some((
        inner.get("type")?.as_str()?.to_string(),
        inner.get("id")?.as_str()?.to_string(),
    ))
}

/// A datetime: `{"__extn": {"fn": "datetime", "arg"}}` or a plain string.
pub fn datetime(value: &Json) -> Option<&str> {
    match value {
        Json::String(text) => Some(text),
        Json::Object(_) => value.get("__extn")?.get("arg")?.as_str(),
        _ => None,
    }
}

/// The entity types the engine builds per request: reference data may not
/// hold them, or a bundle could carry an item with facts nobody derived.
const INVENTORY_TYPES: [&str; 4] = ["Equipment", "Site", "Slice", "Plan"];

/// The entities by type, refusing live inventory.
pub fn by_type(entities: &[Json]) -> Result<BTreeMap<String, Vec<RawEntity<'_>>>, Error> {
    let mut by_type: BTreeMap<String, Vec<RawEntity<'_>>> = BTreeMap::new();
    for value in entities {
        let Some((type_name, id)) = value.get("uid").and_then(entity_ref) else {
            continue;
        };
        if INVENTORY_TYPES.contains(&type_name.as_str()) {
            return Err(bad(format!(
                "{type_name} `{id}` is live inventory, which slicegate builds per request \
                 from the typed request; reference data may not hold it"
            )));
        }
        let Some(attrs) = value.get("attrs").and_then(Json::as_object) else {
            continue;
        };
        let parents = value
            .get("parents")
            .and_then(Json::as_array)
            .map(|ps| ps.iter().filter_map(entity_ref).collect())
            .unwrap_or_default();
        by_type
            .entry(type_name)
            .or_default()
            .push(RawEntity { id, attrs, parents });
    }
    Ok(by_type)
}
