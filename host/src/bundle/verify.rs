//! Verifying a bundle before anything is compiled or instantiated: its
//! signatures against the trust store, its validity window, its manifest.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::manifest::{self, BundleManifest, ManifestError};
use super::sections;
use super::signature::{self, SignatureData};
use super::trust::{KeyId, TrustError, TrustStore, parse_instant};
use crate::runtime::RuntimeError;

/// Why a bundle was refused. Every refusal happens before the bundle is
/// compiled or instantiated.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bundle file could not be read.
    #[error("reading bundle {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Not a WebAssembly component.
    #[error("the bundle is not a well-formed WebAssembly component: {0}")]
    Malformed(String),
    /// No signature at all.
    #[error(
        "the bundle is unsigned: it has no signature section and no detached signature was given"
    )]
    Unsigned,
    /// Changed after signing.
    #[error("the bundle was changed after it was signed: {0}")]
    Tampered(String),
    /// Only keys the trust store does not list signed it.
    #[error("no signature is from a key in the trust store (signed by: {0})")]
    UnknownKey(String),
    /// A trusted key signed it, outside the key's validity window.
    #[error("the signing key `{key}` is {why} at the time of loading")]
    KeyNotValid {
        /// The key.
        key: KeyId,
        /// `expired` or `not yet valid`.
        why: &'static str,
    },
    /// Fewer valid signatures than the threshold.
    #[error(
        "{valid} valid signature(s) from distinct trusted keys ({signers}); the trust store requires {required}"
    )]
    BelowThreshold {
        /// Valid signatures found.
        valid: usize,
        /// Their key ids.
        signers: String,
        /// The threshold.
        required: u32,
    },
    /// Before the bundle's not-before time.
    #[error("the bundle is not valid before {0}")]
    NotYetValid(String),
    /// After the bundle's not-after time.
    #[error("the bundle expired at {0}")]
    Expired(String),
    /// Lower revision than one already accepted for the same name.
    #[error(
        "bundle `{name}` revision {revision} is lower than revision {highest} already accepted (rollback refused; an explicit override is needed)"
    )]
    Rollback {
        /// The bundle name.
        name: String,
        /// This bundle's revision.
        revision: u64,
        /// The highest accepted.
        highest: u64,
    },
    /// The manifest is missing or malformed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The trust store or revision state failed.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The verified bundle could not be compiled or cached.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl BundleError {
    /// Whether the same bytes may be accepted later: a bundle or a signing
    /// key not valid *yet* (and a threshold short for that reason). Such a
    /// refusal is retried on every check, not remembered.
    pub fn may_become_valid(&self) -> bool {
        matches!(
            self,
            BundleError::NotYetValid(_)
                | BundleError::KeyNotValid {
                    why: "not yet valid",
                    ..
                }
                | BundleError::BelowThreshold { .. }
        )
    }
}

/// A bundle whose signatures, window and manifest were checked.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The bundle bytes (with any embedded signature).
    pub bytes: Vec<u8>,
    /// The bundle's identity: sha256 of every section but the signature
    /// (what was signed), hex. The same for every signing of the same build;
    /// computed in the same pass that checks the signatures.
    pub sha256: String,
    /// The manifest.
    pub manifest: BundleManifest,
    /// The trusted keys whose valid signatures were counted.
    pub signers: Vec<KeyId>,
}

