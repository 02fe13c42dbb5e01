//! What a bundle says about itself: the manifest and the sources, each in a
//! custom section, so `slicegate inspect` shows exactly what is enforced.

use serde::{Deserialize, Serialize};

use super::sections::{self, Section};
use crate::sources::{PolicyIdMode, PolicySources, SourceFile};

/// Custom section holding the manifest (JSON).
pub const MANIFEST_SECTION: &str = "slicegate-manifest";
/// Custom section holding the policy sources (JSON).
pub const SOURCES_SECTION: &str = "slicegate-sources";

/// The bundle format version this host writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A bundle's name, e.g. `gb-example-mobile`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BundleName(pub String);

impl std::fmt::Display for BundleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bundle's monotonic revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Revision(pub u64);

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One source file and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileDigest {
    /// Path relative to the policy folder.
    pub path: String,
    /// `schema`, `policy` or `data`.
    pub kind: String,
    /// sha256 of the file, hex.
    pub sha256: String,
}

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleManifest {
    /// Bundle format version.
    pub format: u32,
    /// The bundle's name.
    pub name: BundleName,
    /// Its monotonic revision.
    pub revision: Revision,
    /// When it was built (RFC 3339).
    pub created_at: String,
    /// Not valid before (RFC 3339), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// Not valid after (RFC 3339), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// The compiler that built it (`slicegate x.y.z`).
    pub compiler: String,
    /// The engine component's version.
    pub engine_version: String,
    /// sha256 of the engine component the snapshot was made from.
    pub engine_sha256: String,
    /// The `cedar-policy` version inside the engine.
    pub cedar_version: String,
    /// sha256 of the schema.
    pub schema_sha256: String,
    /// Every source file and its hash, sorted by path.
    pub files: Vec<FileDigest>,
    /// The policy packs included.
    pub packs: Vec<String>,
    /// Number of policies.
    pub policy_count: u32,
    /// How many of them the engine compiled (the rest it interprets);
    /// absent in bundles built before the compiler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiled_policies: Option<u32>,
    /// The policy ids with their annotations.
    pub policies: Vec<PolicySummary>,
    /// The test summary, when tests ran at build time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<String>,
}

/// A policy as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySummary {
    /// The `@id`.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// `@pack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    /// `@reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `@source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The file it is written in.
    pub file: String,
}

/// A source file carried in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSource {
    /// Path relative to the policy folder.
    pub path: String,
    /// The text.
    pub text: String,
}

/// Why a bundle's own description could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No manifest section.
    #[error("the bundle has no {MANIFEST_SECTION} section; is it a slicegate bundle?")]
    Missing,
    /// The manifest is not valid.
    #[error("the bundle manifest is malformed: {0}")]
    Malformed(String),
    /// A newer format.
    #[error("bundle format {0} is newer than this host reads ({FORMAT_VERSION})")]
    Format(u32),
    /// Not a well-formed component.
    #[error("the bundle is not a well-formed component: {0}")]
    Sections(String),
    /// No sources embedded.
    #[error("the bundle carries no sources (not built by slicegate build?)")]
    NoSources,
}

/// The policy sources a bundle carries (as `slicegate build` embedded them).
pub fn embedded_sources(bundle: &[u8]) -> Result<PolicySources, ManifestError> {
    let parsed = sections::parse(bundle).map_err(|e| ManifestError::Sections(e.to_string()))?;
    let embedded = read_sources(bundle, &parsed)?;
    if embedded.is_empty() {
        return Err(ManifestError::NoSources);
    }
    let mut sources = PolicySources {
        policies: Vec::new(),
        schema: None,
        entities: Vec::new(),
        policy_ids: PolicyIdMode::Annotation,
        strict: true,
        bundle_name: String::new(),
        bundle_revision: 0,
    };
    for file in embedded {
        let source = SourceFile {
            name: file.path.clone(),
            text: file.text,
        };
        if file.path.ends_with(".cedarschema") {
            sources.schema = Some(source);
        } else if file.path.ends_with(".cedar") {
            sources.policies.push(source);
        } else {
            sources.entities.push(source);
        }
    }
    Ok(sources)
}

/// Reads the manifest from a bundle's sections.
pub fn read_manifest(bytes: &[u8], sections: &[Section]) -> Result<BundleManifest, ManifestError> {
    let data =
        sections::find_custom(bytes, sections, MANIFEST_SECTION).ok_or(ManifestError::Missing)?;
    let manifest: BundleManifest =
        serde_json::from_slice(data).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    if manifest.format > FORMAT_VERSION {
        return Err(ManifestError::Format(manifest.format));
    }
    Ok(manifest)
}

/// Reads the embedded sources from a bundle's sections (empty if none).
pub fn read_sources(
    bytes: &[u8],
    sections: &[Section],
) -> Result<Vec<EmbeddedSource>, ManifestError> {
    match sections::find_custom(bytes, sections, SOURCES_SECTION) {
        Some(data) => {
            serde_json::from_slice(data).map_err(|e| ManifestError::Malformed(e.to_string()))
        }
        None => Ok(Vec::new()),
    }
}
