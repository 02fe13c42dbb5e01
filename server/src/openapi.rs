//! The service's OpenAPI document, in two parts: the routes, parameters,
//! answers and envelopes written by hand (`server/openapi.frame.yaml`), and
//! the schemas of the typed model — placement requests, decisions, plans,
//! grants, the bundle's identity and reload status — generated from the
//! Rust types the service parses and answers with (`utoipa`), so the two
//! cannot drift apart. `server/openapi.yaml` is the whole document, checked
//! in for readers and served at `/openapi.yaml`; a test fails when it is not
//! what [`document`] makes (`SLICEGATE_WRITE_OPENAPI=1 cargo test -p
//! slicegate-server --lib` rewrites it).

use serde_json::Value;
use slicegate::decision_log::LoggedBundle;
use slicegate::reload::ReloadStatus;
use slicegate::sol003::GrantOutcome;
use slicegate::{Decision, DeploymentPlan, PlacementRequest, PlanResult};
use utoipa::OpenApi;

/// The hand-written part.
pub const FRAME: &str = include_str!("../openapi.frame.yaml");

/// The model's schemas, and every schema they name.
#[derive(OpenApi)]
#[openapi(components(schemas(
    PlacementRequest,
    Decision,
    DeploymentPlan,
    PlanResult,
    crate::grants::GrantBody,
    GrantOutcome,
    LoggedBundle,
    ReloadStatus
)))]
struct Models;

/// The whole document: the frame with the generated schemas added to its
/// `components.schemas`. A schema name in both is an error.
pub fn document() -> Result<Value, String> {
    let mut doc: Value = serde_norway::from_str(FRAME)
        .map_err(|e| format!("server/openapi.frame.yaml does not parse: {e}"))?;
    let models = serde_json::to_value(Models::openapi()).map_err(|e| e.to_string())?;
    let generated = models["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .ok_or("server/openapi.frame.yaml has no components.schemas")?;
    for (name, schema) in generated {
        if schemas.contains_key(&name) {
            return Err(format!(
                "schema `{name}` is both written in server/openapi.frame.yaml and generated \
                 from the Rust types: remove it from the frame"
            ));
        }
        schemas.insert(name, schema);
    }
    Ok(doc)
}

/// [`document`] as the YAML checked in at `server/openapi.yaml`.
pub fn document_yaml() -> Result<String, String> {
    let doc = document()?;
    let yaml = serde_norway::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Generated: server/openapi.frame.yaml (routes, answers, envelopes) with the\n\
         # model's schemas from the Rust types (utoipa). Edit those, then run\n\
         # SLICEGATE_WRITE_OPENAPI=1 cargo test -p slicegate-server --lib\n{yaml}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_document_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
        let generated = document_yaml().unwrap();
        if std::env::var_os("SLICEGATE_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let checked_in: Value = serde_norway::from_str(crate::OPENAPI_YAML).unwrap();
        assert!(
            checked_in == document().unwrap(),
            "server/openapi.yaml is not what the frame and the Rust types make: run \
             SLICEGATE_WRITE_OPENAPI=1 cargo test -p slicegate-server --lib, and review the diff"
        );
    }
}
