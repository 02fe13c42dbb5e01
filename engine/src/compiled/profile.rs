//! Where a typed decision's time goes, measured natively (`cargo test
//! --manifest-path engine/Cargo.toml --release -- --ignored --nocapture
//! phase_times`): the request turned into Cedar, the compiled policies, the
//! decision record, and the interpreter's path beside them.

use std::path::Path;
use std::time::Instant;

use crate::exports::slicegate::policy::loader::{PolicyIds, PolicySources, SourceFile};
use crate::exports::slicegate::policy::placement::{
    CustomerCategory, Equipment, Operation, PlacementRequest, Site, Slice,
};

fn files(dir: &Path, ext: &str, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(SourceFile {
                name: path.display().to_string(),
                text: std::fs::read_to_string(&path).expect("a file"),
            });
        }
    }
}

/// The policy library's sources, as a bundle holds them.
pub fn library() -> PolicySources {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut policies = Vec::new();
    files(&root.join("packs"), "cedar", &mut policies);
    let mut entities = Vec::new();
    files(&root.join("data"), "json", &mut entities);
    PolicySources {
        policies,
        schema: Some(SourceFile {
            name: "schema.cedarschema".to_string(),
            text: std::fs::read_to_string(root.join("schema.cedarschema")).expect("a schema"),
        }),
        entities,
        policy_ids: PolicyIds::Annotation,
        strict: true,
        bundle_name: "library".to_string(),
        bundle_revision: 1,
        compile: true,
    }
}

/// The bench's placement: a Huawei UPF operated in a UK core.
pub fn demo_request() -> PlacementRequest {
    PlacementRequest {
        operation: Operation::Operate,
        equipment: Equipment {
            id: "upf-lon-1".to_string(),
            vendor: "huawei".to_string(),
            model: "huawei-upf-x".to_string(),
            software_version: "V100R021".to_string(),
            software_signed: true,
            sbom: true,
            components: Vec::new(),
            subsidy_funded: false,
            critical_component_notice: None,
        },
        slice: Slice {
            id: "embb-consumer".to_string(),
            sst: 1,
            sd: None,
            category: CustomerCategory::Consumer,
            us_federal: false,
        },
        site: Site {
            id: "gb-lon-core-1".to_string(),
            country: "GB".to_string(),
            sensitive: false,
            host: None,
        },
        network: "gb-example-mobile".to_string(),
        peer: None,
        remote: None,
        at: "2024-06-01T12:00:00Z".to_string(),
    }
}

fn per_call(runs: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(runs)
}

#[test]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
fn phase_times() {
    let (set, _) = crate::load::load(library()).expect("the library loads");
    let request = demo_request();
    let (schema, registry) = crate::state::parts(&set).expect("5G parts");
    let runs: u32 = std::env::var("PHASE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2000);
    let at = crate::values::evaluation_time(&request.at).expect("a time");
    let to_cedar = per_call(runs, || {
        std::hint::black_box(
            crate::placement::to_cedar(&set, registry, &request, &at).expect("cedar"),
        );
    });
    let whole = per_call(runs, || {
        std::hint::black_box(crate::decide::decide(&set, &request).expect("a decision"));
    });
    let interpreted = per_call(runs, || {
        let placement = crate::placement::to_cedar(&set, registry, &request, &at).expect("cedar");
        std::hint::black_box(
            crate::decide::interpreted(&set, schema, placement).expect("a decision"),
        );
    });
    let placement = crate::placement::to_cedar(&set, registry, &request, &at).expect("cedar");
    let selected = set
        .index
        .as_ref()
        .and_then(|index| index.select(&placement.action, placement.network.as_deref()))
        .expect("indexed");
    let compiled = per_call(runs, || {
        std::hint::black_box(
            crate::decide::compiled_verdict(&set, schema, selected.compiled, &placement)
                .expect("verdict"),
        );
    });
    let verdict =
        crate::decide::compiled_verdict(&set, schema, selected.compiled, &placement).expect("v");
    println!(
        "{} policies compiled, {:?} satisfied",
        selected.compiled.compiled.len(),
        verdict
    );
    let record = per_call(runs, || {
        let verdict = crate::compiled::Satisfied {
            permits: verdict.permits.clone(),
            forbids: verdict.forbids.clone(),
        };
        std::hint::black_box(crate::decision::from_compiled(&set, verdict, None));
    });
    println!("compiled policies {compiled:.1} µs; decision record {record:.1} µs");
    println!(
        "to_cedar {to_cedar:.1} µs; whole decision {whole:.1} µs; interpreter path {interpreted:.1} µs"
    );
}

#[test]
#[ignore = "a measurement, not a check: run under a profiler"]
fn compiled_only() {
    let (set, _) = crate::load::load(library()).expect("the library loads");
    let request = demo_request();
    let (schema, registry) = crate::state::parts(&set).expect("5G parts");
    let at = crate::values::evaluation_time(&request.at).expect("a time");
    let placement = crate::placement::to_cedar(&set, registry, &request, &at).expect("cedar");
    let selected = set
        .index
        .as_ref()
        .and_then(|index| index.select(&placement.action, placement.network.as_deref()))
        .expect("indexed");
    for _ in 0..200_000 {
        std::hint::black_box(crate::decide::compiled_verdict(
            &set,
            schema,
            selected.compiled,
            &placement,
        ));
    }
}

#[test]
#[ignore = "a measurement, not a check: run under a profiler"]
fn to_cedar_only() {
    let (set, _) = crate::load::load(library()).expect("the library loads");
    let request = demo_request();
    let (_, registry) = crate::state::parts(&set).expect("5G parts");
    let at = crate::values::evaluation_time(&request.at).expect("a time");
    for _ in 0..100_000 {
        std::hint::black_box(crate::placement::to_cedar(&set, registry, &request, &at).ok());
    }
}

#[test]
#[ignore = "a measurement, not a check: run under a profiler"]
fn whole_only() {
    let (set, _) = crate::load::load(library()).expect("the library loads");
    let request = demo_request();
    for _ in 0..20_000 {
        std::hint::black_box(crate::decide::decide(&set, &request).ok());
    }
}
