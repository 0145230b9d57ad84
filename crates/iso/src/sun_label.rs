//! SPARC boot (issue 11): `-B`/`-sparc-boot` boot partition images appended after the ISO
//! filesystem and a Sun disk label in the first sector that lists the image as partition 1 and
//! them as partitions 2 to 8, as `xorriso -as mkisofs` (libisofs 1.5.4) writes them.
//!
//! The layout: the ISO filesystem (its volume space size then excludes everything after it),
//! each partition image starting on a 320 KiB "cylinder" (160 blocks) boundary, then the `-pad`
//! blocks. The appended images are not files of the ISO tree: to JTE they are metadata, which is
//! what libjte makes of them too.

use std::path::PathBuf;

use crate::boot_blocks::put;
use crate::error::{Error, Result};
use crate::partitions::AppendedPartition;

/// Partitions 2..=8 of a Sun disk label.
pub const MAX_SPARC_PARTITIONS: usize = 7;
/// A Sun label "cylinder": 1 head of 640 sectors, 320 KiB, 160 blocks of 2048 bytes.
const CYLINDER_BLOCKS: u64 = 160;
/// The label text when no `-sparc-label` is given (libisofs' own).
const DEFAULT_LABEL: &str = "CD-ROM Disc with Sun sparc boot created by libisofs";

/// `-B`/`-sparc-boot` and `-sparc-label`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SunLabel {
    /// `-sparc-label`: up to 128 bytes of ASCII text; `None` for libisofs' default text.
    pub label: Option<String>,
    /// Disk files (not paths in the image) appended as partitions 2, 3, ... (at most
    /// [`MAX_SPARC_PARTITIONS`]).
    pub partitions: Vec<PathBuf>,
    /// The pseudo path `...` after the files: every partition entry left empty describes the
    /// same as the last one given (the ISO image itself when no file is given; a boot loader
    /// then has to come from `-G`).
    pub fill_rest: bool,
}

/// `-sparc-boot`'s images as the partitions they become: 2, 3, ... (type bytes are an MBR
/// notion; a Sun label has none).
pub(crate) fn partitions(label: &SunLabel) -> Vec<AppendedPartition> {
    (2u8..)
        .zip(&label.partitions)
        .map(|(number, path)| AppendedPartition {
            number,
            type_byte: 0,
            path: path.clone(),
        })
        .collect()
}

/// Where the next partition image starts: the first cylinder boundary at or after `block`.
pub(crate) fn cylinder_start(block: u64) -> u64 {
    block.next_multiple_of(CYLINDER_BLOCKS)
}

fn be16(v: u64) -> [u8; 2] {
    u16::try_from(v).unwrap_or(u16::MAX).to_be_bytes()
}

fn be32(v: u64) -> Result<[u8; 4]> {
    u32::try_from(v)
        .map(u32::to_be_bytes)
        .map_err(|_| Error::BadBootBlock {
            option: "-sparc-boot",
            reason: "the image is too large for a Sun disk label",
        })
}

