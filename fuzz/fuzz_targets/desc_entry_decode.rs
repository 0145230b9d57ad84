//! `DescEntry::decode` on arbitrary bytes at an arbitrary offset: never
//! panics, and whatever decodes re-encodes to the same bytes.
#![no_main]

use jigsmith_format::DescEntry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // the first 8 bytes choose the offset reported in errors
    let (offset, buf) = match data.split_first_chunk::<8>() {
        Some((o, rest)) => (u64::from_le_bytes(*o), rest),
        None => (0, data),
    };
    let mut pos = 0usize;
    while pos < buf.len() {
        let Ok((entry, used)) = DescEntry::decode(&buf[pos..], offset.wrapping_add(pos as u64))
        else {
            return;
        };
        assert!(used > 0 && used <= buf.len() - pos);
        assert_eq!(used, entry.encoded_len());
        let mut out = Vec::new();
        if entry.encode(&mut out).is_ok() {
            assert_eq!(out, buf[pos..pos + used]);
        }
        pos += used;
    }
});
