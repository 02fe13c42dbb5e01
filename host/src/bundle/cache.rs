//! Compiled code on disk, keyed by the bundle's sha256 and the engine's
//! configuration, so a restart does not recompile.
//!
//! Loading compiled code is `unsafe` in wasmtime: it is native code, run as
//! it is. So an entry runs only when the host can prove it compiled it from
//! these verified bytes itself:
//!
//! - every entry carries a tag, BLAKE3 keyed with a secret this host made
//!   (`key`, 32 random bytes, created `0600`), over the bundle's verified
//!   sha256, the engine's compatibility hash and the compiled bytes; an
//!   entry whose tag does not match — another bundle's code copied over it,
//!   a flipped byte, a truncated file, a file planted by someone without the
//!   key — is recompiled and replaced, never run;
//! - the entry is read into memory once, checked, and deserialised from
//!   those same bytes, so it cannot change between the check and the load;
//! - the folder, the key and the entries must belong to this user and be
//!   writable by nobody else; a folder that fails this (a shared temporary
//!   folder, a planted one) is not used at all: the bundle is compiled in
//!   memory, and a warning says why. There is no fallback to a shared
//!   folder.
//!
//! Bundles travel as `.wasm`, never as compiled code.

use std::hash::Hash;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::runtime::RuntimeError;

/// The first bytes of an entry.
const MAGIC: &[u8; 8] = b"sgcc\x00\x00\x00\x01";
/// Separates what the tag covers, so no other use of the key can collide.
const DOMAIN: &[u8] = b"slicegate compiled-code cache entry v1";
const TAG_LEN: usize = 32;

/// A folder of compiled components, or none (compile in memory).
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// Why the cache was not used for one load (the load went on without it).
#[derive(Debug, thiserror::Error)]
enum Distrust {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Unsafe(String),
}

impl CompileCache {
    /// A cache in `dir` (created on first use, private to the user).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache {
            dir: Some(dir.into()),
        }
    }

    /// No cache: every load compiles.
    pub fn disabled() -> Self {
        CompileCache { dir: None }
    }

    /// The cache at `$SLICEGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/slicegate`,
    /// else `~/.cache/slicegate`; with none of them set, no cache (never a
    /// shared temporary folder, where another user could plant entries).
    /// Relative values are ignored (as the XDG base-directory rules say):
    /// a cache must not move with the working directory.
    pub fn default_location() -> Self {
        let absolute = |var: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let dir = absolute("SLICEGATE_CACHE_DIR")
            .or_else(|| absolute("XDG_CACHE_HOME").map(|d| d.join("slicegate")))
            .or_else(|| absolute("HOME").map(|h| h.join(".cache/slicegate")));
        CompileCache { dir }
    }

    /// The built-in engine component (no policy set loaded) as a runtime,
    /// its compiled code taken from this cache when there (and stored
    /// there when not): a restart does not recompile.
    pub fn engine_runtime(&self, limits: crate::Limits) -> Result<crate::Runtime, RuntimeError> {
        let engine = crate::Runtime::engine(&limits)?;
        let sha256 = crate::sha256_hex(crate::ENGINE_COMPONENT);
        let (component, _) = self.component(&engine, crate::ENGINE_COMPONENT, &sha256)?;
        crate::Runtime::assemble(engine, component, limits)
    }

    /// The folder, if there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The compiled component for `bytes` (whose verified content hash is
    /// `sha256`): from the cache when an entry there is authentic, else
    /// compiled (and stored when the cache can be trusted). Returns whether
    /// it was a cache hit.
    pub(crate) fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Component, bool), RuntimeError> {
        let Some(dir) = &self.dir else {
            let component = Component::new(engine, bytes).map_err(RuntimeError::Compile)?;
            return Ok((component, false));
        };
        let key = match private_folder(dir).and_then(|()| host_key(dir)) {
            Ok(key) => key,
            Err(why) => {
                tracing::warn!(
                    folder = %dir.display(),
                    %why,
                    "not using the compiled-code cache: compiling in memory"
                );
                let component = Component::new(engine, bytes).map_err(RuntimeError::Compile)?;
                return Ok((component, false));
            }
        };
        let compat = compatibility(engine);
        let path = dir.join(format!("{sha256}-{compat}.cwasm"));
        match read_entry(&path) {
            Ok(Some(entry)) => {
                if let Some(payload) = authentic(&entry, &key, sha256, &compat) {
                    // SAFETY: `payload` is the compiled code this host
                    // serialised for the bundle whose verified sha256 is
                    // `sha256` under this engine's configuration: its tag,
                    // keyed with this host's private key, covers exactly these
                    // bytes (held in memory, so they cannot change after the
                    // check), the bundle's sha256 and the compatibility hash.
                    match unsafe { Component::deserialize(engine, payload) } {
                        Ok(component) => return Ok((component, true)),
                        Err(error) => tracing::warn!(
                            path = %path.display(), %error,
                            "an authentic cache entry did not load: recompiling"
                        ),
                    }
                } else {
                    tracing::warn!(
                        path = %path.display(),
                        "a cache entry is not this host's compilation of this bundle \
                         (swapped, changed or planted): recompiling"
                    );
                }
            }
            Ok(None) => {}
            Err(why) => {
                tracing::warn!(path = %path.display(), %why, "cache entry refused: recompiling")
            }
        }
        let component = Component::new(engine, bytes).map_err(RuntimeError::Compile)?;
        store(dir, &path, &component, &key, sha256, &compat)?;
        Ok((component, false))
    }
}

