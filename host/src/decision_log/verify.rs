//! Checking a decision log: the chain, every checkpoint in it, and the
//! latest checkpoint beside it.

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use super::checkpoint::{Checkpoint, Event};
use super::{GENESIS, Line, parse_line, sha256_hex};

/// What to check besides the chain.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The log key: every checkpoint must be signed by it.
    pub key: Option<VerifyingKey>,
    /// The latest checkpoint, from the side file: the log must reach it and
    /// end there as it says.
    pub side: Option<Checkpoint>,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogReport {
    /// Complete lines (records and checkpoints) that verified, in a row
    /// from the first.
    pub verified: u64,
    /// Decision records among them.
    pub records: u64,
    /// Checkpoints among them whose signature was checked with the key.
    pub checkpoints: u64,
    /// Checkpoints whose signature was not checked (no key given).
    pub unchecked_checkpoints: u64,
    /// Lines after the last checked checkpoint: their place in the log is
    /// not anchored by a signature (the service writes the next checkpoint
    /// after them, or at shutdown).
    pub unanchored: u64,
    /// Whether the side file's checkpoint was checked against the log.
    pub side_checked: bool,
    /// Records that writers' start checkpoints say they found after the
    /// last checkpoint and continued from (written before a crash, so only
    /// hash-chained).
    pub adopted: u64,
    /// The log ends with a writer's final checkpoint (a clean stop).
    pub clean_stop: bool,
    /// The first broken line, if the chain breaks or a checkpoint fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken: Option<Broken>,
    /// Bytes of an incomplete last line (a write cut short by a crash, or
    /// a cut), not counted as a line.
    pub incomplete_tail_bytes: u64,
}

/// Where and why the log fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Broken {
    /// The line (1-based).
    pub line: u64,
    /// Why.
    pub reason: String,
}

impl LogReport {
    /// The chain, and every checkpoint checked, are intact.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks the chain of the log in `bytes` alone (see [`verify_with`]).
pub fn verify(bytes: &[u8]) -> LogReport {
    verify_with(bytes, &VerifyOptions::default())
}

/// Checks the log in `bytes`: every complete line is a record or a
/// checkpoint, numbered one after the other from 1, whose `prev` is the
/// hash of the line before; every checkpoint covers exactly the lines before
/// it and (with a key) is signed by the log key; and the side file's
/// checkpoint (if given) is signed and names a line the log has, with that
/// line's hash. Stops at the first failure.
pub fn verify_with(bytes: &[u8], options: &VerifyOptions) -> LogReport {
    let (complete, tail) = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => (&bytes[..=i], bytes.len() - i - 1),
        None => (&bytes[..0], bytes.len()),
    };
    let mut walk = Walk::new(options, tail as u64);
    let lines = complete
        .split(|&b| b == b'\n')
        .take(complete.iter().filter(|&&b| b == b'\n').count());
    for (index, line) in lines.enumerate() {
        if let Err(broken) = walk.line(index as u64 + 1, line) {
            walk.report.broken = Some(broken);
            return walk.report;
        }
    }
    walk.finish()
}

/// A walk down the log's complete lines, checking each against the ones
/// before it.
struct Walk<'a> {
    /// What to check besides the chain.
    options: &'a VerifyOptions,
    /// What was found so far.
    report: LogReport,
    /// The hash of each line, for the side file's check.
    hashes: Vec<String>,
    /// The last line was a final checkpoint: only a start may follow.
    closed: bool,
    /// The last line, when it is a checkpoint.
    last_checkpoint: Option<Checkpoint>,
    /// The side file's checkpoint stands in the log on its own line.
    side_seen: bool,
    /// The hash of the last line (of the genesis before the first).
    prev: String,
}

impl<'a> Walk<'a> {
    /// A walk from the log's start; `tail` bytes of an incomplete last line
    /// follow the complete lines.
    fn new(options: &'a VerifyOptions, tail: u64) -> Self {
        Walk {
            options,
            report: LogReport {
                verified: 0,
                records: 0,
                checkpoints: 0,
                unchecked_checkpoints: 0,
                unanchored: 0,
                side_checked: false,
                adopted: 0,
                clean_stop: false,
                broken: None,
                incomplete_tail_bytes: tail,
            },
            hashes: Vec::new(),
            closed: false,
            last_checkpoint: None,
            side_seen: false,
            prev: GENESIS.to_string(),
        }
    }

    /// Checks line `number` (1-based): a record or a checkpoint, numbered
    /// in turn and chained to the line before.
    fn line(&mut self, number: u64, line: &[u8]) -> Result<(), Broken> {
        let broken = |reason: String| Broken {
            line: number,
            reason,
        };
        let (seq, line_prev) = match parse_line(line) {
            Ok(Line::Record(record)) => {
                self.last_checkpoint = None;
                if self.closed {
                    return Err(broken(
                        "a record after the writer's final checkpoint: a writer adds nothing \
                         after closing the log, and the next one starts with a signed start"
                            .to_string(),
                    ));
                }
                (record.seq, record.prev.clone())
            }
            Ok(Line::Checkpoint(checkpoint)) => {
                self.checkpoint(number, &checkpoint.checkpoint)?;
                (checkpoint.seq, checkpoint.prev.clone())
            }
            Err(e) => return Err(broken(format!("not a decision record: {e}"))),
        };
        let prev = &self.prev;
        if seq != number {
            return Err(broken(format!(
                "sequence number {seq} where {number} was expected (a record was removed, added or reordered)"
            )));
        }
        if line_prev != *prev {
            return Err(broken(format!(
                "prev {line_prev} is not the hash of the record before ({prev}): that record was changed, or records are missing"
            )));
        }
        self.prev = sha256_hex(line);
        self.hashes.push(self.prev.clone());
        self.report.verified = number;
        if matches!(parse_line(line), Ok(Line::Record(_))) {
            self.report.records += 1;
            if self.report.checkpoints > 0 || self.options.key.is_some() {
                self.report.unanchored += 1;
            }
        }
        Ok(())
    }

