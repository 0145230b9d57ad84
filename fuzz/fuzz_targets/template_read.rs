//! `Template::read` on arbitrary bytes; when it parses, the whole unmatched
//! stream is read through `UnmatchedReader`, from the start and from a few
//! offsets (part boundaries, inside parts, past the end).
#![no_main]

use std::io::Cursor;

use jigsmith_format::{Template, UnmatchedReader};
use libfuzzer_sys::fuzz_target;

/// Decompressed bytes the harness reads from the start of the stream. A
/// 4 KiB bzip2 part can legitimately expand to many MiB; reading all of it
/// would only measure (instrumented, so slow) decompression, not find bugs.
/// Seeking into a part decompresses up to the offset, so offsets inside
/// parts are only tried below this too; an xorriso template's single part
/// holds ~400 KiB of zeros, which instrumented inflate takes ~100 ms over.
const READ_CAP: u64 = 256 << 10;
/// Bytes read after each of the other offsets.
const WINDOW: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(t) = Template::read(&mut Cursor::new(data)) else {
        return;
    };
    let _ = (t.header(), t.algorithm(), t.image_digest(), t.rsync_block_len());
    let _ = t.files().count();
    for item in t.items() {
        let _ = item.end();
    }
    let image_len = t.image_len();
    for at in [0, image_len / 2, image_len.saturating_sub(1), image_len, u64::MAX] {
        if let Some(i) = t.item_at(at) {
            assert!(t.items()[i].offset <= at && at < t.items()[i].end());
        }
    }

    let total = t.parts().last().map_or(0, |p| p.raw_end());
    read_from(data, &t, 0, total, READ_CAP);

    let mut offsets = vec![1, total / 2, total.saturating_sub(1), total, total.saturating_add(1), u64::MAX];
    for p in t.parts().iter().take(3) {
        offsets.push(p.raw_offset);
        offsets.push(p.raw_offset.saturating_add(1));
        offsets.push(p.raw_end().saturating_sub(1));
    }
    let boundary = |at: u64| t.parts().iter().any(|p| p.raw_offset == at);
    for at in offsets {
        if at > READ_CAP && at < total && !boundary(at) {
            continue;
        }
        read_from(data, &t, at, total, WINDOW);
    }

    // skip() across part boundaries, then read the rest
    let mut r = UnmatchedReader::new(Cursor::new(data), t.shared_parts(), 0);
    if r.skip(total.min(READ_CAP) / 3).is_ok() {
        let mut b = [0u8; 1];
        let _ = r.read_exact(&mut b);
    }
});

fn read_from(data: &[u8], t: &Template, at: u64, total: u64, cap: u64) {
    let mut r = UnmatchedReader::new(Cursor::new(data), t.shared_parts(), at);
    let mut left = total.saturating_sub(at).min(cap);
    let mut buf = vec![0u8; 16 * 1024];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        if r.read_exact(&mut buf[..n]).is_err() {
            // a failed reader stays failed
            assert!(r.read_exact(&mut buf[..1]).is_err());
            return;
        }
        left -= n as u64;
    }
    if at >= total || total - at <= cap {
        // the stream ends where the parts say it does
        assert!(r.read_exact(&mut buf[..1]).is_err());
    }
}
