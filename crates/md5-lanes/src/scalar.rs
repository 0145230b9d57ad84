//! The portable kernel: one message at a time, plain `u32` arithmetic.

use crate::rounds::md5_rounds;
use crate::BLOCK;

/// Runs every whole 64-byte block of `data` through `state` (a trailing
/// partial block is ignored; callers pass whole blocks).
pub(crate) fn compress(state: &mut [u32; 4], data: &[u8]) {
    for block in data.chunks_exact(BLOCK) {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_le_bytes(<[u8; 4]>::try_from(bytes).unwrap_or_default());
        }
        let [mut a, mut b, mut c, mut d] = *state;
        macro_rules! step {
            (f, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                step!(@ ($d ^ ($b & ($c ^ $d))), $a, $b, $m, $k, $s)
            };
            // G(b, c, d) = (b & d) | (c & !d), and the two halves never
            // overlap, so | is +: c & !d does not wait for b, which shortens
            // the dependency chain (a few % faster for one long stream).
            (g, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                $a = $b.wrapping_add(
                    $a.wrapping_add(m[$m].wrapping_add($k))
                        .wrapping_add($c & !$d)
                        .wrapping_add($b & $d)
                        .rotate_left($s),
                )
            };
            (h, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                step!(@ (($c ^ $d) ^ $b), $a, $b, $m, $k, $s)
            };
            (i, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                step!(@ ($c ^ ($b | !$d)), $a, $b, $m, $k, $s)
            };
            // the message word and constant are added first: only f waits for b
            (@ $f:expr, $a:ident, $b:ident, $m:literal, $k:literal, $s:literal) => {
                $a = $b.wrapping_add(
                    $a.wrapping_add(m[$m].wrapping_add($k))
                        .wrapping_add($f)
                        .rotate_left($s),
                )
            };
        }
        md5_rounds!(step, a, b, c, d);
        state[0] = state[0].wrapping_add(a);
        state[1] = state[1].wrapping_add(b);
        state[2] = state[2].wrapping_add(c);
        state[3] = state[3].wrapping_add(d);
    }
}
