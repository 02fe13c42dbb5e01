//! Signed checkpoints: the anchor of a decision log's chain.
//!
//! The hash chain shows that no record *inside* the log was changed,
//! removed or reordered, but not that the end is the end: the last records
//! can be cut off, or changed and every later one re-hashed, and the chain
//! still verifies. A checkpoint closes that, in the spirit of Certificate
//! Transparency's signed tree heads: at an interval (every so many lines)
//! and at shutdown the service signs, with a log key only it holds, the
//! number of lines the log has and the hash of the last one. The checkpoint
//! is written into the log (as a line of the chain) and beside it, in a side
//! file holding the latest one. `slicegate log verify --key` checks every
//! checkpoint in the log against the chain, and the side file against the
//! log: a log shorter than its latest checkpoint, or whose line there hashes
//! otherwise, was cut or rewritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// What a checkpoint signs, first: no other use of the key can collide.
const DOMAIN: &str = "slicegate decision log checkpoint v2";

/// Why a checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Every so many lines, or at an interval.
    Interval,
    /// A writer opened the log: the first line it wrote. Records after the
    /// checkpoint before it that it found (written before a crash) are
    /// counted in `adopted`.
    Start,
    /// The writer closed the log (a clean stop): nothing follows it but
    /// the next writer's start.
    Final,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Interval => "interval",
            Event::Start => "start",
            Event::Final => "final",
        }
    }
}

/// A signed statement of how long the log is and how it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// Lines of the log it covers: every line before it.
    pub lines: u64,
    /// sha256 (hex) of the last line it covers (the chain's genesis value
    /// when it covers none).
    pub head: String,
    /// When it was made (RFC 3339, UTC).
    pub time: String,
    /// The id of the log key that signed it.
    pub key_id: String,
    /// Why it was written.
    pub event: Event,
    /// For a start: records it found after the last checkpoint (written
    /// before a crash, only hash-chained) and continued from.
    pub adopted: u64,
    /// Ed25519 signature over the fields above (hex).
    pub signature: String,
}

/// The log key a service signs checkpoints with, and how often.
pub struct CheckpointSigner {
    /// The key's id (written in each checkpoint).
    pub key_id: String,
    /// The key.
    pub key: SigningKey,
    /// Lines between checkpoints (one is also made at shutdown and, with
    /// [`crate::decision_log::DecisionLog::checkpoint`], whenever asked).
    pub every: u64,
}

fn message(c: &Checkpoint) -> Vec<u8> {
    format!(
        "{DOMAIN}\nlines {}\nhead {}\ntime {}\nkey {}\nevent {}\nadopted {}\n",
        c.lines,
        c.head,
        c.time,
        c.key_id,
        c.event.name(),
        c.adopted
    )
    .into_bytes()
}

impl Checkpoint {
    /// Signs `lines` and `head` now, an interval checkpoint.
    pub fn sign(lines: u64, head: &str, key_id: &str, key: &SigningKey) -> Self {
        Self::sign_event(lines, head, key_id, key, Event::Interval, 0)
    }

    /// Signs `lines` and `head` now, for `event`.
    pub fn sign_event(
        lines: u64,
        head: &str,
        key_id: &str,
        key: &SigningKey,
        event: Event,
        adopted: u64,
    ) -> Self {
        let mut checkpoint = Checkpoint {
            lines,
            head: head.to_string(),
            time: humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
            key_id: key_id.to_string(),
            event,
            adopted,
            signature: String::new(),
        };
        checkpoint.signature = hex::encode(key.sign(&message(&checkpoint)).to_bytes());
        checkpoint
    }

    /// Whether `key` signed exactly this checkpoint.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Some(bytes) = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        !key.is_weak()
            && key
                .verify_strict(&message(self), &Signature::from_bytes(&bytes))
                .is_ok()
    }
}

/// A checkpoint as a line of the log: numbered and chained like a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckpointLine {
    /// Its line number (1-based, as a record's `seq`).
    pub seq: u64,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// sha256 (hex) of the line before.
    pub prev: String,
}

/// The side file of `log`: `<log>.checkpoint`.
pub fn side_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// Writes `checkpoint` to the side file `path` whole (temporary file,
/// fsync, rename), so a crash leaves the previous one or this one.
pub fn write_side(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))?;
    let text = serde_json::to_vec_pretty(checkpoint).map_err(std::io::Error::other)?;
    tmp.write_all(&text)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads a side file; `Ok(None)` when there is none.
pub fn read_side(path: &Path) -> Result<Option<Checkpoint>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: not a checkpoint: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::Checkpoint;

    #[test]
    fn a_checkpoint_verifies_only_unchanged_and_under_its_key() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let other = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]);
        let checkpoint = Checkpoint::sign(12, &"ab".repeat(32), "log-1", &key);
        assert!(checkpoint.verify(&key.verifying_key()));
        assert!(!checkpoint.verify(&other.verifying_key()));
        for changed in [
            Checkpoint {
                lines: 11,
                ..checkpoint.clone()
            },
            Checkpoint {
                head: "cd".repeat(32),
                ..checkpoint.clone()
            },
            Checkpoint {
                time: "2020-01-01T00:00:00Z".to_string(),
                ..checkpoint.clone()
            },
            Checkpoint {
                key_id: "log-2".to_string(),
                ..checkpoint.clone()
            },
            Checkpoint {
                signature: "00".to_string(),
                ..checkpoint.clone()
            },
        ] {
            assert!(!changed.verify(&key.verifying_key()), "{changed:?}");
        }
    }

    #[test]
    fn a_weak_key_verifies_no_checkpoint_even_with_a_forged_signature() {
        // The identity point as the key, and R = identity, s = 0: a
        // signature every non-strict check of any message accepts.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
        let mut forged = [0u8; 64];
        forged[0] = 1;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut checkpoint = Checkpoint::sign(3, &"ab".repeat(32), "log", &key);
        checkpoint.signature = hex::encode(forged);
        assert!(!checkpoint.verify(&weak));
    }
}
