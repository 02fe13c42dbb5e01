//! slicegate bundles where operators keep their other artifacts.
//!
//! - [`oci`]: a bundle as an OCI artifact (the WebAssembly OCI convention:
//!   one `application/wasm` layer, config
//!   `application/vnd.wasm.config.v0+json`, the bundle's name, revision and
//!   creation time as annotations), a detached signature attached as a
//!   referrer (OCI 1.1 `subject`, and the referrers tag schema for
//!   registries without the referrers API); [`oci::push`], [`oci::pull`] and
//!   an [`oci::OciFetcher`] that polls a tag for `slicegate serve`.
//! - [`url`]: an [`url::UrlFetcher`] for `https://` (and, when asked for,
//!   plain `http://`) bundle URLs, polled with `If-None-Match`.
//!
//! Both speak TLS through rustls (the `ring` provider) with the system's
//! roots and, for a private CA, a PEM file ([`Transport::ca_file`]). Plain
//! HTTP is used only when [`Transport::plain_http`] says so. Nothing here
//! verifies a bundle: what is fetched goes to the loader, which checks
//! signatures, threshold, windows and revision exactly as for a file.

pub mod oci;
#[cfg(feature = "testing")]
pub mod testing;
mod transport;
pub mod url;

pub use transport::{DistributionError, Transport};

/// The fetcher for a remote `source` (`None` for a file, which the
/// reloader reads itself): an OCI reference or a URL, over `transport`.
pub fn fetcher_for(
    source: &slicegate::reload::BundleSource,
    transport: &Transport,
) -> Result<Option<Box<dyn slicegate::reload::Fetch>>, DistributionError> {
    use slicegate::reload::BundleSource;
    Ok(match source {
        BundleSource::File(_) => None,
        BundleSource::Url(url) => Some(Box::new(url::UrlFetcher::new(url, transport)?)),
        BundleSource::Oci(reference) => Some(Box::new(oci::OciFetcher::new(
            reference.parse()?,
            transport,
        )?)),
    })
}

/// The largest bundle (or signature) fetched: 256 MiB.
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// sha256 of `bytes` as an OCI digest (`sha256:<hex>`).
pub fn oci_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", slicegate::sha256_hex(bytes))
}
