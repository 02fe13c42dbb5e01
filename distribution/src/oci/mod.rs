//! A bundle as an OCI artifact, after the WebAssembly OCI convention: an
//! image manifest with one `application/wasm` layer (the bundle file) and a
//! config of type `application/vnd.wasm.config.v0+json`, annotated with the
//! bundle's name, revision and creation time. A detached signature is an
//! artifact of its own whose `subject` is the bundle's manifest (OCI 1.1
//! referrers), also listed in the referrers tag schema's index (tag
//! `sha256-<hex>`) for registries without the referrers API.
//!
//! Every manifest and blob read is checked against its digest here, and the
//! manifest's shape (media types, one layer, sizes) before any blob is
//! fetched; the bundle itself is verified by the loader.

use std::collections::BTreeMap;
use std::str::FromStr;

use oci_client::Reference;
use oci_client::manifest::{OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor};
use oci_client::secrets::RegistryAuth;
use serde_json::{Value, json};
use slicegate::reload::{Fetch, Fetched};

use crate::transport::runtime;
use crate::{DistributionError, MAX_BUNDLE_BYTES, Transport, oci_digest};

mod fetcher;
mod push;

pub use fetcher::OciFetcher;
pub use push::push;

/// The bundle layer's media type.
pub const WASM_LAYER: &str = "application/wasm";
/// The config's media type.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The artifact type (and layer media type) of a detached signature.
pub const SIGNATURE_TYPE: &str = "application/vnd.slicegate.bundle.signature.v1";
/// The empty config of a signature artifact.
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// The largest manifest or index read: 4 MiB.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Annotation keys.
pub const ANNOTATION_NAME: &str = "io.slicegate.bundle.name";
/// The bundle's revision.
pub const ANNOTATION_REVISION: &str = "io.slicegate.bundle.revision";
/// The bundle's creation time (and `org.opencontainers.image.created`).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// `oci://HOST[:PORT]/REPO:TAG`, `oci://HOST[:PORT]/REPO@sha256:…` or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    reference: Reference,
    /// Whether it is reached over plain HTTP (for error messages; set by
    /// the calls that take a transport).
    plain_http: bool,
}

impl FromStr for OciRef {
    type Err = DistributionError;

    fn from_str(text: &str) -> Result<Self, DistributionError> {
        let bad = |why: &str| {
            DistributionError::Reference(format!(
                "{text}: {why} (an OCI reference is oci://HOST[:PORT]/REPO:TAG or \
                 oci://HOST[:PORT]/REPO@sha256:<64 hex digits>)"
            ))
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| bad("not an oci:// reference"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("no repository after the registry"))?;
        if host.is_empty() || path.is_empty() {
            return Err(bad("no registry or no repository"));
        }
        let last = path.rsplit('/').next().unwrap_or(path);
        if !last.contains(':') && !last.contains('@') {
            return Err(bad("no tag and no digest"));
        }
        let reference = Reference::from_str(rest).map_err(|e| bad(&e.to_string()))?;
        // Without a dot, a port or `localhost`, the first component would be
        // read as a Docker Hub namespace: the registry must be explicit.
        if reference.registry() != host {
            return Err(bad("the registry must be a host name with a dot or a port"));
        }
        Ok(OciRef {
            reference,
            plain_http: false,
        })
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}", self.reference)
    }
}

impl OciRef {
    /// The same reference, reached over `transport`.
    fn over(&self, transport: &Transport) -> OciRef {
        OciRef {
            plain_http: transport.plain_http,
            ..self.clone()
        }
    }

    /// The pinned digest, if the reference has one.
    pub fn digest(&self) -> Option<&str> {
        self.reference.digest()
    }

    /// The same repository at `digest`.
    fn at(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
            digest.to_string(),
        )
    }

    /// The same repository at `tag`.
    fn tagged(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
            tag.to_string(),
        )
    }
}

/// What the bundle manifest's annotations say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLabels {
    /// The bundle's name.
    pub name: String,
    /// Its revision.
    pub revision: u64,
    /// When it was built (RFC 3339).
    pub created_at: String,
}

