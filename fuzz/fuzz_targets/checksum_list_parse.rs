//! `ChecksumList::parse` on arbitrary bytes, plus the digest text parsers it
//! and `.jigdo` parsing rely on.
#![no_main]

use jigsmith_checksum::{Algorithm, Digest};
use jigsmith_format::ChecksumList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = ChecksumList::parse(data) {
        for e in &list.entries {
            let mut line = Vec::new();
            if e.write(&mut line).is_ok() && e.size.is_some() && !e.path.contains(&b'\n') {
                // a sized entry survives a write/parse round trip
                if let Ok(back) = ChecksumList::parse(line.as_slice()) {
                    assert_eq!(back.entries.len(), 1);
                }
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        for alg in Algorithm::ALL {
            if let Ok(d) = Digest::from_hex(alg, s) {
                assert_eq!(d.to_hex(), s.to_ascii_lowercase());
            }
            if let Ok(d) = Digest::from_base64(alg, s) {
                assert_eq!(d.as_bytes().len(), alg.len());
            }
        }
    }
});