    /// Checks the checkpoint `c` on line `number`: its event where it
    /// stands, that it covers exactly the lines before it, and (with a key)
    /// its signature.
    fn checkpoint(&mut self, number: u64, c: &Checkpoint) -> Result<(), Broken> {
        let broken = |reason: String| Broken {
            line: number,
            reason,
        };
        let report = &mut self.report;
        check_event(c, self.closed, report.unanchored, self.options).map_err(broken)?;
        self.closed = c.event == Event::Final;
        self.side_seen |= self
            .options
            .side
            .as_ref()
            .is_some_and(|side| side.lines + 1 == number && side == c);
        self.last_checkpoint = Some(c.clone());
        report.adopted += if c.event == Event::Start {
            c.adopted
        } else {
            0
        };
        let prev = &self.prev;
        if c.lines != number - 1 || c.head != *prev {
            return Err(broken(format!(
                "a checkpoint that does not cover the lines before it (it says {} \
                 lines ending in {}; there are {} ending in {prev})",
                c.lines,
                c.head,
                number - 1
            )));
        }
        match &self.options.key {
            Some(key) if c.verify(key) => {
                report.checkpoints += 1;
                report.unanchored = 0;
            }
            Some(_) => {
                return Err(broken(format!(
                    "a checkpoint not signed by the log key (key id `{}`): forged, \
                     or the log was rewritten and re-signed by another key",
                    c.key_id
                )));
            }
            None => report.unchecked_checkpoints += 1,
        }
        Ok(())
    }

    /// The report once every complete line verified: whether the log ends
    /// closed, and the side file's checkpoint checked against it.
    fn finish(mut self) -> LogReport {
        self.report.clean_stop = self.closed;
        if let Some(side) = &self.options.side
            && let Err(broken) = check_side(
                &mut self.report,
                side,
                self.options.key.as_ref(),
                &self.hashes,
                self.last_checkpoint.as_ref(),
                self.side_seen,
            )
        {
            self.report.broken = Some(broken);
        }
        self.report
    }
}

/// The side file's checkpoint against the log: signed by the log key, naming
/// a line the log has with that line's hash, standing itself in the log on
/// the line after (the writer writes the line before the side file), and —
/// when it is a final checkpoint — the log's last line.
fn check_side(
    report: &mut LogReport,
    side: &Checkpoint,
    key: Option<&VerifyingKey>,
    hashes: &[String],
    last_checkpoint: Option<&Checkpoint>,
    side_seen: bool,
) -> Result<(), Broken> {
    let last = report.verified + 1;
    if let Some(key) = key
        && !side.verify(key)
    {
        return Err(Broken {
            line: last,
            reason: format!(
                "the side file's checkpoint is not signed by the log key (key id `{}`)",
                side.key_id
            ),
        });
    }
    let at = usize::try_from(side.lines).unwrap_or(usize::MAX);
    let head = if at == 0 {
        Some(GENESIS.to_string())
    } else {
        hashes.get(at - 1).cloned()
    };
    match head {
        None => {
            return Err(Broken {
                line: last,
                reason: format!(
                    "the log has {} complete line(s), but its latest signed checkpoint \
                     ({}) covers {}: lines were cut from its end",
                    report.verified, side.time, side.lines
                ),
            });
        }
        Some(head) if head != side.head => {
            return Err(Broken {
                line: side.lines,
                reason: format!(
                    "line {} does not hash to what the latest signed checkpoint ({}) \
                     says: the log was rewritten up to there",
                    side.lines, side.time
                ),
            });
        }
        Some(_) if !side_seen => {
            return Err(Broken {
                line: side.lines + 1,
                reason: if report.verified <= side.lines {
                    format!(
                        "the log ends at line {}, before the latest signed checkpoint ({}) \
                         that the writer wrote as line {}: lines were cut from its end",
                        report.verified,
                        side.time,
                        side.lines + 1
                    )
                } else {
                    format!(
                        "line {} is not the latest signed checkpoint ({}) the side file \
                         holds: the log was rewritten there",
                        side.lines + 1,
                        side.time
                    )
                },
            });
        }
        Some(_) => report.side_checked = true,
    }
    // Closed at the side file's checkpoint: the log ends right there.
    if side.event == Event::Final
        && (report.verified != side.lines + 1 || last_checkpoint != Some(side))
    {
        return Err(Broken {
            line: side.lines + 2,
            reason: format!(
                "the writer closed the log with its final checkpoint at line {} ({}), but \
                 the log has {} line(s) and does not end with it: lines were added or \
                 replaced after it",
                side.lines + 1,
                side.time,
                report.verified
            ),
        });
    }
    Ok(())
}

/// A checkpoint's event where it stands: after a final checkpoint only a
/// start; a start (checked with the key) counting exactly the records
/// since the last checkpoint as adopted.
fn check_event(
    c: &Checkpoint,
    closed: bool,
    unanchored: u64,
    options: &VerifyOptions,
) -> Result<(), String> {
    if closed && c.event != Event::Start {
        return Err(format!(
            "a{} checkpoint after the writer's final checkpoint: only the next writer's start \
             may follow it",
            if c.event == Event::Final {
                " final"
            } else {
                "n interval"
            }
        ));
    }
    if options.key.is_some() && c.event == Event::Start && c.adopted != unanchored {
        return Err(format!(
            "a start checkpoint that says it found {} record(s) after the last checkpoint, \
             where the log has {unanchored}",
            c.adopted
        ));
    }
    Ok(())
}
