//! The one content hash the project prints and compares: sha256, hex.

use sha2::{Digest, Sha256};

/// sha256 of `bytes`, lowercase hex (bundle, source and engine hashes,
/// decision-log chaining, `requestSha256`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
