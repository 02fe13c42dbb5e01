//! `slicegate test --mutate`: no fail-open mutation in the library, and a
//! weakened copy of it caught.

use std::process::Output;

use crate::support::{
    cases_dir, copy_tree, library_bundle, repo, slicegate, stderr, stdout, write,
};

/// A critical component the ministry prohibited, kept running: denied by the
/// library, whatever the request leaves out.
const PROHIBITED_CASE: &str = r#"fixtures:
  de-kept:
    operation: operate
    equipment: {id: upf-1, vendor: ericsson, model: ericsson-upf, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: false, criticalComponentNotice: {filed: "2024-01-01T00:00:00+01:00", prohibited: true}}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: fra, country: DE, sensitive: false}
    network: de-bsi-test
    at: "2026-06-01T00:00:00Z"
cases:
  - name: a prohibited critical component kept running
    given: de-kept
    expect: deny
"#;

/// A subsidised radio interconnecting with a network a Covered List carrier
/// runs: denied, and so with a peer whose carrier is not on record.
const COVERED_PEER_CASE: &str = r#"fixtures:
  rural:
    operation: interconnect
    equipment: {id: gnb-1, vendor: ericsson, model: ericsson-gnb, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: true}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: ks, country: US, sensitive: false}
    network: us-example-rural
    peer: us-covered-peer
    at: "2026-06-01T00:00:00Z"
cases:
  - name: a subsidised interconnect with a covered carrier's network
    given: rural
    expect: deny
"#;

/// An allowed interconnect on a UK consumer slice: only the baseline permit
/// stands between a peer whose carrier is not on record and an allow.
const TRUSTED_PEER_CASE: &str = r#"fixtures:
  gb:
    operation: interconnect
    equipment: {id: rtr-1, vendor: ericsson, model: ericsson-gnb, softwareVersion: "1", softwareSigned: true, sbom: true, subsidyFunded: false}
    slice: {id: embb, sst: 1, category: consumer, usFederal: false}
    site: {id: lon, country: GB, sensitive: false}
    network: gb-example-mobile
    peer: se-example-tele
    at: "2026-06-01T00:00:00Z"
cases:
  - name: an interconnect with a trusted peer
    given: gb
    expect: allow
"#;

/// `slicegate test DIR --cases CASES --mutate --format json` on a copy of the
/// library with `edit` applied to the German pack.
fn mutate_weakened(edit: impl Fn(&str) -> String) -> (Output, serde_json::Value) {
    mutate_weakened_pack("de-2024/de-2024.cedar", edit, PROHIBITED_CASE)
}

/// The same for any pack file and case file.
fn mutate_weakened_pack(
    pack: &str,
    edit: impl Fn(&str) -> String,
    case: &str,
) -> (Output, serde_json::Value) {
    mutate_weakened_packs(&[(pack, &edit)], case)
}

/// An edit of one pack file: the file under `packs/`, and the change.
type PackEdit<'a> = (&'a str, &'a dyn Fn(&str) -> String);

/// The same with several pack files edited.
fn mutate_weakened_packs(edits: &[PackEdit<'_>], case: &str) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("policies");
    copy_tree(&repo().join("policies"), &copy);
    for (pack, edit) in edits {
        let pack = copy.join("packs").join(pack);
        let text = std::fs::read_to_string(&pack).unwrap();
        let weakened = edit(&text);
        assert_ne!(text, weakened, "the edit must change the pack");
        std::fs::write(&pack, weakened).unwrap();
    }
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    write(&cases, "case.tests.yaml", case);
    let run = slicegate(&[
        "test",
        &copy.to_string_lossy(),
        "--cases",
        &cases.to_string_lossy(),
        "--mutate",
        "--format",
        "json",
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&run)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&run)));
    (run, report)
}

#[test]
fn mutate_finds_no_fail_open_in_the_library_and_reports_a_weakened_one() {
    // The library itself: every case, every mutation, nothing opens.
    let run = slicegate(&[
        "test",
        library_bundle(),
        "--cases",
        &cases_dir(),
        "--mutate",
    ]);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let out = stdout(&run);
    assert!(out.contains(", 0 fail-open\n"), "{out}");
    assert!(!out.contains("FAIL-OPEN"), "{out}");

    // The same case on the unchanged German pack holds under mutation.
    let (run, report) = mutate_weakened(|text| format!("{text}\n"));
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report["mutations"]["failOpen"], serde_json::json!([]));
    assert!(report["mutations"]["mutations"].as_u64().unwrap() > 5);

    a_removed_forbid_is_caught();
    a_permissive_guard_is_caught();
    ignoring_parties_not_on_record_is_caught();
}

