//! The fetcher `slicegate serve` polls an OCI reference with.

use super::*;

/// Polls an OCI reference for `slicegate serve`: the tag's manifest digest
/// is resolved at every check, and a new one is pulled (a pinned digest is
/// pulled once).
pub struct OciFetcher {
    from: OciRef,
    plain_http: bool,
    client: oci_client::Client,
    runtime: tokio::runtime::Runtime,
    last: Option<String>,
}

impl OciFetcher {
    /// A fetcher for `from` over `transport`.
    pub fn new(from: OciRef, transport: &Transport) -> Result<Self, DistributionError> {
        Ok(OciFetcher {
            client: transport.oci_client()?,
            plain_http: transport.plain_http,
            runtime: runtime()?,
            from: from.over(transport),
            last: None,
        })
    }
}

impl Fetch for OciFetcher {
    /// The tag's manifest digest and its signature referrers are read at
    /// every check; the bundle is pulled when either changed (a signature
    /// attached after the push is picked up).
    fn fetch(&mut self) -> Result<Option<Fetched>, String> {
        let (client, from) = (&self.client, &self.from);
        let (digest, listed) = self
            .runtime
            .block_on(async {
                let digest = resolve(client, from).await?;
                let listed = referrers(client, from, &digest).await?;
                Ok::<_, DistributionError>((digest, listed))
            })
            .map_err(|e| e.to_string())?;
        let seen = format!("{digest} {}", listed.join(" "));
        if self.last.as_deref() == Some(seen.as_str()) {
            return Ok(None);
        }
        let pulled = self
            .runtime
            .block_on(pull_with(client, from, Some(&digest)))
            .map_err(|e| e.to_string())?;
        self.last = Some(format!("{digest} {}", pulled.referrers.join(" ")));
        // As for a file: a detached signature counts only when the bundle
        // has none embedded.
        let mut signatures = if slicegate::bundle::has_embedded_signature(&pulled.bytes) {
            Vec::new()
        } else {
            pulled.signatures
        };
        let detached = (!signatures.is_empty()).then(|| signatures.remove(0));
        Ok(Some(Fetched {
            bytes: pulled.bytes,
            detached,
            alternatives: signatures,
            origin: Some(json!({
                "reference": from.to_string(),
                "digest": digest,
                "plainHttp": self.plain_http,
            })),
        }))
    }

    fn forget(&mut self) {
        self.last = None;
    }
}
