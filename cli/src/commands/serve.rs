//! `slicegate serve`: the decision service over a signed bundle, reloaded
//! when a newer one is published.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};

/// `eprintln!` that never panics: a closed stderr must not end the service
/// (a panic would leave its decision log open).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}
use slicegate::bundle::{BundleLoader, CompileCache, TrustStore};
use slicegate::decision_log::{DecisionLog, Durability};
use slicegate::reload::{BundleSource, Reloader, first_load_with};
use slicegate::sol003::PackageMap;
use slicegate_server::{AppState, Config};

#[derive(clap::Args)]
pub struct Args {
    /// The signed bundle: a file (re-read when it changes; publish by
    /// writing a new file and renaming it over the old one), an https://
    /// URL (polled with If-None-Match), or an OCI reference
    /// oci://HOST[:PORT]/REPO:TAG (the tag polled, a new digest pulled with
    /// its signature referrer) or …@sha256:DIGEST (pinned: never changes).
    /// Whatever arrives is verified exactly as a file.
    #[arg(long)]
    bundle: String,
    #[command(flatten)]
    transport: super::push::TransportArgs,
    /// The trust store (TOML) every bundle is verified against: signatures,
    /// threshold, validity window, revision. The highest revision accepted
    /// per bundle name is recorded beside it (`<trust>.state.json`, or the
    /// store's `state` path), so a restart cannot roll back.
    #[arg(long)]
    trust: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is
    /// printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// How often to check the bundle source for a newer bundle.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
    /// Longest wait between checks while they keep failing (the wait
    /// doubles after each failure).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    max_backoff: Duration,
    /// Do not check the source again after the first load.
    #[arg(long)]
    no_reload: bool,
    /// Start even if the first bundle cannot be loaded: the service is not
    /// ready (503) until a verified bundle arrives.
    #[arg(long)]
    wait_for_bundle: bool,
    /// Honour a caller's `at` (what-if evaluation, marked as such in every
    /// answer and log record). Without it the host's clock decides and a
    /// request that sets `at` is refused.
    #[arg(long)]
    permit_what_if: bool,
    /// SOL003 package map (JSON: {"providers": {vnfProvider: vendor id},
    /// "products": {vnfProductName: model id}}). Without it every grant is
    /// rejected as unmapped.
    #[arg(long)]
    packages: Option<PathBuf>,
    /// Append every decision to this JSON Lines log (hash-chained; check it
    /// with `slicegate log verify`). `-` writes it to standard output, for a
    /// cluster's log collector: a new chain from each start, checked with
    /// `slicegate log verify --stream` on one replica's stream (the
    /// `listening on` line then goes to standard error).
    #[arg(long)]
    decision_log: Option<PathBuf>,
    /// A request field to mask in the log, as a JSON pointer
    /// (`/equipment/softwareVersion`; `*` for every element). Repeatable.
    #[arg(long = "log-mask")]
    log_mask: Vec<String>,
    /// Log only the request's hash, not the request.
    #[arg(long)]
    log_omit_requests: bool,
    /// The log key (a key pair file from `slicegate keygen`): the service
    /// signs checkpoints of the decision log with it (count and head hash,
    /// into the log and into `<log>.checkpoint`), so `slicegate log verify
    /// --key ID.pub` catches a cut or rewritten end. Keep it apart from the
    /// bundle signing keys.
    #[arg(long, requires = "decision_log")]
    log_key: Option<PathBuf>,
    /// A checkpoint after this many lines.
    #[arg(long, default_value_t = 1000)]
    log_checkpoint_every: u64,
    /// And at least this often while decisions are logged (and at shutdown).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    log_checkpoint_interval: Duration,
    /// `sync`: each decision is on disk (fdatasync) before it is answered;
    /// `write`: handed to the OS only (survives the process being killed,
    /// not a power loss).
    #[arg(long, default_value = "sync", value_parser = ["sync", "write"])]
    log_durability: String,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body: usize,
    /// Most placements in one batch.
    #[arg(long, default_value_t = 10_000)]
    max_batch: usize,
    /// Decisions evaluated at once (each holds a policy instance); default:
    /// the number of CPUs.
    #[arg(long)]
    workers: Option<usize>,
    /// Where compiled bundles are cached (default: the user cache folder).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// How long a client has to send a request's headers (also how long an
    /// idle keep-alive connection waits for its next request): slow clients
    /// cannot hold connections open.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// How long a request may take to be read and answered (408 after).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// Connections open at once. A new one takes the place of the
    /// connection idle longest (waiting for its headers, for the rest of its
    /// body, or for its next request); only when every connection has a
    /// whole request being answered is the newcomer answered 503 and closed.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Requests one keep-alive connection may carry before it is closed.
    #[arg(long, default_value_t = 1000)]
    max_requests_per_connection: u32,
}

