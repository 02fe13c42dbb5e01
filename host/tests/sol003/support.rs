//! Shared by the SOL003 tests: a decider on the library, the package map,
//! grant requests and contexts, resource definitions, and `judge`, which
//! decides a grant's placements at a fixed instant.

use std::path::Path;
use std::sync::OnceLock;

use slicegate::sol003::{self, GrantContext, GrantRequest, PackageMap};
use slicegate::{CustomerCategory, Decider, Limits, PolicySources, Runtime, Site, Slice};

pub fn decider() -> Decider {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| Runtime::new(Limits::default()).unwrap());
    let sources =
        PolicySources::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies"))
            .unwrap();
    Decider::new(runtime, &sources).unwrap()
}

pub fn providers() -> PackageMap {
    let map = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    PackageMap {
        providers: map(&[
            ("Ericsson AB", "ericsson"),
            ("Huawei Technologies Co., Ltd.", "huawei"),
            ("Nokia Solutions and Networks", "nokia"),
        ]),
        products: map(&[
            ("Ericsson Packet Core Gateway UPF", "ericsson-upf"),
            ("UDG", "huawei-upf-x"),
            ("AirScale", "nokia-airscale"),
            ("HW-gNB", "huawei-gnb-aau"),
            ("Ericsson Radio", "ericsson-gnb"),
        ]),
    }
}

pub fn grant(operation: &str) -> GrantRequest {
    serde_json::from_value(serde_json::json!({
        "vnfInstanceId": "vnf-7",
        "vnfLcmOpOccId": "op-1",
        "vnfdId": "vnfd-upf-3",
        "operation": operation,
        "isAutomaticInvocation": false,
        "addResources": [
            {"id": "r1", "type": "COMPUTE", "vduId": "upf-vdu"},
            {"id": "r2", "type": "COMPUTE", "vduId": "upf-vdu"},
            {"id": "r3", "type": "VL"}
        ],
        "_links": {"vnfLcmOpOcc": {"href": "http://nfvo/op-1"}}
    }))
    .expect("a SOL003 grant request parses")
}

pub fn context(provider: &str, product: &str) -> GrantContext {
    GrantContext {
        vnf_provider: provider.to_string(),
        vnf_product_name: product.to_string(),
        vnf_software_version: "3.1".to_string(),
        package_signed: true,
        package_sbom: true,
        components: Vec::new(),
        subsidy_funded: false,
        network: "gb-example-mobile".to_string(),
        site: Site {
            id: "lon-1".into(),
            country: "GB".into(),
            sensitive: false,
            host: None,
        },
        slice: Slice {
            id: "embb".into(),
            sst: 1,
            sd: None,
            category: CustomerCategory::Consumer,
            us_federal: false,
        },
        source_vnf_provider: None,
        source_vnf_product_name: None,
        source_components: None,
        peer: None,
        remote: None,
    }
}

pub fn huawei_radio() -> GrantContext {
    let mut c = context("Huawei Technologies Co., Ltd.", "HW-gNB");
    c.site.id = "man-1".into();
    c
}

pub fn ericsson_radio() -> GrantContext {
    context("Ericsson AB", "Ericsson Radio")
}

/// A resource definition from JSON.
pub fn res(value: serde_json::Value) -> sol003::ResourceDefinition {
    serde_json::from_value(value).expect("a resource definition")
}

pub fn compute(id: &str, vdu: &str) -> sol003::ResourceDefinition {
    res(serde_json::json!({"id": id, "type": "COMPUTE", "vduId": vdu}))
}

pub fn old_compute(id: &str, vdu: &str, vm: &str) -> sol003::ResourceDefinition {
    res(
        serde_json::json!({"id": id, "type": "COMPUTE", "vduId": vdu,
                           "resource": {"vimConnectionId": "vim-1", "resourceId": vm}}),
    )
}

pub fn bare(operation: &str) -> GrantRequest {
    let mut g = grant(operation);
    g.add_resources.clear();
    g
}

/// The grant's placements decided at a fixed instant (2026-06-01): `Err`
/// when the grant is refused before any decision, else whether every
/// placement is allowed, with the operations they were decided under.
pub fn judge(
    request: &GrantRequest,
    context: &GrantContext,
) -> Result<(bool, Vec<slicegate::Operation>), String> {
    static DECIDER: OnceLock<std::sync::Mutex<Decider>> = OnceLock::new();
    let mut placements = sol003::placements(request, context, &providers())?;
    for p in &mut placements {
        p.at = Some("2026-06-01T00:00:00Z".to_string());
    }
    let mut decider = DECIDER
        .get_or_init(|| std::sync::Mutex::new(decider().permit_what_if(true)))
        .lock()
        .unwrap();
    let decisions = decider.decide_batch(&placements);
    Ok((
        decisions.iter().all(|d| d.allowed),
        placements.iter().map(|p| p.operation).collect(),
    ))
}
