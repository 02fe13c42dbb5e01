//! Signed checkpoints: a cut or rewritten end of the log is caught.

use super::*;

fn entry(id: &str) -> Entry {
    Entry {
        request_id: id.to_string(),
        kind: "placement".to_string(),
        request_sha256: sha256_hex(id.as_bytes()),
        request: None,
        decision: LoggedDecision {
            allowed: false,
            determining: vec!["uk-hrv/out-of-core".to_string()],
            failure: None,
        },
        evaluated_at: None,
        what_if: false,
        bundle: None,
    }
}

fn key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[9u8; 32])
}

fn signer() -> CheckpointSigner {
    CheckpointSigner {
        key_id: "log-1".to_string(),
        key: key(),
        every: 3,
    }
}

/// A log of 7 records with a checkpoint every 3, closed at shutdown:
/// S r r r C r r r C r F (start, interval and final checkpoints).
fn anchored() -> (tempfile::TempDir, PathBuf, VerifyOptions) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let log = DecisionLog::open_with(&path, Durability::Sync, Some(signer())).unwrap();
    for i in 0..7 {
        log.append(vec![entry(&format!("r{i}"))]).unwrap();
    }
    assert!(log.close().unwrap(), "the final checkpoint");
    assert!(!log.checkpoint().unwrap(), "nothing new to anchor");
    let side = read_side(&side_path(&path)).unwrap().expect("a side file");
    let options = VerifyOptions {
        key: Some(key().verifying_key()),
        side: Some(side),
    };
    (dir, path, options)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn joined(lines: &[String]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect()
}

/// `lines` with `prev` recomputed down the chain (and `seq` renumbered).
fn rechained(lines: &[String]) -> Vec<String> {
    let mut prev = GENESIS.to_string();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["seq"] = (i as u64 + 1).into();
            value["prev"] = prev.clone().into();
            let text = serde_json::to_string(&value).unwrap();
            prev = sha256_hex(text.as_bytes());
            text
        })
        .collect()
}

/// Opens the log at `path`, with the log key when `signed`.
fn reopen(path: &Path, signed: bool) -> Result<DecisionLog, LogError> {
    DecisionLog::open_with(path, Durability::Sync, signed.then(signer))
}

/// A forged record (an allow) numbered `seq`, chained after `prev`.
fn forged_record(seq: usize, prev: &str) -> String {
    format!(
        "{{\"seq\":{seq},\"time\":\"2026-01-01T00:00:00Z\",\"requestId\":\"forged\",\"kind\":\"placement\",\"requestSha256\":\"{}\",\"decision\":{{\"allowed\":true,\"determining\":[]}},\"whatIf\":false,\"prev\":\"{prev}\"}}",
        "0".repeat(64)
    )
}

/// What a rewrite could make of the anchored log `all` while the service
/// is stopped, each named.
fn changes_while_stopped(all: &[String]) -> Vec<(&'static str, Vec<u8>)> {
    let mut changes: Vec<(&str, Vec<u8>)> = Vec::new();
    // Every record flipped to an allow, checkpoints dropped, the
    // chain recomputed: consistent on its own.
    let flipped: Vec<String> = all
        .iter()
        .filter(|l| !l.contains("\"checkpoint\""))
        .map(|l| l.replace("\"allowed\":false", "\"allowed\":true"))
        .collect();
    changes.push(("rewritten and re-chained", joined(&rechained(&flipped))));
    // Cut back to the first interval checkpoint (lines 1-5).
    changes.push(("cut back to an earlier checkpoint", joined(&all[..5])));
    // One record changed inside the anchored part.
    let mut one = all.to_vec();
    one[5] = one[5].replace("\"r3\"", "\"rX\"");
    // Forged records appended after the final checkpoint, chained.
    let mut appended = all.to_vec();
    let prev = sha256_hex(appended.last().unwrap().as_bytes());
    appended.push(forged_record(appended.len() + 1, &prev));
    changes.push((
        "a record appended after the final checkpoint",
        joined(&appended),
    ));
    // The final checkpoint deleted and a record appended in its place.
    let mut replaced: Vec<String> = all[..all.len() - 1].to_vec();
    let prev = sha256_hex(replaced.last().unwrap().as_bytes());
    replaced.push(forged_record(all.len(), &prev));
    changes.push((
        "the final checkpoint replaced by a record",
        joined(&replaced),
    ));
    changes.push(("one record changed", joined(&one)));
    // Emptied.
    changes.push(("emptied", Vec::new()));
    changes
}