/// The Sun disk label (sector 0): label text, VTOC with 8 partitions (1: the image, "user",
/// 2..8: "root" with a boot image, all read-only), a fixed 640 MB geometry of 2048 cylinders
/// of 640 sectors, partition table of (first cylinder, sectors), magic 0xDABE and an XOR
/// checksum over the 16-bit words. `total_blocks` is the whole image (libisofs makes
/// partition 1 that big, partition images and padding included); `parts` are the appended
/// images as (first block, blocks).
///
/// # Errors
/// [`Error::BadBootBlock`] for more than [`MAX_SPARC_PARTITIONS`] images or sizes past 32 bits.
pub(crate) fn label(
    label: &SunLabel,
    total_blocks: u64,
    parts: &[(u64, u64)],
) -> Result<[u8; 512]> {
    if parts.len() > MAX_SPARC_PARTITIONS {
        return Err(Error::BadBootBlock {
            option: "-sparc-boot",
            reason: "a Sun disk label has room for 7 boot partitions",
        });
    }
    let mut b = [0u8; 512];
    let text = label.label.as_deref().unwrap_or(DEFAULT_LABEL).as_bytes();
    let text = text.get(..text.len().min(128)).unwrap_or_default();
    put(&mut b, 0, text);
    b[128..132].copy_from_slice(&1u32.to_be_bytes()); // layout version
    b[140..142].copy_from_slice(&8u16.to_be_bytes()); // partitions
    b[188..192].copy_from_slice(&0x600d_deeeu32.to_be_bytes()); // VTOC sanity
    b[420..422].copy_from_slice(&350u16.to_be_bytes()); // rpm
    b[422..424].copy_from_slice(&2048u16.to_be_bytes()); // physical cylinders
    b[430..432].copy_from_slice(&1u16.to_be_bytes()); // interleave
    b[432..434].copy_from_slice(&2048u16.to_be_bytes()); // data cylinders
    b[436..438].copy_from_slice(&1u16.to_be_bytes()); // heads
    b[438..440].copy_from_slice(&640u16.to_be_bytes()); // sectors per head
    b[508..510].copy_from_slice(&0xdabeu16.to_be_bytes());
    // (first block, blocks) of partitions 1..=8; `None` = entry not written
    let mut table: Vec<Option<(u64, u64)>> = vec![Some((0, total_blocks))];
    table.extend(parts.iter().map(|p| Some(*p)));
    while table.len() < 8 {
        // "...": a copy of the last entry given
        let copy = if label.fill_rest {
            table.last().copied().flatten()
        } else {
            None
        };
        table.push(copy);
    }
    for (i, entry) in table.iter().enumerate() {
        let Some((lba, blocks)) = entry else { continue };
        let tag: u64 = if i == 0 { 4 } else { 2 };
        put(&mut b, 142 + 4 * i, &be16(tag));
        put(&mut b, 144 + 4 * i, &be16(0x10)); // read-only
        put(&mut b, 444 + 8 * i, &be32(lba / CYLINDER_BLOCKS)?);
        put(&mut b, 448 + 8 * i, &be32(blocks * 4)?);
    }
    let mut sum = [0u8; 2];
    for w in b.chunks_exact(2).take(255) {
        sum[0] ^= w.first().copied().unwrap_or(0);
        sum[1] ^= w.get(1).copied().unwrap_or(0);
    }
    b[510..512].copy_from_slice(&sum);
    Ok(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn be(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn xor_words(b: &[u8]) -> [u8; 2] {
        let mut s = [0u8; 2];
        for w in b.chunks_exact(2) {
            s[0] ^= w[0];
            s[1] ^= w[1];
        }
        s
    }

    #[test]
    fn label_like_xorriso_with_two_images() {
        // xorriso: a 705-block ISO, images of 49 and 3 blocks at 800 and 960, 150 pad blocks
        let l = SunLabel {
            label: Some("Debian sparc label".into()),
            partitions: vec![PathBuf::from("a"), PathBuf::from("b")],
            fill_rest: false,
        };
        let b = label(&l, 1113, &[(800, 49), (960, 3)]).unwrap();
        assert!(b.starts_with(b"Debian sparc label\0"));
        assert_eq!(
            &b[0x80..0x90],
            &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 4]
        );
        assert_eq!(
            &b[0x90..0x9c],
            &[0, 0x10, 0, 2, 0, 0x10, 0, 2, 0, 0x10, 0, 0]
        );
        assert_eq!(be(&b, 188), 0x600d_deee);
        assert_eq!(
            &b[0x1a0..0x1bc],
            &[
                0, 0, 0, 0, 1, 0x5e, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 1, 2, 0x80, 0, 0,
                0, 0
            ]
        );
        assert_eq!(be(&b, 444), 0);
        assert_eq!(be(&b, 448), 0x1164);
        assert_eq!(be(&b, 452), 5);
        assert_eq!(be(&b, 456), 0xc4);
        assert_eq!(be(&b, 460), 6);
        assert_eq!(be(&b, 464), 0xc);
        assert_eq!(&b[468..508], &[0u8; 40][..]);
        assert_eq!(&b[508..512], &[0xda, 0xbe, 0x37, 0x40]);
        assert_eq!(
            xor_words(&b),
            [0, 0],
            "the checksum makes the XOR of all words zero"
        );
    }

    #[test]
    fn dots_copy_the_last_entry() {
        let only_dots = SunLabel {
            fill_rest: true,
            ..SunLabel::default()
        };
        let b = label(&only_dots, 855, &[]).unwrap();
        assert!(b.starts_with(DEFAULT_LABEL.as_bytes()));
        for i in 0..8 {
            assert_eq!(be(&b, 444 + 8 * i), 0);
            assert_eq!(be(&b, 448 + 8 * i), 3420, "partition {}", i + 1);
        }
        let one = SunLabel {
            partitions: vec![PathBuf::from("a")],
            fill_rest: true,
            ..SunLabel::default()
        };
        let b = label(&one, 1000, &[(800, 10)]).unwrap();
        assert_eq!(be(&b, 448), 4000);
        for i in 1..8 {
            assert_eq!(be(&b, 444 + 8 * i), 5, "partition {}", i + 1);
            assert_eq!(be(&b, 448 + 8 * i), 40);
        }
        assert_eq!(xor_words(&b), [0, 0]);
    }

    #[test]
    fn long_labels_are_cut_at_128_bytes() {
        let l = SunLabel {
            label: Some("x".repeat(200)),
            ..SunLabel::default()
        };
        let b = label(&l, 100, &[]).unwrap();
        assert_eq!(&b[..128], &[b'x'; 128][..]);
        assert_eq!(be(&b, 128), 1);
    }

    #[test]
    fn images_start_on_cylinders() {
        assert_eq!(cylinder_start(705), 800);
        assert_eq!(cylinder_start(800), 800);
        assert_eq!(cylinder_start(849), 960);
        assert!(label(&SunLabel::default(), 10, &[(0, 1); 8]).is_err());
    }
}
