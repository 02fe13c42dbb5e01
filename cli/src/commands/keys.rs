//! `slicegate keygen`, `slicegate sign`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use slicegate::bundle::{self, KeyPair};

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// The key id, written into signatures and the trust store.
    #[arg(long)]
    id: String,
    /// Folder for `<id>.key` (secret, mode 0600) and `<id>.pub`.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    if args.id.is_empty() || args.id.contains(['/', '\\']) {
        bail!(
            "the key id `{}` must be non-empty and contain no path separators",
            args.id
        );
    }
    let secret = args.out_dir.join(format!("{}.key", args.id));
    let public = args.out_dir.join(format!("{}.pub", args.id));
    if !args.force && (secret.exists() || public.exists()) {
        bail!(
            "{} or {} exists; pass --force to overwrite",
            secret.display(),
            public.display()
        );
    }
    let pair = KeyPair::generate()?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    write_secret(&secret, &pair.to_bytes())?;
    std::fs::write(&public, pair.public_bytes())
        .with_context(|| format!("writing {}", public.display()))?;
    println!(
        "wrote {} (secret) and {}",
        secret.display(),
        public.display()
    );
    println!(
        "add to a trust store:\n\n[[keys]]\nid = \"{}\"\npublic_key = \"{}\"",
        args.id,
        pair.public_hex()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// Key pair file(s) from `slicegate keygen`; repeat for several signers.
    #[arg(long = "key", required = true)]
    keys: Vec<PathBuf>,
    /// Key id(s), in the order of --key. Defaults to each key file's name
    /// without `.key`.
    #[arg(long = "key-id")]
    key_ids: Vec<String>,
    /// Write the signature to `<bundle>.sig` instead of embedding it (adds to
    /// an existing `.sig`).
    #[arg(long)]
    detached: bool,
    /// The bundle to sign (changed in place unless --detached).
    bundle: PathBuf,
}

pub fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    if !args.key_ids.is_empty() && args.key_ids.len() != args.keys.len() {
        bail!("give one --key-id per --key, or none");
    }
    let mut bytes = std::fs::read(&args.bundle)
        .with_context(|| format!("reading {}", args.bundle.display()))?;
    let sig_path = slicegate::bundle::detached_signature_path(&args.bundle);
    let mut detached = if args.detached && sig_path.is_file() {
        Some(std::fs::read(&sig_path).with_context(|| format!("reading {}", sig_path.display()))?)
    } else {
        None
    };
    for (index, key_path) in args.keys.iter().enumerate() {
        let pair = KeyPair::read(key_path)?;
        let key_id = match args.key_ids.get(index) {
            Some(id) => id.clone(),
            None => key_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        if args.detached {
            detached = Some(bundle::sign_detached(
                &bytes,
                detached.as_deref(),
                &pair,
                &key_id,
            )?);
        } else {
            bytes = bundle::sign_embedded(&bytes, &pair, &key_id)?;
        }
        eprintln!("signed with key `{key_id}` ({})", key_path.display());
    }
    match detached {
        Some(signature) => {
            std::fs::write(&sig_path, signature)
                .with_context(|| format!("writing {}", sig_path.display()))?;
            println!("wrote {}", sig_path.display());
        }
        None => {
            std::fs::write(&args.bundle, &bytes)
                .with_context(|| format!("writing {}", args.bundle.display()))?;
            println!("signed {}", args.bundle.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
