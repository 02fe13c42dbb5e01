//! `slicegate prove`: the library's invariants hold for every request; a
//! library with a promise removed is refuted with a counterexample.

use std::path::{Path, PathBuf};

use cedar_policy::{Policy, PolicySet, Schema};
use slicegate::PolicySources;
use slicegate_tooling::prove::{self, Invariants, Promise, Verdict};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn library() -> (Schema, PolicySet) {
    prove::ensure_solver().unwrap();
    let sources = PolicySources::from_dir(&policies()).unwrap();
    prove::load(&sources).unwrap()
}

fn invariants() -> Invariants {
    Invariants::read_dir(&policies().join("invariants")).unwrap()
}

/// The library without the policies `drop` picks, plus `add`.
fn changed(set: &PolicySet, drop: impl Fn(&Policy) -> bool, add: &str) -> PolicySet {
    let mut out = PolicySet::new();
    for p in set.policies().filter(|p| !drop(p)) {
        out.add(p.clone()).unwrap();
    }
    for (i, p) in add.parse::<PolicySet>().unwrap().policies().enumerate() {
        out.add(p.new_id(cedar_policy::PolicyId::new(format!("added-{i}"))))
            .unwrap();
    }
    out
}

/// The ids of the invariants refuted against `set`. Every counterexample
/// is one the engine decides as the refutation says: a never-allowed
/// promise's is allowed with no forbid erroring (the proof is of the
/// engine's decisions, not Cedar's), an always-allowed promise's is denied.
fn refuted(schema: &Schema, set: &PolicySet, invariants: &Invariants) -> Vec<String> {
    prove::prove(schema, set, invariants, |_| {})
        .unwrap()
        .into_iter()
        .filter_map(|r| {
            let Verdict::Refuted(c) = &r.verdict else {
                return None;
            };
            match r.promise {
                Promise::NeverAllowed => assert!(
                    c.library_allows && c.forbids_erroring.is_empty(),
                    "{}: {c:#?}",
                    r.id
                ),
                Promise::AlwaysAllowed => assert!(!c.library_allows, "{}: {c:#?}", r.id),
            }
            Some(r.id)
        })
        .collect()
}

#[test]
fn every_shipped_invariant_holds() {
    let (schema, set) = library();
    let invariants = invariants();
    let reports = prove::prove(&schema, &set, &invariants, |r| {
        eprintln!(
            "{} {:?} {} envs {:.2}s",
            r.id,
            matches!(r.verdict, Verdict::Proved),
            r.environments,
            r.took.as_secs_f64()
        )
    })
    .unwrap();
    assert!(!reports.is_empty());
    for r in &reports {
        assert!(
            matches!(r.verdict, Verdict::Proved),
            "{}: {:#?}",
            r.id,
            r.verdict
        );
    }
}

#[test]
fn a_library_with_its_promise_removed_is_refuted_with_a_counterexample() {
    let (schema, set) = library();
    let weakened = changed(&set, |p| p.id().to_string() == "uk-hrv/out-of-core", "");
    let invariants = invariants();
    let reports = prove::prove(&schema, &weakened, &invariants, |_| {}).unwrap();
    let report = reports
        .iter()
        .find(|r| r.id == "uk-hrv/never-designated-in-core-from-2024")
        .unwrap();
    let Verdict::Refuted(c) = &report.verdict else {
        panic!("proved without the policy that keeps the promise");
    };
    // The counterexample is real: native Cedar allows it on the weakened
    // library, the intact library denies it with the policy removed, and
    // it is what the invariant describes.
    assert!(c.library_allows, "{c:#?}");
    let request: cedar_policy::Request = {
        let r = &c.request;
        let uid = |k: &str| {
            r[k].as_str()
                .unwrap()
                .parse::<cedar_policy::EntityUid>()
                .unwrap()
        };
        cedar_policy::Request::new(
            uid("principal"),
            uid("action"),
            uid("resource"),
            cedar_policy::Context::from_json_value(r["context"].clone(), None).unwrap(),
            None,
        )
        .unwrap()
    };
    let entities = cedar_policy::Entities::from_json_value(c.entities.clone(), None).unwrap();
    let intact = cedar_policy::Authorizer::new().is_authorized(&request, &set, &entities);
    assert_eq!(intact.decision(), cedar_policy::Decision::Deny, "{c:#?}");
    assert!(
        intact
            .diagnostics()
            .reason()
            .any(|id| id.to_string() == "uk-hrv/out-of-core"),
        "{c:#?}"
    );
    assert!(c.request["context"]["site"].is_object(), "{c:#?}");
}

