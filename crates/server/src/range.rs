//! `Range: bytes=...` as RFC 9110 §14 defines it, for a representation of
//! known length.

use std::ops::Range;

/// Most parts a `multipart/byteranges` answer holds; longer lists (after
/// merging) get the whole representation instead, as §14.2 allows.
pub const MAX_PARTS: usize = 64;

/// Specs read from one header before it counts as abusive and is ignored.
const MAX_SPECS: usize = 1024;

/// What a `Range` header asks of a representation of a given length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranges {
    /// No usable `Range` header: send everything with 200. Also the answer
    /// to syntax errors, other units and overlong lists (§14.2: a server
    /// may ignore the header).
    Whole,
    /// One or more satisfiable ranges, sorted, overlapping and adjacent
    /// ones merged, at most [`MAX_PARTS`].
    Parts(Vec<Range<u64>>),
    /// Well-formed, but no range overlaps the representation: 416.
    Unsatisfiable,
}

/// Parses a `Range` header value against a representation of `len` bytes.
pub fn parse(header: &str, len: u64) -> Ranges {
    let Some(specs) = strip_unit(header) else {
        return Ranges::Whole;
    };
    let mut ranges = Vec::new();
    let mut any = false;
    for (i, spec) in specs.split(',').enumerate() {
        if i >= MAX_SPECS {
            return Ranges::Whole;
        }
        let spec = spec.trim_matches(|c| c == ' ' || c == '\t');
        if spec.is_empty() {
            // Empty list elements are allowed (RFC 9110 §5.6.1).
            continue;
        }
        let Some(spec) = Spec::parse(spec) else {
            return Ranges::Whole;
        };
        any = true;
        if let Some(r) = spec.resolve(len) {
            ranges.push(r);
        }
    }
    if !any {
        return Ranges::Whole;
    }
    if ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    let merged = merge(ranges);
    if merged.len() > MAX_PARTS {
        return Ranges::Whole;
    }
    Ranges::Parts(merged)
}

/// `bytes=` with the unit matched case-insensitively.
fn strip_unit(header: &str) -> Option<&str> {
    let (unit, rest) = header.trim().split_once('=')?;
    unit.trim().eq_ignore_ascii_case("bytes").then_some(rest)
}

#[derive(Debug, Clone, Copy)]
enum Spec {
    /// `first-` or `first-last`.
    From { first: u64, last: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl Spec {
    fn parse(spec: &str) -> Option<Spec> {
        let (a, b) = spec.split_once('-')?;
        if a.is_empty() {
            return Some(Spec::Suffix(digits(b)?));
        }
        let first = digits(a)?;
        let last = if b.is_empty() { None } else { Some(digits(b)?) };
        if last.is_some_and(|l| l < first) {
            return None;
        }
        Some(Spec::From { first, last })
    }

    fn resolve(self, len: u64) -> Option<Range<u64>> {
        match self {
            Spec::From { first, last } => {
                if first >= len {
                    return None;
                }
                let end = last.map_or(len, |l| l.saturating_add(1).min(len));
                Some(first..end)
            }
            Spec::Suffix(0) => None,
            Spec::Suffix(n) => (len > 0).then(|| len.saturating_sub(n)..len),
        }
    }
}

/// A run of ASCII digits as a number; `None` for anything else or overflow.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(header: &str, len: u64) -> Vec<Range<u64>> {
        match parse(header, len) {
            Ranges::Parts(p) => p,
            other => panic!("{header}: {other:?}"),
        }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(parts("bytes=0-499", 1000), [0..500]);
        assert_eq!(parts("bytes=500-", 1000), [500..1000]);
        assert_eq!(parts("bytes=-200", 1000), [800..1000]);
        assert_eq!(parts("bytes=-5000", 1000), [0..1000]);
        assert_eq!(parts("bytes=900-5000", 1000), [900..1000]);
        assert_eq!(parts("BYTES = 0-0", 1000), [0..1]);
    }

    #[test]
    fn several_ranges_are_sorted_and_merged() {
        assert_eq!(
            parts("bytes=500-599, 0-99,50-149", 1000),
            [0..150, 500..600]
        );
        assert_eq!(parts("bytes=0-99,100-199", 1000), [0..200]);
        assert_eq!(parts("bytes=0-9,,20-29", 1000), [0..10, 20..30]);
        assert_eq!(parts("bytes=2000-3000,0-0", 1000), [0..1]);
    }

    #[test]
    fn unsatisfiable_and_ignored() {
        assert_eq!(parse("bytes=1000-", 1000), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), Ranges::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Ranges::Unsatisfiable);
        for bad in [
            "bytes=5-1",
            "bytes=a-b",
            "bytes=1-2-3",
            "items=0-1",
            "bytes=",
            "bytes=,",
            "bytes=+1-2",
            "bytes=99999999999999999999999-",
            "0-1",
        ] {
            assert_eq!(parse(bad, 1000), Ranges::Whole, "{bad}");
        }
    }

    #[test]
    fn long_lists_get_the_whole_representation() {
        let many: Vec<String> = (0..65)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
            .collect();
        assert_eq!(
            parse(&format!("bytes={}", many.join(",")), 10_000),
            Ranges::Whole
        );
        let ok: Vec<String> = (0..64)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
            .collect();
        assert_eq!(parts(&format!("bytes={}", ok.join(",")), 10_000).len(), 64);
        // Thousands of overlapping specs merge into one, but are refused
        // before they cost time.
        let huge = vec!["0-1"; 5000].join(",");
        assert_eq!(parse(&format!("bytes={huge}"), 10), Ranges::Whole);
    }

    proptest! {
        #[test]
        fn parts_are_inside_sorted_and_disjoint(
            len in 0u64..10_000,
            specs in proptest::collection::vec((proptest::option::of(0u64..12_000), proptest::option::of(0u64..12_000)), 1..80),
        ) {
            let text: Vec<String> = specs.iter().map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => format!("{}-{}", a.min(b), a.max(b)),
                (Some(a), None) => format!("{a}-"),
                (None, Some(b)) => format!("-{b}"),
                (None, None) => String::new(),
            }).collect();
            let header = format!("bytes={}", text.join(","));
            if let Ranges::Parts(p) = parse(&header, len) {
                prop_assert!(!p.is_empty() && p.len() <= MAX_PARTS);
                for r in &p {
                    prop_assert!(r.start < r.end && r.end <= len);
                }
                for w in p.windows(2) {
                    prop_assert!(w[0].end < w[1].start);
                }
            }
        }

        #[test]
        fn any_text_is_handled(header in ".{0,200}", len in 0u64..u64::MAX) {
            let _ = parse(&header, len);
        }
    }
}
