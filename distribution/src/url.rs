//! A bundle at an `https://` URL (or, only when asked for, `http://`),
//! polled with `If-None-Match`.

use serde_json::json;
use slicegate::reload::{Fetch, Fetched};

use crate::transport::runtime;
use crate::{DistributionError, MAX_BUNDLE_BYTES, Transport};

/// Polls a bundle URL for `slicegate serve`.
pub struct UrlFetcher {
    url: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    etag: Option<String>,
}

impl UrlFetcher {
    /// A fetcher for `url`: `https://`, or `http://` when the transport
    /// allows plain HTTP.
    pub fn new(url: &str, transport: &Transport) -> Result<Self, DistributionError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| DistributionError::Reference(format!("{url}: not a URL: {e}")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if transport.plain_http => {}
            "http" => {
                return Err(DistributionError::Transport(format!(
                    "{url}: plain HTTP is used only when asked for (--plain-http); bundles are \
                     signed, but say so explicitly, or serve them over https://"
                )));
            }
            other => {
                return Err(DistributionError::Reference(format!(
                    "{url}: `{other}` is not http or https"
                )));
            }
        }
        Ok(UrlFetcher {
            url: url.to_string(),
            client: transport.http_client()?,
            runtime: runtime()?,
            etag: None,
        })
    }

    async fn get(&self) -> Result<Option<(Vec<u8>, Option<String>)>, String> {
        let url = &self.url;
        let mut request = self.client.get(url);
        if let Some(etag) = &self.etag {
            request = request.header("If-None-Match", etag);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| format!("fetching {url}: {}", chain(&e)))?;
        let status = response.status().as_u16();
        if status == 304 {
            return Ok(None);
        }
        if status != 200 {
            return Err(format!("fetching {url}: HTTP {status}"));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BUNDLE_BYTES)
        {
            return Err(format!(
                "fetching {url}: more than {MAX_BUNDLE_BYTES} bytes"
            ));
        }
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading {url}: {}", chain(&e)))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MAX_BUNDLE_BYTES {
                return Err(format!(
                    "fetching {url}: more than {MAX_BUNDLE_BYTES} bytes"
                ));
            }
        }
        Ok(Some((bytes, etag)))
    }
}

/// An error with its causes (reqwest's own message is only the first).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Fetch for UrlFetcher {
    fn fetch(&mut self) -> Result<Option<Fetched>, String> {
        let Some((bytes, etag)) = self.runtime.block_on(self.get())? else {
            return Ok(None);
        };
        self.etag = etag;
        Ok(Some(Fetched {
            bytes,
            detached: None,
            alternatives: Vec::new(),
            origin: Some(json!({
                "url": self.url,
                "tls": self.url.starts_with("https://"),
            })),
        }))
    }

    fn forget(&mut self) {
        self.etag = None;
    }
}
