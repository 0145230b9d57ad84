//! Boot blocks for machines that are not PCs (issue 11): the first sector(s) of the system area
//! as `xorriso -as mkisofs` writes them for `-mips-boot` (SGI volume header), `-mipsel-boot`
//! (DEC boot block), `-hppa-*` (PALO header), `-alpha-boot` (SRM boot sector) and `-sparc-boot`
//! (Sun disk label, see [`crate::sun_label`]). Layouts follow libisofs 1.5.4
//! (`doc/boot_sectors.txt`); `xorriso -report_system_area plain` reads them back.
//!
//! All but SPARC's only point at files already in the ISO tree (by image path): the files stay
//! ordinary file data, so JTE matches them like any other file, and only the system area
//! changes. They are
//! mutually exclusive and exclusive with the isohybrid MBR/GPT/APM, as in xorriso ("First sector
//! already occupied").

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::{Layout, BLOCK, MAX_SECTION};
use crate::options::IsoOptions;
use crate::sun_label::{self, SunLabel};
use crate::tree::{Kind, Tree};

/// How many boot files an SGI volume header lists.
pub const MAX_MIPS_BOOT_FILES: usize = 15;

/// A boot block written into the system area for a non-PC platform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootBlock {
    /// `-mips-boot PATH` (repeatable): an SGI (MIPS big-endian) volume header whose volume
    /// directory lists up to [`MAX_MIPS_BOOT_FILES`] boot files of the image by address and size.
    MipsBigEndian {
        /// Image paths of the boot files, in command-line order.
        files: Vec<String>,
    },
    /// `-mipsel-boot PATH`: a DEC (MIPS little-endian) boot block whose load and start addresses
    /// come from the ELF header of the boot file.
    MipsLittleEndian {
        /// Image path of the ELF boot file.
        file: String,
    },
    /// `-hppa-*`: the PALO header an HP PA-RISC machine boots from.
    Hppa(Palo),
    /// `-alpha-boot PATH`: the DEC Alpha SRM boot sector pointing at the secondary loader.
    Alpha {
        /// Image path of the secondary bootstrap loader (e.g. `boot/bootlx`).
        file: String,
    },
    /// `-B`/`-sparc-boot FILES` (and `-sparc-label`): a Sun disk label listing the image and
    /// boot partition images appended after it.
    Sparc(SunLabel),
}

impl BootBlock {
    /// The option that asks for this boot block, for messages.
    pub fn option(&self) -> &'static str {
        match self {
            BootBlock::MipsBigEndian { .. } => "-mips-boot",
            BootBlock::MipsLittleEndian { .. } => "-mipsel-boot",
            BootBlock::Hppa(_) => "-hppa-*",
            BootBlock::Alpha { .. } => "-alpha-boot",
            BootBlock::Sparc(_) => "-sparc-boot",
        }
    }
}

/// The PALO header's contents (`-hppa-cmdline`, `-hppa-bootloader`, `-hppa-kernel-32`,
/// `-hppa-kernel-64`, `-hppa-ramdisk`, `-hppa-hdrversion`). The five paths and the command line
/// are all required, as xorriso requires them; they are options here so that a command line
/// missing one is reported by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palo {
    /// `-hppa-cmdline`: the kernel command line (at most 1023 bytes, 127 with header version 4).
    pub cmdline: Option<String>,
    /// `-hppa-bootloader`: image path of PALO's `iplboot`.
    pub bootloader: Option<String>,
    /// `-hppa-kernel-32`: image path of the 32-bit kernel.
    pub kernel_32: Option<String>,
    /// `-hppa-kernel-64`: image path of the 64-bit kernel.
    pub kernel_64: Option<String>,
    /// `-hppa-ramdisk`: image path of the initial RAM disk.
    pub ramdisk: Option<String>,
    /// `-hppa-hdrversion`: PALO header version, 4 or 5 (the default).
    pub header_version: u8,
}

impl Default for Palo {
    fn default() -> Self {
        Self {
            cmdline: None,
            bootloader: None,
            kernel_32: None,
            kernel_64: None,
            ramdisk: None,
            header_version: 5,
        }
    }
}

