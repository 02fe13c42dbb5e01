//! The trust store (which keys may sign, when, and how many must) and the
//! record of the highest revision accepted per bundle name.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::manifest::{BundleName, Revision};

/// Errors reading the trust store or the revision state.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The trust store is not valid.
    #[error("trust store {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A key id in the trust store and in signatures.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(pub String);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustStoreFile {
    threshold: u32,
    #[serde(default)]
    state: Option<PathBuf>,
    #[serde(default)]
    keys: Vec<TrustedKeyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedKeyFile {
    id: String,
    public_key: String,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
}

/// A key the store trusts, within its validity window.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// Its id.
    pub id: KeyId,
    /// The Ed25519 public key.
    pub key: VerifyingKey,
    /// Not valid before.
    pub not_before: Option<SystemTime>,
    /// Not valid after.
    pub not_after: Option<SystemTime>,
}

impl TrustedKey {
    /// Whether the key is valid at `now`: `Err` says why not.
    pub fn valid_at(&self, now: SystemTime) -> Result<(), &'static str> {
        if self.not_before.is_some_and(|t| now < t) {
            return Err("not yet valid");
        }
        if self.not_after.is_some_and(|t| now > t) {
            return Err("expired");
        }
        Ok(())
    }
}

/// Keys with ids and validity windows, and how many must sign (k of n).
#[derive(Debug, Clone)]
pub struct TrustStore {
    /// Valid signatures from distinct trusted keys a bundle needs.
    pub threshold: u32,
    /// The keys.
    pub keys: Vec<TrustedKey>,
    /// Where the highest accepted revisions are recorded.
    pub state_path: PathBuf,
}

/// Parses an RFC 3339 instant.
pub fn parse_instant(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("`{text}` is not an RFC 3339 instant: {e}"))
}

impl TrustStore {
    /// Reads a trust store (TOML). The state file defaults to
    /// `<trust store>.state.json` beside it; a relative `state` is relative
    /// to the trust store's folder.
    ///
    /// ```toml
    /// threshold = 2
    /// [[keys]]
    /// id = "ops-2026"
    /// public_key = "<64 hex digits>"
    /// not_after = "2027-12-31T23:59:59Z"
    /// ```
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        let text = fs::read_to_string(path).map_err(|e| TrustError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses a trust store read from `path`.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, TrustError> {
        let invalid = |message: String| TrustError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let file: TrustStoreFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut keys = Vec::new();
        for key in file.keys {
            if keys.iter().any(|k: &TrustedKey| k.id.0 == key.id) {
                return Err(invalid(format!("key id `{}` appears twice", key.id)));
            }
            let bytes: [u8; 32] = hex::decode(key.public_key.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "key `{}`: public_key must be 64 hex digits",
                        key.id
                    ))
                })?;
            let verifying = super::keys::checked_public_key(&bytes).map_err(|e| {
                invalid(format!(
                    "key `{}`: not a usable Ed25519 public key: {e}",
                    key.id
                ))
            })?;
            if let Some(twin) = keys.iter().find(|k: &&TrustedKey| k.key == verifying) {
                return Err(invalid(format!(
                    "key `{}` has the same public key as `{}`: one key under two ids would count \
                     twice towards the threshold",
                    key.id, twin.id.0
                )));
            }
            let instant = |t: &Option<String>| {
                t.as_deref()
                    .map(parse_instant)
                    .transpose()
                    .map_err(|e| invalid(format!("key `{}`: {e}", key.id)))
            };
            keys.push(TrustedKey {
                not_before: instant(&key.not_before)?,
                not_after: instant(&key.not_after)?,
                id: KeyId(key.id),
                key: verifying,
            });
        }
        if file.threshold == 0 {
            return Err(invalid("threshold must be at least 1".to_string()));
        }
        if file.threshold as usize > keys.len() {
            return Err(invalid(format!(
                "threshold {} is more than the {} key(s) listed",
                file.threshold,
                keys.len()
            )));
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let state_path = match file.state {
            Some(state) if state.is_relative() => dir.join(state),
            Some(state) => state,
            None => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                dir.join(format!(
                    "{}.state.json",
                    name.unwrap_or_else(|| "trust".into())
                ))
            }
        };
        Ok(TrustStore {
            threshold: file.threshold,
            keys,
            state_path,
        })
    }

    /// A store trusting one key, needing its signature alone (for demos,
    /// tests and benchmarks).
    pub fn single_key(id: &str, key: VerifyingKey, state_path: PathBuf) -> Self {
        TrustStore {
            threshold: 1,
            keys: vec![TrustedKey {
                id: KeyId(id.to_string()),
                key,
                not_before: None,
                not_after: None,
            }],
            state_path,
        }
    }

    /// The key with id `id`, if trusted.
    pub fn key(&self, id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.id.0 == id)
    }
}

/// The highest revision accepted per bundle name, persisted atomically.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RevisionState {
    /// Highest accepted revision per bundle name.
    pub highest: BTreeMap<BundleName, Revision>,
}

impl RevisionState {
    /// Reads the state; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TrustError::Io {
                path: path.to_path_buf(),
                message: format!("revision state is corrupt: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(TrustError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }

    /// Writes the state atomically: a temporary file beside it, synced, then
    /// renamed over it, then the folder synced.
    pub fn save(&self, path: &Path) -> Result<(), TrustError> {
        let io = |e: std::io::Error| TrustError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        tmp.write_all(&json).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}
