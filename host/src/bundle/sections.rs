//! The top-level section layout of a WebAssembly module or component: just
//! enough to find, add and hash sections without decoding their contents
//! (walked with `wasmparser`, written with `wasm-encoder`).

use std::ops::Range;

/// The 8-byte preamble of a core module.
pub const MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/// The 8-byte preamble of a component.
pub const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// Why bytes are not a well-formed sequence of sections.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    /// The file does not start with a WebAssembly preamble.
    #[error("not a WebAssembly module or component (bad preamble)")]
    NotWasm,
    /// A section runs past the end of the file or its size is malformed.
    #[error("truncated or malformed section at byte {0}")]
    Malformed(usize),
}

/// One top-level section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section id (0 for custom sections).
    pub id: u8,
    /// The whole section: id, size and payload.
    pub raw: Range<usize>,
    /// The payload.
    pub payload: Range<usize>,
    /// For a custom section, its name.
    pub custom_name: Option<String>,
    /// For a custom section, the data after the name.
    pub custom_data: Range<usize>,
}

/// Reads an unsigned LEB128 u32 at `*pos` (wasmparser's reader).
pub fn read_u32(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut reader = wasmparser::BinaryReader::new(bytes.get(*pos..)?, 0);
    let value = reader.read_var_u32().ok()?;
    *pos += reader.current_position();
    Some(value)
}

/// Appends `value` as unsigned LEB128 (wasm-encoder's encoding).
pub fn write_u32(out: &mut Vec<u8>, value: u32) {
    wasm_encoder::Encode::encode(&value, out);
}

/// Splits `bytes` into its preamble and top-level sections, walked with
/// wasmparser (nested modules and components, and code bodies, are skipped
/// whole, not parsed).
pub fn parse(bytes: &[u8]) -> Result<Vec<Section>, SectionError> {
    use wasmparser::{Chunk, Payload};
    let header = bytes.get(..8).ok_or(SectionError::NotWasm)?;
    if header != MODULE_HEADER && header != COMPONENT_HEADER {
        return Err(SectionError::NotWasm);
    }
    let mut parser = wasmparser::Parser::new(0);
    let mut sections = Vec::new();
    let mut pos = 0;
    loop {
        let start = pos;
        let malformed = |_| SectionError::Malformed(start);
        let (consumed, payload) = match parser.parse(&bytes[pos..], true).map_err(malformed)? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return Err(SectionError::Malformed(pos)),
        };
        pos += consumed;
        let (custom_name, custom_data) = match &payload {
            Payload::End(_) => break,
            Payload::CustomSection(reader) => (
                Some(reader.name().to_string()),
                reader.data_offset()..reader.range().end,
            ),
            Payload::CodeSectionStart { range, .. } => {
                parser.skip_section();
                pos = range.end;
                (None, range.end..range.end)
            }
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                pos = unchecked_range.end;
                (None, unchecked_range.end..unchecked_range.end)
            }
            _ => (None, 0..0),
        };
        let Some((id, payload_range)) = payload.as_section() else {
            continue;
        };
        if payload_range.end > bytes.len() || pos != payload_range.end {
            return Err(SectionError::Malformed(start));
        }
        let custom_data = if id == 0 {
            custom_data
        } else {
            payload_range.end..payload_range.end
        };
        sections.push(Section {
            id,
            raw: start..payload_range.end,
            payload: payload_range,
            custom_name,
            custom_data,
        });
    }
    if pos != bytes.len() {
        return Err(SectionError::Malformed(pos));
    }
    Ok(sections)
}

/// Encodes a custom section named `name` holding `data` (wasm-encoder).
pub fn custom_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + data.len() + 12);
    wasm_encoder::Section::append_to(
        &wasm_encoder::CustomSection {
            name: name.into(),
            data: data.into(),
        },
        &mut out,
    );
    out
}

/// The data of the first custom section named `name`, if any.
pub fn find_custom<'a>(bytes: &'a [u8], sections: &[Section], name: &str) -> Option<&'a [u8]> {
    sections
        .iter()
        .find(|s| s.custom_name.as_deref() == Some(name))
        .map(|s| &bytes[s.custom_data.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips() {
        for value in [0, 1, 127, 128, 300, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_u32(&mut out, value);
            let mut pos = 0;
            assert_eq!(read_u32(&out, &mut pos), Some(value));
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn custom_sections_parse_back() {
        let mut bytes = COMPONENT_HEADER.to_vec();
        bytes.extend(custom_section("hello", b"world"));
        bytes.extend(custom_section("empty", b""));
        let sections = parse(&bytes).unwrap();
        assert_eq!(sections.len(), 2);
        assert_eq!(find_custom(&bytes, &sections, "hello"), Some(&b"world"[..]));
        assert_eq!(find_custom(&bytes, &sections, "empty"), Some(&b""[..]));
    }

    #[test]
    fn truncated_and_foreign_bytes_are_refused() {
        assert_eq!(parse(b"not wasm"), Err(SectionError::NotWasm));
        let mut bytes = MODULE_HEADER.to_vec();
        bytes.extend([0, 10, 1, b'x']);
        assert_eq!(parse(&bytes), Err(SectionError::Malformed(8)));
    }
}