/// Checks `bytes` (and a detached signature, if given) against `trust` at
/// `now`. The revision rule needs state and is the loader's.
pub fn verify(
    bytes: &[u8],
    detached: Option<&[u8]>,
    trust: &TrustStore,
    now: SystemTime,
) -> Result<VerifiedBundle, BundleError> {
    let parsed = sections::parse(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let data = signature_data(bytes, &parsed, detached)?;
    let hashes = signature::part_hashes(bytes, &parsed);
    let entries = signature::covering(&data, &hashes);
    if entries.is_empty() {
        return Err(BundleError::Tampered(
            "its content does not match the hashes it was signed over".to_string(),
        ));
    }
    let mut signatures = Signatures::default();
    for entry in entries {
        signatures.check(entry, trust, &hashes, now);
    }
    let valid = signatures.enough_for(trust)?;

    let manifest = manifest::read_manifest(bytes, &parsed)?;
    check_window(&manifest, now)?;
    Ok(VerifiedBundle {
        bytes: bytes.to_vec(),
        sha256: hashes.last().map(hex::encode).unwrap_or_default(),
        manifest,
        signers: valid.into_iter().collect(),
    })
}

/// The signature data: the detached signature when one is given, else the
/// one embedded in the bundle.
fn signature_data(
    bytes: &[u8],
    parsed: &[sections::Section],
    detached: Option<&[u8]>,
) -> Result<SignatureData, BundleError> {
    let embedded =
        signature::embedded(bytes, parsed).map_err(|e| BundleError::Tampered(e.to_string()))?;
    let raw = match (detached, embedded.as_deref()) {
        (Some(detached), _) => detached,
        (None, Some(embedded)) => embedded,
        (None, None) => return Err(BundleError::Unsigned),
    };
    SignatureData::decode(raw)
        .map_err(|e| BundleError::Tampered(format!("the signature data is corrupt: {e}")))
}

/// The signatures over a bundle's content, by what checking them showed.
#[derive(Default)]
struct Signatures {
    /// The trusted keys with a valid signature, valid now.
    valid: BTreeSet<KeyId>,
    /// Their key bytes. Distinct keys, not distinct ids: one key listed
    /// under two ids is one signer (a store built in code could list it so).
    valid_keys: BTreeSet<[u8; 32]>,
    /// Key ids the trust store does not list (`(no key id)` for a
    /// signature without one that no trusted key verifies).
    unknown: Vec<String>,
    /// A trusted key whose signature verifies, outside its validity window.
    not_valid: Option<(KeyId, &'static str)>,
    /// A trusted key whose signature does not verify.
    bad: Option<String>,
}

impl Signatures {
    /// Checks one signature `entry` over `hashes` against `trust` at `now`.
    fn check(
        &mut self,
        entry: &signature::SignatureEntry,
        trust: &TrustStore,
        hashes: &[[u8; 32]],
        now: SystemTime,
    ) {
        let id = String::from_utf8_lossy(&entry.key_id).into_owned();
        // A signature without a key id may be from any trusted key.
        let candidates: Vec<_> = if id.is_empty() {
            trust.keys.iter().collect()
        } else {
            trust.key(&id).into_iter().collect()
        };
        if candidates.is_empty() {
            self.unknown.push(if id.is_empty() {
                "(no key id)".to_string()
            } else {
                id
            });
            return;
        }
        let mut verified_by = None;
        for key in candidates {
            if signature::is_valid(entry, &key.key, hashes) {
                verified_by = Some(key);
                break;
            }
        }
        match verified_by {
            Some(key) => match key.valid_at(now) {
                Ok(()) => {
                    if self.valid_keys.insert(key.key.to_bytes()) {
                        self.valid.insert(key.id.clone());
                    }
                }
                Err(why) => self.not_valid = Some((key.id.clone(), why)),
            },
            None if id.is_empty() => self.unknown.push("(no key id)".to_string()),
            None => self.bad = Some(id),
        }
    }

    /// The valid signers when there are at least as many as `trust`
    /// requires; else why the bundle is refused (with no valid signer at
    /// all, the most telling reason).
    fn enough_for(self, trust: &TrustStore) -> Result<BTreeSet<KeyId>, BundleError> {
        // A store built in code (its fields are public) could say 0; no bundle
        // is ever accepted on fewer than one valid trusted signature.
        let required = trust.threshold.max(1);
        if self.valid.len() >= required as usize {
            return Ok(self.valid);
        }
        if self.valid.is_empty() {
            if let Some(id) = self.bad {
                return Err(BundleError::Tampered(format!(
                    "the signature by key `{id}` does not verify"
                )));
            }
            if let Some((key, why)) = self.not_valid {
                return Err(BundleError::KeyNotValid { key, why });
            }
            if !self.unknown.is_empty() {
                return Err(BundleError::UnknownKey(self.unknown.join(", ")));
            }
        }
        Err(BundleError::BelowThreshold {
            valid: self.valid.len(),
            signers: self
                .valid
                .iter()
                .map(|k| k.0.clone())
                .collect::<Vec<_>>()
                .join(", "),
            required,
        })
    }
}

fn check_window(manifest: &BundleManifest, now: SystemTime) -> Result<(), BundleError> {
    let instant = |text: &str| {
        parse_instant(text).map_err(|e| BundleError::Manifest(ManifestError::Malformed(e)))
    };
    if let Some(not_before) = &manifest.not_before
        && now < instant(not_before)?
    {
        return Err(BundleError::NotYetValid(not_before.clone()));
    }
    if let Some(not_after) = &manifest.not_after
        && now > instant(not_after)?
    {
        return Err(BundleError::Expired(not_after.clone()));
    }
    Ok(())
}
