//! Checked little-endian field decoding: every length read from a file goes through here.

/// A 48-bit little-endian integer at `at`, or `None` if `buf` is too short.
pub(crate) fn u48(buf: &[u8], at: usize) -> Option<u64> {
    let b = buf.get(at..at.checked_add(6)?)?;
    Some(
        b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// A 32-bit little-endian integer at `at`.
pub(crate) fn u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(
        b.iter()
            .rev()
            .fold(0u32, |acc, &x| (acc << 8) | u32::from(x)),
    )
}

/// A 64-bit little-endian integer at `at`.
pub(crate) fn u64(buf: &[u8], at: usize) -> Option<u64> {
    let b = buf.get(at..at.checked_add(8)?)?;
    Some(
        b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
    )
}

/// Largest value a 48-bit field holds.
pub(crate) const U48_MAX: u64 = (1 << 48) - 1;

/// The low 6 bytes of `v`, little-endian.
pub(crate) fn put_u48(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes()[..6]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_bounds() {
        let buf = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u48(&buf, 0), Some(0x060504030201));
        assert_eq!(u48(&buf, 2), Some(0x080706050403));
        assert_eq!(u48(&buf, 3), None);
        assert_eq!(u32(&buf, 4), Some(0x08070605));
        assert_eq!(u64(&buf, 0), Some(0x0807060504030201));
        assert_eq!(u48(&buf, usize::MAX), None);
        let mut out = Vec::new();
        put_u48(&mut out, 0x060504030201);
        assert_eq!(out, &buf[..6]);
    }
}