/// Refuses a boot block together with a PC partition table in the first sector, as xorriso does.
///
/// # Errors
/// [`Error::FirstSectorTaken`] naming the other option.
pub(crate) fn check_exclusive(block: &BootBlock, opts: &IsoOptions) -> Result<()> {
    let h = &opts.hybrid;
    let other = if h.mbr_template.is_some() {
        Some("-isohybrid-mbr")
    } else if h.gpt_basdat {
        Some("-isohybrid-gpt-basdat")
    } else if h.partition_offset != 0 {
        Some("-partition_offset")
    } else {
        None
    };
    match other {
        Some(other) => Err(Error::FirstSectorTaken {
            option: block.option(),
            other,
        }),
        None => Ok(()),
    }
}

/// Writes `block` over the start of the system area `sa`, which may already hold other data (as
/// with `-G`): like libisofs, only the bytes a boot block owns are replaced. Addresses come from
/// `layout`; `image_blocks` is the final size of the whole image (the SGI header and the Sun
/// label record it) and `appended` the partition images after the filesystem as (first block,
/// blocks).
///
/// # Errors
/// [`Error::BootFileMissing`] / [`Error::BadBootImage`] for a boot file that is not a regular
/// file of the image (or an unreadable ELF header for `-mipsel-boot`), [`Error::MissingOption`]
/// for an incomplete PALO setup, [`Error::BadBootBlock`] for values the block cannot hold.
pub(crate) fn write(
    block: &BootBlock,
    tree: &Tree,
    layout: &Layout,
    image_blocks: u64,
    appended: &[(u64, u64)],
    sa: &mut [u8],
) -> Result<()> {
    let image_bytes = image_blocks * BLOCK;
    let bytes = match block {
        BootBlock::MipsBigEndian { files } => {
            if files.is_empty() || files.len() > MAX_MIPS_BOOT_FILES {
                return Err(Error::BadBootBlock {
                    option: "-mips-boot",
                    reason: "an SGI volume header lists 1 to 15 boot files",
                });
            }
            let mut entries = Vec::with_capacity(files.len());
            for path in files {
                let f = boot_file(tree, layout, path)?;
                entries.push(VolumeDirEntry {
                    name: f.name,
                    sector: f.lba * 4,
                    bytes: f.size,
                });
            }
            sgi_volume_header(image_bytes, &entries)?.to_vec()
        }
        BootBlock::MipsLittleEndian { file } => {
            let f = boot_file(tree, layout, file)?;
            let elf = read_mipsel_elf(&f.source, file)?;
            dec_boot_block(&elf, f.lba).to_vec()
        }
        BootBlock::Hppa(palo) => return write_palo(palo, tree, layout, sa),
        BootBlock::Alpha { file } => {
            let f = boot_file(tree, layout, file)?;
            alpha_boot_sector(f.lba * 4, f.size.min(MAX_SECTION).div_ceil(512)).to_vec()
        }
        BootBlock::Sparc(label) => sun_label::label(label, image_blocks, appended)?.to_vec(),
    };
    put(sa, 0, &bytes);
    Ok(())
}

/// Copies `bytes` into `sa` at `at`; bytes that would fall past its end are dropped.
pub(crate) fn put(sa: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = sa.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// A boot file of the image: its source file, first block, size and name.
struct BootFile {
    source: PathBuf,
    lba: u64,
    size: u64,
    name: Vec<u8>,
}

fn boot_file(tree: &Tree, layout: &Layout, path: &str) -> Result<BootFile> {
    let node = tree.lookup(path).ok_or_else(|| Error::BootFileMissing {
        image_path: path.to_string(),
    })?;
    let n = tree.nodes.get(node).ok_or_else(|| Error::BootFileMissing {
        image_path: path.to_string(),
    })?;
    let Kind::File { size, source, .. } = &n.kind else {
        return Err(Error::BadBootImage {
            image_path: path.to_string(),
            reason: "not a regular file",
        });
    };
    // an empty file has no extent; libisofs gives it block 0 as well
    let lba = layout.extent(node).map_or(0, |e| u64::from(e.lba));
    Ok(BootFile {
        source: source.clone(),
        lba,
        size: *size,
        name: n.name.clone(),
    })
}

/// One entry of the SGI volume directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VolumeDirEntry {
    /// The file's name; the first 8 bytes are recorded.
    name: Vec<u8>,
    /// First 512-byte sector of the file.
    sector: u64,
    /// Exact size in bytes (genisoimage rounds up to 2048; SGI's arcload refuses that, so
    /// libisofs records the exact size since 2020, and so do we).
    bytes: u64,
}

