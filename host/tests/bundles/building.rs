//! Building bundles: reproducible, loaded and deciding without parsing, and
//! never a bundle of policies that do not check or that the engine refuses.

use slicegate::PolicyIdMode;
use slicegate::bundle::{self, BuildOptions, BundleLoader, KeyId, KeyPair};

use crate::support::{huawei_core_after_deadline, options, sources, trust, trusted, unsigned};

#[test]
fn builds_are_reproducible() {
    let again = bundle::build(&sources(), &options(1)).unwrap();
    assert!(again == unsigned(), "two builds of the same inputs differ");
    let later = BuildOptions {
        created_at: "2026-01-02T00:00:00Z".to_string(),
        ..options(1)
    };
    assert!(bundle::build(&sources(), &later).unwrap() != unsigned());
}

#[test]
fn a_signed_bundle_loads_and_decides_without_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(unsigned(), &key, "ops").unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    let loaded = loader.load(&signed, None).expect("accepted");
    assert_eq!(loaded.manifest.name.0, "test-bundle");
    assert_eq!(loaded.signers, [KeyId("ops".to_string())]);
    assert_eq!(loader.components_prepared(), 1);

    let mut decider = loaded.decider().unwrap().permit_what_if(true);
    assert_eq!(decider.load_report().policy_count, 41);
    let decision = decider.decide(&huawei_core_after_deadline());
    assert!(!decision.allowed);
    assert_eq!(decision.determining_ids(), ["uk-hrv/out-of-core"]);
    assert_eq!(decision.bundle_revision, Some(1));

    let inspection = bundle::inspect(&signed, None).unwrap();
    assert!(inspection.embedded_signature);
    assert_eq!(inspection.signatures.len(), 1);
    assert!(inspection.signatures[0].covers_content);
    assert!(
        inspection
            .manifest
            .policies
            .iter()
            .any(|p| p.id == "uk-hrv/out-of-core")
    );
    assert!(
        inspection
            .sources
            .iter()
            .any(|(path, _)| path == "schema.cedarschema")
    );
    assert!(
        inspection
            .exports
            .iter()
            .any(|e| e.starts_with("slicegate:policy/placement"))
    );
}

#[test]
fn policies_that_do_not_check_are_a_build_error_with_file_and_line() {
    let mut broken = sources();
    let file = broken
        .policies
        .iter_mut()
        .find(|f| f.name.ends_with("uk-hrv.cedar"))
        .unwrap();
    file.text = file.text.replace(
        "principal.domain == \"core\"",
        "principal.domian == \"core\"",
    );
    let error = bundle::build(&broken, &options(1)).unwrap_err();
    let bundle::BuildError::Check(problems) = error else {
        panic!("expected a check error, got {error}");
    };
    let problem = &problems.0[0];
    assert_eq!(problem.file, "packs/uk-hrv/uk-hrv.cedar");
    assert!(problem.line.is_some_and(|l| l > 1), "{problem}");
    assert!(problem.to_string().contains("domian"), "{problem}");
}

#[test]
fn a_failed_engine_load_is_never_a_bundle() {
    // Bypass the native check: the engine's own refusal must surface.
    let mut broken = sources();
    broken.policies[0]
        .text
        .push_str("\npermit(principal, action, resource) when { ;\n");
    broken.policy_ids = PolicyIdMode::Annotation;
    let error = bundle::preinitialise(slicegate::ENGINE_COMPONENT, &broken).unwrap_err();
    assert!(error.to_string().contains("refused"), "{error}");
}

/// `n` strictly valid forbids, each for one software version (`m/K` denies
/// software version `vK`).
fn many_forbids(n: usize) -> slicegate::SourceFile {
    let text: String = (0..n)
        .map(|k| {
            format!(
                "@id(\"m/{k}\")\n@pack(\"zz-many\")\n@reason(\"version {k} withdrawn\")\n@source(\"test\")\nforbid (principal, action in Action::\"sustain\", resource)\nwhen {{ principal.softwareVersion == \"v{k}\" }};\n"
            )
        })
        .collect();
    slicegate::SourceFile {
        name: "packs/zz-many/zz-many.cedar".to_string(),
        text,
    }
}

#[test]
fn a_set_of_over_a_thousand_policies_builds_and_decides() {
    // Each policy is compiled once and shared by the index's subsets, so
    // the snapshot grows by a few KB per policy (it grew by ~100 KB, and
    // a set of ~1 000 policies overran the snapshot's copy allowance).
    let mut many = sources();
    many.policies.push(many_forbids(1_500));
    let bytes = bundle::build(&many, &options(1)).expect("a large set builds");
    let key = KeyPair::generate().unwrap();
    let signed = bundle::sign_embedded(&bytes, &key, "ops").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut loader = BundleLoader::new(trust(dir.path(), 1, vec![trusted("ops", &key)]));
    let loaded = loader.load(&signed, None).expect("accepted");
    assert_eq!(loaded.manifest.policy_count, 1_541);
    assert_eq!(loaded.manifest.compiled_policies, Some(1_541));
    let mut decider = loaded.decider().unwrap().permit_what_if(true);
    let mut request = huawei_core_after_deadline();
    request.equipment.software_version = "v1234".to_string();
    let decision = decider.decide(&request);
    assert!(!decision.allowed);
    let mut ids = decision.determining_ids();
    ids.sort();
    assert_eq!(ids, ["m/1234", "uk-hrv/out-of-core"]);
}

#[test]
fn a_set_needing_more_memory_than_an_instance_may_have_is_a_clear_build_error() {
    let mut sources = sources();
    sources.policy_ids = PolicyIdMode::Annotation;
    sources.strict = true;
    let error =
        bundle::preinitialise_within(slicegate::ENGINE_COMPONENT, &sources, 2 << 20).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("more than 2 MiB of engine memory"),
        "{message}"
    );
    // With room, the same sources load.
    bundle::preinitialise_within(slicegate::ENGINE_COMPONENT, &sources, 512 << 20)
        .expect("loads within the default cap");
}

#[test]
fn a_load_that_traps_is_a_build_error_that_names_the_cause() {
    // An ownership chain thousands of vendors long: the engine's load runs
    // out of stack before its own chain check; the build says so, in a
    // sentence, with nothing built.
    let vendor = |i: usize| {
        serde_json::json!({"uid": {"type": "Vendor", "id": format!("d{i}")},
        "attrs": {"name": "w", "formerNames": [],
                  "jurisdiction": {"__entity": {"type": "Jurisdiction", "id": "SE"}},
                  "ownershipKnown": true, "ownershipTransparent": true,
                  "stateControlled": false, "ipTheftRecord": false, "exampleValues": []},
        "parents": if i == 0 { vec![] } else {
            vec![serde_json::json!({"type": "Vendor", "id": format!("d{}", i - 1)})]
        }})
    };
    let mut deep = sources();
    deep.policy_ids = PolicyIdMode::Annotation;
    deep.strict = true;
    deep.entities.push(slicegate::SourceFile {
        name: "data/chain.json".to_string(),
        text: serde_json::Value::Array((0..3_000).map(vendor).collect()).to_string(),
    });
    let error = bundle::preinitialise(slicegate::ENGINE_COMPONENT, &deep).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("ran out of stack"), "{message}");
    assert!(!message.contains("0x"), "no raw backtrace: {message}");
}
