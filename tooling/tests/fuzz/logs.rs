//! Decision logs: any change to a checkpointed log is caught, and so is
//! every cut of it.

use std::sync::OnceLock;

use proptest::prelude::*;
use slicegate::decision_log::{self, CheckpointSigner, DecisionLog, Durability, VerifyOptions};

use crate::support::{apply, config, mutation};

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn a_changed_checkpointed_log_never_verifies(m in mutation()) {
        let (bytes, options) = checkpointed_log();
        let changed = apply(bytes, &m);
        let report = decision_log::verify_with(&changed, options);
        if report.intact() && report.incomplete_tail_bytes == 0 {
            prop_assert_eq!(&changed, bytes, "a changed log verified: {:?}", report);
        }
        let _ = decision_log::verify(&changed);
    }
}

/// A log of 9 records with a checkpoint every 4 and one at the end, and
/// what verifies it.
fn checkpointed_log() -> &'static (Vec<u8>, VerifyOptions) {
    static LOG: OnceLock<(Vec<u8>, VerifyOptions)> = OnceLock::new();
    LOG.get_or_init(|| write_log(false))
}

/// The same log closed by its writer (a final checkpoint at the end).
fn closed_log() -> &'static (Vec<u8>, VerifyOptions) {
    static LOG: OnceLock<(Vec<u8>, VerifyOptions)> = OnceLock::new();
    LOG.get_or_init(|| write_log(true))
}

fn write_log(close: bool) -> (Vec<u8>, VerifyOptions) {
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let key = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let log = DecisionLog::open_with(
            &path,
            Durability::Write,
            Some(CheckpointSigner {
                key_id: "log".to_string(),
                key: key.clone(),
                every: 4,
            }),
        )
        .unwrap();
        for i in 0..9 {
            log.append(vec![decision_log::Entry {
                request_id: format!("r{i}"),
                kind: "placement".to_string(),
                request_sha256: decision_log::sha256_hex(&[i]),
                request: None,
                decision: decision_log::LoggedDecision {
                    allowed: i % 3 == 0,
                    determining: vec![],
                    failure: None,
                },
                evaluated_at: None,
                what_if: false,
                bundle: None,
            }])
            .unwrap();
        }
        if close {
            log.close().unwrap();
        } else {
            log.checkpoint().unwrap();
        }
        let side = decision_log::read_side(&decision_log::side_path(&path))
            .unwrap()
            .unwrap();
        (
            std::fs::read(&path).unwrap(),
            VerifyOptions {
                key: Some(key.verifying_key()),
                side: Some(side),
            },
        )
    }
}

/// Every cut of a checkpointed log, at every byte, is caught: a log cut
/// anywhere (a record boundary included) never verifies as whole.
#[test]
fn every_cut_of_a_checkpointed_log_is_caught() {
    let mut escaped = Vec::new();
    for (name, (bytes, options)) in [("running", checkpointed_log()), ("closed", closed_log())] {
        assert!(decision_log::verify_with(bytes, options).intact(), "{name}");
        for at in 0..bytes.len() {
            let report = decision_log::verify_with(&bytes[..at], options);
            if report.intact() && report.incomplete_tail_bytes == 0 {
                escaped.push((name, at, format!("{report:?}")));
            }
        }
    }
    assert!(escaped.is_empty(), "cuts that verified: {escaped:#?}");
}
