//! The AVX2 kernel: lane `l` of every `__m256i` belongs to message `l`.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_loadu_si256, _mm256_or_si256,
    _mm256_permute2x128_si256, _mm256_set1_epi32, _mm256_slli_epi32, _mm256_srli_epi32,
    _mm256_storeu_si256, _mm256_unpackhi_epi32, _mm256_unpackhi_epi64, _mm256_unpacklo_epi32,
    _mm256_unpacklo_epi64, _mm256_xor_si256,
};

use crate::rounds::md5_rounds;
use crate::{BLOCK, LANES};

/// What idle lanes read: their results are thrown away.
static IDLE: [u8; BLOCK] = [0; BLOCK];

/// Runs `blocks` blocks of each busy lane through its state; idle lanes'
/// states are left as they were.
///
/// Every `Some` slice must hold at least `blocks * BLOCK` bytes.
pub(crate) fn compress(
    states: &mut [[u32; 4]; LANES],
    input: &[Option<&[u8]>; LANES],
    blocks: usize,
) {
    // Checked here so the kernel's raw reads stay in bounds.
    if input
        .iter()
        .flatten()
        .any(|s| s.len() < blocks.saturating_mul(BLOCK))
    {
        debug_assert!(false, "a busy lane is shorter than {blocks} blocks");
        return;
    }
    let saved = *states;
    // Busy lanes step through their data; idle lanes re-read one zero block.
    let mut bases = [IDLE.as_ptr(); LANES];
    let mut strides = [0usize; LANES];
    for ((base, stride), slot) in bases.iter_mut().zip(strides.iter_mut()).zip(input) {
        if let Some(data) = slot {
            *base = data.as_ptr();
            *stride = BLOCK;
        }
    }
    // SAFETY: `compress` is only reached with `Kernel::Avx2`, chosen after
    // `is_x86_feature_detected!("avx2")`. Every pointer is read at
    // `base + b * stride + 0..64` for `b < blocks`: busy lanes hold at least
    // `blocks * 64` bytes (checked above), idle lanes have stride 0 over
    // the 64-byte `IDLE`.
    unsafe { compress_avx2(states, &bases, &strides, blocks) };
    for ((state, old), slot) in states.iter_mut().zip(saved).zip(input) {
        if slot.is_none() {
            *state = old;
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn compress_avx2(
    states: &mut [[u32; 4]; LANES],
    bases: &[*const u8; LANES],
    strides: &[usize; LANES],
    blocks: usize,
) {
    // SAFETY (whole body): AVX2 is available (caller's contract), and every
    // load reads 32 bytes inside the 64-byte block `base + b * stride`.
    unsafe {
        let [mut a, mut b, mut c, mut d] = transpose_state(states);
        let ones = _mm256_set1_epi32(-1);
        for blk in 0..blocks {
            let mut rows = [[_mm256_set1_epi32(0); 2]; LANES];
            for (row, (base, stride)) in rows.iter_mut().zip(bases.iter().zip(strides)) {
                let p = base.add(blk * stride);
                row[0] = _mm256_loadu_si256(p.cast());
                row[1] = _mm256_loadu_si256(p.add(32).cast());
            }
            let lo = transpose8(&rows.map(|r| r[0]));
            let hi = transpose8(&rows.map(|r| r[1]));
            let m = [
                lo[0], lo[1], lo[2], lo[3], lo[4], lo[5], lo[6], lo[7], hi[0], hi[1], hi[2], hi[3],
                hi[4], hi[5], hi[6], hi[7],
            ];
            let (a0, b0, c0, d0) = (a, b, c, d);
            macro_rules! step {
                (f, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                    step!(@ _mm256_xor_si256($d, _mm256_and_si256($b, _mm256_xor_si256($c, $d))),
                        $a, $b, $m, $k, $s)
                };
                (g, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                    step!(@ _mm256_xor_si256($c, _mm256_and_si256($d, _mm256_xor_si256($b, $c))),
                        $a, $b, $m, $k, $s)
                };
                (h, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                    step!(@ _mm256_xor_si256(_mm256_xor_si256($b, $c), $d), $a, $b, $m, $k, $s)
                };
                (i, $a:ident, $b:ident, $c:ident, $d:ident, $m:literal, $k:literal, $s:literal) => {
                    step!(@ _mm256_xor_si256($c, _mm256_or_si256($b, _mm256_xor_si256($d, ones))),
                        $a, $b, $m, $k, $s)
                };
                (@ $f:expr, $a:ident, $b:ident, $m:literal, $k:literal, $s:literal) => {{
                    let sum = _mm256_add_epi32(
                        _mm256_add_epi32($a, $f),
                        _mm256_add_epi32(m[$m], _mm256_set1_epi32($k as u32 as i32)),
                    );
                    let rotated = _mm256_or_si256(
                        _mm256_slli_epi32::<$s>(sum),
                        _mm256_srli_epi32::<{ 32 - $s }>(sum),
                    );
                    $a = _mm256_add_epi32($b, rotated);
                }};
            }
            md5_rounds!(step, a, b, c, d);
            a = _mm256_add_epi32(a, a0);
            b = _mm256_add_epi32(b, b0);
            c = _mm256_add_epi32(c, c0);
            d = _mm256_add_epi32(d, d0);
        }
        untranspose_state(states, [a, b, c, d]);
    }
}

/// Word `w` of every lane's state, as one vector per word.
#[target_feature(enable = "avx2")]
unsafe fn transpose_state(states: &[[u32; 4]; LANES]) -> [__m256i; 4] {
    let mut words = [[0u32; LANES]; 4];
    for (lane, state) in states.iter().enumerate() {
        for (w, value) in state.iter().enumerate() {
            if let Some(slot) = words.get_mut(w).and_then(|ws| ws.get_mut(lane)) {
                *slot = *value;
            }
        }
    }
    // SAFETY: AVX2 is available (caller's contract); each load reads one
    // whole `[u32; 8]`.
    words.map(|w| unsafe { _mm256_loadu_si256(w.as_ptr().cast()) })
}

/// The inverse of [`transpose_state`].
#[target_feature(enable = "avx2")]
unsafe fn untranspose_state(states: &mut [[u32; 4]; LANES], vectors: [__m256i; 4]) {
    for (w, v) in vectors.iter().enumerate() {
        let mut lanes = [0u32; LANES];
        // SAFETY: AVX2 is available (caller's contract); the store writes
        // one whole `[u32; 8]`.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), *v) };
        for (state, value) in states.iter_mut().zip(lanes) {
            if let Some(slot) = state.get_mut(w) {
                *slot = value;
            }
        }
    }
}

/// 8x8 transpose of 32-bit elements: output `w` holds element `w` of every row.
#[target_feature(enable = "avx2")]
unsafe fn transpose8(r: &[__m256i; LANES]) -> [__m256i; 8] {
    let [r0, r1, r2, r3, r4, r5, r6, r7] = *r;
    // SAFETY: AVX2 is available (caller's contract); register-only operations.
    // (Newer compilers consider these intrinsics safe here; the MSRV does not.)
    #[allow(unused_unsafe)]
    unsafe {
        let t0 = _mm256_unpacklo_epi32(r0, r1);
        let t1 = _mm256_unpackhi_epi32(r0, r1);
        let t2 = _mm256_unpacklo_epi32(r2, r3);
        let t3 = _mm256_unpackhi_epi32(r2, r3);
        let t4 = _mm256_unpacklo_epi32(r4, r5);
        let t5 = _mm256_unpackhi_epi32(r4, r5);
        let t6 = _mm256_unpacklo_epi32(r6, r7);
        let t7 = _mm256_unpackhi_epi32(r6, r7);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        [
            _mm256_permute2x128_si256::<0x20>(u0, u4),
            _mm256_permute2x128_si256::<0x20>(u1, u5),
            _mm256_permute2x128_si256::<0x20>(u2, u6),
            _mm256_permute2x128_si256::<0x20>(u3, u7),
            _mm256_permute2x128_si256::<0x31>(u0, u4),
            _mm256_permute2x128_si256::<0x31>(u1, u5),
            _mm256_permute2x128_si256::<0x31>(u2, u6),
            _mm256_permute2x128_si256::<0x31>(u3, u7),
        ]
    }
}
