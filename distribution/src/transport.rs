//! How to reach a registry or a URL: TLS (rustls with the `ring`
//! provider, the system's roots and an optional private CA) or, only when
//! asked for, plain HTTP.

use std::path::PathBuf;
use std::time::Duration;

/// Errors fetching or publishing a bundle.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The reference or URL is not one this crate takes.
    #[error("{0}")]
    Reference(String),
    /// The transport could not be set up (a CA file, plain HTTP refused).
    #[error("{0}")]
    Transport(String),
    /// The registry or server answered with an error or could not be
    /// reached.
    #[error("{0}")]
    Remote(String),
    /// What is there is not a slicegate bundle artifact, or its bytes do
    /// not match their digest.
    #[error("{0}")]
    NotABundle(String),
}

/// How to reach the registry or server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// Speak plain HTTP (no TLS). Off unless asked for: `http://` URLs and
    /// plain-HTTP registries are refused without it.
    pub plain_http: bool,
    /// A PEM file of CA certificates trusted besides the system's (a
    /// private CA).
    pub ca_file: Option<PathBuf>,
}

impl Transport {
    /// The CA certificates of `ca_file`, checked to parse.
    fn ca_certificates(&self) -> Result<Option<Vec<u8>>, DistributionError> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let pem = std::fs::read(path).map_err(|e| {
            DistributionError::Transport(format!("--ca-file {}: {e}", path.display()))
        })?;
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) if !certs.is_empty() => Ok(Some(pem)),
            Ok(_) => Err(DistributionError::Transport(format!(
                "--ca-file {}: no PEM certificate in it",
                path.display()
            ))),
            Err(e) => Err(DistributionError::Transport(format!(
                "--ca-file {}: not PEM certificates: {e}",
                path.display()
            ))),
        }
    }

    /// An HTTP client for bundle URLs.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client, DistributionError> {
        install_crypto();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .https_only(!self.plain_http);
        if let Some(pem) = self.ca_certificates()? {
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| DistributionError::Transport(e.to_string()))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        builder
            .build()
            .map_err(|e| DistributionError::Transport(format!("the HTTP client: {e}")))
    }

    /// An OCI registry client.
    pub(crate) fn oci_client(&self) -> Result<oci_client::Client, DistributionError> {
        use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
        install_crypto();
        let extra_root_certificates = match self.ca_certificates()? {
            Some(pem) => vec![Certificate {
                encoding: CertificateEncoding::Pem,
                data: pem,
            }],
            None => Vec::new(),
        };
        let config = ClientConfig {
            protocol: if self.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            // Without --plain-http, no request leaves over plain HTTP — not
            // a redirect, an upload location or a token address the
            // registry names: every `http://` request is sent to a proxy
            // that is not there, and fails (see `refused_plain_http`).
            http_proxy: (!self.plain_http).then(|| NO_PLAIN_HTTP_PROXY.to_string()),
            no_proxy: None,
            extra_root_certificates,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(120)),
            ..ClientConfig::default()
        };
        oci_client::Client::try_from(config)
            .map_err(|e| DistributionError::Transport(format!("the registry client: {e}")))
    }
}

/// Where a TLS-only client sends `http://` requests: a closed port, so
/// they fail before anything is sent.
const NO_PLAIN_HTTP_PROXY: &str = "http://127.0.0.1:1";

/// A registry error, said plainly when it is a plain-HTTP request refused
/// (the registry pointed the client at an `http://` address).
pub(crate) fn remote_error(
    context: &str,
    error: &oci_client::errors::OciDistributionError,
    plain_http: bool,
) -> DistributionError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if !plain_http && text.contains("http://") {
        return DistributionError::Transport(format!(
            "{context}: the registry pointed to a plain-HTTP address (a redirect, an upload \
             location or a token address), refused without --plain-http: {text}"
        ));
    }
    if !plain_http && text.contains("tcp connect error") {
        // reqwest names the first URL, not the one it was sent on to: a
        // plain-HTTP address the registry named fails here too.
        return DistributionError::Remote(format!(
            "{context}: {text} (the registry, or a plain-HTTP address it pointed to — a \
             redirect, an upload location, a token address — which is refused without \
             --plain-http)"
        ));
    }
    DistributionError::Remote(format!("{context}: {text}"))
}

/// The runtime a blocking call drives its requests on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, DistributionError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DistributionError::Transport(format!("an async runtime: {e}")))
}

/// rustls with the `ring` provider, once per process.
fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
