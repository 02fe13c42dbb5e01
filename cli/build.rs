//! Embeds the default policy library (`policies/`) in the binary, so that
//! an installed `slicegate` (`cargo install --path cli`) runs its demo and
//! tests from any folder.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let library = manifest.join("../policies");
    let mut files = Vec::new();
    collect(&library, &library, &mut files);
    files.sort();
    println!("cargo:rerun-if-changed={}", library.display());
    let mut out =
        String::from("/// The default policy library: (path under `policies/`, bytes).\n");
    out.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in &files {
        println!("cargo:rerun-if-changed={}", absolute.display());
        let _ = writeln!(
            out,
            "    ({relative:?}, include_bytes!({:?})),",
            absolute.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("library.rs");
    std::fs::write(dest, out).expect("writing the embedded library");
}

/// Every file under `dir` (recursively), with its path relative to `root`.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let absolute = path.canonicalize().unwrap_or(path.clone());
            files.push((relative.to_string_lossy().replace('\\', "/"), absolute));
        }
    }
}
