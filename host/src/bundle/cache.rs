//! Compiled code on disk, keyed by the bundle's sha256 and the engine's
//! configuration, so a restart does not recompile.
//!
//! Loading compiled code is `unsafe` in wasmtime: it is native code. Only
//! files this host wrote into its own cache folder are ever loaded, and only
//! under the sha256 of a bundle that was verified first; bundles travel as
//! `.wasm`, never as compiled code.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::runtime::RuntimeError;

/// A folder of compiled components.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

impl CompileCache {
    /// A cache in `dir` (created on first use, private to the user).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache { dir: dir.into() }
    }

    /// `$SLICEGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/slicegate`, else
    /// `~/.cache/slicegate`, else a folder under the system temp folder.
    pub fn default_location() -> PathBuf {
        if let Some(dir) = std::env::var_os("SLICEGATE_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return PathBuf::from(dir).join("slicegate");
        }
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(".cache/slicegate");
        }
        std::env::temp_dir().join("slicegate-cache")
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, engine: &Engine, sha256: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .join(format!("{sha256}-{:016x}.cwasm", hasher.finish()))
    }

    /// The compiled component for `bytes` (whose verified content hash is
    /// `sha256`): from
    /// the cache when present, else compiled and stored. Returns whether it
    /// was a cache hit.
    pub(crate) fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Component, bool), RuntimeError> {
        let path = self.path(engine, sha256);
        if path.is_file() {
            // SAFETY: the file is in this host's own cache, named by the
            // sha256 of a bundle that was verified before this call, and was
            // written by `store` below from wasmtime's own serialisation.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, true)),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "ignoring an unusable cache entry");
                }
            }
        }
        let component = Component::new(engine, bytes).map_err(RuntimeError::Compile)?;
        self.store(&path, &component)?;
        Ok((component, false))
    }

    fn store(&self, path: &Path, component: &Component) -> Result<(), RuntimeError> {
        let cache_err = |message: String| RuntimeError::Cache {
            path: path.display().to_string(),
            message,
        };
        let serialized = component
            .serialize()
            .map_err(|e| cache_err(e.to_string()))?;
        std::fs::create_dir_all(&self.dir).map_err(|e| cache_err(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        }
        let mut tmp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| cache_err(e.to_string()))?;
        tmp.write_all(&serialized)
            .map_err(|e| cache_err(e.to_string()))?;
        tmp.persist(path)
            .map_err(|e| cache_err(e.error.to_string()))?;
        Ok(())
    }
}
