//! The default policy library, embedded in the binary at build time
//! (`cli/build.rs`) and written out, once per run, to a private temporary
//! folder that is removed when the command ends.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/library.rs"));
}

static EXTRACTED: Mutex<Option<tempfile::TempDir>> = Mutex::new(None);

/// `policies/` in the current folder when there is one, else the library
/// built into this binary.
pub fn default_policies() -> anyhow::Result<PathBuf> {
    let here = Path::new("policies");
    if here.join("schema.cedarschema").is_file() {
        return Ok(here.to_path_buf());
    }
    built_in()
}

/// The built-in library, written out to a private folder (created 0700)
/// on first use in this run.
pub fn built_in() -> anyhow::Result<PathBuf> {
    let mut extracted = EXTRACTED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(dir) = extracted.as_ref() {
        return Ok(dir.path().join("policies"));
    }
    let dir = tempfile::Builder::new()
        .prefix("slicegate-library-")
        .tempdir()
        .context("creating a folder for the built-in policy library")?;
    let root = dir.path().join("policies");
    for (relative, bytes) in embedded::FILES {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("writing the built-in library to {}", parent.display()))?;
        }
        std::fs::write(&path, bytes)
            .with_context(|| format!("writing the built-in library to {}", path.display()))?;
    }
    *extracted = Some(dir);
    Ok(root)
}

/// Removes the written-out library (at the end of a command).
pub fn clean_up() {
    let taken = EXTRACTED.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(taken);
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_library_is_the_repository_s() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let dir = super::built_in().unwrap();
        for (relative, bytes) in super::embedded::FILES {
            assert_eq!(
                std::fs::read(root.join(relative)).unwrap(),
                *bytes,
                "{relative}"
            );
            assert_eq!(
                std::fs::read(dir.join(relative)).unwrap(),
                *bytes,
                "{relative}"
            );
        }
        assert!(
            super::embedded::FILES
                .iter()
                .any(|(p, _)| *p == "schema.cedarschema")
        );
        super::clean_up();
        assert!(!dir.exists());
    }
}