fn be32(v: u64, option: &'static str) -> Result<[u8; 4]> {
    u32::try_from(v)
        .map(u32::to_be_bytes)
        .map_err(|_| Error::BadBootBlock {
            option,
            reason: "an address or size does not fit its 32-bit field",
        })
}

/// The SGI disk volume header: a disk of 32-sector "cylinders" with one track each, the whole
/// image as partition 0 (the volume header itself, type 0) and as partition 10 (whole volume,
/// type 6), and the boot files in the volume directory; the last word makes the big-endian
/// 32-bit sum of the header zero.
fn sgi_volume_header(image_bytes: u64, entries: &[VolumeDirEntry]) -> Result<[u8; 512]> {
    const SECTOR: u64 = 512;
    const SECTORS_PER_TRACK: u64 = 32;
    let opt = "-mips-boot";
    let mut b = [0u8; 512];
    b[0..4].copy_from_slice(&0x0be5_a941u32.to_be_bytes());
    let cylinders = image_bytes.div_ceil(SECTOR * SECTORS_PER_TRACK);
    // the cylinder count is split: low 16 bits at 28, bits 16..24 at 35
    b[28..30].copy_from_slice(&((cylinders & 0xffff) as u16).to_be_bytes());
    b[32..34].copy_from_slice(&1u16.to_be_bytes()); // tracks per cylinder
    b[35] = ((cylinders >> 16) & 0xff) as u8;
    b[38..40].copy_from_slice(&(SECTORS_PER_TRACK as u16).to_be_bytes());
    b[40..42].copy_from_slice(&(SECTOR as u16).to_be_bytes());
    b[44..48].copy_from_slice(&0x34u32.to_be_bytes()); // controller characteristics
    for (i, e) in entries.iter().enumerate() {
        let at = 72 + 16 * i;
        let name = e.name.get(..e.name.len().min(8)).unwrap_or_default();
        put(&mut b, at, name);
        put(&mut b, at + 8, &be32(e.sector, opt)?);
        put(&mut b, at + 12, &be32(e.bytes, opt)?);
    }
    let sectors = be32(image_bytes.div_ceil(SECTOR), opt)?;
    b[408..412].copy_from_slice(&sectors); // partition 0: volume header, starts at 0
    b[432..436].copy_from_slice(&sectors); // partition 10: the whole volume
    b[444..448].copy_from_slice(&6u32.to_be_bytes());
    let sum = b
        .chunks_exact(4)
        .take(126)
        .map(|w| w.try_into().map_or(0, u32::from_be_bytes))
        .fold(0u32, u32::wrapping_add);
    b[504..508].copy_from_slice(&0u32.wrapping_sub(sum).to_be_bytes());
    Ok(b)
}

/// What the DEC boot block needs from the boot file's ELF header: the entry point and the first
/// program header's file offset, load address and size (little-endian ELF32, as DECstations
/// run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MipselElf {
    entry: u32,
    p_offset: u32,
    p_vaddr: u32,
    p_filesz: u32,
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)?.try_into().ok().map(u32::from_le_bytes)
}

/// Parses the 32-byte ELF header prefix and the first program header. Like libisofs, the ELF
/// magic is not checked; a program header table starting inside the first 32 bytes is refused.
fn parse_mipsel_elf(head: &[u8], phdr: &[u8]) -> Option<MipselElf> {
    Some(MipselElf {
        entry: le32(head, 24)?,
        p_offset: le32(phdr, 4)?,
        p_vaddr: le32(phdr, 8)?,
        p_filesz: le32(phdr, 16)?,
    })
}

/// Reads the ELF fields of `source`, the boot file at `path` in the image.
fn read_mipsel_elf(source: &Path, path: &str) -> Result<MipselElf> {
    let bad = |reason| Error::BadBootImage {
        image_path: path.to_string(),
        reason,
    };
    let read_err = |source_err| Error::ReadFile {
        path: source.to_path_buf(),
        source: source_err,
    };
    // a file too short is a bad boot file; any other read error is the file system's
    let short = |reason| {
        move |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => bad(reason),
            _ => read_err(e),
        }
    };
    let mut f = std::fs::File::open(source).map_err(read_err)?;
    let mut head = [0u8; 32];
    f.read_exact(&mut head)
        .map_err(short("shorter than an ELF header"))?;
    let phoff = le32(&head, 28).unwrap_or(0);
    let skip = phoff
        .checked_sub(32)
        .ok_or(bad("ELF program header table overlaps the ELF header"))?;
    std::io::copy(&mut (&mut f).take(u64::from(skip)), &mut std::io::sink()).map_err(read_err)?;
    let mut phdr = [0u8; 20];
    f.read_exact(&mut phdr)
        .map_err(short("ELF program header table past the end of the file"))?;
    parse_mipsel_elf(&head, &phdr).ok_or(bad("unreadable ELF header"))
}

