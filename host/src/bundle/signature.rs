//! Signatures in the WebAssembly tool-conventions *Signatures.md* layout:
//! a `signature` custom section first (or the same bytes detached), SHA-256
//! over the sections that follow, Ed25519 signatures with key ids, several
//! signers over the same hashes.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::sections::{self, Section};

/// Name of the custom section holding signature data.
pub const SIGNATURE_SECTION: &str = "signature";
/// Name of the custom section that delimits independently signed parts.
pub const DELIMITER_SECTION: &str = "signature_delimiter";
const DOMAIN: &[u8] = b"wasmsig";
const SPEC_VERSION: u8 = 0x01;
const CONTENT_TYPE_WASM: u8 = 0x01;
const HASH_SHA256: u8 = 0x01;
/// Algorithm id of Ed25519 signatures.
pub const ED25519: u8 = 0x01;

/// Why signature data could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureFormatError {
    /// The bundle's sections are malformed.
    #[error(transparent)]
    Sections(#[from] sections::SectionError),
    /// The signature data is malformed.
    #[error("malformed signature data: {0}")]
    Malformed(&'static str),
    /// A `signature` section is present but not first.
    #[error("the signature section must be the first section")]
    NotFirst,
    /// More than one `signature` section: the hashes skip them all, so the
    /// extra ones would give different files one identity.
    #[error("the bundle has {0} signature sections; it may have only one, the first")]
    Several(usize),
    /// Unsupported version, content type or hash function.
    #[error("unsupported signature format (version {0}, content type {1}, hash {2})")]
    Unsupported(u8, u8, u8),
}

/// One signature over a set of hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureEntry {
    /// The signer's key id (may be empty).
    pub key_id: Vec<u8>,
    /// The algorithm (`ED25519`).
    pub algorithm: u8,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// Hashes of a module's parts and the signatures over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHashes {
    /// One SHA-256 per part (rolling).
    pub hashes: Vec<[u8; 32]>,
    /// The signatures over `hashes`.
    pub signatures: Vec<SignatureEntry>,
}

/// The payload of a `signature` section (or a detached signature).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureData {
    /// The signed hash sets.
    pub sets: Vec<SignedHashes>,
}

impl SignatureEntry {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.key_id.len() + self.signature.len() + 4);
        put_bytes(&mut out, &self.key_id);
        out.push(self.algorithm);
        put_bytes(&mut out, &self.signature);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, SignatureFormatError> {
        let mut reader = Reader { bytes, pos: 0 };
        let key_id = reader.bytes()?.to_vec();
        let algorithm = reader.take(1)?[0];
        let signature = reader.bytes()?.to_vec();
        reader.end()?;
        Ok(SignatureEntry {
            key_id,
            algorithm,
            signature,
        })
    }
}

impl SignedHashes {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_count(&mut out, self.hashes.len());
        for hash in &self.hashes {
            out.extend_from_slice(hash);
        }
        put_count(&mut out, self.signatures.len());
        for entry in &self.signatures {
            put_bytes(&mut out, &entry.encode());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, SignatureFormatError> {
        let mut reader = Reader { bytes, pos: 0 };
        let mut hashes = Vec::new();
        for _ in 0..reader.count()? {
            let hash = reader.take(32)?;
            hashes.push(
                hash.try_into()
                    .map_err(|_| SignatureFormatError::Malformed("bad hash"))?,
            );
        }
        let mut signatures = Vec::new();
        for _ in 0..reader.count()? {
            signatures.push(SignatureEntry::decode(reader.bytes()?)?);
        }
        reader.end()?;
        Ok(SignedHashes { hashes, signatures })
    }
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    sections::write_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
}

/// A length-prefixed byte string (the format's `bytes`).
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_count(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads the format's fields, refusing anything that runs past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SignatureFormatError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(SignatureFormatError::Malformed("field runs past the end"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn count(&mut self) -> Result<usize, SignatureFormatError> {
        sections::read_u32(self.bytes, &mut self.pos)
            .map(|n| n as usize)
            .ok_or(SignatureFormatError::Malformed("bad count"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], SignatureFormatError> {
        let n = self.count()?;
        self.take(n)
    }

    fn end(&self) -> Result<(), SignatureFormatError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(SignatureFormatError::Malformed("trailing bytes"))
        }
    }
}

impl SignatureData {
    /// Encodes the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![SPEC_VERSION, CONTENT_TYPE_WASM, HASH_SHA256];
        put_count(&mut out, self.sets.len());
        for set in &self.sets {
            put_bytes(&mut out, &set.encode());
        }
        out
    }

    /// Decodes a payload; the last signature must end at the last byte.
    pub fn decode(bytes: &[u8]) -> Result<Self, SignatureFormatError> {
        let mut reader = Reader { bytes, pos: 0 };
        let header = reader.take(3)?;
        if header != [SPEC_VERSION, CONTENT_TYPE_WASM, HASH_SHA256] {
            return Err(SignatureFormatError::Unsupported(
                header[0], header[1], header[2],
            ));
        }
        let mut sets = Vec::new();
        for _ in 0..reader.count()? {
            sets.push(SignedHashes::decode(reader.bytes()?)?);
        }
        reader.end()?;
        Ok(SignatureData { sets })
    }
}

