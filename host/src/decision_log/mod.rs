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
mod file;
mod mask;
mod stream;
mod types;
mod verify;

pub use checkpoint::{
    Checkpoint, CheckpointLine, CheckpointSigner, Event, read_side, side_path, write_side,
};
pub use mask::mask;
pub use types::{Durability, Entry, LogError, LoggedBundle, LoggedDecision, Record};
pub use verify::{Broken, LogReport, VerifyOptions, verify, verify_with};

use file::{count_lines, last_complete_line, lock_exclusive};

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

struct Tail {
    file: File,
    seq: u64,
    prev: String,
    written: u64,
    /// Lines written since the last checkpoint.
    since_checkpoint: u64,
    /// A final checkpoint was written: nothing more may follow it.
    closed: bool,
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
    /// Written to a stream: nothing to sync, no side file.
    stream: bool,
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
        let io = |e: std::io::Error| io_error_at(path, e);
        let side_file = side_path(path);
        let side = read_side(&side_file).map_err(|m| untrusted(path, m))?;
        if side.is_some() && !path.exists() {
            return Err(untrusted(
                path,
                format!(
                    "it is missing, but its side file {} names a signed checkpoint: the log was \
                     deleted or moved",
                    side_file.display()
                ),
            ));
        }
        let mut file = open_locked(path)?;
        let (last_line, complete_len) = last_complete_line(&mut file).map_err(io)?;
        let resumed_unanchored = check_past(path, &mut file, signer.as_ref(), side.as_ref())?;
        let truncated_bytes = cut_incomplete_tail(path, &file, complete_len)?;
        let (seq, prev, since_checkpoint) = chain_end(path, &mut file, last_line, complete_len)?;
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
                closed: false,
            }),
            synced: Mutex::new((0, sync_handle)),
            truncated_bytes,
            signer,
            side_lines: Mutex::new(side.map(|c| c.lines)),
            resumed_unanchored,
            stream: false,
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
    /// shutdown; the log is not written to afterwards. Closing twice writes
    /// one final checkpoint.
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
            if tail.closed || (tail.since_checkpoint == 0 && !always) {
                return Ok(false);
            }
            let (line, checkpoint) = checkpoint_line(&tail, signer, event, adopted)?;
            tail.file.write_all(&line).map_err(io)?;
            tail.seq += 1;
            tail.prev = sha256_hex(&line[..line.len() - 1]);
            tail.since_checkpoint = 0;
            tail.written += 1;
            tail.closed = event == Event::Final;
            checkpoint
        };
        if !self.stream {
            self.synced
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .1
                .sync_data()
                .map_err(io)?;
            self.publish(&made)?;
        }
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
            if tail.closed {
                return Err(LogError::Closed {
                    path: self.path.display().to_string(),
                });
            }
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
        if !self.stream && (self.durability == Durability::Sync || made.is_some()) {
            let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            if synced.0 < mine {
                // Everything written so far is covered by this sync.
                let upto = self.tail.lock().unwrap_or_else(|p| p.into_inner()).written;
                synced.1.sync_data().map_err(io)?;
                synced.0 = upto;
            }
        }
        // The side file names only what is on disk.
        if let Some(checkpoint) = made.filter(|_| !self.stream) {
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

/// An I/O error on the log at `path`.
fn io_error_at(path: &Path, e: std::io::Error) -> LogError {
    LogError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The log at `path` cannot be continued: `message` says why.
fn untrusted(path: &Path, message: String) -> LogError {
    LogError::Untrusted {
        path: path.display().to_string(),
        message,
    }
}

/// Opens (or creates) the log file at `path` for reading and appending,
/// locked against a second writer ([`LogError::Locked`]).
fn open_locked(path: &Path) -> Result<File, LogError> {
    let io = |e: std::io::Error| io_error_at(path, e);
    let file = OpenOptions::new()
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
    Ok(file)
}

/// The past, checked before anything is added to it: the whole log in
/// `file` verified as `slicegate log verify` would (with the log key of
/// `signer`, against the side file's checkpoint `side`), and refused when
/// it does not verify, carries checkpoints no key checks, or (with a
/// signer) has lines but no side file. Returns the records after the last
/// checkpoint, which a signer adopts (0 without one).
fn check_past(
    path: &Path,
    file: &mut File,
    signer: Option<&CheckpointSigner>,
    side: Option<&Checkpoint>,
) -> Result<u64, LogError> {
    let io = |e: std::io::Error| io_error_at(path, e);
    let mut existing = Vec::new();
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.read_to_end(&mut existing).map_err(io)?;
    let report = verify_with(
        &existing,
        &VerifyOptions {
            key: signer.map(|s| s.key.verifying_key()),
            side: side.cloned(),
        },
    );
    if let Some(broken) = &report.broken {
        return Err(untrusted(
            path,
            format!("line {}: {}", broken.line, broken.reason),
        ));
    }
    if signer.is_none() && report.unchecked_checkpoints > 0 {
        return Err(untrusted(
            path,
            "it carries signed checkpoints: continue it with its log key (--log-key), so \
             that its past is checked and its future anchored"
                .to_string(),
        ));
    }
    if signer.is_some() && report.verified > 0 && side.is_none() {
        return Err(untrusted(
            path,
            format!(
                "it has {} line(s) but no signed checkpoint beside it ({}): its end cannot be \
                 vouched for (if it was never checkpointed, start a new log)",
                report.verified,
                side_path(path).display()
            ),
        ));
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
    Ok(resumed_unanchored)
}

/// Cuts off an incomplete last line (a write cut short by a crash) after
/// the first `complete_len` bytes of `file`; returns the bytes cut.
fn cut_incomplete_tail(path: &Path, file: &File, complete_len: u64) -> Result<u64, LogError> {
    let io = |e: std::io::Error| io_error_at(path, e);
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
    Ok(truncated_bytes)
}

/// Where the chain continues from the log's last complete line: its
/// sequence number, its hash, and the lines since the last checkpoint (1
/// after a record, else 0).
fn chain_end(
    path: &Path,
    file: &mut File,
    last_line: Option<Vec<u8>>,
    complete_len: u64,
) -> Result<(u64, String, u64), LogError> {
    Ok(match last_line {
        None => (0, GENESIS.to_string(), 0),
        Some(line) => match parse_line(&line) {
            Ok(Line::Record(record)) => (record.seq, sha256_hex(&line), 1),
            Ok(Line::Checkpoint(checkpoint)) => (checkpoint.seq, sha256_hex(&line), 0),
            Err(e) => {
                return Err(LogError::BadTail {
                    path: path.display().to_string(),
                    line: count_lines(file, complete_len).map_err(|e| io_error_at(path, e))?,
                    message: e.to_string(),
                });
            }
        },
    })
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

pub use crate::digest::sha256_hex;

fn now_rfc3339_micros() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod checkpoint_tests;
