//! One pass over the image: roll, look up, confirm, write.

use std::io::Write;

use jigsmith_checksum::Digest;
use jigsmith_format::TemplateWriter;

use super::confirm::{Buffered, Confirmer, Outcome};
use super::stream::ImageStream;
use crate::candidate::{HeadIndex, Prepared};
use crate::rolling::{Roller, Sum, WINDOW};
use crate::{Candidate, Error, Match, Progress, Skipped};
use jigsmith_checksum::Rsync64;

/// A file found before the rolling scan, where the image's own directory
/// says a file lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixed {
    pub(crate) found: Match,
    /// rsync64 of its first block, as the template stores it.
    pub(crate) head: Rsync64,
}

/// The scan's state. Invariant: `stream.base() <= emitted <= at`, i.e. the
/// template covers the image up to a point the stream still holds, and no
/// later file can start before the current window.
pub(crate) struct Scan<'a, W: Write> {
    pub(crate) roller: &'a Roller,
    pub(crate) index: &'a HeadIndex,
    pub(crate) candidates: &'a [Candidate],
    pub(crate) image_len: u64,
    pub(crate) progress: &'a dyn Progress,
    pub(crate) stream: ImageStream<'a>,
    pub(crate) confirm: Confirmer<'a>,
    pub(crate) writer: TemplateWriter<W>,
    /// Per candidate: its digest once known (from the list or a match).
    pub(crate) digests: Vec<Option<Digest>>,
    /// Per candidate: it could not be read, do not try again.
    pub(crate) dead: Vec<bool>,
    pub(crate) skipped: Vec<Skipped>,
}

/// What a finished pass hands back.
pub(crate) struct Scanned<W: Write> {
    pub(crate) writer: TemplateWriter<W>,
    pub(crate) matches: Vec<Match>,
    pub(crate) skipped: Vec<Skipped>,
}

