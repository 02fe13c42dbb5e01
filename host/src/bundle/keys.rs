//! Ed25519 key files, in the serialisation *Signatures.md* fixes (and
//! `wasmsign2` reads): a key pair is `0x81 ‖ secret (32) ‖ public (32)`, a
//! public key `0x01 ‖ public (32)`.

use std::fs;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};

const KEY_PAIR_ID: u8 = 0x81;
const PUBLIC_KEY_ID: u8 = 0x01;

/// Errors reading, writing or generating keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The bytes are not a key of the expected kind.
    #[error("{0}")]
    Format(String),
    /// No randomness for a new key.
    #[error("no randomness to generate a key: {0}")]
    Random(String),
}

/// A signing key pair.
pub struct KeyPair {
    signing: SigningKey,
}

impl KeyPair {
    /// A new random key pair.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(KeyPair {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `0x81 ‖ secret ‖ public`, checking the public half matches.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let [KEY_PAIR_ID, rest @ ..] = bytes else {
            return Err(KeyError::Format(
                "not an Ed25519 key pair (expected 65 bytes starting 0x81)".to_string(),
            ));
        };
        let (secret, public) = rest
            .split_at_checked(32)
            .filter(|(_, p)| p.len() == 32)
            .ok_or_else(|| KeyError::Format("an Ed25519 key pair is 65 bytes".to_string()))?;
        let signing = SigningKey::from_bytes(
            secret
                .try_into()
                .map_err(|_| KeyError::Format("bad secret key length".to_string()))?,
        );
        if signing.verifying_key().as_bytes() != public {
            return Err(KeyError::Format(
                "the key pair's public half does not match its secret half".to_string(),
            ));
        }
        Ok(KeyPair { signing })
    }

    /// The key pair's serialisation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![KEY_PAIR_ID];
        out.extend_from_slice(self.signing.as_bytes());
        out.extend_from_slice(self.signing.verifying_key().as_bytes());
        out
    }

    /// Reads a key pair file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let bytes = fs::read(path).map_err(|e| KeyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_bytes(&bytes).map_err(|e| KeyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key's serialisation (`0x01 ‖ public`).
    pub fn public_bytes(&self) -> Vec<u8> {
        let mut out = vec![PUBLIC_KEY_ID];
        out.extend_from_slice(self.public().as_bytes());
        out
    }

    /// The public key as the trust store writes it: 64 hex digits.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public().as_bytes())
    }
}

/// Parses a public key file (`0x01 ‖ public`).
pub fn public_key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey, KeyError> {
    let [PUBLIC_KEY_ID, rest @ ..] = bytes else {
        return Err(KeyError::Format(
            "not an Ed25519 public key (expected 33 bytes starting 0x01)".to_string(),
        ));
    };
    let bytes: [u8; 32] = rest
        .try_into()
        .map_err(|_| KeyError::Format("an Ed25519 public key is 33 bytes".to_string()))?;
    checked_public_key(&bytes).map_err(KeyError::Format)
}

/// An Ed25519 public key from its 32 bytes, refusing weak keys (those of
/// small order, such as the identity or an all-zero placeholder): with one
/// of them a signature that verifies any message can be made without a
/// secret key. Every trusted key — trust stores, log keys — comes through
/// here, and signatures are checked with `verify_strict`.
pub fn checked_public_key(bytes: &[u8; 32]) -> Result<VerifyingKey, String> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|e| e.to_string())?;
    if key.is_weak() {
        return Err(
            "a weak Ed25519 public key (small order: anyone can make signatures it accepts)"
                .to_string(),
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pairs_round_trip_and_bad_bytes_are_refused() {
        let pair = KeyPair::generate().unwrap();
        let again = KeyPair::from_bytes(&pair.to_bytes()).unwrap();
        assert_eq!(again.public(), pair.public());
        assert_eq!(
            public_key_from_bytes(&pair.public_bytes()).unwrap(),
            pair.public()
        );

        let mut mismatched = pair.to_bytes();
        mismatched[40] ^= 1;
        assert!(KeyPair::from_bytes(&mismatched).is_err());
        assert!(KeyPair::from_bytes(&pair.public_bytes()).is_err());
        assert!(public_key_from_bytes(&[0x01, 1, 2]).is_err());
    }
}