/// The engine's compatibility hash as hex: a cryptographic hash of what
/// wasmtime hashes, stable across Rust releases (unlike `DefaultHasher`).
fn compatibility(engine: &Engine) -> String {
    struct Sha(sha2::Sha256);
    impl std::hash::Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(sha2::Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}

fn tag(key: &[u8; 32], sha256: &str, compat: &str, payload: &[u8]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(DOMAIN);
    hasher.update(&(sha256.len() as u64).to_le_bytes());
    hasher.update(sha256.as_bytes());
    hasher.update(&(compat.len() as u64).to_le_bytes());
    hasher.update(compat.as_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// The compiled bytes of `entry` when its tag is this host's for this
/// bundle and engine.
fn authentic<'a>(entry: &'a [u8], key: &[u8; 32], sha256: &str, compat: &str) -> Option<&'a [u8]> {
    let rest = entry.strip_prefix(MAGIC.as_slice())?;
    let (stored, payload) = rest.split_at_checked(TAG_LEN)?;
    let stored: [u8; TAG_LEN] = stored.try_into().ok()?;
    // `blake3::Hash` compares in constant time.
    (tag(key, sha256, compat, payload) == blake3::Hash::from_bytes(stored)).then_some(payload)
}

#[cfg(unix)]
fn owned_and_private(meta: &std::fs::Metadata, what: &str, path: &Path) -> Result<(), Distrust> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(Distrust::Unsafe(format!(
            "{what} {} belongs to user {}, not to this user ({me})",
            path.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Distrust::Unsafe(format!(
            "{what} {} is writable by others (mode {:o})",
            path.display(),
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owned_and_private(_: &std::fs::Metadata, _: &str, _: &Path) -> Result<(), Distrust> {
    Ok(())
}

/// Creates `dir` (mode 0700) when missing; refuses a folder that is not
/// this user's own, is writable by others, or is a symbolic link.
fn private_folder(dir: &Path) -> Result<(), Distrust> {
    if std::fs::symlink_metadata(dir).is_err() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(Distrust::Unsafe(format!(
            "{} is not a folder (a symbolic link or a file)",
            dir.display()
        )));
    }
    owned_and_private(&meta, "folder", dir)
}

/// This host's cache key: `dir/key`, made (32 random bytes, 0600) on first
/// use. A key that others could read or write is not a secret: refused.
fn host_key(dir: &Path) -> Result<[u8; 32], Distrust> {
    let path = dir.join("key");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| Distrust::Unsafe(format!("no randomness for the cache key: {e}")))?;
            file.write_all(&key)?;
            file.sync_all()?;
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut file = open_no_follow(&path)?;
            let meta = file.metadata()?;
            if !meta.is_file() {
                return Err(Distrust::Unsafe(format!(
                    "{} is not a file",
                    path.display()
                )));
            }
            owned_and_private(&meta, "key", &path)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                if meta.mode() & 0o077 != 0 {
                    return Err(Distrust::Unsafe(format!(
                        "key {} is readable by others (mode {:o})",
                        path.display(),
                        meta.mode() & 0o777
                    )));
                }
            }
            let mut key = [0u8; 32];
            let mut extra = [0u8; 1];
            file.read_exact(&mut key)?;
            if file.read(&mut extra)? != 0 {
                return Err(Distrust::Unsafe(format!(
                    "key {} is not 32 bytes",
                    path.display()
                )));
            }
            Ok(key)
        }
        Err(error) => Err(error.into()),
    }
}

fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

/// The entry at `path`, read whole; `None` when there is none.
fn read_entry(path: &Path) -> Result<Option<Vec<u8>>, Distrust> {
    let mut file = match open_no_follow(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Distrust::Unsafe(format!(
            "{} is not a file",
            path.display()
        )));
    }
    owned_and_private(&meta, "entry", path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

fn store(
    dir: &Path,
    path: &Path,
    component: &Component,
    key: &[u8; 32],
    sha256: &str,
    compat: &str,
) -> Result<(), RuntimeError> {
    let cache_err = |message: String| RuntimeError::Cache {
        path: path.display().to_string(),
        message,
    };
    let payload = component
        .serialize()
        .map_err(|e| cache_err(e.to_string()))?;
    let tag = tag(key, sha256, compat, &payload);
    // A named temporary file is created 0600; renamed into place whole.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| cache_err(e.to_string()))?;
    tmp.write_all(MAGIC)
        .and_then(|()| tmp.write_all(tag.as_bytes()))
        .and_then(|()| tmp.write_all(&payload))
        .map_err(|e| cache_err(e.to_string()))?;
    tmp.persist(path)
        .map_err(|e| cache_err(e.error.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{MAGIC, authentic, tag};

    #[test]
    fn only_the_host_s_own_tag_over_these_bytes_for_this_bundle_authenticates() {
        let key = [7u8; 32];
        let payload = b"compiled code".to_vec();
        let good = tag(&key, "aa", "cc", &payload);
        let entry = [MAGIC.as_slice(), good.as_bytes(), &payload].concat();
        assert_eq!(
            authentic(&entry, &key, "aa", "cc"),
            Some(payload.as_slice())
        );
        // Another bundle's name, another engine, another key: refused.
        assert_eq!(authentic(&entry, &key, "bb", "cc"), None);
        assert_eq!(authentic(&entry, &key, "aa", "dd"), None);
        assert_eq!(authentic(&entry, &[8u8; 32], "aa", "cc"), None);
        // A flipped byte anywhere, a truncation, a missing header: refused.
        for at in 0..entry.len() {
            let mut flipped = entry.clone();
            flipped[at] ^= 1;
            assert_eq!(authentic(&flipped, &key, "aa", "cc"), None, "byte {at}");
        }
        assert_eq!(authentic(&entry[..entry.len() - 1], &key, "aa", "cc"), None);
        assert_eq!(authentic(&payload, &key, "aa", "cc"), None);
        assert_eq!(authentic(&[], &key, "aa", "cc"), None);
    }
}