impl<W: Write> Scan<'_, W> {
    /// Writes the template: the `fixed` files (sorted, not overlapping,
    /// inside the image) where they are, and the rolling scan over every
    /// stretch between them.
    pub(crate) fn run(mut self, fixed: &[Fixed]) -> Result<Scanned<W>, Error> {
        let mut matches = Vec::new();
        let mut start = 0u64;
        for f in fixed.iter().map(Some).chain([None]) {
            let end = f.map_or(self.image_len, |f| f.found.offset);
            self.scan_stretch(start, end, &mut matches)?;
            let Some(f) = f else { break };
            self.writer.add_file(f.found.size, f.head, f.found.digest)?;
            self.progress.matched(&f.found);
            self.progress.advance(f.found.size);
            matches.push(f.found);
            start = f.found.end();
        }
        Ok(Scanned {
            writer: self.writer,
            matches,
            skipped: self.skipped,
        })
    }

    /// The rolling scan of image bytes `start..end`: files found must lie
    /// wholly inside; the rest becomes template data.
    fn scan_stretch(
        &mut self,
        start: u64,
        end: u64,
        matches: &mut Vec<Match>,
    ) -> Result<(), Error> {
        self.stream.set_limit(end);
        let mut emitted = start;
        // the window under test starts at `at`; `sum` is its rsync64 if known
        // and `tested` says whether it was already looked up
        let mut at = start;
        let mut sum: Option<Sum> = None;
        let mut tested = false;
        loop {
            // rolling on from a tested window needs the byte after it
            let need = WINDOW + usize::from(tested);
            if !self.stream.has(at, need) {
                self.emit_unmatched(&mut emitted, at)?;
                self.stream.restart_at(at)?;
                if !self.stream.has(at, need) {
                    break;
                }
            }
            let base = self.stream.base();
            let data = self.stream.data();
            // `has` above guarantees at - base < data.len()
            let s = (at - base) as usize;
            let cur = match sum {
                Some(v) => v,
                None => self.roller.sum(data.get(s..s + WINDOW).unwrap_or_default()),
            };
            let (j, found, hit) = self.roller.find(&self.index.filter, data, s, cur, tested);
            at = base + j as u64;
            sum = Some(found);
            tested = true;
            if !hit {
                continue;
            }
            let index = self.index;
            let Some(list) = index.get(found) else {
                continue;
            };
            if let Some((p, digest)) = self.confirm_at(at, list)? {
                self.emit_unmatched(&mut emitted, at)?;
                self.writer.add_file(p.size, found.rsync64(), digest)?;
                let m = Match {
                    offset: at,
                    size: p.size,
                    digest,
                    candidate: p.candidate,
                };
                self.progress.matched(&m);
                self.progress.advance(p.size);
                matches.push(m);
                emitted = at + p.size;
                // matches do not overlap: the next file may start right after
                at = emitted;
                sum = None;
                tested = false;
            }
        }
        let end = self.stream.end();
        self.emit_unmatched(&mut emitted, end)
    }

    /// Writes image bytes `*emitted..to` as template data; they are in the
    /// stream's buffer by the invariant.
    fn emit_unmatched(&mut self, emitted: &mut u64, to: u64) -> Result<(), Error> {
        if to <= *emitted {
            return Ok(());
        }
        let base = self.stream.base();
        let bytes = usize::try_from(*emitted - base)
            .ok()
            .zip(usize::try_from(to - base).ok())
            .and_then(|(a, b)| self.stream.data().get(a..b));
        // unreachable by the invariant; were it ever broken, the template's
        // length would fall short of the image's and make_template fails
        debug_assert!(
            bytes.is_some(),
            "unmatched bytes {}..{to} not buffered",
            *emitted
        );
        let bytes = bytes.unwrap_or_default();
        self.writer.write_unmatched(bytes)?;
        self.progress.advance(bytes.len() as u64);
        *emitted += bytes.len() as u64;
        Ok(())
    }

    /// Tries the candidates whose head sum matched at `at`, biggest first;
    /// the first whose whole content is there wins.
    fn confirm_at(
        &mut self,
        at: u64,
        list: &[Prepared],
    ) -> Result<Option<(Prepared, Digest)>, Error> {
        let buffered = Buffered {
            data: self.stream.data(),
            base: self.stream.base(),
        };
        // candidates of equal size share the region's tail sum and digest
        let mut tail_seen: Option<(u64, Sum)> = None;
        let mut digest_seen: Option<(u64, Digest)> = None;
        for p in list {
            let c = p.candidate;
            if self.dead.get(c).copied().unwrap_or(true) {
                continue;
            }
            let limit = self.stream.limit().min(self.image_len);
            let Some(end) = at.checked_add(p.size).filter(|e| *e <= limit) else {
                continue;
            };
            if p.size > WINDOW as u64 {
                let tail = match tail_seen {
                    Some((e, t)) if e == end => t,
                    _ => self
                        .confirm
                        .block_sum(buffered, end - WINDOW as u64, self.roller)?,
                };
                tail_seen = Some((end, tail));
                if tail != p.tail {
                    continue;
                }
            }
            if let Some(want) = self.digests.get(c).copied().flatten() {
                let got = match digest_seen {
                    Some((n, d)) if n == p.size => d,
                    _ => self.confirm.region_digest(buffered, at, p.size)?,
                };
                digest_seen = Some((p.size, got));
                if got == want {
                    return Ok(Some((*p, got)));
                }
                continue;
            }
            let Some(candidate) = self.candidates.get(c) else {
                continue;
            };
            match self.confirm.compare(buffered, at, candidate)? {
                Outcome::Same(d) => {
                    if let Some(slot) = self.digests.get_mut(c) {
                        *slot = Some(d);
                    }
                    return Ok(Some((*p, d)));
                }
                Outcome::Differs => {}
                Outcome::Unreadable(error) => {
                    tracing::warn!(path = %candidate.path.display(), "skipping candidate: {error}");
                    if let Some(d) = self.dead.get_mut(c) {
                        *d = true;
                    }
                    self.skipped.push(Skipped {
                        candidate: c,
                        error,
                    });
                }
            }
        }
        Ok(None)
    }
}