/// What a push wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The bundle manifest's digest (`sha256:…`).
    pub digest: String,
    /// The signature artifact's manifest digest, when one was pushed.
    pub signature_digest: Option<String>,
}

/// What a pull brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The bundle file.
    pub bytes: Vec<u8>,
    /// The detached signatures attached to it, newest first (at most
    /// [`MAX_SIGNATURES`]): the loader takes the first that verifies.
    pub signatures: Vec<Vec<u8>>,
    /// The signature referrers' manifest digests, as listed.
    pub referrers: Vec<String>,
    /// The bundle manifest's digest.
    pub digest: String,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

fn remote(
    what: &str,
    to: &OciRef,
) -> impl Fn(oci_client::errors::OciDistributionError) -> DistributionError {
    let context = format!("{what} {to}");
    let plain_http = to.plain_http;
    move |e| crate::transport::remote_error(&context, &e, plain_http)
}

/// Pulls the bundle at `from` (and its latest detached signature).
pub fn pull(from: &OciRef, transport: &Transport) -> Result<Pulled, DistributionError> {
    let client = transport.oci_client()?;
    let from = &from.over(transport);
    runtime()?.block_on(pull_with(&client, from, from.digest()))
}

/// The manifest digest `from`'s tag points at now (or its pinned digest).
async fn resolve(client: &oci_client::Client, from: &OciRef) -> Result<String, DistributionError> {
    if let Some(digest) = from.digest() {
        return Ok(digest.to_string());
    }
    client
        .fetch_manifest_digest(&from.reference, &RegistryAuth::Anonymous)
        .await
        .map_err(remote("resolving", from))
}