/// No invariant is vacuous: each pack's invariants are refuted once the
/// pack's policies are gone, and only those.
#[test]
fn each_packs_invariants_are_refuted_without_the_pack() {
    let (schema, set) = library();
    let all = invariants();
    for pack in [
        "uk-hrv",
        "de-2024",
        "eu-5g-toolbox",
        "se-pts-2020",
        "state-dept-5g",
        "us-clean-network",
        "us-fcc-889",
    ] {
        let mut own = all.clone();
        own.invariants
            .retain(|i| i.file == format!("invariants/{pack}.cedar"));
        assert!(!own.invariants.is_empty(), "{pack} has no invariant");
        let without = changed(&set, |p| p.annotation("pack") == Some(pack), "");
        let mut expected: Vec<String> = own.invariants.iter().map(|i| i.id.clone()).collect();
        expected.sort();
        let mut got = refuted(&schema, &without, &own);
        got.sort();
        assert_eq!(got, expected, "{pack}: refuted without the pack");
    }
}

/// The baseline's fail-closed promises are refuted by a library that lets
/// an unknown party, unresolved ownership or unsigned software through, or
/// that blocks a removal.
#[test]
fn the_baselines_promises_are_refuted_when_broken() {
    let (schema, set) = library();
    let mut baseline = invariants();
    baseline
        .invariants
        .retain(|i| i.file == "invariants/baseline-procurement.cedar");
    let open = changed(
        &set,
        |p| p.id().to_string() == "baseline/known-vendor",
        r#"permit (principal, action in Action::"sustain", resource);"#,
    );
    let got = refuted(&schema, &open, &baseline);
    assert!(
        got.contains(&"baseline/never-an-unknown-party".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"baseline/never-unresolved-ownership".to_string()),
        "{got:?}"
    );
    let unsigned = changed(
        &set,
        |p| p.id().to_string() == "baseline/signed-software",
        "",
    );
    assert_eq!(
        refuted(&schema, &unsigned, &baseline),
        ["baseline/never-unsigned-new-software"]
    );
    let blocking = changed(
        &set,
        |_| false,
        r#"forbid (principal, action == Action::"terminate", resource) when { context.site.sensitive };"#,
    );
    assert_eq!(
        refuted(&schema, &blocking, &baseline),
        ["baseline/removal-always-allowed"]
    );
}

