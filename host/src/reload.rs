//! Hot reload: one active bundle that many threads decide with, replaced
//! atomically by a newer verified bundle.
//!
//! - [`ActiveBundle`] is a loaded bundle with a pool of pre-initialised
//!   deciders, one checked out per decision.
//! - [`BundleSlot`] holds the active bundle behind an `Arc`: a decision takes
//!   the `Arc` when it starts and finishes on that bundle, however many
//!   reloads happen meanwhile.
//! - [`Reloader`] fetches from a [`BundleSource`] (a file; or a URL or an
//!   OCI reference, through a [`Fetch`] the embedder supplies — the
//!   `slicegate-distribution` crate has both), verifies what it gets
//!   (signatures, threshold, window, revision) and only then swaps it in. A
//!   bundle that fails is refused, the last good one stays active, and the
//!   failure is kept in the slot's [`ReloadStatus`].
//!
//! Bundles are signed, so integrity does not depend on the transport.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::bundle::{BundleLoader, LoadedBundle};
use crate::decider::Decider;
use crate::decision::Failure;

/// A loaded bundle and the deciders that decide with it.
pub struct ActiveBundle {
    bundle: LoadedBundle,
    origin: Option<serde_json::Value>,
    loaded_at: SystemTime,
    what_if: bool,
    pool: Mutex<Vec<Decider>>,
}

impl ActiveBundle {
    /// Wraps `bundle`; `what_if` permits caller-supplied evaluation times.
    pub fn new(bundle: LoadedBundle, what_if: bool) -> Self {
        ActiveBundle {
            bundle,
            origin: None,
            loaded_at: SystemTime::now(),
            what_if,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// The bundle.
    pub fn bundle(&self) -> &LoadedBundle {
        &self.bundle
    }

    /// Where it was fetched from, as its fetcher describes it (an OCI
    /// reference and manifest digest, a URL and whether TLS was used).
    pub fn origin(&self) -> Option<&serde_json::Value> {
        self.origin.as_ref()
    }

    /// When it became active.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }

    /// Runs `f` with a decider of this bundle: one from the pool, or a fresh
    /// pre-initialised one when all are busy. The decider goes back to the
    /// pool afterwards (a trapped instance inside it is replaced on its next
    /// use, never reused).
    pub fn with_decider<R>(&self, f: impl FnOnce(&mut Decider) -> R) -> Result<R, Failure> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut decider = match pooled {
            Some(decider) => decider,
            None => self.bundle.decider()?.permit_what_if(self.what_if),
        };
        let result = f(&mut decider);
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(decider);
        Ok(result)
    }
}

/// A refused reload, as kept for `/v1/bundle` and the metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReloadFailure {
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub message: String,
}

/// What reloading has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReloadStatus {
    /// Bundles swapped in after the first.
    pub reloads: u64,
    /// Bundles (or fetches) refused.
    pub failures: u64,
    /// The last refusal, if any since the last successful swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<ReloadFailure>,
    /// When the source was last checked (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check: Option<String>,
}

/// The active bundle, swappable atomically.
#[derive(Default)]
pub struct BundleSlot {
    current: RwLock<Option<Arc<ActiveBundle>>>,
    status: Mutex<ReloadStatus>,
}

impl BundleSlot {
    /// An empty slot: nothing is decided until a bundle is set.
    pub fn empty() -> Self {
        BundleSlot::default()
    }

    /// The active bundle, if one is loaded. Hold the `Arc` for the whole
    /// decision.
    pub fn current(&self) -> Option<Arc<ActiveBundle>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes `bundle` the active one.
    pub fn set(&self, bundle: ActiveBundle) {
        let replaced = self
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .replace(Arc::new(bundle))
            .is_some();
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if replaced {
            status.reloads += 1;
        }
        status.last_failure = None;
    }

    /// Records a refused reload.
    pub fn record_failure(&self, message: String) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.failures += 1;
        status.last_failure = Some(ReloadFailure { at: now(), message });
    }

    fn record_check(&self) {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_check = Some(now());
    }

    /// What reloading has done.
    pub fn status(&self) -> ReloadStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Where bundles come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleSource {
    /// A file, re-read when its content changes (a detached signature at
    /// `<file>.sig` is used when the bundle has no embedded one).
    File(PathBuf),
    /// An `http://` or `https://` URL (fetched by a [`Fetch`]).
    Url(String),
    /// An OCI reference, `oci://HOST[:PORT]/REPO:TAG` or `…@sha256:…`
    /// (fetched by a [`Fetch`]).
    Oci(String),
}

impl std::str::FromStr for BundleSource {
    type Err = String;

    /// `http://…` and `https://…` are URLs, `oci://…` an OCI reference, an
    /// other `scheme://` is refused, anything else is a file path.
    fn from_str(text: &str) -> Result<Self, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            Ok(BundleSource::Url(text.to_string()))
        } else if text.starts_with("oci://") {
            Ok(BundleSource::Oci(text.to_string()))
        } else if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            Err(format!(
                "{text}: `{scheme}://` is not a bundle source (a file, http://, https:// or oci://)"
            ))
        } else {
            Ok(BundleSource::File(PathBuf::from(text)))
        }
    }
}

