//! The decision log's unit tests: appending, reopening, cutting, masking.

use super::*;

fn entry(id: &str, allowed: bool) -> Entry {
    Entry {
        request_id: id.to_string(),
        kind: "placement".to_string(),
        request_sha256: sha256_hex(id.as_bytes()),
        request: Some(
            serde_json::json!({"equipment": {"vendor": "nokia", "softwareVersion": "1"}}),
        ),
        decision: LoggedDecision {
            allowed,
            determining: vec!["baseline/known-vendor".to_string()],
            failure: None,
        },
        evaluated_at: Some("2026-11-26T00:00:00Z".to_string()),
        what_if: false,
        bundle: Some(LoggedBundle {
            name: "lib".to_string(),
            revision: 3,
            sha256: "ab".repeat(32),
        }),
    }
}

fn log_with(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let log = DecisionLog::open(&path, Durability::Sync).unwrap();
    for i in 0..n {
        log.append(vec![entry(&format!("r{i}"), i % 2 == 0)])
            .unwrap();
    }
    (dir, path)
}

#[test]
fn an_untouched_log_verifies_and_records_chain() {
    let (_dir, path) = log_with(5);
    let bytes = std::fs::read(&path).unwrap();
    let report = verify(&bytes);
    assert_eq!(report.verified, 5);
    assert!(report.intact());
    assert_eq!(report.incomplete_tail_bytes, 0);
    let first: Record =
        serde_json::from_slice(bytes.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first.prev, GENESIS);
    assert_eq!(first.seq, 1);
}

#[test]
fn a_changed_removed_or_reordered_record_breaks_the_chain_where_it_happened() {
    let (_dir, path) = log_with(4);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // Record 2 says allowed where it said denied: record 3's prev no
    // longer matches.
    let changed = text.replacen(
        lines[1],
        &lines[1].replace("\"allowed\":false", "\"allowed\":true"),
        1,
    );
    assert_ne!(changed, text);
    let report = verify(changed.as_bytes());
    assert_eq!(report.verified, 2);
    assert_eq!(report.broken.as_ref().unwrap().line, 3);
    assert!(report.broken.unwrap().reason.contains("changed"));

    let removed = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]);
    let report = verify(removed.as_bytes());
    assert_eq!(report.verified, 1);
    assert_eq!(report.broken.unwrap().line, 2);

    let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]);
    assert_eq!(verify(swapped.as_bytes()).broken.unwrap().line, 2);

    let garbage = format!("{}\nnot json\n", lines[0]);
    let report = verify(garbage.as_bytes());
    assert!(
        report
            .broken
            .unwrap()
            .reason
            .contains("not a decision record")
    );
}

#[test]
fn a_write_cut_short_verifies_up_to_the_last_complete_record_and_reopening_continues_the_chain() {
    let (_dir, path) = log_with(3);
    let full = std::fs::read(&path).unwrap();
    // A crash mid-write: half of a fourth record.
    let (_d2, p2) = log_with(4);
    let four = std::fs::read(&p2).unwrap();
    let partial = &four[full.len()..full.len() + (four.len() - full.len()) / 2];
    let mut crashed = full.clone();
    crashed.extend_from_slice(partial);
    std::fs::write(&path, &crashed).unwrap();

    let report = verify(&crashed);
    assert!(report.intact());
    assert_eq!(report.verified, 3);
    assert_eq!(report.incomplete_tail_bytes, partial.len() as u64);

    let log = DecisionLog::open(&path, Durability::Sync).unwrap();
    assert_eq!(log.truncated_bytes(), partial.len() as u64);
    log.append(vec![entry("after-crash", true), entry("batch-2", false)])
        .unwrap();
    let report = verify(&std::fs::read(&path).unwrap());
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.verified, 5);
    assert_eq!(report.incomplete_tail_bytes, 0);
}

#[test]
fn a_log_whose_last_line_is_not_a_record_is_not_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, "{\"seq\": 1}\n").unwrap();
    let Err(error) = DecisionLog::open(&path, Durability::Write) else {
        panic!("opened a log with a bad last record");
    };
    assert!(error.to_string().contains("line 1"), "{error}");
}

#[test]
fn concurrent_appends_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let log = std::sync::Arc::new(DecisionLog::open(&path, Durability::Sync).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(vec![entry(&format!("t{t}-{i}"), true)]).unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let report = verify(&std::fs::read(&path).unwrap());
    assert_eq!(report.verified, 100);
    assert!(report.intact());
}

#[test]
fn masking_replaces_the_named_fields_only() {
    let mut value = serde_json::json!({
        "equipment": {"id": "gnb-1", "softwareVersion": "23.Q4", "components": ["a", "b"]},
        "site": {"id": "lon"},
        "batch": [{"site": {"id": "x"}}, {"site": {"id": "y"}}]
    });
    mask(
        &mut value,
        &[
            "/equipment/softwareVersion".to_string(),
            "/batch/*/site/id".to_string(),
            "/nothing/here".to_string(),
        ],
    );
    assert_eq!(value["equipment"]["softwareVersion"], "<masked>");
    assert_eq!(value["equipment"]["id"], "gnb-1");
    assert_eq!(value["site"]["id"], "lon");
    assert_eq!(value["batch"][1]["site"]["id"], "<masked>");
}