/// The rolling part hashes of `bytes`, skipping the signature section: one
/// hash at each delimiter, and one at the end unless the last section is a
/// delimiter.
pub fn part_hashes(bytes: &[u8], sections: &[Section]) -> Vec<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut hashes = Vec::new();
    let mut last_was_delimiter = false;
    for section in sections {
        match section.custom_name.as_deref() {
            Some(SIGNATURE_SECTION) => continue,
            Some(DELIMITER_SECTION) => {
                hasher.update(&bytes[section.raw.clone()]);
                hashes.push(hasher.clone().finalize().into());
                last_was_delimiter = true;
            }
            _ => {
                hasher.update(&bytes[section.raw.clone()]);
                last_was_delimiter = false;
            }
        }
    }
    if !last_was_delimiter {
        hashes.push(hasher.finalize().into());
    }
    hashes
}

/// The message a signer signs for `hashes`.
fn message(hashes: &[[u8; 32]]) -> Vec<u8> {
    let mut msg = DOMAIN.to_vec();
    msg.extend_from_slice(&[SPEC_VERSION, CONTENT_TYPE_WASM, HASH_SHA256]);
    for hash in hashes {
        msg.extend_from_slice(hash);
    }
    msg
}

/// The embedded signature data of `bytes`, if any. A `signature` section
/// anywhere but first is refused.
pub fn embedded(
    bytes: &[u8],
    sections: &[Section],
) -> Result<Option<Vec<u8>>, SignatureFormatError> {
    let signatures: Vec<(usize, &Section)> = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.custom_name.as_deref() == Some(SIGNATURE_SECTION))
        .collect();
    match signatures.as_slice() {
        [] => Ok(None),
        [(0, section)] => Ok(Some(bytes[section.custom_data.clone()].to_vec())),
        [_] => Err(SignatureFormatError::NotFirst),
        several => Err(SignatureFormatError::Several(several.len())),
    }
}

/// Adds a signature by `key` (named `key_id`) to `previous` signature data
/// for `bytes`, replacing an earlier signature by the same key id.
pub fn add_signature(
    bytes: &[u8],
    previous: Option<&[u8]>,
    key: &SigningKey,
    key_id: &str,
) -> Result<SignatureData, SignatureFormatError> {
    let sections = sections::parse(bytes)?;
    let hashes = part_hashes(bytes, &sections);
    let mut data = match previous {
        Some(previous) => SignatureData::decode(previous)?,
        None => SignatureData::default(),
    };
    let entry = SignatureEntry {
        key_id: key_id.as_bytes().to_vec(),
        algorithm: ED25519,
        signature: key.sign(&message(&hashes)).to_bytes().to_vec(),
    };
    match data.sets.iter_mut().find(|set| set.hashes == hashes) {
        Some(set) => {
            set.signatures.retain(|e| e.key_id != entry.key_id);
            set.signatures.push(entry);
        }
        None => data.sets.push(SignedHashes {
            hashes,
            signatures: vec![entry],
        }),
    }
    Ok(data)
}

/// `bytes` with `data` as its (first) `signature` section, replacing any.
pub fn embed(bytes: &[u8], data: &SignatureData) -> Result<Vec<u8>, SignatureFormatError> {
    let sections = sections::parse(bytes)?;
    let mut out = bytes[..8].to_vec();
    out.extend(sections::custom_section(SIGNATURE_SECTION, &data.encode()));
    for section in &sections {
        if section.custom_name.as_deref() != Some(SIGNATURE_SECTION) {
            out.extend_from_slice(&bytes[section.raw.clone()]);
        }
    }
    Ok(out)
}

/// The signatures in `data` that cover exactly `hashes` (the whole bundle),
/// as (key id, algorithm, signature). Partial signatures are ignored.
pub fn covering<'a>(data: &'a SignatureData, hashes: &[[u8; 32]]) -> Vec<&'a SignatureEntry> {
    data.sets
        .iter()
        .filter(|set| set.hashes == hashes)
        .flat_map(|set| set.signatures.iter())
        .collect()
}

/// Whether `entry` is a valid Ed25519 signature by `key` over `hashes`.
pub fn is_valid(entry: &SignatureEntry, key: &VerifyingKey, hashes: &[[u8; 32]]) -> bool {
    if entry.algorithm != ED25519 {
        return false;
    }
    let Ok(signature) = Signature::from_slice(&entry.signature) else {
        return false;
    };
    !key.is_weak() && key.verify_strict(&message(hashes), &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_data_round_trips() {
        let data = SignatureData {
            sets: vec![SignedHashes {
                hashes: vec![[7; 32], [9; 32]],
                signatures: vec![
                    SignatureEntry {
                        key_id: b"first".to_vec(),
                        algorithm: ED25519,
                        signature: vec![1; 64],
                    },
                    SignatureEntry {
                        key_id: Vec::new(),
                        algorithm: ED25519,
                        signature: vec![2; 64],
                    },
                ],
            }],
        };
        assert_eq!(SignatureData::decode(&data.encode()), Ok(data));
    }

    #[test]
    fn malformed_signature_data_is_refused() {
        assert!(SignatureData::decode(&[]).is_err());
        assert!(SignatureData::decode(&[2, 1, 1, 0]).is_err());
        assert!(SignatureData::decode(&[1, 1, 1, 1, 5, 0]).is_err());
        assert!(SignatureData::decode(&[1, 1, 1, 0, 0]).is_err());
        assert_eq!(
            SignatureData::decode(&[1, 1, 1, 0]),
            Ok(SignatureData::default())
        );
    }
}