/// Every change made while the service was stopped is refused at open
/// (with the key when `signed`, else without it), nothing appended or
/// signed over it; so is a deleted log; the untouched log reopens with its
/// key.
fn a_restart_refuses_every_change(signed: bool) {
    let (_dir, path, _) = anchored();
    let all = lines(&path);
    let side = side_path(&path);
    let original_side = std::fs::read(&side).unwrap();
    for (what, bytes) in changes_while_stopped(&all) {
        std::fs::write(&path, &bytes).unwrap();
        std::fs::write(&side, &original_side).unwrap();
        let Err(error) = reopen(&path, signed) else {
            panic!("signed {signed}: {what}: reopened");
        };
        assert!(
            matches!(error, LogError::Untrusted { .. }),
            "signed {signed}: {what}: {error}"
        );
        // Nothing was appended or signed over it.
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}");
        assert_eq!(std::fs::read(&side).unwrap(), original_side, "{what}");
    }
    // The log deleted, its side file left.
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        reopen(&path, signed),
        Err(LogError::Untrusted { .. })
    ));
    assert!(!path.exists(), "no empty log created in its place");
    // The untouched log reopens with its key (without it, a signed
    // log is not continued).
    std::fs::write(&path, joined(&all)).unwrap();
    match reopen(&path, signed) {
        Ok(log) => assert!(signed, "{}", log.path().display()),
        Err(error) => assert!(
            !signed && error.to_string().contains("continue it with its log key"),
            "{error}"
        ),
    }
}

/// A restart is where a rewrite would be laundered: the service would
/// sign a new checkpoint over whatever the file holds. Every change made
/// while it was stopped is refused at open, with the key and without
/// it; a stop before the last checkpoint (records after it) is not.
#[test]
fn a_restart_never_continues_or_signs_over_a_log_changed_while_stopped() {
    for signed in [true, false] {
        a_restart_refuses_every_change(signed);
    }
    // With the key, a log whose side file is gone is refused.
    let (_dir, path, _) = anchored();
    std::fs::remove_file(side_path(&path)).unwrap();
    assert!(matches!(
        reopen(&path, true),
        Err(LogError::Untrusted { .. })
    ));
    // Without the key, a log that carries signed checkpoints is not
    // continued.
    let (_dir, path, _) = anchored();
    assert!(matches!(
        reopen(&path, false),
        Err(LogError::Untrusted { .. })
    ));
    // A crash after records but before their checkpoint (the writer
    // never closed the log): reopened, the records reported and counted
    // in the signed start, which anchors them from then on.
    let (_dir, path, options) = anchored();
    {
        let log = reopen(&path, true).unwrap();
        log.append(vec![entry("late-1"), entry("late-2")]).unwrap();
    }
    let log = reopen(&path, true).unwrap();
    assert_eq!(log.resumed_unanchored(), 2);
    assert!(!log.checkpoint().unwrap(), "the start anchors them");
    drop(log);
    let side = read_side(&side_path(&path)).unwrap();
    let report = verify_with(
        &std::fs::read(&path).unwrap(),
        &VerifyOptions { side, ..options },
    );
    assert!(report.intact(), "{report:?}");
    assert_eq!((report.unanchored, report.adopted), (0, 2));
}

#[test]
fn one_log_has_one_writer() {
    let (_dir, path, _) = anchored();
    let first = DecisionLog::open_with(&path, Durability::Sync, Some(signer())).unwrap();
    let Err(second) = DecisionLog::open_with(&path, Durability::Sync, Some(signer())) else {
        panic!("a second writer opened the log");
    };
    assert!(matches!(second, LogError::Locked { .. }), "{second}");
    assert!(matches!(
        DecisionLog::open(&path, Durability::Write),
        Err(LogError::Locked { .. })
    ));
    drop(first);
    assert!(DecisionLog::open_with(&path, Durability::Write, Some(signer())).is_ok());
}

