//! The top-level section layout of a WebAssembly module or component: just
//! enough to find, add and hash sections without decoding their contents.

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

/// Reads an unsigned LEB128 u32 at `*pos`.
pub fn read_u32(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let mut result: u64 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(result).ok();
        }
    }
    None
}

/// Appends `value` as unsigned LEB128.
pub fn write_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Splits `bytes` into its preamble and top-level sections.
pub fn parse(bytes: &[u8]) -> Result<Vec<Section>, SectionError> {
    let header = bytes.get(..8).ok_or(SectionError::NotWasm)?;
    if header != MODULE_HEADER && header != COMPONENT_HEADER {
        return Err(SectionError::NotWasm);
    }
    let mut sections = Vec::new();
    let mut pos = 8;
    while pos < bytes.len() {
        let start = pos;
        let id = bytes[pos];
        pos += 1;
        let size = read_u32(bytes, &mut pos).ok_or(SectionError::Malformed(start))? as usize;
        let end = pos
            .checked_add(size)
            .filter(|end| *end <= bytes.len())
            .ok_or(SectionError::Malformed(start))?;
        let payload = pos..end;
        let (custom_name, custom_data) = if id == 0 {
            let mut p = pos;
            let len = read_u32(bytes, &mut p).ok_or(SectionError::Malformed(start))? as usize;
            let name_end = p
                .checked_add(len)
                .filter(|e| *e <= end)
                .ok_or(SectionError::Malformed(start))?;
            let name = String::from_utf8(bytes[p..name_end].to_vec())
                .map_err(|_| SectionError::Malformed(start))?;
            (Some(name), name_end..end)
        } else {
            (None, end..end)
        };
        sections.push(Section {
            id,
            raw: start..end,
            payload,
            custom_name,
            custom_data,
        });
        pos = end;
    }
    Ok(sections)
}

/// Encodes a custom section named `name` holding `data`.
pub fn custom_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(name.len() + data.len() + 5);
    write_u32(&mut payload, u32::try_from(name.len()).unwrap_or(u32::MAX));
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    let mut out = Vec::with_capacity(payload.len() + 6);
    out.push(0);
    write_u32(&mut out, u32::try_from(payload.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(&payload);
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
