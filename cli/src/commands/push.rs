//! `slicegate push` and `slicegate pull`: bundles through OCI registries.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use slicegate::bundle::{self, TrustStore};
use slicegate_distribution::Transport;
use slicegate_distribution::oci::{self, BundleLabels, OciRef};

/// How to reach a registry or a bundle URL.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TransportArgs {
    /// Reach the registry (or an http:// URL) over plain HTTP, without TLS.
    /// Without it only TLS registries and https:// URLs are used.
    #[arg(long)]
    pub plain_http: bool,
    /// A PEM file of CA certificates trusted besides the system's (a
    /// private CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

impl TransportArgs {
    pub fn transport(&self) -> Transport {
        Transport {
            plain_http: self.plain_http,
            ca_file: self.ca_file.clone(),
        }
    }
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// The bundle file.
    bundle: PathBuf,
    /// Where to: oci://HOST[:PORT]/REPO:TAG.
    reference: String,
    /// A detached signature, attached as a referrer (default:
    /// `<bundle>.sig` when the bundle has no embedded signature).
    #[arg(long)]
    signature: Option<PathBuf>,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// From where: oci://HOST[:PORT]/REPO:TAG or …@sha256:DIGEST.
    reference: String,
    /// The bundle file to write (its detached signature, if the artifact
    /// has one, goes to FILE.sig).
    #[arg(long, short = 'o', value_name = "FILE")]
    output_file: PathBuf,
    /// Verify the bundle against this trust store before writing anything
    /// (signatures, threshold, windows, revision).
    #[arg(long)]
    trust: Option<PathBuf>,
    #[command(flatten)]
    transport: TransportArgs,
    #[command(flatten)]
    output: crate::format::FormatArg,
}

/// Exit status: 0 pushed, 1 error.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let to: OciRef = args.reference.parse()?;
    let bytes = super::verify::read(&args.bundle)?;
    let inspection = bundle::inspect(&bytes, None)
        .with_context(|| format!("{} is not a slicegate bundle", args.bundle.display()))?;
    let signature = super::verify::detached(
        &args.bundle,
        args.signature.as_deref(),
        inspection.embedded_signature,
    )?;
    if let Some(signature) = &signature {
        bundle::inspect(&bytes, Some(signature)).with_context(|| {
            format!(
                "the detached signature for {} is not one (nothing pushed)",
                args.bundle.display()
            )
        })?;
    }
    if signature.is_none() && !inspection.embedded_signature {
        eprintln!(
            "warning: {} carries no signature and none is beside it: services refuse unsigned \
             bundles",
            args.bundle.display()
        );
    }
    let manifest = &inspection.manifest;
    let labels = BundleLabels {
        name: manifest.name.0.clone(),
        revision: manifest.revision.0,
        created_at: manifest.created_at.clone(),
    };
    let pushed = oci::push(
        &bytes,
        signature.as_deref(),
        &labels,
        &to,
        &args.transport.transport(),
    )?;
    if args.output.json() {
        println!(
            "{}",
            serde_json::json!({
                "reference": to.to_string(),
                "digest": pushed.digest,
                "signatureDigest": pushed.signature_digest,
                "name": labels.name,
                "revision": labels.revision,
            })
        );
    } else {
        println!(
            "pushed {} revision {} to {to}\n  manifest {}",
            labels.name, labels.revision, pushed.digest
        );
        if let Some(digest) = &pushed.signature_digest {
            println!("  signature {digest} (a referrer of the manifest)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Exit status: 0 pulled (and verified, with --trust), 1 error.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    let from: OciRef = args.reference.parse()?;
    let pulled = oci::pull(&from, &args.transport.transport())?;
    let embedded = bundle::has_embedded_signature(&pulled.bytes);
    let candidates: Vec<&[u8]> = if embedded {
        Vec::new()
    } else {
        pulled.signatures.iter().map(Vec::as_slice).collect()
    };
    let inspection = bundle::inspect(&pulled.bytes, None)
        .map_err(|e| anyhow!("{from} holds no slicegate bundle: {e}"))?;
    // The newest signature, or with --trust the newest that verifies.
    let mut detached = candidates.first().copied();
    if let Some(trust) = &args.trust {
        // As `slicegate verify`: the rollback rule included.
        let store = TrustStore::load(trust)?;
        let mut first_error = None;
        let tried: Vec<Option<&[u8]>> = if candidates.is_empty() {
            vec![None]
        } else {
            candidates.iter().map(|c| Some(*c)).collect()
        };
        detached = None;
        let mut verified = false;
        for candidate in tried {
            match super::verify::verify_bytes(store.clone(), &pulled.bytes, candidate) {
                Ok(_) => {
                    detached = candidate;
                    verified = true;
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if !verified {
            let e = first_error.expect("one was tried");
            bail!("{from}: refused, nothing written: {e}");
        }
    }
    write_atomically(&args.output_file, &pulled.bytes)?;
    let signature_path = bundle::detached_signature_path(&args.output_file);
    match detached {
        Some(signature) => write_atomically(&signature_path, signature)?,
        None if signature_path.exists() => {
            // A signature beside the file would be taken for this bundle's.
            std::fs::remove_file(&signature_path)
                .with_context(|| format!("removing the stale {}", signature_path.display()))?;
            eprintln!(
                "removed {} (it belonged to another bundle)",
                signature_path.display()
            );
        }
        None => {}
    }
    let manifest = &inspection.manifest;
    if args.output.json() {
        println!(
            "{}",
            serde_json::json!({
                "reference": from.to_string(),
                "digest": pulled.digest,
                "file": args.output_file,
                "signature": detached.map(|_| signature_path.clone()),
                "name": manifest.name.0,
                "revision": manifest.revision.0,
                "verified": args.trust.is_some(),
            })
        );
    } else {
        println!(
            "pulled {} revision {} from {from}\n  manifest {}\n  wrote {}{}",
            manifest.name.0,
            manifest.revision.0,
            pulled.digest,
            args.output_file.display(),
            if detached.is_some() {
                format!(" and {}", signature_path.display())
            } else {
                String::new()
            }
        );
        if args.trust.is_none() {
            println!("  not verified: `slicegate verify --trust …` (or pull with --trust)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// renamed over it: a reader never sees half a bundle.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if path.is_dir() {
        bail!(
            "{} is a folder: name the bundle file to write",
            path.display()
        );
    }
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    file.persist(path)
        .map_err(|e| anyhow!("writing {}: {}", path.display(), e.error))?;
    Ok(())
}