/// Runs the service until `stop` is set (by the signal handlers `main`
/// registered before anything was opened).
pub fn run(args: Args, signalled: Arc<AtomicBool>) -> anyhow::Result<ExitCode> {
    let source: BundleSource = args.bundle.parse().map_err(anyhow::Error::msg)?;
    let trust = TrustStore::load(&args.trust)?;
    let cache = args
        .cache
        .clone()
        .map(CompileCache::new)
        .unwrap_or_else(CompileCache::default_location);
    let loader = BundleLoader::new(trust).with_cache(cache);
    let packages = match &args.packages {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<PackageMap>(&text)
                .with_context(|| format!("parsing the package map {}", path.display()))?
        }
        None => PackageMap::default(),
    };
    // Bound before the decision log is opened: a start that cannot listen
    // never writes a start checkpoint.
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    let log_guard = open_log(&args, &loader)?;
    for pointer in &args.log_mask {
        if !pointer.starts_with('/') {
            bail!(
                "--log-mask {pointer}: a JSON pointer starts with `/`, e.g. /equipment/softwareVersion"
            );
        }
    }

    let fetcher = slicegate_distribution::fetcher_for(&source, &args.transport.transport())?;
    let mut reloader = Reloader::new(
        source.clone(),
        loader,
        Arc::new(slicegate::reload::BundleSlot::empty()),
        args.permit_what_if,
    );
    if let Some(fetcher) = fetcher {
        reloader = reloader.with_fetcher(fetcher);
    }
    say!("loading {source} …");
    let (reloader, first) = first_load_with(reloader);
    report_first_load(&reloader, &first, args.wait_for_bundle)?;
    let slot = reloader.slot().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let reload_thread = match args.no_reload {
        true => None,
        false => Some(
            reloader
                .spawn(args.poll_interval, args.max_backoff, stop.clone())
                .context("starting the bundle reload thread")?,
        ),
    };
    let config = Config {
        max_body_bytes: args.max_body,
        max_batch: args.max_batch,
        workers: args.workers.unwrap_or(Config::default().workers),
        packages,
        log: log_guard.as_ref().and_then(|g| g.0.clone()),
        log_mask: args.log_mask,
        log_requests: !args.log_omit_requests,
        source: source.to_string(),
        plain_http: args.transport.plain_http,
        connections: slicegate_server::ConnectionLimits {
            header_read_timeout: args.header_timeout,
            request_timeout: args.request_timeout,
            max_connections: args.max_connections,
            max_requests_per_connection: args.max_requests_per_connection,
        },
    };
    // Checkpoints at an interval while decisions are logged.
    let checkpointer = match (&config.log, args.log_key.is_some()) {
        (Some(log), true) => Some(checkpoint_every(
            log.clone(),
            args.log_checkpoint_interval,
            stop.clone(),
        )?),
        _ => None,
    };
    let state = AppState::new(slot, config);
    let log_to_stdout = args
        .decision_log
        .as_ref()
        .is_some_and(|p| p.as_os_str() == "-");
    slicegate_server::serve_listener_blocking(listener, state, signalled, |addr| {
        // The one line on stdout, for scripts that start the service on
        // port 0 (on stderr when stdout carries the decision log).
        use std::io::Write;
        if log_to_stdout {
            let _ = writeln!(std::io::stderr(), "listening on http://{addr}");
        } else {
            let _ = writeln!(std::io::stdout(), "listening on http://{addr}");
            let _ = std::io::stdout().flush();
        }
        say!("API: http://{addr}/openapi.yaml; Ctrl-C stops");
    })
    .with_context(|| format!("serving on {}", args.listen))?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(thread) = checkpointer {
        let _ = thread.join();
    }
    // The last decisions are anchored, and the log closed, before the
    // process ends: nothing may follow a final checkpoint but the next
    // start.
    if let Some(mut guard) = log_guard {
        guard.close().context("the final checkpoint")?;
    }
    if let Some(thread) = reload_thread {
        let _ = thread.join();
    }
    Ok(ExitCode::SUCCESS)
}

