//! `slicegate verify`, `slicegate inspect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use slicegate::bundle::{self, BundleError, BundleLoader, RevisionState, TrustStore};

pub(super) fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The detached signature to use: `--signature`, else `<bundle>.sig` when
/// the bundle has no embedded signature.
pub(super) fn detached(
    bundle_path: &Path,
    explicit: Option<&Path>,
    embedded: bool,
) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(path) = explicit {
        return read(path).map(Some);
    }
    let beside = slicegate::bundle::detached_signature_path(bundle_path);
    if !embedded && beside.is_file() {
        return read(&beside).map(Some);
    }
    Ok(None)
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The trust store (TOML: threshold, keys with ids and validity windows).
    #[arg(long)]
    trust: PathBuf,
    /// A detached signature (default: `<bundle>.sig` if the bundle has no
    /// embedded signature).
    #[arg(long)]
    signature: Option<PathBuf>,
    #[command(flatten)]
    output: crate::format::FormatArg,
    /// The bundle.
    bundle: PathBuf,
}

/// Verifies `bytes` as a host would accept them: signatures, threshold,
/// windows, and the rollback rule against the trust store's recorded
/// revisions (read-only: nothing is recorded).
pub(super) fn verify_bytes(
    trust: TrustStore,
    bytes: &[u8],
    detached: Option<&[u8]>,
) -> Result<slicegate::bundle::VerifiedBundle, BundleError> {
    let state_path = trust.state_path.clone();
    let loader = BundleLoader::new(trust);
    loader.verify(bytes, detached).and_then(|verified| {
        let state = RevisionState::load(&state_path)?;
        match state.highest.get(&verified.manifest.name) {
            Some(&highest) if verified.manifest.revision < highest => Err(BundleError::Rollback {
                name: verified.manifest.name.0.clone(),
                revision: verified.manifest.revision.0,
                highest: highest.0,
            }),
            _ => Ok(verified),
        }
    })
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let trust = TrustStore::load(&args.trust)?;
    let bytes = read(&args.bundle)?;
    let embedded = bundle::inspect(&bytes, None)
        .map(|i| i.embedded_signature)
        .unwrap_or(false);
    let detached = detached(&args.bundle, args.signature.as_deref(), embedded)?;
    let verified = verify_bytes(trust, &bytes, detached.as_deref());
    match verified {
        Ok(verified) => {
            let signers: Vec<String> = verified.signers.iter().map(|k| k.0.clone()).collect();
            if args.output.json() {
                println!(
                    "{}",
                    serde_json::json!({
                        "verified": true, "name": verified.manifest.name, "revision": verified.manifest.revision,
                        "sha256": verified.sha256, "signers": signers,
                    })
                );
            } else {
                println!(
                    "OK {} revision {} (content sha256 {}), signed by {}",
                    verified.manifest.name,
                    verified.manifest.revision,
                    verified.sha256,
                    signers.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if args.output.json() {
                println!(
                    "{}",
                    serde_json::json!({"verified": false, "error": error.to_string()})
                );
            } else {
                eprintln!("REFUSED {}: {error}", args.bundle.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A detached signature to show instead of the embedded one.
    #[arg(long)]
    signature: Option<PathBuf>,
    #[command(flatten)]
    output: crate::format::FormatArg,
    /// The bundle.
    bundle: PathBuf,
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes = read(&args.bundle)?;
    let plain = bundle::inspect(&bytes, None)
        .with_context(|| format!("inspecting {}", args.bundle.display()))?;
    let detached = detached(
        &args.bundle,
        args.signature.as_deref(),
        plain.embedded_signature,
    )?;
    let inspection = match detached {
        Some(signature) => bundle::inspect(&bytes, Some(&signature))?,
        None => plain,
    };
    if args.output.json() {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
        return Ok(ExitCode::SUCCESS);
    }
    let m = &inspection.manifest;
    println!("bundle     {} revision {}", m.name, m.revision);
    println!(
        "file       {} ({} bytes, sha256 {})",
        args.bundle.display(),
        inspection.size_bytes,
        inspection.sha256
    );
    println!("created    {}", m.created_at);
    println!(
        "valid      {} .. {}",
        m.not_before.as_deref().unwrap_or("(any time)"),
        m.not_after.as_deref().unwrap_or("(no end)")
    );
    println!(
        "compiler   {}; engine {} (sha256 {}); cedar-policy {}",
        m.compiler, m.engine_version, m.engine_sha256, m.cedar_version
    );
    println!("packs      {}", m.packs.join(", "));
    if let Some(tests) = &m.tests {
        println!("tests      {tests}");
    }
    println!(
        "signatures {}",
        if inspection.signatures.is_empty() {
            "none (unsigned)"
        } else {
            ""
        }
    );
    for s in &inspection.signatures {
        println!(
            "  key {} ({}){}",
            s.key_id,
            s.algorithm,
            if s.covers_content {
                ""
            } else {
                " — does NOT cover the current content"
            }
        );
    }
    match m.compiled_policies {
        Some(compiled) => println!(
            "policies   {} ({compiled} compiled, {} interpreted)",
            m.policy_count,
            m.policy_count.saturating_sub(compiled)
        ),
        None => println!("policies   {}", m.policy_count),
    }
    for p in &m.policies {
        println!(
            "  {} {} [{}] {}",
            p.effect,
            p.id,
            p.pack.as_deref().unwrap_or("-"),
            p.file
        );
        if let Some(reason) = &p.reason {
            println!("      {reason}");
        }
        if let Some(source) = &p.source {
            println!("      source: {source}");
        }
    }
    println!("files");
    for f in &m.files {
        println!("  {:7} {} sha256 {}", f.kind, f.path, f.sha256);
    }
    println!("imports    {}", inspection.imports.join(", "));
    println!("exports    {}", inspection.exports.join(", "));
    println!("sections");
    for (name, size) in &inspection.custom_sections {
        println!("  {name}: {size} bytes");
    }
    Ok(ExitCode::SUCCESS)
}