impl std::fmt::Display for BundleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleSource::File(path) => write!(f, "{}", path.display()),
            BundleSource::Url(url) | BundleSource::Oci(url) => f.write_str(url),
        }
    }
}

/// A bundle fetched from a remote source.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The bundle's bytes, as fetched (verified afterwards).
    pub bytes: Vec<u8>,
    /// A detached signature, when the source has one for it.
    pub detached: Option<Vec<u8>>,
    /// Other detached signatures the source holds for it (an OCI
    /// registry's further signature referrers, newest first): tried in turn
    /// when `detached` does not verify, so a bogus one attached later
    /// cannot block a bundle that a valid one signs.
    pub alternatives: Vec<Vec<u8>>,
    /// Where exactly it came from (for `/v1/bundle`): an OCI manifest
    /// digest, whether TLS was used, ….
    pub origin: Option<serde_json::Value>,
}

/// Fetches bundles from a remote source, for a [`Reloader`].
pub trait Fetch: Send {
    /// The bundle now at the source, or `None` when it says nothing changed
    /// since the last call (an ETag, an unchanged manifest digest). An error
    /// is a message naming the source.
    fn fetch(&mut self) -> Result<Option<Fetched>, String>;

    /// The last bundle fetched was not kept (it is not valid yet): fetch it
    /// again at the next call even if the source says it is unchanged.
    fn forget(&mut self) {}
}

/// What one check of the source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The source holds the active bundle (or says `304 Not Modified`).
    Unchanged,
    /// A newer bundle was verified and is now active.
    Replaced {
        /// The revision before, if one was active.
        from: Option<u64>,
        /// The revision now active.
        to: u64,
    },
    /// The source could not be read, or what it held was refused; the
    /// active bundle (if any) stays.
    Refused(String),
    /// The bundle there is not valid yet (its not-before, or its signing
    /// keys'): refused for now, and checked again at every poll — without
    /// backing off — so it is served from the moment it is valid.
    NotYetValid(String),
}

/// Fetches, verifies and swaps in bundles from one source.
pub struct Reloader {
    source: BundleSource,
    loader: BundleLoader,
    slot: Arc<BundleSlot>,
    what_if: bool,
    /// Fetches a URL or OCI source.
    fetcher: Option<Box<dyn Fetch>>,
    /// sha256 of the last bytes fetched and of their detached signature
    /// (accepted, or refused for good), so the same refused bundle is not
    /// re-verified and re-reported on every poll.
    last_seen: Option<String>,
}

impl Reloader {
    /// A reloader filling `slot` from `source`, verifying with `loader`.
    pub fn new(
        source: BundleSource,
        loader: BundleLoader,
        slot: Arc<BundleSlot>,
        what_if: bool,
    ) -> Self {
        Reloader {
            source,
            loader,
            slot,
            what_if,
            fetcher: None,
            last_seen: None,
        }
    }