/// The decision log, closed with a final checkpoint on every way out of
/// `serve` once its start was written: a clean stop, an error after the
/// start (a bundle that does not load, a thread that cannot start) or a
/// panic. Only a crash leaves it open.
struct CloseOnExit(Option<Arc<DecisionLog>>);

impl CloseOnExit {
    fn close(&mut self) -> Result<(), slicegate::decision_log::LogError> {
        if let Some(log) = self.0.take()
            && log.close()?
        {
            say!("decision log closed with a final checkpoint");
        }
        Ok(())
    }
}

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            say!("error: closing the decision log: {error}");
        }
    }
}

/// Opens the decision log (`--decision-log`), with its checkpoint key when
/// one is given: the start checkpoint is written here, so the guard that
/// closes it on every way out is returned with it.
fn open_log(args: &Args, loader: &BundleLoader) -> anyhow::Result<Option<CloseOnExit>> {
    Ok(match &args.decision_log {
        Some(path) => {
            let durability = if args.log_durability == "write" {
                Durability::Write
            } else {
                Durability::Sync
            };
            let signer = match &args.log_key {
                Some(key_path) => {
                    let key = slicegate::bundle::KeyPair::read(key_path)
                        .with_context(|| format!("reading the log key {}", key_path.display()))?;
                    if loader.trust().keys.iter().any(|k| k.key == key.public()) {
                        say!(
                            "warning: the log key {} is also a bundle signing key in the trust \
                         store; keep them apart (whoever can sign bundles could then sign \
                         the log too)",
                            key_path.display()
                        );
                    }
                    let key_id = key_path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "log".to_string());
                    Some(slicegate::decision_log::CheckpointSigner {
                        key_id,
                        key: key.signing_key().clone(),
                        every: args.log_checkpoint_every,
                    })
                }
                None => None,
            };
            if path.as_os_str() == "-" {
                let log = Arc::new(DecisionLog::stdout(signer)?);
                let closing = log.clone();
                crate::exit::at_exit(move || {
                    let _ = closing.close();
                });
                return Ok(Some(CloseOnExit(Some(log))));
            }
            let log = DecisionLog::open_with(path, durability, signer)?;
            if log.resumed_unanchored() > 0 {
                say!(
                    "warning: {} has {} record(s) after its last checkpoint (a stop before it \
                 was written); the next checkpoint covers them",
                    path.display(),
                    log.resumed_unanchored()
                );
            }
            if log.truncated_bytes() > 0 {
                say!(
                    "warning: {} ended in an incomplete record ({} bytes, a write cut short); cut off, the chain continues from the last complete record",
                    path.display(),
                    log.truncated_bytes()
                );
            }
            let log = Arc::new(log);
            // Closed on the way out even where this function's guard is
            // skipped (a reader that closed the pipe ends the process).
            let closing = log.clone();
            crate::exit::at_exit(move || {
                let _ = closing.close();
            });
            Some(CloseOnExit(Some(log)))
        }
        None => None,
    })
}

/// A thread that writes a checkpoint every `every` while decisions are
/// logged, until `stop`.
fn checkpoint_every(
    log: Arc<DecisionLog>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("slicegate-checkpoint".to_string())
        .spawn(move || {
            let tick = Duration::from_millis(200);
            let mut waited = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited >= every {
                    waited = Duration::ZERO;
                    if let Err(error) = log.checkpoint() {
                        tracing::error!("{error}");
                    }
                }
            }
        })
        .context("starting the checkpoint thread")
}

/// Says what the first load gave: the bundle now serving, or why none is
/// (an error unless `--wait-for-bundle`).
fn report_first_load(
    reloader: &Reloader,
    first: &Result<u64, String>,
    wait_for_bundle: bool,
) -> anyhow::Result<()> {
    match first {
        Ok(_) => {
            let active = reloader
                .slot()
                .current()
                .context("no bundle after loading")?;
            let bundle = active.bundle();
            say!(
                "bundle {} revision {} (sha256 {}), signed by {}, {} policies",
                bundle.manifest.name,
                bundle.manifest.revision.0,
                &bundle.sha256[..16],
                bundle
                    .signers
                    .iter()
                    .map(|k| k.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                bundle.manifest.policy_count
            );
        }
        Err(message) if wait_for_bundle => {
            say!("warning: {message}; not ready until a verified bundle arrives");
        }
        Err(message) => bail!("{message} (--wait-for-bundle starts anyway, not ready)"),
    }
    Ok(())
}
