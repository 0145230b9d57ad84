//! Comparing the image's template-data bytes with the template's data.

use std::fs::File;
use std::io::BufReader;

use jigsmith_format::{Template, UnmatchedReader};

use super::BadData;
use jigsmith_stream::Window;

/// Differences closer than this are reported as one run (one sector).
const MERGE_GAP: u64 = 2048;
/// Decompressed bytes compared at a time.
const PIECE: usize = 256 << 10;

/// The runs of differing bytes in the template-data ranges `unmatched`
/// (`(offset, len)` in image order), up to `image_len`.
///
/// # Errors
/// The template data is corrupt or cannot be read.
pub(super) fn compare(
    template_file: File,
    template: &Template,
    unmatched: &[(u64, u64)],
    image_len: u64,
    mut window: Window,
) -> jigsmith_format::Result<Vec<BadData>> {
    let mut reader = UnmatchedReader::new(
        BufReader::with_capacity(1 << 20, template_file),
        template.shared_parts(),
        0,
    );
    let mut runs = Runs::default();
    let mut want = vec![0u8; PIECE];
    for &(offset, len) in unmatched {
        let end = offset.saturating_add(len).min(image_len);
        let mut at = offset;
        while at < end {
            let n = usize::try_from(end - at).unwrap_or(PIECE).min(PIECE);
            let want = want.get_mut(..n).unwrap_or_default();
            reader.read_exact(want)?;
            let mut done = 0;
            while done < n {
                window.seek(at);
                let have = window.slice(at);
                if have.is_empty() {
                    // the image shrank while it was read: the length check says so
                    return Ok(runs.finish());
                }
                let k = have.len().min(n - done);
                let (have, expect) = (
                    have.get(..k).unwrap_or_default(),
                    want.get(done..done + k).unwrap_or_default(),
                );
                if have != expect {
                    for (i, (a, b)) in have.iter().zip(expect).enumerate() {
                        if a != b {
                            runs.add(at + i as u64);
                        }
                    }
                }
                done += k;
                at += k as u64;
            }
        }
        // a run never reaches over a file into the next template data
        runs.close();
        if end < offset.saturating_add(len) {
            // past the image's end nothing more can be compared
            break;
        }
    }
    Ok(runs.finish())
}

#[derive(Default)]
struct Runs {
    done: Vec<BadData>,
    /// The open run: first and last differing byte.
    open: Option<(u64, u64)>,
}

impl Runs {
    fn add(&mut self, at: u64) {
        match &mut self.open {
            Some((_, last)) if at <= last.saturating_add(MERGE_GAP) => *last = at,
            _ => {
                self.close();
                self.open = Some((at, at));
            }
        }
    }

    fn close(&mut self) {
        if let Some((first, last)) = self.open.take() {
            self.done.push(BadData {
                offset: first,
                len: last - first + 1,
            });
        }
    }

    fn finish(mut self) -> Vec<BadData> {
        self.close();
        self.done
    }
}
