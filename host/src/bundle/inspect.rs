//! What a bundle holds, read without compiling or running it.

use serde::Serialize;
use wasmparser::{Parser, Payload};

use super::manifest::{self, BundleManifest};
use super::sections;
use super::signature::{self, SignatureData};
use super::verify::BundleError;

/// One signature found on a bundle.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureSummary {
    /// The signer's key id.
    pub key_id: String,
    /// `ed25519`, or the unknown algorithm's number.
    pub algorithm: String,
    /// Whether the signature is over this bundle's content as it is now
    /// (whether it is valid and trusted is `verify`'s question).
    pub covers_content: bool,
}

/// Everything `slicegate inspect` shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleInspection {
    /// The manifest.
    pub manifest: BundleManifest,
    /// sha256 of the bundle file as it is, hex.
    pub sha256: String,
    /// sha256 of the signed content (every section but the signature), hex:
    /// the identity hosts report, the same however the bundle is signed.
    pub content_sha256: String,
    /// Size of the bundle in bytes.
    pub size_bytes: usize,
    /// The signatures (embedded, or detached when given).
    pub signatures: Vec<SignatureSummary>,
    /// Whether the signatures are embedded (false: detached or none).
    pub embedded_signature: bool,
    /// The component's imports.
    pub imports: Vec<String>,
    /// The component's exports.
    pub exports: Vec<String>,
    /// Custom sections and their sizes in bytes.
    pub custom_sections: Vec<(String, usize)>,
    /// The embedded source files and their sizes in bytes.
    pub sources: Vec<(String, usize)>,
}

/// Reads a bundle's manifest, signatures, interface and sizes.
pub fn inspect(bytes: &[u8], detached: Option<&[u8]>) -> Result<BundleInspection, BundleError> {
    let parsed = sections::parse(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let manifest = manifest::read_manifest(bytes, &parsed)?;
    let sources = manifest::read_sources(bytes, &parsed)?;
    let embedded =
        signature::embedded(bytes, &parsed).map_err(|e| BundleError::Tampered(e.to_string()))?;
    let hashes = signature::part_hashes(bytes, &parsed);
    let mut signatures = Vec::new();
    if let Some(raw) = detached.or(embedded.as_deref()) {
        let data = SignatureData::decode(raw)
            .map_err(|e| BundleError::Tampered(format!("the signature data is corrupt: {e}")))?;
        for set in &data.sets {
            for entry in &set.signatures {
                signatures.push(SignatureSummary {
                    key_id: String::from_utf8_lossy(&entry.key_id).into_owned(),
                    algorithm: if entry.algorithm == signature::ED25519 {
                        "ed25519".to_string()
                    } else {
                        format!("unknown ({})", entry.algorithm)
                    },
                    covers_content: set.hashes == hashes,
                });
            }
        }
    }
    let (imports, exports) = interface(bytes)?;
    Ok(BundleInspection {
        manifest,
        sha256: crate::sha256_hex(bytes),
        content_sha256: hashes.last().map(hex::encode).unwrap_or_default(),
        size_bytes: bytes.len(),
        signatures,
        embedded_signature: embedded.is_some(),
        imports,
        exports,
        custom_sections: parsed
            .iter()
            .filter_map(|s| s.custom_name.clone().map(|n| (n, s.custom_data.len())))
            .collect(),
        sources: sources
            .iter()
            .map(|s| (s.path.clone(), s.text.len()))
            .collect(),
    })
}

/// The top-level imports and exports of a component.
fn interface(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), BundleError> {
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| BundleError::Malformed(e.to_string()))?;
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(|e| BundleError::Malformed(e.to_string()))?;
                    imports.push(import.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    let export = export.map_err(|e| BundleError::Malformed(e.to_string()))?;
                    exports.push(export.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}