/// Reads a manifest (or index) at `reference`, checked against `digest`.
async fn manifest_at(
    client: &oci_client::Client,
    from: &OciRef,
    reference: &Reference,
    digest: &str,
    media_type: &str,
) -> Result<Value, DistributionError> {
    let (bytes, _) = client
        .pull_manifest_raw(reference, &RegistryAuth::Anonymous, &[media_type])
        .await
        .map_err(remote("reading a manifest of", from))?;
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(DistributionError::NotABundle(format!(
            "{from}: a manifest of {} bytes (at most {MAX_MANIFEST_BYTES})",
            bytes.len()
        )));
    }
    if oci_digest(&bytes) != digest {
        return Err(DistributionError::NotABundle(format!(
            "{from}: the manifest's bytes do not match its digest {digest}"
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        DistributionError::NotABundle(format!("{from}: a manifest that is not JSON: {e}"))
    })
}

/// The one layer of `manifest` of `media_type`, as a descriptor.
fn one_layer(
    from: &OciRef,
    manifest: &Value,
    media_type: &str,
) -> Result<OciDescriptor, DistributionError> {
    let not = |why: String| DistributionError::NotABundle(format!("{from}: {why}"));
    let layers = manifest["layers"]
        .as_array()
        .ok_or_else(|| not("a manifest without layers".to_string()))?;
    let [layer] = layers.as_slice() else {
        return Err(not(format!("{} layers, not one", layers.len())));
    };
    if layer["mediaType"] != media_type {
        return Err(not(format!(
            "a layer of type {}, not {media_type}",
            layer["mediaType"]
        )));
    }
    let descriptor: OciDescriptor = serde_json::from_value(layer.clone())
        .map_err(|e| not(format!("a layer descriptor that does not parse: {e}")))?;
    if descriptor.size < 0 || descriptor.size as u64 > MAX_BUNDLE_BYTES {
        return Err(not(format!(
            "a layer of {} bytes (at most {MAX_BUNDLE_BYTES})",
            descriptor.size
        )));
    }
    Ok(descriptor)
}

/// Reads the blob `descriptor` names, checked against its digest and size:
/// at most `descriptor.size` bytes are kept, whatever the registry sends.
async fn blob(
    client: &oci_client::Client,
    from: &OciRef,
    descriptor: &OciDescriptor,
) -> Result<Vec<u8>, DistributionError> {
    let mut out = Bounded {
        bytes: Vec::with_capacity(descriptor.size.max(0) as usize),
        limit: descriptor.size.max(0) as usize,
    };
    client
        .pull_blob(&from.reference, descriptor, &mut out)
        .await
        .map_err(remote("reading a blob of", from))?;
    let out = out.bytes;
    if out.len() as i64 != descriptor.size || oci_digest(&out) != descriptor.digest {
        return Err(DistributionError::NotABundle(format!(
            "{from}: the blob {} does not match its digest or size",
            descriptor.digest
        )));
    }
    Ok(out)
}

/// A buffer that refuses bytes past `limit` (a blob longer than its
/// descriptor says is not read into memory).
struct Bounded {
    bytes: Vec<u8>,
    limit: usize,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.bytes.len() + data.len() > self.limit {
            return std::task::Poll::Ready(Err(std::io::Error::other(format!(
                "more bytes than the descriptor's {}",
                self.limit
            ))));
        }
        self.bytes.extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

async fn pull_with(
    client: &oci_client::Client,
    from: &OciRef,
    digest: Option<&str>,
) -> Result<Pulled, DistributionError> {
    let digest = match digest {
        Some(digest) => digest.to_string(),
        None => resolve(client, from).await?,
    };
    let manifest = manifest_at(
        client,
        from,
        &from.at(&digest),
        &digest,
        OCI_IMAGE_MEDIA_TYPE,
    )
    .await?;
    if manifest["config"]["mediaType"] != WASM_CONFIG {
        return Err(DistributionError::NotABundle(format!(
            "{from}: not a WebAssembly artifact (config type {}, not {WASM_CONFIG})",
            manifest["config"]["mediaType"]
        )));
    }
    let layer = one_layer(from, &manifest, WASM_LAYER)?;
    let bytes = blob(client, from, &layer).await?;
    let annotations = manifest["annotations"]
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let listed = referrers(client, from, &digest).await?;
    let signatures = signatures_of(client, from, &digest, &listed).await?;
    Ok(Pulled {
        bytes,
        signatures,
        referrers: listed,
        digest,
        annotations,
    })
}

/// The signature referrers of the manifest `digest` (from the referrers
/// API, or the referrers tag schema), newest first, as the registry lists
/// them: their manifest digests.
async fn referrers(
    client: &oci_client::Client,
    from: &OciRef,
    digest: &str,
) -> Result<Vec<String>, DistributionError> {
    let index = client
        .pull_referrers(&from.at(digest), Some(SIGNATURE_TYPE))
        .await
        .map_err(remote("listing the referrers of", from))?;
    Ok(index
        .manifests
        .iter()
        .rev()
        .filter(|e| e.artifact_type.as_deref() == Some(SIGNATURE_TYPE))
        .map(|e| e.digest.clone())
        .take(MAX_SIGNATURES)
        .collect())
}

/// The most signature referrers read for one bundle.
pub const MAX_SIGNATURES: usize = 16;

/// The detached signatures the referrers `listed` hold for the manifest
/// `digest`, newest first; a referrer whose manifest does not name that
/// subject, or does not check out, is skipped.
async fn signatures_of(
    client: &oci_client::Client,
    from: &OciRef,
    digest: &str,
    listed: &[String],
) -> Result<Vec<Vec<u8>>, DistributionError> {
    let mut out = Vec::new();
    for entry in listed {
        let Ok(manifest) =
            manifest_at(client, from, &from.at(entry), entry, OCI_IMAGE_MEDIA_TYPE).await
        else {
            continue;
        };
        // The index is the registry's word; the manifest must say it too.
        if manifest["subject"]["digest"] != digest || manifest["artifactType"] != SIGNATURE_TYPE {
            continue;
        }
        let Ok(layer) = one_layer(from, &manifest, SIGNATURE_TYPE) else {
            continue;
        };
        if let Ok(signature) = blob(client, from, &layer).await {
            out.push(signature);
        }
    }
    Ok(out)
}