/// The DEC boot block: magic, mode 1 ("multi extent"), load and entry addresses, and one
/// extent: the first program segment's size and first sector in the image, in 512-byte sectors
/// (DEC PROMs read the segment straight from the disk).
fn dec_boot_block(elf: &MipselElf, file_lba: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[8..12].copy_from_slice(&0x0002_757au32.to_le_bytes());
    b[12..16].copy_from_slice(&1u32.to_le_bytes());
    b[16..20].copy_from_slice(&elf.p_vaddr.to_le_bytes());
    b[20..24].copy_from_slice(&elf.entry.to_le_bytes());
    b[24..28].copy_from_slice(&elf.p_filesz.div_ceil(512).to_le_bytes());
    // libisofs computes this in 32 bits too
    let start = (file_lba as u32)
        .wrapping_mul(4)
        .wrapping_add(elf.p_offset.div_ceil(512));
    b[28..32].copy_from_slice(&start.to_le_bytes());
    b
}

/// The DEC Alpha SRM boot sector (isomarkboot's layout): a text label, the secondary loader's
/// size and first sector in 512-byte sectors as little-endian 64-bit numbers, and a checksum
/// that is the 64-bit sum of the first 63 quadwords.
fn alpha_boot_sector(sector: u64, sectors: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    put(&mut b, 0, b"Linux/Alpha aboot for ISO filesystem.");
    b[480..488].copy_from_slice(&sectors.to_le_bytes());
    b[488..496].copy_from_slice(&sector.to_le_bytes());
    let sum = b
        .chunks_exact(8)
        .take(63)
        .map(|q| q.try_into().map_or(0, u64::from_le_bytes))
        .fold(0u64, u64::wrapping_add);
    b[504..512].copy_from_slice(&sum.to_le_bytes());
    b
}

/// Byte address and size of one PALO file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PaloFile {
    addr: u32,
    size: u32,
}

fn palo_file(tree: &Tree, layout: &Layout, path: &str) -> Result<PaloFile> {
    let f = boot_file(tree, layout, path)?;
    // PALO reads 32-bit byte addresses; libisofs refuses files past 2 GiB
    let addr = u32::try_from(f.lba * BLOCK)
        .ok()
        .filter(|a| *a <= 0x7fff_ffff)
        .ok_or(Error::BadBootBlock {
            option: "-hppa-*",
            reason: "an HP-PA boot file starts past 2 GiB into the image",
        })?;
    let size = u32::try_from(f.size.min(MAX_SECTION)).unwrap_or(u32::MAX);
    Ok(PaloFile { addr, size })
}

/// Resolved PALO header contents.
struct PaloFiles {
    kernel_32: PaloFile,
    ramdisk: PaloFile,
    kernel_64: PaloFile,
    bootloader: PaloFile,
}

fn write_palo(palo: &Palo, tree: &Tree, layout: &Layout, sa: &mut [u8]) -> Result<()> {
    const NEEDS: &str = "all of -hppa-cmdline, -hppa-bootloader, -hppa-kernel-32, \
                         -hppa-kernel-64 and -hppa-ramdisk";
    let need = |v: &Option<String>, option: &'static str| -> Result<String> {
        v.clone().ok_or(Error::MissingOption {
            option,
            needs: NEEDS,
        })
    };
    let cmdline = need(&palo.cmdline, "-hppa-cmdline")?;
    let bootloader = need(&palo.bootloader, "-hppa-bootloader")?;
    let kernel_32 = need(&palo.kernel_32, "-hppa-kernel-32")?;
    let kernel_64 = need(&palo.kernel_64, "-hppa-kernel-64")?;
    let ramdisk = need(&palo.ramdisk, "-hppa-ramdisk")?;
    let files = PaloFiles {
        kernel_32: palo_file(tree, layout, &kernel_32)?,
        ramdisk: palo_file(tree, layout, &ramdisk)?,
        kernel_64: palo_file(tree, layout, &kernel_64)?,
        bootloader: palo_file(tree, layout, &bootloader)?,
    };
    palo_header(palo.header_version, cmdline.as_bytes(), &files, sa)
}

