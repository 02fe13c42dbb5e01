//! The SOL003 Grant types the adapter reads and answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::placement::{RemoteSession, Site, Slice};

/// A SOL003 resource type. Anything else (another spelling, another case)
/// does not parse: a resource the adapter cannot classify could hide
/// compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceType {
    /// A virtual machine or container: the capacity the rules judge.
    Compute,
    /// A virtual link.
    Vl,
    /// Virtual storage.
    Storage,
    /// A link port.
    Linkport,
}

/// Which resource in the VIM a definition names (SOL003 `ResourceHandle`):
/// what is removed or modified is this, not the grant-local `id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceHandle {
    /// The VIM connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vim_connection_id: Option<String>,
    /// The resource provider (when no VIM connection is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_provider_id: Option<String>,
    /// The resource's id in the VIM.
    pub resource_id: String,
    /// The VIM's type for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vim_level_resource_type: Option<String>,
}

/// A resource the grant asks to add, remove, modify or create for the
/// operation's duration (SOL003 `ResourceDefinition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDefinition {
    /// The resource definition id, unique in the request.
    pub id: String,
    /// `COMPUTE`, `VL`, `STORAGE`, `LINKPORT`.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    /// The VDU the resource belongs to, for compute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vdu_id: Option<String>,
    /// The VNFD's template for the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_template_id: Option<String>,
    /// A second template (SOL003 v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_resource_template_id: Option<String>,
    /// The resource in the VIM: required for resources to remove or modify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceHandle>,
}

impl ResourceDefinition {
    pub(super) fn is_compute(&self) -> bool {
        self.resource_type == ResourceType::Compute
    }
}

/// A SOL003 `GrantRequest` (ETSI GS NFV-SOL 003, the fields of v2.x to
/// v4.x). The adapter reads the operation and the resource lists; the other
/// SOL003 fields are accepted as sent and not interpreted. A field SOL003
/// does not define is refused: a misspelled resource list (`AddResources`)
/// must not be read as no resources at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantRequest {
    /// The VNF instance.
    pub vnf_instance_id: String,
    /// The lifecycle operation occurrence.
    pub vnf_lcm_op_occ_id: String,
    /// The VNFD.
    pub vnfd_id: String,
    /// `INSTANTIATE`, `SCALE`, `SCALE_TO_LEVEL`, `CHANGE_FLAVOUR`, `HEAL`,
    /// `OPERATE`, `CHANGE_EXT_CONN`, `CHANGE_VNFPKG`, `TERMINATE`; anything
    /// else is rejected.
    pub operation: String,
    /// New resources. Only `INSTANTIATE` and `SCALE` (`SCALE_TO_LEVEL`,
    /// `CHANGE_FLAVOUR`) may add capacity; `HEAL` and `CHANGE_VNFPKG` may
    /// add, per VDU, at most as many compute resources as they remove of
    /// distinct VIM resources of that VDU (a replacement; added compute
    /// must name its `vduId`); any other operation with `addResources` is
    /// rejected. Each compute resource is one decision.
    #[serde(default)]
    pub add_resources: Vec<ResourceDefinition>,
    /// Resources created for the operation's duration only: new capacity
    /// all the same, so temporary compute is decided as a new installation
    /// (place) in every operation.
    #[serde(default)]
    pub temp_resources: Vec<ResourceDefinition>,
    /// Resources to remove (a heal or a package change replaces them);
    /// each must name its VIM resource (`resource`), and no VIM resource
    /// twice.
    #[serde(default)]
    pub remove_resources: Vec<ResourceDefinition>,
    /// Resources to modify; each must name its VIM resource. Modified
    /// compute is decided under the operation; a `TERMINATE` with
    /// `updateResources` is rejected.
    #[serde(default)]
    pub update_resources: Vec<ResourceDefinition>,
    /// Placement constraints, as sent.
    #[serde(default)]
    pub placement_constraints: Vec<serde_json::Value>,
    /// VIM constraints, as sent.
    #[serde(default)]
    pub vim_constraints: Vec<serde_json::Value>,
    /// The VNFD after a package change (SOL003), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_vnfd_id: Option<serde_json::Value>,
    /// The deployment flavour (SOL003), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavour_id: Option<serde_json::Value>,
    /// Whether the operation was invoked automatically (SOL003), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_automatic_invocation: Option<serde_json::Value>,
    /// The instantiation level (SOL003), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instantiation_level_id: Option<serde_json::Value>,
    /// Additional parameters (SOL003), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_params: Option<serde_json::Value>,
    /// Links (SOL003 `_links`), as sent.
    #[serde(default, rename = "_links", skip_serializing_if = "Option::is_none")]
    pub links: Option<serde_json::Value>,
}

/// What the Grant does not say: the VNF package's identity and where the
/// VNF runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantContext {
    /// The package's `vnfProvider`.
    pub vnf_provider: String,
    /// The package's `vnfProductName`.
    pub vnf_product_name: String,
    /// The package's `vnfSoftwareVersion`.
    pub vnf_software_version: String,
    /// Whether the package's signature was checked (SOL004).
    pub package_signed: bool,
    /// Whether the package came with an SBOM (NTIA minimum elements).
    #[serde(default)]
    pub package_sbom: bool,
    /// Vendor ids of components the package declares (chipsets, modules).
    #[serde(default)]
    pub components: Vec<String>,
    /// Bought or maintained with a federal subsidy (US).
    pub subsidy_funded: bool,
    /// The network's id in the bundle's registry.
    pub network: String,
    /// Where it runs.
    pub site: Site,
    /// The slice it serves.
    pub slice: Slice,
    /// For `CHANGE_VNFPKG`: the `vnfProvider` of the package being replaced
    /// (required: a package change to another vendor or product is a new
    /// installation, not an upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_vnf_provider: Option<String>,
    /// For `CHANGE_VNFPKG`: the `vnfProductName` of the package being
    /// replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_vnf_product_name: Option<String>,
    /// For `CHANGE_VNFPKG`: the component vendors the package being
    /// replaced declared (none when absent). A new package bringing other
    /// components is a new installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_components: Option<Vec<String>>,
    /// The peer network, for `CHANGE_EXT_CONN` (interconnect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The remote session, if the operation is run remotely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteSession>,
}

/// Maps the package's `vnfProvider` to a vendor id and its
/// `vnfProductName` to a model id in the bundle's catalog. Names are matched
/// exactly; an unmapped provider or product is rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageMap {
    /// `vnfProvider` → vendor id.
    pub providers: BTreeMap<String, String>,
    /// `vnfProductName` → model id.
    pub products: BTreeMap<String, String>,
}

/// The answer to a Grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantOutcome {
    /// Granted: every placement the operation implies is allowed.
    #[serde(rename_all = "camelCase")]
    Granted {
        /// The VNF instance.
        vnf_instance_id: String,
        /// The operation occurrence.
        vnf_lcm_op_occ_id: String,
        /// The decisions, one per resource (or one for the operation).
        decisions: Vec<Decision>,
    },
    /// Rejected, with a reason per refused placement.
    #[serde(rename_all = "camelCase")]
    Rejected {
        /// The VNF instance.
        vnf_instance_id: String,
        /// The operation occurrence.
        vnf_lcm_op_occ_id: String,
        /// Why, one line per reason.
        reasons: Vec<String>,
        /// The decisions taken, if the request could be mapped.
        decisions: Vec<Decision>,
    },
}
