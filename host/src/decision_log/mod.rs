//! The decision log: JSON Lines, one record per decision, each record
//! carrying the hash of the one before it, so that a record removed, changed
//! or reordered breaks the chain at a place [`verify`] names.
//!
//! A record is written with one `write` call and, in the default
//! [`Durability::Sync`] mode, made durable (`fdatasync`) before
//! [`DecisionLog::append`] returns, so an answer is never given for a
//! decision the log could lose. Concurrent appends share one sync (group
//! commit). A process killed mid-write leaves at most one incomplete last
//! line: [`verify`] checks everything before it and reports the tail, and
//! [`DecisionLog::open`] cuts the tail off before appending again.
//!
//! With a log key ([`DecisionLog::open_with`]) the log also carries
//! signed checkpoints ([`Checkpoint`]) that anchor the chain, so that
//! cutting or rewriting its end is detected too. What the log proves, and
//! what it cannot, is in the README's decision-log section.

mod checkpoint;
mod mask;
mod verify;

pub use checkpoint::{
    Checkpoint, CheckpointLine, CheckpointSigner, Event, read_side, side_path, write_side,
};
pub use mask::mask;
pub use verify::{Broken, LogReport, VerifyOptions, verify, verify_with};

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Takes the log file's exclusive lock without waiting (`flock`): held
/// until the file is closed, so one process writes a log at a time.
#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(std::io::Error::from)
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bundle that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggedBundle {
    /// The bundle's name.
    pub name: String,
    /// Its revision.
    pub revision: u64,
    /// sha256 of its signed content.
    pub sha256: String,
}

/// What was decided, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggedDecision {
    /// Allowed or not.
    pub allowed: bool,
    /// The policy ids that determined it.
    pub determining: Vec<String>,
    /// Why it was denied other than by a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One decision, as the caller hands it to the log. The log adds the
/// sequence number, the time and the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// The caller's request id (with `#n` for the n-th request of a batch).
    pub request_id: String,
    /// `placement`, `plan`, `sol003-grant`.
    pub kind: String,
    /// sha256 of the request as received (before masking), hex.
    pub request_sha256: String,
    /// The request, with masked fields replaced; absent if not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
    /// The decision.
    pub decision: LoggedDecision,
    /// The evaluation time, and whether it was a caller's what-if time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<String>,
    /// True when the caller set the evaluation time.
    #[serde(default)]
    pub what_if: bool,
    /// The bundle that decided; absent when none was loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<LoggedBundle>,
}

/// A record as it is written: the entry, its place in the log and the hash
/// of the previous record's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// 1 for the first record, then one more per record.
    pub seq: u64,
    /// When it was logged (RFC 3339, microseconds, UTC).
    pub time: String,
    /// The decision.
    #[serde(flatten)]
    pub entry: Entry,
    /// sha256 (hex) of the previous record's line, without its newline;
    /// [`GENESIS`] for the first.
    pub prev: String,
}

/// How hard an append works to survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fdatasync` before `append` returns: survives a power loss.
    #[default]
    Sync,
    /// Written to the operating system only: survives the process being
    /// killed, not the machine losing power.
    Write,
}

