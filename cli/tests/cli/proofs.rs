//! `prove`, `diff` and `impact`: symbolic proofs and comparisons of the
//! library, and a policy change re-decided on the example network.

use std::path::Path;

use crate::support::*;

/// A copy of the library with `edit` applied to the file `relative`.
pub fn library_copy(dir: &Path, relative: &str, edit: impl Fn(String) -> String) -> String {
    let copy = dir.join("policies");
    copy_tree(&repo().join("policies"), &copy);
    let file = copy.join(relative);
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(&file, edited).unwrap();
    copy.to_string_lossy().into_owned()
}

pub fn without_out_of_core(text: String) -> String {
    let start = text.find("@id(\"uk-hrv/out-of-core\")").unwrap();
    let end = text.find("@id(\"uk-hrv/out-by-end-2027\")").unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn prove_proves_the_library_and_refutes_it_without_a_promise() {
    let proved = slicegate(&["prove", "policies"]);
    assert!(proved.status.success(), "{}", stderr(&proved));
    let out = stdout(&proved);
    assert!(
        out.trim_end()
            .lines()
            .last()
            .unwrap()
            .contains(" proved, 0 refuted"),
        "{out}"
    );
    let json = slicegate(&["prove", "policies", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["refuted"], 0);
    assert!(report["proved"].as_u64().unwrap() >= 9, "{report}");

    let dir = tempfile::tempdir().unwrap();
    let copy = library_copy(dir.path(), "packs/uk-hrv/uk-hrv.cedar", without_out_of_core);
    let cx = dir.path().join("cx");
    let refuted = slicegate(&["prove", &copy, "--counterexamples", cx.to_str().unwrap()]);
    assert_eq!(refuted.status.code(), Some(2), "{}", stderr(&refuted));
    let out = stdout(&refuted);
    assert!(
        out.contains("uk-hrv/never-designated-in-core-from-2024 is refuted"),
        "{out}"
    );
    assert!(out.contains("the library ALLOWS this request"), "{out}");
    let proved = report["proved"].as_u64().unwrap();
    let last = out.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "{} proved, 1 refuted ({proved} invariants, ",
            proved - 1
        )),
        "{out}"
    );
    let folder = cx.join("uk-hrv_never-designated-in-core-from-2024");
    for file in [
        "request.json",
        "entities.json",
        "policies.cedar",
        "schema.cedarschema",
    ] {
        assert!(folder.join(file).is_file(), "{file}");
    }
    let request: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("request.json")).unwrap())
            .unwrap();
    assert!(request["context"]["at"].is_object(), "{request}");
    crate::counterexamples::explain_replays_the_counterexample(&folder, &out);
}

