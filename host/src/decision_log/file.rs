//! File-level helpers of the decision log: the writer's lock and reading
//! the end of a log without reading all of it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Takes the log file's exclusive lock without waiting (`flock`): held
/// until the file is closed, so one process writes a log at a time.
#[cfg(unix)]
pub(super) fn lock_exclusive(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(std::io::Error::from)
}

#[cfg(not(unix))]
pub(super) fn lock_exclusive(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// The last complete line of `file` (without its newline) and the length
/// of the file up to and including that line's newline. Reads backwards
/// from the end, so opening a long log does not read it all.
pub(super) fn last_complete_line(file: &mut File) -> std::io::Result<(Option<Vec<u8>>, u64)> {
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
pub(super) fn after_last_newline(file: &mut File, mut end: u64) -> std::io::Result<u64> {
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
pub(super) fn count_lines(file: &mut File, upto: u64) -> std::io::Result<u64> {
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
