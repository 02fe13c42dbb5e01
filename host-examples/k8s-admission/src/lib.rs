//! A validating admission webhook for Nephio `NFDeployment` objects.
//!
//! The Kubernetes API server sends an `AdmissionReview` (v1) for every
//! create, update and delete of an `NFDeployment`; the webhook answers
//! allowed, or denied with the reasons, from a signed slicegate bundle.
//!
//! What the placement question is made of:
//!
//! | placement | taken from |
//! |---|---|
//! | vendor, model | labels `slicegate.io/vendor`, `slicegate.io/model` |
//! | site, slice | labels `slicegate.io/site`, `slicegate.io/slice`, looked up in the webhook's [`Inventory`] |
//! | software version, signed, SBOM | annotations `slicegate.io/software-version`, `slicegate.io/software-signed`, `slicegate.io/sbom` |
//! | operation | `CREATE` → place; `UPDATE` → upgrade if the software version changed, else operate; `DELETE` → terminate |
//! | equipment id | `<namespace>/<name>` |
//!
//! A missing label, a site or slice the inventory does not know, or an
//! object that is not an `NFDeployment` is a denial saying so: the webhook
//! never allows what it could not decide.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use slicegate::{Decider, Decision, Equipment, Operation, PlacementRequest, Site, Slice};

/// The sites and slices of the network the cluster serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inventory {
    /// The network's id in the bundle's registry.
    pub network: String,
    /// Sites by id.
    pub sites: BTreeMap<String, Site>,
    /// Slices by id.
    pub slices: BTreeMap<String, Slice>,
}

/// The webhook: a decider and the inventory.
pub struct Webhook {
    decider: Decider,
    inventory: Inventory,
    at: Option<String>,
}

impl Webhook {
    /// A webhook deciding with `decider` (at the host's clock).
    pub fn new(decider: Decider, inventory: Inventory) -> Self {
        Webhook {
            decider,
            inventory,
            at: None,
        }
    }

    /// Evaluates every review at `at` instead of now: for replaying recorded
    /// reviews with reproducible answers. The decider must permit what-if
    /// evaluation, or every review is denied.
    pub fn evaluate_at(mut self, at: &str) -> Self {
        self.at = Some(at.to_string());
        self
    }

    /// Answers one `AdmissionReview` request with an `AdmissionReview`
    /// response. `Err` only when the body is not an `AdmissionReview` at all
    /// (no `request.uid`): there is nothing to answer.
    pub fn review(&mut self, review: &Value) -> Result<Value, String> {
        let request = &review["request"];
        let uid = request["uid"]
            .as_str()
            .ok_or("not an AdmissionReview: no request.uid")?;
        let (allowed, message, revision) = match self.placement(request) {
            Ok(placement) => {
                let decision = self.decider.decide(&placement);
                (
                    decision.allowed,
                    explain(&placement, &decision),
                    decision.bundle_revision,
                )
            }
            Err(why) => (false, format!("slicegate cannot decide: {why}"), None),
        };
        let mut response = json!({
            "uid": uid,
            "allowed": allowed,
            "auditAnnotations": {"slicegate.io/decision": message},
        });
        if let Some(revision) = revision {
            response["auditAnnotations"]["slicegate.io/bundle-revision"] =
                json!(revision.to_string());
        }
        if !allowed {
            response["status"] = json!({"code": 403, "reason": "Forbidden", "message": message});
        }
        Ok(json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        }))
    }

    /// The placement question an admission request asks.
    fn placement(&self, request: &Value) -> Result<PlacementRequest, String> {
        let operation = request["operation"].as_str().unwrap_or("");
        // On DELETE the object is the old one.
        let object = if operation == "DELETE" {
            &request["oldObject"]
        } else {
            &request["object"]
        };
        let kind = object["kind"].as_str().unwrap_or("");
        if kind != "NFDeployment" {
            return Err(format!("a {kind:?} is not an NFDeployment"));
        }
        let label = |key: &str| -> Result<String, String> {
            object["metadata"]["labels"][key]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("the NFDeployment has no label {key}"))
        };
        let annotation = |o: &Value, key: &str| {
            o["metadata"]["annotations"][key]
                .as_str()
                .map(str::to_string)
        };
        let flag = |key: &str| annotation(object, key).as_deref() == Some("true");
        let version = annotation(object, "slicegate.io/software-version")
            .ok_or("the NFDeployment has no annotation slicegate.io/software-version")?;
        let operation = match operation {
            "CREATE" => Operation::Place,
            "UPDATE" => {
                let before = annotation(&request["oldObject"], "slicegate.io/software-version");
                if before.as_deref() == Some(version.as_str()) {
                    Operation::Operate
                } else {
                    Operation::Upgrade
                }
            }
            "DELETE" => Operation::Terminate,
            other => return Err(format!("unknown admission operation {other:?}")),
        };
        let site_id = label("slicegate.io/site")?;
        let slice_id = label("slicegate.io/slice")?;
        let site = self
            .inventory
            .sites
            .get(&site_id)
            .ok_or_else(|| format!("site {site_id:?} is not in the webhook's inventory"))?;
        let slice = self
            .inventory
            .slices
            .get(&slice_id)
            .ok_or_else(|| format!("slice {slice_id:?} is not in the webhook's inventory"))?;
        let name = object["metadata"]["name"].as_str().unwrap_or("unnamed");
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .or(request["namespace"].as_str())
            .unwrap_or("default");
        Ok(PlacementRequest {
            operation,
            equipment: Equipment {
                id: format!("{namespace}/{name}"),
                vendor: label("slicegate.io/vendor")?,
                model: label("slicegate.io/model")?,
                software_version: version,
                software_signed: flag("slicegate.io/software-signed"),
                sbom: flag("slicegate.io/sbom"),
                components: Vec::new(),
                subsidy_funded: false,
                critical_component_notice: None,
            },
            slice: slice.clone(),
            site: site.clone(),
            network: self.inventory.network.clone(),
            peer: None,
            remote: None,
            at: self.at.clone(),
        })
    }
}

/// One line for `kubectl`: the verdict and why.
fn explain(placement: &PlacementRequest, decision: &Decision) -> String {
    let what = format!(
        "{} {} ({}) at {}",
        serde_json::to_value(placement.operation)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        placement.equipment.id,
        placement.equipment.model,
        placement.site.id
    );
    if let Some(failure) = &decision.failure {
        return format!("{what}: denied, {failure}");
    }
    let relevant: Vec<String> = decision
        .determining
        .iter()
        .filter(|p| p.permit == decision.allowed)
        .map(|p| {
            format!(
                "{} ({})",
                p.policy_id,
                p.reason.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    match (decision.allowed, relevant.is_empty()) {
        (true, _) => format!("{what}: allowed by {}", relevant.join("; ")),
        (false, true) => format!("{what}: denied, no policy permits it"),
        (false, false) => format!("{what}: denied by {}", relevant.join("; ")),
    }
}