    /// Fetches the (URL or OCI) source with `fetcher`.
    pub fn with_fetcher(mut self, fetcher: Box<dyn Fetch>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The slot it fills.
    pub fn slot(&self) -> &Arc<BundleSlot> {
        &self.slot
    }

    /// The source.
    pub fn source(&self) -> &BundleSource {
        &self.source
    }

    /// Checks the source once: fetch, and if the bytes are new, verify and
    /// swap in. Failures are recorded in the slot's status.
    pub fn check(&mut self) -> ReloadOutcome {
        self.slot.record_check();
        let outcome = match self.fetch() {
            Ok(None) => ReloadOutcome::Unchanged,
            Ok(Some(fetched)) => self.consider(fetched),
            Err(message) => ReloadOutcome::Refused(message),
        };
        match &outcome {
            ReloadOutcome::Refused(message) | ReloadOutcome::NotYetValid(message) => {
                tracing::warn!(source = %self.source, "bundle refused: {message}");
                self.slot.record_failure(message.clone());
            }
            ReloadOutcome::Replaced { from, to } => {
                tracing::info!(source = %self.source, ?from, to, "bundle replaced");
            }
            ReloadOutcome::Unchanged => {}
        }
        outcome
    }

    /// Verifies `bytes` and makes it active if it is newer than the active
    /// bundle.
    fn consider(&mut self, fetched: Fetched) -> ReloadOutcome {
        let (bytes, detached) = (fetched.bytes.as_slice(), fetched.detached.as_deref());
        let digest = format!(
            "{}/{}/{}",
            crate::sha256_hex(bytes),
            detached.map(crate::sha256_hex).unwrap_or_default(),
            fetched
                .alternatives
                .iter()
                .map(|a| crate::sha256_hex(a))
                .collect::<Vec<_>>()
                .join(",")
        );
        if self.last_seen.as_deref() == Some(digest.as_str()) {
            return ReloadOutcome::Unchanged;
        }
        self.last_seen = Some(digest);
        let active = self.slot.current();
        let from = active.as_ref().map(|a| a.bundle().manifest.revision.0);
        // Cheap checks first: verify (signatures, window) before compiling.
        // The first signature that verifies (the others are not read).
        let mut verification = self.loader.verify(bytes, detached);
        let mut detached = detached;
        if verification.is_err() {
            for alternative in &fetched.alternatives {
                if let Ok(verified) = self.loader.verify(bytes, Some(alternative)) {
                    verification = Ok(verified);
                    detached = Some(alternative.as_slice());
                    break;
                }
            }
        }
        let verified = match verification {
            Ok(verified) => verified,
            Err(error) if error.may_become_valid() => {
                // Not remembered: the same bytes are fetched and verified
                // again next time.
                self.last_seen = None;
                if let Some(fetcher) = &mut self.fetcher {
                    fetcher.forget();
                }
                return ReloadOutcome::NotYetValid(format!("{}: {error}", self.source));
            }
            Err(error) => return ReloadOutcome::Refused(format!("{}: {error}", self.source)),
        };
        if let Some(active) = &active {
            let current = &active.bundle().manifest;
            if verified.sha256 == active.bundle().sha256 {
                return ReloadOutcome::Unchanged;
            }
            if verified.manifest.name != current.name {
                return ReloadOutcome::Refused(format!(
                    "{}: bundle `{}` is not the active bundle `{}`",
                    self.source, verified.manifest.name, current.name
                ));
            }
            if verified.manifest.revision <= current.revision {
                return ReloadOutcome::Refused(format!(
                    "{}: revision {} is not newer than the active revision {} (a different bundle under the same or a lower revision is refused)",
                    self.source, verified.manifest.revision.0, current.revision.0
                ));
            }
        }
        match self.loader.load(bytes, detached) {
            Ok(loaded) => {
                let to = loaded.manifest.revision.0;
                let mut active = ActiveBundle::new(loaded, self.what_if);
                active.origin = fetched.origin;
                self.slot.set(active);
                ReloadOutcome::Replaced { from, to }
            }
            Err(error) => ReloadOutcome::Refused(format!("{}: {error}", self.source)),
        }
    }

    /// New bytes from the source (and a detached signature), or `None` when
    /// it says nothing changed.
    fn fetch(&mut self) -> Result<Option<Fetched>, String> {
        match (&self.source, &mut self.fetcher) {
            (BundleSource::File(path), _) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("reading bundle {}: {e}", path.display()))?;
                // As `BundleLoader::load_file`: a detached signature beside
                // the bundle counts only when the bundle has none embedded.
                let detached = if crate::bundle::has_embedded_signature(&bytes) {
                    None
                } else {
                    std::fs::read(crate::bundle::detached_signature_path(path)).ok()
                };
                Ok(Some(Fetched {
                    bytes,
                    detached,
                    alternatives: Vec::new(),
                    origin: None,
                }))
            }
            (_, Some(fetcher)) => fetcher.fetch(),
            (source, None) => Err(format!(
                "{source}: no fetcher for this source (the slicegate-distribution crate fetches \
                 URLs and OCI references)"
            )),
        }
    }

    /// Checks the source every `interval` until `stop` is set, backing off
    /// (doubling, up to `max_backoff`) while checks fail. Runs on its own
    /// thread; decisions never wait for it. Fails only if the thread cannot
    /// be started.
    pub fn spawn(
        mut self,
        interval: Duration,
        max_backoff: Duration,
        stop: Arc<std::sync::atomic::AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("slicegate-reload".to_string())
            .spawn(move || {
                let mut wait = interval;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    sleep_unless_stopped(wait, &stop);
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    wait = match self.check() {
                        ReloadOutcome::Refused(_) => (wait * 2).min(max_backoff.max(interval)),
                        _ => interval,
                    };
                }
            })
    }
}

fn sleep_unless_stopped(total: Duration, stop: &std::sync::atomic::AtomicBool) {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(step.min(total - slept));
        slept += step;
    }
}

/// Loads the first bundle from `source` (a file, or a remote source once
/// [`Reloader::with_fetcher`] gave it a fetcher) into a new slot.
pub fn first_load(
    source: &BundleSource,
    loader: BundleLoader,
    what_if: bool,
) -> (Reloader, Result<u64, String>) {
    let slot = Arc::new(BundleSlot::empty());
    first_load_with(Reloader::new(source.clone(), loader, slot, what_if))
}

/// Loads the first bundle with `reloader` (its slot empty).
pub fn first_load_with(mut reloader: Reloader) -> (Reloader, Result<u64, String>) {
    let result = match reloader.check() {
        ReloadOutcome::Replaced { to, .. } => Ok(to),
        ReloadOutcome::Refused(message) | ReloadOutcome::NotYetValid(message) => Err(message),
        ReloadOutcome::Unchanged => Err(format!("{}: no bundle there", reloader.source)),
    };
    (reloader, result)
}