#[test]
fn prove_refuses_what_it_cannot_prove() {
    let dir = tempfile::tempdir().unwrap();
    // No invariants.
    let empty = dir.path().join("none");
    std::fs::create_dir_all(&empty).unwrap();
    let none = slicegate(&["prove", "policies", "--invariants", empty.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("holds no invariant"),
        "{}",
        stderr(&none)
    );
    // A missing folder, a malformed invariant, a vacuous one.
    let missing = slicegate(&["prove", "policies", "--invariants", "/nonexistent/inv"]);
    assert_eq!(missing.status.code(), Some(1));
    for (name, text, says) in [
        ("bad.cedar", "forbid (", "bad.cedar"),
        (
            "noreason.cedar",
            "@id(\"x\") forbid (principal, action, resource);",
            "@reason",
        ),
        (
            "vacuous.cedar",
            "@id(\"v\") @reason(\"r\") forbid (principal, action == Action::\"sustain\", resource);",
            "vacuous",
        ),
    ] {
        let folder = dir.path().join(name.trim_end_matches(".cedar"));
        std::fs::create_dir_all(&folder).unwrap();
        write(&folder, name, text);
        let out = slicegate(&[
            "prove",
            "policies",
            "--invariants",
            folder.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
    }
    // A library that does not validate (build refuses it) is not proved.
    let copy = library_copy(dir.path(), "packs/uk-hrv/uk-hrv.cedar", |t| {
        format!(
            "{t}\n@id(\"t/untyped\") @pack(\"uk-hrv\") @reason(\"x\") @source(\"x\")\n\
             forbid (principal, action, resource) when {{ principal.nonesuch == 1 }};\n"
        )
    });
    let out = slicegate(&["prove", &copy]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("strict validation"),
        "{}",
        stderr(&out)
    );
    // No solver: a clear error naming the install command.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slicegate"))
        .args(["prove", "policies"])
        .current_dir(repo())
        .env("CVC5", "/nonexistent/cvc5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("apt-get install cvc5"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn prove_and_diff_take_a_bundle() {
    let bundle = library_bundle();
    let out = slicegate(&["prove", bundle]);
    assert!(out.status.success(), "{}", stderr(&out));
    let same = slicegate(&["diff", bundle, "policies"]);
    assert!(same.status.success(), "{}{}", stdout(&same), stderr(&same));
    assert!(stdout(&same).contains("equivalent"), "{}", stdout(&same));
    let garbage = tempfile::tempdir().unwrap();
    let file = write(garbage.path(), "x.wasm", "not a bundle");
    let out = slicegate(&["diff", &file, "policies"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn diff_reports_a_moved_deadline_with_a_witness_in_the_moved_day() {
    let dir = tempfile::tempdir().unwrap();
    let copy = library_copy(dir.path(), "packs/uk-hrv/uk-hrv.cedar", |t| {
        t.replace("2024-01-01T00:00:00+0000", "2024-01-02T00:00:00+0000")
    });
    let out = slicegate(&["diff", "policies", &copy]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("policies changed: uk-hrv/out-of-core\n"),
        "{text}"
    );
    assert!(text.contains("  at: 2024-01-01T"), "{text}");
    let json = slicegate(&["diff", "policies", &copy, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    for d in report["differences"].as_array().unwrap() {
        assert_eq!(d["oldAllows"], false, "{d}");
        assert_eq!(d["newAllows"], true, "{d}");
        let at = d["witness"]["request"]["context"]["at"]["__extn"]["arg"]
            .as_str()
            .unwrap();
        assert!(at.starts_with("2024-01-01T"), "{at}");
    }
}

#[test]
fn diff_reports_changed_reference_data_as_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let copy = library_copy(dir.path(), "data/designations.json", |text| {
        let mut all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        all.retain(|d| d["uid"]["id"] != "uk-designated/huawei");
        serde_json::to_string_pretty(&all).unwrap()
    });
    let out = slicegate(&["diff", "policies", &copy]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("reference data removed (1): Designation::\"uk-designated/huawei\""),
        "{text}"
    );
    assert!(text.contains("NOT equivalent"), "{text}");
}

#[test]
fn impact_lists_what_a_new_designation_makes_non_compliant() {
    let dir = tempfile::tempdir().unwrap();
    let copy = library_copy(dir.path(), "data/designations.json", |text| {
        let mut all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let mut nokia = all
            .iter()
            .find(|d| d["uid"]["id"] == "uk-designated/huawei")
            .unwrap()
            .clone();
        nokia["uid"]["id"] = "uk-designated/nokia".into();
        nokia["attrs"]["vendor"]["__entity"]["id"] = "nokia".into();
        nokia["attrs"]["since"]["__extn"]["arg"] = "2025-01-01T00:00:00+0000".into();
        all.push(nokia);
        serde_json::to_string_pretty(&all).unwrap()
    });
    let plans = repo().join("policies/examples/plans");
    let plans = plans.to_str().unwrap();
    let at = "2026-06-01T00:00:00Z";
    let out = slicegate(&["impact", "policies", &copy, "--plans", plans, "--at", at]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("uk-hrv/no-new-installation: 2 newly denied, 0 newly allowed"),
        "{text}"
    );
    assert!(
        text.contains("DENIED  place `gnb-man-01b` (gb-example-mobile.json)"),
        "{text}"
    );
    assert!(
        text.contains("DENIED  place `gnb-whitehall-b` (gb-example-mobile.json)"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("2 decision(s) change"), "{text}");
    let same = slicegate(&[
        "impact", "policies", "policies", "--plans", plans, "--at", at,
    ]);
    assert!(same.status.success(), "{}", stdout(&same));
    // A calendar of one bundle; a range with two is refused.
    let calendar = slicegate(&[
        "impact",
        "policies",
        "--plans",
        plans,
        "--at",
        "2025-01-01T00:00:00Z..2029-01-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(calendar.status.code(), Some(2), "{}", stderr(&calendar));
    let report: serde_json::Value = serde_json::from_slice(&calendar.stdout).unwrap();
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["at"] == "2028-01-01T00:00:00Z"),
        "{report}"
    );
    let both = slicegate(&[
        "impact",
        "policies",
        &copy,
        "--plans",
        plans,
        "--at",
        "2025-01-01T00:00:00Z..2026-01-01T00:00:00Z",
    ]);
    assert_eq!(both.status.code(), Some(1));
    for at in [
        "x",
        "now",
        "2024-06-01T12:00:00",
        "2030-01-01T00:00:00Z..2020-01-01T00:00:00Z",
        "..",
    ] {
        let out = slicegate(&["impact", "policies", "--plans", plans, "--at", at]);
        assert_eq!(out.status.code(), Some(1), "--at {at}: {}", stdout(&out));
    }
    // An inventory item no side can decide (an unknown vendor) is an error.
    let unknown = write(
        dir.path(),
        "unknown.json",
        r#"[{"operation": "operate",
             "equipment": {"id": "x", "vendor": "acme", "model": "acme-upf", "softwareVersion": "1",
                           "softwareSigned": true, "sbom": true, "subsidyFunded": false},
             "slice": {"id": "embb", "sst": 1, "category": "consumer", "usFederal": false},
             "site": {"id": "lon", "country": "GB", "sensitive": false},
             "network": "gb-example-mobile"}]"#,
    );
    let out = slicegate(&[
        "impact",
        "policies",
        &copy,
        "--inventory",
        &unknown,
        "--at",
        at,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("NOT DECIDED operate `x`"),
        "{}",
        stdout(&out)
    );
    let bad = write(dir.path(), "inventory.json", "{\"not\": \"a list\"}");
    let out = slicegate(&["impact", "policies", &copy, "--inventory", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("JSON array of placement requests"),
        "{}",
        stderr(&out)
    );
}

/// The custom sections of a wasm module, by name: (start, end) of each
/// whole section.
fn custom_sections(bytes: &[u8]) -> Vec<(String, usize, usize)> {
    fn leb(bytes: &[u8], at: &mut usize) -> usize {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = bytes[*at];
            *at += 1;
            value |= ((byte & 0x7f) as usize) << shift;
            shift += 7;
            if byte < 0x80 {
                return value;
            }
        }
    }
    let mut out = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let start = at;
        let id = bytes[at];
        at += 1;
        let size = leb(bytes, &mut at);
        let end = at + size;
        if id == 0 {
            let mut name_at = at;
            let len = leb(bytes, &mut name_at);
            let name = String::from_utf8_lossy(&bytes[name_at..name_at + len]).into_owned();
            out.push((name, start, end));
        }
        at = end;
    }
    out
}

/// `target` with its sections named in `names` taken from `donor`.
fn with_sections_of(target: &[u8], donor: &[u8], names: &[&str]) -> Vec<u8> {
    let donor_sections = custom_sections(donor);
    let mut out = target[..8].to_vec();
    let mut at = 8;
    let mut replaced = 0;
    for (name, start, end) in custom_sections(target) {
        out.extend_from_slice(&target[at..start]);
        match donor_sections.iter().find(|(n, ..)| n == &name) {
            Some((_, s, e)) if names.contains(&name.as_str()) => {
                out.extend_from_slice(&donor[*s..*e]);
                replaced += 1;
            }
            _ => out.extend_from_slice(&target[start..end]),
        }
        at = end;
    }
    out.extend_from_slice(&target[at..]);
    assert_eq!(replaced, names.len(), "sections replaced");
    out
}

/// A bundle whose carried sources are not what its compiled component
/// decides with (another bundle's sources and manifest spliced in) is
/// refused by prove, diff and impact: they would otherwise prove the
/// sources while the component decides otherwise.
#[test]
fn a_bundle_whose_sources_are_not_its_policies_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let weak = library_copy(dir.path(), "packs/uk-hrv/uk-hrv.cedar", |t| {
        t.replace("2024-01-01T00:00:00+0000", "2034-01-01T00:00:00+0000")
    });
    let weak_bundle = dir.path().join("weak.wasm");
    let build = slicegate(&[
        "build",
        &weak,
        "-o",
        weak_bundle.to_str().unwrap(),
        "--no-test",
    ]);
    assert!(build.status.success(), "{}", stderr(&build));
    let honest = std::fs::read(library_bundle()).unwrap();
    let spliced = with_sections_of(
        &std::fs::read(&weak_bundle).unwrap(),
        &honest,
        &["slicegate-manifest", "slicegate-sources"],
    );
    let evil = write_bytes(dir.path(), "evil.wasm", &spliced);
    let plans = repo().join("policies/examples/plans");
    for args in [
        vec!["prove", evil.as_str()],
        vec!["diff", library_bundle(), evil.as_str()],
        vec![
            "impact",
            library_bundle(),
            evil.as_str(),
            "--plans",
            plans.to_str().unwrap(),
        ],
    ] {
        let out = slicegate(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("not what its compiled component decides with"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}