/// Errors of the decision log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O error, with the file.
    #[error("decision log {path}: {message}")]
    Io {
        /// The log file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The existing log (or its side file) does not verify: the service
    /// does not append to, nor sign over, a log whose past it cannot vouch
    /// for.
    #[error(
        "decision log {path} does not verify: {message}. Nothing was appended: check it with \
         `slicegate log verify`, keep it as evidence, and start a new log"
    )]
    Untrusted {
        /// The log file.
        path: String,
        /// What failed.
        message: String,
    },
    /// Another process holds the log.
    #[error(
        "decision log {path} is being written by another process (it holds the file's lock): \
         two writers would fork the chain"
    )]
    Locked {
        /// The log file.
        path: String,
    },
    /// The existing log does not end in a well-formed record.
    #[error(
        "decision log {path}: the last complete record (line {line}) is not a record: {message}"
    )]
    BadTail {
        /// The log file.
        path: String,
        /// Its line.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

struct Tail {
    file: File,
    seq: u64,
    prev: String,
    written: u64,
    /// Lines written since the last checkpoint.
    since_checkpoint: u64,
}

/// An append-only, hash-chained decision log.
pub struct DecisionLog {
    path: PathBuf,
    durability: Durability,
    tail: Mutex<Tail>,
    /// The highest `written` count made durable, and the file handle syncs
    /// use (so a sync does not hold the append lock).
    synced: Mutex<(u64, File)>,
    truncated_bytes: u64,
    /// The log key, when checkpoints are made.
    signer: Option<CheckpointSigner>,
    /// The lines the side file's checkpoint covers (so a slower writer
    /// never replaces a newer one).
    side_lines: Mutex<Option<u64>>,
    /// Records found after the last checkpoint when the log was opened.
    resumed_unanchored: u64,
}

impl DecisionLog {
    /// Opens (or creates) the log at `path`, without checkpoints (see
    /// [`Self::open_with`]).
    pub fn open(path: &Path, durability: Durability) -> Result<Self, LogError> {
        Self::open_with(path, durability, None)
    }

    /// Opens (or creates) the log at `path`, signing checkpoints with
    /// `signer` when given: every `signer.every` lines, and whenever
    /// [`Self::checkpoint`] is called (at an interval and at shutdown), each
    /// written into the log and to its side file ([`side_path`]).
    ///
    /// Before anything is appended the existing log is checked as `slicegate
    /// log verify` would — the chain, every checkpoint (signed by the log
    /// key, with a signer), and the side file's checkpoint, which the log
    /// must reach with that line's hash — so a restart never continues, nor
    /// signs over, a log that was cut, rewritten or deleted while the
    /// service was down ([`LogError::Untrusted`]). With a signer, a log with
    /// lines but no side file is refused too. The file is locked for the
    /// life of the log: a second writer is refused ([`LogError::Locked`]).
    /// An incomplete last line left by a crash is cut off (and counted in
    /// [`Self::truncated_bytes`]); the chain continues from the last
    /// complete record.
    pub fn open_with(
        path: &Path,
        durability: Durability,
        signer: Option<CheckpointSigner>,
    ) -> Result<Self, LogError> {
        let io = |e: std::io::Error| LogError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let untrusted = |message: String| LogError::Untrusted {
            path: path.display().to_string(),
            message,
        };
        let side_file = side_path(path);
        let side = read_side(&side_file).map_err(untrusted)?;
        if side.is_some() && !path.exists() {
            return Err(untrusted(format!(
                "it is missing, but its side file {} names a signed checkpoint: the log was \
                 deleted or moved",
                side_file.display()
            )));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        lock_exclusive(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => LogError::Locked {
                path: path.display().to_string(),
            },
            _ => io(e),
        })?;
        let (last_line, complete_len) = last_complete_line(&mut file).map_err(io)?;
        // The past, checked before anything is added to it.
        let mut existing = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_to_end(&mut existing).map_err(io)?;
        let report = verify_with(
            &existing,
            &VerifyOptions {
                key: signer.as_ref().map(|s| s.key.verifying_key()),
                side: side.clone(),
            },
        );
        if let Some(broken) = &report.broken {
            return Err(untrusted(format!(
                "line {}: {}",
                broken.line, broken.reason
            )));
        }
        if signer.is_none() && report.unchecked_checkpoints > 0 {
            return Err(untrusted(
                "it carries signed checkpoints: continue it with its log key (--log-key), so \
                 that its past is checked and its future anchored"
                    .to_string(),
            ));
        }
        if signer.is_some() && report.verified > 0 && side.is_none() {
            return Err(untrusted(format!(
                "it has {} line(s) but no signed checkpoint beside it ({}): its end cannot be \
                 vouched for (if it was never checkpointed, start a new log)",
                report.verified,
                side_file.display()
            )));
        }
        let resumed_unanchored = if signer.is_some() {
            report.unanchored
        } else {
            0
        };
        if resumed_unanchored > 0 {
            tracing::warn!(
                log = %path.display(), records = resumed_unanchored,
                "decision log: records after the last checkpoint (a crash before it was \
                 written); the next checkpoint covers them"
            );
        }
        let len = file.metadata().map_err(io)?.len();
        let truncated_bytes = len - complete_len;
        if truncated_bytes > 0 {
            tracing::warn!(
                log = %path.display(), bytes = truncated_bytes,
                "decision log ends in an incomplete record (a write cut short); cutting it off"
            );
            file.set_len(complete_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let (seq, prev, since_checkpoint) = match last_line {
            None => (0, GENESIS.to_string(), 0),
            Some(line) => match parse_line(&line) {
                Ok(Line::Record(record)) => (record.seq, sha256_hex(&line), 1),
                Ok(Line::Checkpoint(checkpoint)) => (checkpoint.seq, sha256_hex(&line), 0),
                Err(e) => {
                    return Err(LogError::BadTail {
                        path: path.display().to_string(),
                        line: count_lines(&mut file, complete_len).map_err(io)?,
                        message: e.to_string(),
                    });
                }
            },
        };
        let sync_handle = file.try_clone().map_err(io)?;
        let log = DecisionLog {
            path: path.to_path_buf(),
            durability,
            tail: Mutex::new(Tail {
                file,
                seq,
                prev,
                written: 0,
                since_checkpoint,
            }),
            synced: Mutex::new((0, sync_handle)),
            truncated_bytes,
            signer,
            side_lines: Mutex::new(side.map(|c| c.lines)),
            resumed_unanchored,
        };
        // A signed start: where this writer took the log up, and how many
        // records it found after the last checkpoint (a crash's, adopted
        // as they are).
        log.write_checkpoint(Event::Start, resumed_unanchored, true)?;
        Ok(log)
    }

    /// Records found after the last checkpoint when the log was opened
    /// (written before a crash): only hash-chained until the next
    /// checkpoint covers them.
    pub fn resumed_unanchored(&self) -> u64 {
        self.resumed_unanchored
    }

    /// Writes a checkpoint now if lines were written since the last one
    /// (and a log key is set); returns whether one was written.
    pub fn checkpoint(&self) -> Result<bool, LogError> {
        self.write_checkpoint(Event::Interval, 0, false)
    }

    /// Closes the log cleanly: a final checkpoint (with a log key), after
    /// which nothing may follow but the next writer's start. Call it at
    /// shutdown; the log is not written to afterwards.
    pub fn close(&self) -> Result<bool, LogError> {
        self.write_checkpoint(Event::Final, 0, true)
    }

    /// Writes a checkpoint for `event` (when there is something new to
    /// anchor, or `always`).
    fn write_checkpoint(&self, event: Event, adopted: u64, always: bool) -> Result<bool, LogError> {
        let Some(signer) = &self.signer else {
            return Ok(false);
        };
        let io = |e: std::io::Error| self.io_error(e);
        let made = {
            let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
            if tail.since_checkpoint == 0 && !always {
                return Ok(false);
            }
            let (line, checkpoint) = checkpoint_line(&tail, signer, event, adopted)?;
            tail.file.write_all(&line).map_err(io)?;
            tail.seq += 1;
            tail.prev = sha256_hex(&line[..line.len() - 1]);
            tail.since_checkpoint = 0;
            tail.written += 1;
            checkpoint
        };
        self.synced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .sync_data()
            .map_err(io)?;
        self.publish(&made)?;
        Ok(true)
    }

    fn io_error(&self, e: std::io::Error) -> LogError {
        LogError::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Writes `checkpoint` to the side file unless a newer one is there.
    fn publish(&self, checkpoint: &Checkpoint) -> Result<(), LogError> {
        let mut side = self.side_lines.lock().unwrap_or_else(|p| p.into_inner());
        if side.is_none_or(|lines| checkpoint.lines > lines) {
            write_side(&side_path(&self.path), checkpoint).map_err(|e| self.io_error(e))?;
            *side = Some(checkpoint.lines);
        }
        Ok(())
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of an incomplete last record cut off at open.
    pub fn truncated_bytes(&self) -> u64 {
        self.truncated_bytes
    }

    /// Appends `entries` in order, each as one line chained to the one
    /// before; returns once they are as durable as the log's
    /// [`Durability`] promises.
    pub fn append(&self, entries: Vec<Entry>) -> Result<(), LogError> {
        if entries.is_empty() {
            return Ok(());
        }
        let io = |e: std::io::Error| LogError::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        };
        let (mine, made) = {
            let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
            let mut text = Vec::new();
            let (mut seq, mut prev) = (tail.seq, tail.prev.clone());
            let count = entries.len() as u64;
            for entry in entries {
                seq += 1;
                let record = Record {
                    seq,
                    time: now_rfc3339_micros(),
                    entry,
                    prev,
                };
                let line = serde_json::to_vec(&record).map_err(|e| LogError::Io {
                    path: self.path.display().to_string(),
                    message: format!("serialising record {seq}: {e}"),
                })?;
                prev = sha256_hex(&line);
                text.extend_from_slice(&line);
                text.push(b'\n');
            }
            tail.seq = seq;
            tail.prev = prev;
            tail.since_checkpoint += count;
            // Every `every` lines, a signed checkpoint after them, in the
            // same write.
            let mut made = None;
            if let Some(signer) = &self.signer
                && tail.since_checkpoint >= signer.every.max(1)
            {
                let (line, checkpoint) = checkpoint_line(&tail, signer, Event::Interval, 0)?;
                tail.seq += 1;
                tail.prev = sha256_hex(&line[..line.len() - 1]);
                tail.since_checkpoint = 0;
                text.extend_from_slice(&line);
                made = Some(checkpoint);
            }
            // One write per append: a crash leaves whole records and at most
            // one incomplete line, never interleaved ones.
            tail.file.write_all(&text).map_err(io)?;
            tail.written += 1;
            (tail.written, made)
        };
        if self.durability == Durability::Sync || made.is_some() {
            let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            if synced.0 < mine {
                // Everything written so far is covered by this sync.
                let upto = self.tail.lock().unwrap_or_else(|p| p.into_inner()).written;
                synced.1.sync_data().map_err(io)?;
                synced.0 = upto;
            }
        }
        // The side file names only what is on disk.
        if let Some(checkpoint) = made {
            self.publish(&checkpoint)?;
        }
        Ok(())
    }
}

/// A checkpoint of everything `tail` holds, as its log line (with the
/// newline).
fn checkpoint_line(
    tail: &Tail,
    signer: &CheckpointSigner,
    event: Event,
    adopted: u64,
) -> Result<(Vec<u8>, Checkpoint), LogError> {
    let checkpoint = Checkpoint::sign_event(
        tail.seq,
        &tail.prev,
        &signer.key_id,
        &signer.key,
        event,
        adopted,
    );
    let line = CheckpointLine {
        seq: tail.seq + 1,
        checkpoint: checkpoint.clone(),
        prev: tail.prev.clone(),
    };
    let mut bytes = serde_json::to_vec(&line).map_err(|e| LogError::Io {
        path: String::new(),
        message: format!("serialising a checkpoint: {e}"),
    })?;
    bytes.push(b'\n');
    Ok((bytes, checkpoint))
}

/// One line of the log.
pub(crate) enum Line {
    /// A decision.
    Record(Box<Record>),
    /// A signed checkpoint.
    Checkpoint(CheckpointLine),
}

/// Parses one line: a checkpoint when it has a `checkpoint` member, else a
/// record.
pub(crate) fn parse_line(line: &[u8]) -> Result<Line, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(line)?;
    if value.get("checkpoint").is_some() {
        serde_json::from_value(value).map(Line::Checkpoint)
    } else {
        serde_json::from_value(value).map(|r| Line::Record(Box::new(r)))
    }
}

/// The last complete line of `file` (without its newline) and the length
/// of the file up to and including that line's newline. Reads backwards
/// from the end, so opening a long log does not read it all.
fn last_complete_line(file: &mut File) -> std::io::Result<(Option<Vec<u8>>, u64)> {
    let len = file.metadata()?.len();
    let complete_len = after_last_newline(file, len)?;
    if complete_len == 0 {
        return Ok((None, 0));
    }
    let line_start = after_last_newline(file, complete_len - 1)?;
    let mut line = vec![0u8; (complete_len - 1 - line_start) as usize];
    file.seek(SeekFrom::Start(line_start))?;
    file.read_exact(&mut line)?;
    file.seek(SeekFrom::End(0))?;
    Ok((Some(line), complete_len))
}

/// The position just after the last newline before `end` (0 if none),
/// reading backwards in blocks.
fn after_last_newline(file: &mut File, mut end: u64) -> std::io::Result<u64> {
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let size = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..size])?;
        if let Some(i) = block[..size].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Newlines in the first `upto` bytes of `file`: the line number of the
/// record ending there, for messages only (read only when one is needed).
fn count_lines(file: &mut File, upto: u64) -> std::io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut lines = 0;
    let mut block = vec![0u8; 64 * 1024];
    let mut left = upto;
    while left > 0 {
        let size = left.min(block.len() as u64) as usize;
        file.read_exact(&mut block[..size])?;
        lines += block[..size].iter().filter(|&&b| b == b'\n').count() as u64;
        left -= size as u64;
    }
    file.seek(SeekFrom::End(0))?;
    Ok(lines)
}

/// sha256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn now_rfc3339_micros() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
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
    fn a_write_cut_short_verifies_up_to_the_last_complete_record_and_reopening_continues_the_chain()
    {
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
}

#[cfg(test)]
mod checkpoint_tests {
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

    /// A restart is where a rewrite would be laundered: the service would
    /// sign a new checkpoint over whatever the file holds. Every change made
    /// while it was stopped is refused at open, with the key and without
    /// it; a stop before the last checkpoint (records after it) is not.
    #[test]
    fn a_restart_never_continues_or_signs_over_a_log_changed_while_stopped() {
        let open = |path: &Path, signed: bool| {
            DecisionLog::open_with(path, Durability::Sync, signed.then(signer))
        };
        for signed in [true, false] {
            let (_dir, path, _) = anchored();
            let all = lines(&path);
            let side = side_path(&path);
            let original_side = std::fs::read(&side).unwrap();
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
            let mut one = all.clone();
            one[5] = one[5].replace("\"r3\"", "\"rX\"");
            // Forged records appended after the final checkpoint, chained.
            let mut appended = all.clone();
            let forged = appended.len() as u64 + 1;
            let prev = sha256_hex(appended.last().unwrap().as_bytes());
            appended.push(format!(
                "{{\"seq\":{forged},\"time\":\"2026-01-01T00:00:00Z\",\"requestId\":\"forged\",\"kind\":\"placement\",\"requestSha256\":\"{}\",\"decision\":{{\"allowed\":true,\"determining\":[]}},\"whatIf\":false,\"prev\":\"{prev}\"}}",
                "0".repeat(64)
            ));
            changes.push((
                "a record appended after the final checkpoint",
                joined(&appended),
            ));
            // The final checkpoint deleted and a record appended in its place.
            let mut replaced: Vec<String> = all[..all.len() - 1].to_vec();
            let prev = sha256_hex(replaced.last().unwrap().as_bytes());
            replaced.push(format!(
                "{{\"seq\":{},\"time\":\"2026-01-01T00:00:00Z\",\"requestId\":\"forged\",\"kind\":\"placement\",\"requestSha256\":\"{}\",\"decision\":{{\"allowed\":true,\"determining\":[]}},\"whatIf\":false,\"prev\":\"{prev}\"}}",
                all.len(),
                "0".repeat(64)
            ));
            changes.push((
                "the final checkpoint replaced by a record",
                joined(&replaced),
            ));
            changes.push(("one record changed", joined(&one)));
            // Emptied.
            changes.push(("emptied", Vec::new()));
            for (what, bytes) in changes {
                std::fs::write(&path, &bytes).unwrap();
                std::fs::write(&side, &original_side).unwrap();
                let Err(error) = open(&path, signed) else {
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
                open(&path, signed),
                Err(LogError::Untrusted { .. })
            ));
            assert!(!path.exists(), "no empty log created in its place");
            // The untouched log reopens with its key (without it, a signed
            // log is not continued).
            std::fs::write(&path, joined(&all)).unwrap();
            match open(&path, signed) {
                Ok(log) => assert!(signed, "{}", log.path().display()),
                Err(error) => assert!(
                    !signed && error.to_string().contains("continue it with its log key"),
                    "{error}"
                ),
            }
        }
        // With the key, a log whose side file is gone is refused.
        let (_dir, path, _) = anchored();
        std::fs::remove_file(side_path(&path)).unwrap();
        assert!(matches!(open(&path, true), Err(LogError::Untrusted { .. })));
        // Without the key, a log that carries signed checkpoints is not
        // continued.
        let (_dir, path, _) = anchored();
        assert!(matches!(
            open(&path, false),
            Err(LogError::Untrusted { .. })
        ));
        // A crash after records but before their checkpoint (the writer
        // never closed the log): reopened, the records reported and counted
        // in the signed start, which anchors them from then on.
        let (_dir, path, options) = anchored();
        {
            let log = open(&path, true).unwrap();
            log.append(vec![entry("late-1"), entry("late-2")]).unwrap();
        }
        let log = open(&path, true).unwrap();
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
}