/// Invariant files are checked: a permit assumption, a missing @reason, a
/// duplicate id and an invariant that matches no request are errors.
#[test]
fn bad_invariant_files_are_clear_errors() {
    let mut inv = Invariants::default();
    let err = inv
        .add_file(
            "x.cedar",
            r#"@id("a") forbid (principal, action, resource);"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("@reason"), "{err}");
    let err = inv
        .add_file(
            "x.cedar",
            r#"@id("a") @reason("r") @assumption("x") permit (principal, action, resource);"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("assumption"), "{err}");
    inv.add_file(
        "x.cedar",
        r#"@id("a") @reason("r") forbid (principal, action, resource);"#,
    )
    .unwrap();
    let err = inv
        .add_file(
            "y.cedar",
            r#"@id("a") @reason("r") forbid (principal, action, resource);"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("twice"), "{err}");
    assert!(inv.add_file("z.cedar", "forbid (").is_err());
    let (schema, set) = library();
    let mut vacuous = Invariants::default();
    vacuous
        .add_file(
            "v.cedar",
            r#"@id("v") @reason("r") forbid (principal, action == Action::"sustain", resource);"#,
        )
        .unwrap();
    let err = prove::prove(&schema, &set, &vacuous, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("vacuous"), "{err}");
}

#[test]
fn solver_instants_are_written_as_datetimes() {
    let mut v = serde_json::json!({"at": {"__extn": {"fn": "offset", "args": [
        {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
        {"__extn": {"fn": "duration", "arg": "1735685999999ms"}}]}},
        "before": {"__extn": {"fn": "offset", "args": [
        {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
        {"__extn": {"fn": "duration", "arg": "-1ms"}}]}}});
    prove::readable_datetimes(&mut v);
    assert_eq!(
        v["at"],
        serde_json::json!({"__extn": {"fn": "datetime", "arg": "2024-12-31T22:59:59.999Z"}})
    );
    // Before 1970, or after 9999: left as the solver wrote it (still exact).
    assert_eq!(v["before"]["__extn"]["fn"], "offset");
    let mut far = serde_json::json!({"__extn": {"fn": "offset", "args": [
        {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
        {"__extn": {"fn": "duration", "arg": "9223372036854775807ms"}}]}});
    prove::readable_datetimes(&mut far);
    assert_eq!(far["__extn"]["fn"], "offset");
}

/// The engine denies when a forbid errors, where Cedar skips the policy: an
/// always-allowed promise is refuted by a forbid that can error on what it
/// matches, even one whose condition is never true.
#[test]
fn an_always_allowed_promise_is_refuted_by_a_forbid_that_can_error() {
    let (schema, set) = library();
    let erroring = changed(
        &set,
        |_| false,
        r#"forbid (principal, action == Action::"terminate", resource)
           when { principal has criticalNotice &&
                  principal.criticalNotice.filed.offset(duration("9223372036854775807ms"))
                    == datetime("1900-01-01") };"#,
    );
    let mut baseline = invariants();
    baseline
        .invariants
        .retain(|i| i.id == "baseline/removal-always-allowed");
    let reports = prove::prove(&schema, &erroring, &baseline, |_| {}).unwrap();
    let Verdict::Refuted(c) = &reports[0].verdict else {
        panic!("proved although a forbid can error on a removal");
    };
    assert_eq!(c.erroring_forbid.as_deref(), Some("added-0"), "{c:#?}");
    assert!(
        c.forbids_erroring.contains(&"added-0".to_string()),
        "{c:#?}"
    );
}

/// An invariant that matches nothing — its condition, its scope or the
/// assumptions exclude every request — is an error, not a proof.
#[test]
fn vacuous_invariants_and_assumptions_are_errors() {
    let (schema, set) = library();
    for (what, text) in [
        (
            "a condition never true",
            r#"@id("v") @reason("r") forbid (principal, action in Action::"sustain", resource) when { false };"#,
        ),
        (
            "a scope no request has",
            r#"@id("v") @reason("r") forbid (principal is Plan, action == Action::"place", resource);"#,
        ),
        (
            "an assumption excluding everything",
            r#"@id("v") @reason("r") forbid (principal, action in Action::"sustain", resource);
               @id("all") @reason("r") @assumption("x") forbid (principal, action, resource);"#,
        ),
    ] {
        let mut inv = Invariants::default();
        inv.add_file("v.cedar", text).unwrap();
        let err = prove::prove(&schema, &set, &inv, |_| {})
            .map(|r| format!("{r:?}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("vacuously"), "{what}: {err}");
    }
}

/// Every invariant file is read — subfolders, any case of `.cedar` — and a
/// template is an error, not silently dropped.
#[test]
fn invariant_files_are_all_read_and_templates_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    let one = r#"@id("one") @reason("r") forbid (principal, action in Action::"sustain", resource) when { context.parties.unknownParty };"#;
    std::fs::write(dir.path().join("sub/a.CEDAR"), one).unwrap();
    std::fs::write(
        dir.path().join("b.cedar"),
        one.replace("\"one\"", "\"two\""),
    )
    .unwrap();
    let read = Invariants::read_dir(dir.path()).unwrap();
    let mut ids: Vec<_> = read.invariants.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["one", "two"]);
    std::fs::write(
        dir.path().join("t.cedar"),
        r#"@id("t") @reason("r") forbid (principal == ?principal, action, resource);"#,
    )
    .unwrap();
    let err = Invariants::read_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("template"), "{err}");
    let mut inv = Invariants::default();
    let err = inv
        .add_file(
            "e.cedar",
            r#"@id("") @reason("r") forbid (principal, action, resource);"#,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("non-empty"), "{err}");
}

/// Invariants name operations, not the schema's action groups: a schema
/// that moves `place` and `scale` out of `introduce` (so the signed-software
/// rule no longer reaches them) is refuted, not proved under the new groups.
#[test]
fn a_schema_that_regroups_actions_does_not_weaken_an_invariant() {
    prove::ensure_solver().unwrap();
    let mut sources = PolicySources::from_dir(&policies()).unwrap();
    let schema = sources.schema.as_mut().unwrap();
    let regrouped = schema.text.replace(
        r#"action "place", "scale" in ["introduce"]"#,
        r#"action "place", "scale" in ["sustain"]"#,
    );
    assert_ne!(regrouped, schema.text);
    schema.text = regrouped;
    let (schema, set) = prove::load(&sources).unwrap();
    let mut baseline = invariants();
    baseline
        .invariants
        .retain(|i| i.id == "baseline/never-unsigned-new-software");
    assert_eq!(
        refuted(&schema, &set, &baseline),
        ["baseline/never-unsigned-new-software"]
    );
}

/// An assumption excludes what it states: one that errors on a request (and
/// so is never true there) excludes nothing, so an invariant the library
/// breaks exactly there is refuted, not proved.
#[test]
fn an_assumption_that_errors_excludes_nothing() {
    let (schema, set) = library();
    let mut invariants = Invariants::default();
    invariants
        .add_file(
            "invariants/x.cedar",
            r#"@assumption("never true, so it excludes no request")
               @id("a/none") @reason("r")
               forbid (principal is Equipment, action, resource is Slice)
               when { resource.sst + 1 == resource.sst };
               @id("i/max-sst") @reason("r")
               forbid (principal, action == Action::"terminate", resource)
               when { resource.sst == 9223372036854775807 };"#,
        )
        .unwrap();
    // Every terminate is allowed, so also the one with sst = MAX, on which
    // the assumption errors.
    assert_eq!(refuted(&schema, &set, &invariants), ["i/max-sst"]);
}