/// A forbid removed: without the notification rule, a request that leaves
/// the prohibition out is allowed — and the run says so.
fn a_removed_forbid_is_caught() {
    let (run, report) = mutate_weakened(|text| {
        let start = text
            .find("@id(\"de-2024/critical-component-notice\")")
            .unwrap();
        let end = text[start..].find("};\n").unwrap() + start + 3;
        format!("{}{}", &text[..start], &text[end..])
    });
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(report["suite"]["failed"], 0, "the case itself still passes");
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        opened[0]["mutation"],
        "dropped-record: /equipment/criticalComponentNotice dropped"
    );
    assert_eq!(
        opened[0]["deniedBy"],
        serde_json::json!(["de-2024/prohibited-component"])
    );
    assert_eq!(
        opened[0]["allowedBy"],
        serde_json::json!(["baseline/known-vendor"])
    );
    assert!(stderr(&run).contains("the library fails open"));
}

/// A guard turned permissive: "no notification on record" no longer
/// denies.
fn a_permissive_guard_is_caught() {
    let (run, report) = mutate_weakened(|text| {
        text.replacen(
            "unless {\n  principal has criticalNotice &&",
            "unless {\n  !(principal has criticalNotice) ||\n  principal has criticalNotice &&",
            1,
        )
    });
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        opened[0]["mutation"],
        "dropped-record: /equipment/criticalComponentNotice dropped"
    );
}

/// The rules stop treating a party not on record as adverse (the FCC
/// subsidy rule, and the baseline permit that backs it, which then reads no
/// trust fact at all): the mutation that swaps in a peer whose carrier is
/// unknown opens the library. The baseline permit alone doing so is caught
/// through an allowed case. Dropping only the `unknownParty` tests is not
/// enough to open it: a party not on record has every adverse fact.
fn ignoring_parties_not_on_record_is_caught() {
    let fcc = |text: &str| text.replacen(" ||\n   context.parties.unknownParty)", ")", 1);
    let only_unknown = |text: &str| text.replacen(" &&\n  !context.parties.unknownParty", "", 1);
    let baseline = |text: &str| {
        text.replacen(
            "!context.parties.ownershipUnresolved &&\n  !context.parties.unknownParty",
            "true",
            1,
        )
    };
    let (run, report) = mutate_weakened_packs(
        &[
            ("us-fcc-889/us-fcc-889.cedar", &fcc),
            ("baseline-procurement/baseline.cedar", &only_unknown),
        ],
        COVERED_PEER_CASE,
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report["mutations"]["failOpen"], serde_json::json!([]));

    let (run, report) = mutate_weakened_packs(
        &[
            ("us-fcc-889/us-fcc-889.cedar", &fcc),
            ("baseline-procurement/baseline.cedar", &baseline),
        ],
        COVERED_PEER_CASE,
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert!(
        opened[0]["mutation"]
            .as_str()
            .unwrap()
            .starts_with("unknown-party: /peer = "),
        "{opened:?}"
    );
    assert_eq!(
        opened[0]["deniedBy"],
        serde_json::json!(["us-fcc-889/no-subsidy-for-covered"])
    );

    // The baseline permit alone stops treating a party not on record as
    // adverse: no denied case shows it, but the allowed interconnect with
    // its peer swapped for one whose carrier is unknown does.
    let (run, report) = mutate_weakened_pack(
        "baseline-procurement/baseline.cedar",
        baseline,
        TRUSTED_PEER_CASE,
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(report["suite"]["failed"], 0, "the case itself still passes");
    let opened = report["mutations"]["failOpen"].as_array().unwrap();
    assert!(!opened.is_empty(), "{report}");
    assert!(
        opened
            .iter()
            .all(|o| o["mutation"].as_str().unwrap().ends_with("(allowed case)")),
        "{opened:?}"
    );
    // On the unchanged library the same allowed case holds.
    let (run, report) = mutate_weakened_pack(
        "baseline-procurement/baseline.cedar",
        |t| format!("{t}\n"),
        TRUSTED_PEER_CASE,
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report["mutations"]["failOpen"], serde_json::json!([]));
    assert_eq!(report["mutations"]["allowedCases"], 1);
}
