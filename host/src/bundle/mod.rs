//! Signed policy bundles: build (pre-initialise), inspect, sign, verify,
//! trust and load.
//!
//! A bundle is one `.wasm` component: the engine with the policy set already
//! loaded in its memory, a `slicegate-manifest` and a `slicegate-sources`
//! custom section, and a `signature` section first (or a detached signature
//! beside it) in the WebAssembly tool-conventions layout.

mod cache;
#[cfg(feature = "build")]
mod check;
#[cfg(feature = "build")]
mod compile;
mod inspect;
mod keys;
mod loader;
mod manifest;
mod sections;
mod signature;
mod trust;
mod verify;

pub use cache::CompileCache;
#[cfg(feature = "build")]
pub use check::{CheckError, CheckedPolicies, Problem, check};
#[cfg(feature = "build")]
pub use compile::{
    BuildError, BuildOptions, PreparedBundle, build, preinitialise, preinitialise_within, prepare,
};
pub use inspect::{BundleInspection, SignatureSummary, inspect};
pub use keys::{KeyError, KeyPair, public_key_from_bytes};
pub use loader::{BundleLoader, LoadedBundle, Validity};
pub use loader::{detached_signature_path, has_embedded_signature};
pub use manifest::{
    BundleManifest, BundleName, EmbeddedSource, FileDigest, ManifestError, PolicySummary, Revision,
    embedded_sources,
};
pub use signature::{SignatureData, SignatureFormatError};
pub use trust::{KeyId, RevisionState, TrustError, TrustStore, TrustedKey};
pub use verify::{BundleError, VerifiedBundle, verify};

/// Signs `bytes` with `key` under `key_id`, adding to any signatures already
/// embedded. Returns the bundle with the signature embedded first.
pub fn sign_embedded(
    bytes: &[u8],
    key: &KeyPair,
    key_id: &str,
) -> Result<Vec<u8>, SignatureFormatError> {
    let parsed = sections::parse(bytes)?;
    let previous = signature::embedded(bytes, &parsed)?;
    let data = signature::add_signature(bytes, previous.as_deref(), key.signing_key(), key_id)?;
    signature::embed(bytes, &data)
}

/// Signs `bytes` with `key` under `key_id` as a detached signature, adding to
/// `previous` detached signature data when given. The bundle is unchanged.
pub fn sign_detached(
    bytes: &[u8],
    previous: Option<&[u8]>,
    key: &KeyPair,
    key_id: &str,
) -> Result<Vec<u8>, SignatureFormatError> {
    Ok(signature::add_signature(bytes, previous, key.signing_key(), key_id)?.encode())
}
