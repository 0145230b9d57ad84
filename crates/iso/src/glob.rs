//! Shell wildcard matching (fnmatch without flags) for `-m`, `-hide` and `-sort` patterns.

/// Whether `pattern` matches all of `text`: `*`, `?`, `[a-z]`, `[!x]`/`[^x]`, `\` escapes.
pub(crate) fn matches(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matcher with single backtrack point for the last `*`: linear in practice, no recursion.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(&c) => {
                let (ok, next) = match c {
                    b'?' => (true, p + 1),
                    b'[' => match class(pattern, p + 1, text.get(t).copied().unwrap_or(0)) {
                        Some((ok, next)) => (ok, next),
                        None => (text.get(t) == Some(&b'['), p + 1),
                    },
                    b'\\' if p + 1 < pattern.len() => (pattern.get(p + 1) == text.get(t), p + 2),
                    _ => (Some(&c) == text.get(t), p + 1),
                };
                if ok {
                    p = next;
                    t += 1;
                    continue;
                }
            }
            None => {}
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Matches `c` against the class starting after `[` at `start`; `None` if the class is unterminated.
fn class(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let lo = *pattern.get(i)?;
        if lo == b']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = *pattern.get(i + 2)?;
            found |= lo <= c && c <= hi;
            i += 3;
        } else {
            found |= lo == c;
            i += 1;
        }
    }
}

/// A set of patterns applied the way mkisofs applies `-m`/`-hide`: a pattern matches a node if it
/// matches its leaf name or one of its full paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct PatternSet {
    patterns: Vec<Vec<u8>>,
}

impl PatternSet {
    pub(crate) fn new(patterns: &[String]) -> Self {
        Self {
            patterns: patterns.iter().map(|p| p.as_bytes().to_vec()).collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub(crate) fn matches_any(&self, candidates: &[&[u8]]) -> bool {
        self.patterns.iter().any(|p| {
            candidates.iter().any(|c| {
                // a pattern given as a directory path ("dir/") also names the directory itself
                let p = if p.len() > 1 {
                    p.strip_suffix(b"/").unwrap_or(p)
                } else {
                    p
                };
                matches(p, c)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches(b"*.tmp", b"a.tmp"));
        assert!(matches(b"*.tmp", b".tmp"));
        assert!(!matches(b"*.tmp", b"a.tmpx"));
        assert!(matches(b"a?c", b"abc"));
        assert!(!matches(b"a?c", b"ac"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[!a-c]x", b"bx"));
        assert!(matches(b"[^a-c]x", b"dx"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"\\*", b"*"));
        assert!(!matches(b"\\*", b"a"));
        assert!(matches(b"*", b""));
        assert!(matches(b"/x/*/z", b"/x/y/z"));
        assert!(matches(b"*a*b*c", b"xxaxxbxxbc"));
        assert!(!matches(b"[abc", b"a"));
        assert!(matches(b"[abc", b"[abc"));
        assert!(matches(b"boot1", b"boot1"));
    }

    #[test]
    fn set_matches_leaf_or_path() {
        let s = PatternSet::new(&["CVS".into(), "/src/tmp/".into()]);
        assert!(s.matches_any(&[b"CVS", b"/src/a/CVS"]));
        assert!(s.matches_any(&[b"tmp", b"/src/tmp"]));
        assert!(!s.matches_any(&[b"tmp2", b"/src/tmp2"]));
    }
}
