//! The webhook server: load a signed bundle, answer `AdmissionReview`s on
//! `POST /validate`.
//!
//! ```sh
//! cargo run -p k8s-admission -- --bundle lib.wasm --trust trust.toml \
//!     --inventory host-examples/k8s-admission/inventory.json
//! ```
//!
//! It speaks plain HTTP on `--listen`; in a cluster a TLS sidecar in the
//! same pod terminates the HTTPS the API server requires (see `deploy/`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use k8s_admission::{Inventory, Webhook};
use slicegate::bundle::{BundleLoader, CompileCache, TrustStore};

/// A validating admission webhook for Nephio NFDeployments.
#[derive(Parser)]
struct Args {
    /// The signed bundle.
    #[arg(long)]
    bundle: PathBuf,
    /// The trust store it is verified against.
    #[arg(long)]
    trust: PathBuf,
    /// The network's sites and slices (JSON; see inventory.json).
    #[arg(long)]
    inventory: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

type Shared = Arc<Mutex<Webhook>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // 1. Verify and load the bundle: a bundle that fails the trust checks
    //    never runs.
    let trust = TrustStore::load(&args.trust)?;
    let bundle = BundleLoader::new(trust)
        .with_cache(CompileCache::default_location())
        .load_file(&args.bundle)
        .with_context(|| format!("loading {}", args.bundle.display()))?;
    let decider = bundle
        .decider()
        .map_err(|failure| anyhow!("starting the bundle: {failure}"))?;
    // 2. The inventory says what the labels' site and slice ids are.
    let text = std::fs::read_to_string(&args.inventory)
        .with_context(|| format!("reading {}", args.inventory.display()))?;
    let inventory: Inventory = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", args.inventory.display()))?;
    let webhook: Shared = Arc::new(Mutex::new(Webhook::new(decider, inventory)));

    // 3. Serve.
    let app = axum::Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(webhook);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!(
        "bundle {} revision {}; listening on http://{}",
        bundle.manifest.name,
        bundle.manifest.revision.0,
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn validate(
    State(webhook): State<Shared>,
    Json(review): Json<serde_json::Value>,
) -> Response {
    // Decisions are synchronous WebAssembly calls: off the async threads.
    let answer = tokio::task::spawn_blocking(move || {
        webhook
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .review(&review)
    })
    .await;
    match answer {
        Ok(Ok(response)) => Json(response).into_response(),
        Ok(Err(why)) => (StatusCode::BAD_REQUEST, why).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