/// The PALO header: magic 0x8000 "PALO" version, then byte address and size of the 32-bit
/// kernel, the RAM disk, (version 4: the command line at 24..152), the 64-bit kernel and the
/// boot loader at 232..248. Version 5 keeps the command line at 1024..2048 instead. Only the
/// bytes a version owns are cleared: version 4 bytes 0..256, version 5 bytes 0..512 and
/// 1024..2048; the rest of the system area stays as it was.
fn palo_header(version: u8, cmdline: &[u8], f: &PaloFiles, sa: &mut [u8]) -> Result<()> {
    let (limit, cleared): (usize, [std::ops::Range<usize>; 2]) = match version {
        4 => (127, [0..256, 0..0]),
        5 => (1023, [0..512, 1024..2048]),
        _ => {
            return Err(Error::BadBootBlock {
                option: "-hppa-hdrversion",
                reason: "PALO header versions 4 and 5 exist",
            })
        }
    };
    if cmdline.len() > limit {
        return Err(Error::BadBootBlock {
            option: "-hppa-cmdline",
            reason: if version == 4 {
                "longer than 127 bytes (PALO header version 4)"
            } else {
                "longer than 1023 bytes"
            },
        });
    }
    if cmdline.contains(&0) {
        return Err(Error::BadBootBlock {
            option: "-hppa-cmdline",
            reason: "contains a NUL byte",
        });
    }
    if sa.len() < 2048 {
        return Err(Error::BadBootBlock {
            option: "-hppa-*",
            reason: "system area too small",
        });
    }
    for r in cleared {
        if let Some(dst) = sa.get_mut(r.clone()) {
            dst.fill(0);
        }
    }
    put(sa, 0, &0x8000u16.to_be_bytes());
    put(sa, 2, b"PALO\0");
    put(sa, 7, &[version]);
    let pair = |p: PaloFile| {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&p.addr.to_be_bytes());
        b[4..].copy_from_slice(&p.size.to_be_bytes());
        b
    };
    put(sa, 8, &pair(f.kernel_32));
    put(sa, 16, &pair(f.ramdisk));
    put(sa, 232, &pair(f.kernel_64));
    put(sa, 240, &pair(f.bootloader));
    // the NUL after the command line is written too
    let at = if version == 4 { 24 } else { 1024 };
    put(sa, at, cmdline);
    put(sa, at + cmdline.len(), &[0]);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn be(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn sgi_header_sums_to_zero_and_lists_files() {
        // 855 blocks: xorriso reports 3420 sectors and 107 cylinders of 32 sectors
        let entries = [
            VolumeDirEntry {
                name: b"sashARCS".to_vec(),
                sector: 344 * 4,
                bytes: 8884,
            },
            VolumeDirEntry {
                name: b"a-long-name".to_vec(),
                sector: 324 * 4,
                bytes: 1,
            },
        ];
        let b = sgi_volume_header(855 * 2048, &entries).unwrap();
        assert_eq!(be(&b, 0), 0x0be5_a941);
        assert_eq!(&b[28..30], &[0, 107]);
        assert_eq!(b[35], 0);
        assert_eq!(&b[38..42], &[0, 32, 2, 0]);
        assert_eq!(&b[72..80], b"sashARCS");
        assert_eq!(be(&b, 80), 1376);
        assert_eq!(be(&b, 84), 8884);
        assert_eq!(&b[88..96], b"a-long-n");
        assert_eq!(&b[104..408], &[0u8; 304][..]);
        assert_eq!(be(&b, 408), 3420);
        assert_eq!(be(&b, 432), 3420);
        assert_eq!(be(&b, 444), 6);
        let sum = (0..512)
            .step_by(4)
            .map(|at| be(&b, at))
            .fold(0u32, u32::wrapping_add);
        assert_eq!(sum, 0, "the volume header checksum makes the sum zero");
        assert_ne!(be(&b, 504), 0);
    }

    #[test]
    fn sgi_header_splits_large_cylinder_counts() {
        // 4.7 GB: 286,720 cylinders = 0x46000
        let b = sgi_volume_header(0x46000 * 32 * 512, &[]).unwrap();
        assert_eq!(&b[28..30], &[0x60, 0x00]);
        assert_eq!(b[35], 0x04);
    }

    #[test]
    fn dec_boot_block_from_elf_fields() {
        // what xorriso reports for a tiny ld-linked ELF at block 48: "4194488 2153775104 512 193"
        let elf = MipselElf {
            entry: 0x8060_0000,
            p_offset: 0xb8,
            p_vaddr: 0x0040_00b8,
            p_filesz: 0x18,
        };
        let b = dec_boot_block(&elf, 48);
        assert_eq!(&b[..8], &[0; 8]);
        assert_eq!(&b[8..12], &0x0002_757au32.to_le_bytes());
        assert_eq!(&b[12..16], &1u32.to_le_bytes());
        assert_eq!(&b[16..20], &4_194_488u32.to_le_bytes());
        assert_eq!(&b[20..24], &2_153_775_104u32.to_le_bytes());
        assert_eq!(&b[24..28], &1u32.to_le_bytes());
        assert_eq!(&b[28..32], &193u32.to_le_bytes());
        assert!(b[32..].iter().all(|&x| x == 0));
    }

    #[test]
    fn mipsel_elf_fields_read_little_endian() {
        let mut head = [0u8; 32];
        head[24..28].copy_from_slice(&0x8060_0000u32.to_le_bytes());
        head[28..32].copy_from_slice(&52u32.to_le_bytes());
        let mut phdr = [0u8; 20];
        phdr[4..8].copy_from_slice(&0x1000u32.to_le_bytes());
        phdr[8..12].copy_from_slice(&0x8060_0000u32.to_le_bytes());
        phdr[16..20].copy_from_slice(&1025u32.to_le_bytes());
        let e = parse_mipsel_elf(&head, &phdr).unwrap();
        assert_eq!(
            e,
            MipselElf {
                entry: 0x8060_0000,
                p_offset: 0x1000,
                p_vaddr: 0x8060_0000,
                p_filesz: 1025
            }
        );
        assert!(parse_mipsel_elf(&head, &phdr[..10]).is_none());
    }

    #[test]
    fn alpha_sector_checksum_is_sum_of_quadwords() {
        // xorriso: a 30000-byte loader at block 33 is "ldr size 59", "ldr adr 132"
        let b = alpha_boot_sector(132, 59);
        assert!(b.starts_with(b"Linux/Alpha aboot for ISO filesystem.\0"));
        let q = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(q(480), 59);
        assert_eq!(q(488), 132);
        let sum = (0..63).map(|i| q(i * 8)).fold(0u64, u64::wrapping_add);
        assert_eq!(q(504), sum);
        assert_eq!(q(496), 0);
    }

    fn files() -> PaloFiles {
        let f = |addr, size| PaloFile { addr, size };
        PaloFiles {
            kernel_32: f(620_544, 300_000),
            ramdisk: f(67_584, 500_000),
            kernel_64: f(921_600, 400_000),
            bootloader: f(569_344, 51_200),
        }
    }

    #[test]
    fn palo_v5_keeps_bytes_it_does_not_own() {
        let mut sa = vec![0xeeu8; 32768];
        palo_header(5, b"root=/dev/ram", &files(), &mut sa).unwrap();
        assert_eq!(&sa[..8], b"\x80\x00PALO\x00\x05");
        assert_eq!(be(&sa, 8), 620_544);
        assert_eq!(be(&sa, 12), 300_000);
        assert_eq!(be(&sa, 16), 67_584);
        assert_eq!(be(&sa, 20), 500_000);
        assert_eq!(&sa[24..232], &[0u8; 208][..]);
        assert_eq!(be(&sa, 232), 921_600);
        assert_eq!(be(&sa, 236), 400_000);
        assert_eq!(be(&sa, 240), 569_344);
        assert_eq!(be(&sa, 244), 51_200);
        assert_eq!(&sa[248..512], &[0u8; 264][..]);
        assert!(sa[512..1024].iter().all(|&x| x == 0xee));
        assert_eq!(&sa[1024..1038], b"root=/dev/ram\0");
        assert!(sa[1038..2048].iter().all(|&x| x == 0));
        assert!(sa[2048..].iter().all(|&x| x == 0xee));
    }

    #[test]
    fn palo_v4_has_the_command_line_inside() {
        let mut sa = vec![0xeeu8; 32768];
        palo_header(4, b"root=/dev/ram", &files(), &mut sa).unwrap();
        assert_eq!(sa[7], 4);
        assert_eq!(&sa[24..38], b"root=/dev/ram\0");
        assert!(sa[38..232].iter().all(|&x| x == 0));
        assert!(sa[256..].iter().all(|&x| x == 0xee));
    }

    #[test]
    fn palo_limits() {
        let mut sa = vec![0u8; 32768];
        let long = vec![b'x'; 128];
        assert!(matches!(
            palo_header(4, &long, &files(), &mut sa),
            Err(Error::BadBootBlock {
                option: "-hppa-cmdline",
                ..
            })
        ));
        assert!(palo_header(5, &long, &files(), &mut sa).is_ok());
        assert!(palo_header(5, &[b'x'; 1024], &files(), &mut sa).is_err());
        assert!(matches!(
            palo_header(3, b"", &files(), &mut sa),
            Err(Error::BadBootBlock {
                option: "-hppa-hdrversion",
                ..
            })
        ));
    }

    /// Plans an image of a small tree with `block`; the tree lives as long as the returned
    /// directory.
    fn plan_with(
        block: BootBlock,
        hybrid: crate::Hybrid,
    ) -> (tempfile::TempDir, Result<crate::Image>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("boot")).unwrap();
        std::fs::write(dir.path().join("boot/loader"), vec![7u8; 5000]).unwrap();
        std::fs::write(dir.path().join("boot/tiny"), b"not an ELF").unwrap();
        let mut options = IsoOptions::builder()
            .source_date_epoch(Some(1_700_000_000))
            .boot_block(Some(block))
            .build();
        options.hybrid = hybrid;
        let mut w = crate::IsoWriter::new(options);
        w.add_root(dir.path());
        let planned = w.plan();
        (dir, planned)
    }

    #[test]
    fn boot_files_stay_file_data_for_jte() {
        let (_dir, image) = plan_with(
            BootBlock::Alpha {
                file: "/boot/loader".into(),
            },
            crate::Hybrid::default(),
        );
        let image = image.unwrap();
        let loader: Vec<_> = image
            .file_extents()
            .into_iter()
            .filter(|e| e.image_path == "/boot/loader")
            .collect();
        assert_eq!(
            loader.len(),
            1,
            "the loader is announced as a file, not metadata"
        );
        let mut sink = crate::PlainSink::new(Vec::new());
        image.write(&mut sink).unwrap();
        let bytes = sink.finish().unwrap();
        let q = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        assert_eq!(q(480), 10, "5000 bytes are 10 sectors");
        assert_eq!(q(488) * 512, loader[0].offset);
    }

    fn refused(block: BootBlock, hybrid: crate::Hybrid) -> Error {
        match plan_with(block, hybrid).1 {
            Err(e) => e,
            Ok(_) => panic!("planned"),
        }
    }

    #[test]
    fn bad_setups_are_refused_before_writing() {
        let none = crate::Hybrid::default;
        let incomplete = Palo {
            cmdline: Some("x".into()),
            kernel_32: Some("/boot/loader".into()),
            ..Palo::default()
        };
        assert!(matches!(
            refused(BootBlock::Hppa(incomplete), none()),
            Error::MissingOption {
                option: "-hppa-bootloader",
                ..
            }
        ));
        assert!(matches!(
            refused(
                BootBlock::MipsBigEndian {
                    files: vec!["/boot/loader".into(); 16]
                },
                none()
            ),
            Error::BadBootBlock { .. }
        ));
        assert!(matches!(
            refused(
                BootBlock::MipsLittleEndian {
                    file: "/boot/tiny".into()
                },
                none()
            ),
            Error::BadBootImage { .. }
        ));
        assert!(matches!(
            refused(
                BootBlock::Alpha {
                    file: "/boot".into()
                },
                none()
            ),
            Error::BadBootImage { .. }
        ));
        assert!(matches!(
            refused(
                BootBlock::Alpha {
                    file: "/boot/missing".into()
                },
                none()
            ),
            Error::BootFileMissing { .. }
        ));
        let offset = crate::Hybrid {
            partition_offset: 16,
            ..none()
        };
        assert!(matches!(
            refused(
                BootBlock::Alpha {
                    file: "/boot/loader".into()
                },
                offset
            ),
            Error::FirstSectorTaken {
                other: "-partition_offset",
                ..
            }
        ));
    }
}
