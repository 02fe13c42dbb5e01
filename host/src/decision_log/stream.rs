//! A decision log written to a stream (standard output, for a cluster's log
//! collector) rather than a file: the same records, hash chain and signed
//! checkpoints, a new chain from each start (nothing to resume, lock or
//! sync, and no side file: the stream is the only copy, and `slicegate log
//! verify` checks one replica's stream as it checks a file).

use std::fs::File;
use std::path::PathBuf;
use std::sync::Mutex;

use super::{CheckpointSigner, DecisionLog, Durability, Event, GENESIS, LogError, Tail};

impl DecisionLog {
    /// A log written to `out` (a pipe, standard output), its chain starting
    /// at genesis, with a signed start checkpoint when `signer` is given.
    pub fn stream(out: File, signer: Option<CheckpointSigner>) -> Result<Self, LogError> {
        let handle = out.try_clone().map_err(|e| LogError::Io {
            path: "<stream>".to_string(),
            message: e.to_string(),
        })?;
        let log = DecisionLog {
            path: PathBuf::from("<stream>"),
            durability: Durability::Write,
            tail: Mutex::new(Tail {
                file: out,
                seq: 0,
                prev: GENESIS.to_string(),
                written: 0,
                since_checkpoint: 0,
                closed: false,
            }),
            synced: Mutex::new((0, handle)),
            truncated_bytes: 0,
            signer,
            side_lines: Mutex::new(None),
            resumed_unanchored: 0,
            stream: true,
        };
        log.write_checkpoint(Event::Start, 0, true)?;
        Ok(log)
    }

    /// Standard output as a log stream (see [`DecisionLog::stream`]).
    #[cfg(unix)]
    pub fn stdout(signer: Option<CheckpointSigner>) -> Result<Self, LogError> {
        use std::os::fd::AsFd;
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| LogError::Io {
                path: "<stdout>".to_string(),
                message: e.to_string(),
            })?;
        Self::stream(File::from(fd), signer)
    }

    /// Whether the log is a stream (no file behind it).
    pub fn is_stream(&self) -> bool {
        self.stream
    }
}