#[test]
fn checkpoints_anchor_the_chain_and_an_untouched_log_verifies() {
    let (_dir, path, options) = anchored();
    let all = lines(&path);
    // S r r r C r r r C r F
    assert_eq!(all.len(), 11);
    let report = verify_with(&joined(&all), &options);
    assert!(report.intact(), "{report:?}");
    assert_eq!(
        (
            report.records,
            report.checkpoints,
            report.unanchored,
            report.side_checked
        ),
        (7, 4, 0, true)
    );
    assert!(report.clean_stop);
    // Reopening continues after the final checkpoint with a start.
    let log = DecisionLog::open_with(&path, Durability::Sync, Some(signer())).unwrap();
    log.append(vec![entry("after")]).unwrap();
    let side = read_side(&side_path(&path)).unwrap();
    let report = verify_with(
        &std::fs::read(&path).unwrap(),
        &VerifyOptions { side, ..options },
    );
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.unanchored, 1, "the record after the last checkpoint");
    assert!(!report.clean_stop);
}

#[test]
fn a_cut_end_a_changed_last_record_and_a_rewritten_rechained_log_are_caught() {
    let (_dir, path, options) = anchored();
    let all = lines(&path);

    // The last records deleted (the chain alone still verifies).
    let cut = joined(&all[..7]);
    assert!(verify(&cut).intact(), "the chain alone cannot tell");
    let report = verify_with(&cut, &options);
    assert!(report.broken.unwrap().reason.contains("cut from its end"));

    // The last record changed (here the final checkpoint covers it).
    let mut changed = all.clone();
    changed[9] = changed[9].replace("\"allowed\":false", "\"allowed\":true");
    assert_ne!(changed, all);
    assert!(!verify_with(&joined(&changed), &options).intact());

    // A record rewritten and every later line re-chained, checkpoints
    // kept: their heads no longer match.
    let rechain = |lines: &[String]| -> Vec<String> {
        let mut prev = GENESIS.to_string();
        lines
            .iter()
            .map(|line| {
                let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["prev"] = prev.clone().into();
                let text = serde_json::to_string(&value).unwrap();
                prev = sha256_hex(text.as_bytes());
                text
            })
            .collect()
    };
    let mut rewritten = all.clone();
    rewritten[1] = rewritten[1].replace("\"allowed\":false", "\"allowed\":true");
    let rewritten = rechain(&rewritten);
    assert!(
        verify(&joined(&rewritten))
            .broken
            .is_some_and(|b| b.line == 5)
    );
    // The same with the checkpoint lines dropped and the rest renumbered:
    // the chain verifies, the side file's checkpoint does not.
    let mut stripped: Vec<String> = all
        .iter()
        .filter(|l| !l.contains("\"checkpoint\""))
        .cloned()
        .collect();
    stripped[1] = stripped[1].replace("\"allowed\":false", "\"allowed\":true");
    let stripped: Vec<String> = stripped
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["seq"] = (i as u64 + 1).into();
            serde_json::to_string(&value).unwrap()
        })
        .collect();
    let stripped = rechain(&stripped);
    assert!(verify(&joined(&stripped)).intact(), "a consistent chain");
    let report = verify_with(&joined(&stripped), &options);
    assert!(!report.intact(), "{report:?}");

    // A checkpoint signed by another key.
    let stranger = VerifyOptions {
        key: Some(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key()),
        side: None,
    };
    let report = verify_with(&joined(&all), &stranger);
    assert!(
        report
            .broken
            .unwrap()
            .reason
            .contains("not signed by the log key")
    );
}

/// A closed log takes nothing more: a second close writes no second final
/// checkpoint, a checkpoint nothing, and an append is refused (a record
/// after the final checkpoint would make the log fail verification).
#[test]
fn a_closed_log_takes_no_more_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    let log = DecisionLog::open_with(&path, Durability::Sync, Some(signer())).unwrap();
    log.append(vec![entry("r0")]).unwrap();
    assert!(log.close().unwrap());
    let closed = lines(&path);
    assert!(!log.close().unwrap(), "closed twice");
    assert!(!log.checkpoint().unwrap());
    assert!(matches!(
        log.append(vec![entry("r1")]),
        Err(LogError::Closed { .. })
    ));
    assert_eq!(lines(&path), closed);
    drop(log);
    let side = read_side(&side_path(&path)).unwrap();
    let options = VerifyOptions {
        key: Some(key().verifying_key()),
        side,
    };
    let report = verify_with(&std::fs::read(&path).unwrap(), &options);
    assert!(report.intact(), "{report:?}");
    assert_eq!((report.records, report.unanchored), (1, 0));
}
