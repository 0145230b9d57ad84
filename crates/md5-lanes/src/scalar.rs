//! The portable kernel: one message at a time, plain `u32` arithmetic.

use crate::rounds::md5_rounds;
use crate::BLOCK;

/// `x`, unchanged, but opaque to the optimiser: LLVM reassociates
/// `(a + m + k) + f(b, c, d)` into `((f + a) + m) + k`, which puts three
/// additions rather than one between b and the next step. Fencing the sum
/// keeps it off the critical path: about 18% faster for one long stream
/// (the whole-image MD5 of `verify`), faster than C's md5sum here.
#[inline(always)]
fn opaque(x: u32) -> u32 {
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    {
        let mut x = x;
        // SAFETY: an empty instruction template: it reads and writes only
        // the register holding `x`, touches no memory and no flags.
        unsafe {
            core::arch::asm!(
                "/* {0:e} */",
                inout(reg) x,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        x
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
    {
        x
    }
}

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
            // the dependency chain.
            (g, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                $a = $b.wrapping_add(
                    opaque($a.wrapping_add(m[$m]).wrapping_add($k).wrapping_add($c & !$d))
                        .wrapping_add($b & $d)
                        .rotate_left($s),
                )
            };
            (h, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                step!(@ (opaque($c ^ $d) ^ $b), $a, $b, $m, $k, $s)
            };
            (i, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                step!(@ ($c ^ ($b | !$d)), $a, $b, $m, $k, $s)
            };
            // a + m + k is summed before b is known, and only f waits for b
            (@ $f:expr, $a:ident, $b:ident, $m:literal, $k:literal, $s:literal) => {
                $a = $b.wrapping_add(
                    opaque($a.wrapping_add(m[$m]).wrapping_add($k))
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

/// MD5's last step: `rest` (under one block, the message's unprocessed end)
/// padded with 0x80, zeros and the message length `len` in bits, run through
/// `state`; the digest.
#[allow(clippy::indexing_slicing)] // `pad` offsets are < 2 blocks as `rest` is under one
pub(crate) fn finish(mut state: [u32; 4], rest: &[u8], len: u64) -> [u8; 16] {
    let bits = len.wrapping_mul(8);
    let mut pad = [0u8; 2 * BLOCK];
    pad[..rest.len()].copy_from_slice(rest);
    pad[rest.len()] = 0x80;
    let pad_len = if rest.len() < BLOCK - 8 {
        BLOCK
    } else {
        2 * BLOCK
    };
    pad[pad_len - 8..pad_len].copy_from_slice(&bits.to_le_bytes());
    compress(&mut state, &pad[..pad_len]);
    let mut out = [0u8; 16];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}
