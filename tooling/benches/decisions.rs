//! Criterion benches of the scenarios `slicegate bench` reports: one
//! decision (native Cedar, the component's typed and generic interfaces), a
//! batch, a fresh pre-initialised instance + first decision, verify + load
//! of a cached bundle, and decisions on generated scale-ups of the library.
//! `cargo bench -p slicegate --bench decisions` measures; under `cargo test`
//! each runs once.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use slicegate::bundle::CompileCache;
use slicegate::{Limits, PlacementRequest, PolicySources, Runtime};
use slicegate_tooling::bench::{BATCH, Prepared, Scale, SignedBundle, scale_up};

fn library() -> (Runtime, PolicySources, PlacementRequest) {
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let sources = PolicySources::from_dir(&policies).expect("the policy library loads");
    let demo: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(policies.join("examples/demo-placements.json"))
            .expect("the demo placements are readable"),
    )
    .expect("the demo placements are JSON");
    // The first demo placement, as `slicegate bench` uses.
    let request: PlacementRequest = serde_json::from_value(demo[0]["request"].clone())
        .expect("the first demo placement is a placement request");
    let runtime = CompileCache::default_location()
        .engine_runtime(Limits::default())
        .expect("the runtime starts");
    (runtime, sources, request)
}

fn decisions(c: &mut Criterion) {
    let (runtime, sources, request) = library();
    let prepared =
        Prepared::new(&runtime, &sources, &request).expect("both sides decide the placement");
    let mut component = prepared
        .generic_component(&runtime)
        .expect("the generic authorizer decides as native does");
    let Prepared {
        mut typed,
        request,
        native,
        generic,
        ..
    } = prepared;

    let mut group = c.benchmark_group("one decision");
    group.bench_function("native cedar-policy", |b| {
        b.iter(|| black_box(native.authorize(&generic)))
    });
    group.bench_function("component, typed placement", |b| {
        b.iter(|| black_box(typed.decide(&request)))
    });
    group.bench_function("component, generic authorizer", |b| {
        b.iter(|| black_box(component.authorize(&generic)))
    });
    group.finish();

    let batch = vec![request.clone(); BATCH];
    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("component, typed placement", |b| {
        b.iter(|| black_box(typed.decide_batch(&batch)))
    });
    group.bench_function("native cedar-policy", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let _ = black_box(native.authorize(&generic));
            }
        })
    });
    group.finish();

    let bundle = SignedBundle::new(&sources).expect("the bundle builds and loads");
    let mut group = c.benchmark_group("cold start");
    group.bench_function("fresh pre-initialised instance + first decision", |b| {
        b.iter(|| black_box(bundle.fresh_decision(&request, "2026-01-01T00:00:00Z")))
    });
    group.bench_function("verify + load to ready, compiled code cached", |b| {
        b.iter(|| black_box(bundle.reload(true).expect("reloads")))
    });
    let mut loader = bundle.loader();
    group.bench_function(
        "verify + load to ready, cached, engine reused (a reload)",
        |b| b.iter(|| black_box(bundle.reload_with(&mut loader).expect("reloads"))),
    );
    group.finish();
}

fn scale_ups(c: &mut Criterion) {
    let (runtime, sources, request) = library();
    let mut group = c.benchmark_group("scale-up");
    let scales = [
        (
            "inventory",
            Scale {
                inventory: 100,
                policies: 0,
                all_apply: false,
            },
        ),
        (
            "inventory",
            Scale {
                inventory: 10_000,
                policies: 0,
                all_apply: false,
            },
        ),
        (
            "policies, 10 per regime",
            Scale {
                inventory: 100,
                policies: 10,
                all_apply: false,
            },
        ),
        (
            "policies, 10 per regime",
            Scale {
                inventory: 100,
                policies: 1_000,
                all_apply: false,
            },
        ),
    ];
    for (what, scale) in scales {
        let size = if what == "inventory" {
            scale.inventory
        } else {
            scale.policies
        };
        let scaled = scale_up(&sources, scale).expect("the scale-up generates");
        let Prepared {
            mut typed,
            request,
            native,
            generic,
            ..
        } = Prepared::new(&runtime, &scaled, &request).expect("both sides decide the placement");
        group.bench_with_input(
            BenchmarkId::new(format!("typed component, {what}"), size),
            &request,
            |b, request| b.iter(|| black_box(typed.decide(request))),
        );
        group.bench_with_input(
            BenchmarkId::new(format!("native cedar-policy, {what}"), size),
            &generic,
            |b, generic| b.iter(|| black_box(native.authorize(generic))),
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = decisions, scale_ups
}
criterion_main!(benches);
