//! What kind of image to write: [`IsoOptions`] and its builder.

use std::path::PathBuf;

pub use crate::appended::AppendedPartition;

/// Rock Ridge (POSIX names, modes, owners, symlinks) recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RockRidge {
    /// Plain ISO 9660 names only (symlinks are left out).
    Off,
    /// `-R`: record the source attributes as they are.
    #[default]
    Full,
    /// `-r`: uid/gid 0, r for all, no w, x for all if any x, no s/t bits.
    Rationalized,
}

/// Joliet (UCS-2 names for Windows) recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Joliet {
    /// No Joliet tree.
    #[default]
    Off,
    /// `-J`: names up to 64 UCS-2 characters.
    On,
    /// `-J -joliet-long`: names up to 103 UCS-2 characters.
    Long,
}

/// Boot platform of an El Torito entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Platform {
    /// PC BIOS (`-b`), platform id 0.
    #[default]
    X86,
    /// UEFI (`-e`), platform id 0xEF.
    Efi,
}

impl Platform {
    pub(crate) fn id(self) -> u8 {
        match self {
            Platform::X86 => 0,
            Platform::Efi => 0xEF,
        }
    }
}

/// One El Torito boot catalog entry (`-b`/`-e` and the options that follow it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootEntry {
    /// Path of the boot image inside the image (`-b isolinux/isolinux.bin`).
    pub image_path: String,
    /// Platform of the section the entry goes into.
    pub platform: Platform,
    /// `-no-emul-boot`. Without it the image is an emulated disk: a 1.2/1.44/2.88 MB floppy
    /// (mkisofs' default), or with [`BootEntry::hard_disk_emulation`] a hard disk.
    pub no_emulation: bool,
    /// `-hard-disk-boot`: with `no_emulation` false, emulate a hard disk (media type 4) whose
    /// system type is the type byte of the one partition in the image's MBR, as xorriso reads it.
    pub hard_disk_emulation: bool,
    /// `-boot-load-size`: 512-byte sectors to load; `None` = mkisofs default (whole image,
    /// rounded up to 4 sectors for BIOS, exact for EFI, capped at 65535).
    pub load_size: Option<u16>,
    /// `-boot-info-table`: patch bytes 8..64 of the boot image in the written image.
    pub boot_info_table: bool,
    /// `--grub2-boot-info`: patch bytes 2548..2556 of the boot image with its 512-byte sector
    /// address + 5 (64-bit little-endian), where GRUB2's El Torito image looks for itself.
    pub grub2_boot_info: bool,
    /// Load segment (0 means the BIOS default 0x7C0).
    pub load_segment: u16,
    /// `-isohybrid-apm-hfsplus` given while this entry was the one being defined (after its
    /// `-b`/`-e`, or before it when no image was pending): with [`Hybrid::mbr_template`], the
    /// image is listed as an `Apple_HFS` partition named `EFI` in an Apple Partition Map, which is
    /// how x86 Macs find the EFI boot image on a USB stick. xorriso marks the image the option
    /// belongs to, not always the `-e` one, so the flag lives here rather than in [`Hybrid`].
    /// Only the partition map is written: like xorriso for this option, no HFS+ filesystem.
    pub apm_hfsplus: bool,
}

/// El Torito boot options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElTorito {
    /// Path of the boot catalog inside the image (`-c boot.cat`); `None` hides it (xorriso's
    /// `--boot-catalog-hide` behaviour) at `/boot.catalog`.
    pub catalog_path: Option<String>,
    /// The entries in command-line order; the first is the default (initial) entry.
    pub entries: Vec<BootEntry>,
}

/// `-partition_cyl_align`: whether the image (or, with `-append_partition`, the filesystem before
/// the partitions) is padded to whole MBR cylinders (1 MiB while the image fits in 1 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CylinderAlign {
    /// Only isohybrid images (`-isohybrid-mbr`).
    #[default]
    Auto,
    /// Always.
    On,
    /// Never, isohybrid images included.
    Off,
    /// Always, and every appended partition starts on and fills whole cylinders.
    All,
}

/// Hybrid (USB stick) boot options: MBR, GPT and Apple Partition Map in the 32 KiB system area.
/// Which boot images the Apple Partition Map lists is set per entry ([`BootEntry::apm_hfsplus`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hybrid {
    /// `-isohybrid-mbr FILE`: the first 432 bytes of FILE are the MBR boot code.
    pub mbr_template: Option<PathBuf>,
    /// `-isohybrid-gpt-basdat`: add a GPT with the (first) EFI boot image as a partition.
    pub gpt_basdat: bool,
    /// `-partition_offset N`: 0, or the 2048-byte block (at least 16) where MBR partition 1
    /// starts. The image then holds a second superblock and second directory trees whose
    /// addresses count from block N, so the partition can be mounted on its own (a USB stick's
    /// first partition) as well as the whole image (a DVD). File data is shared by both trees.
    pub partition_offset: u32,
    /// `-G FILE` / `--embedded-boot FILE`: the system area is the first 32 KiB of FILE (shorter
    /// files are padded with zeros); partition tables asked for are written over it.
    pub system_area_file: Option<PathBuf>,
    /// `--grub2-mbr FILE`: like `-G`, and the 512-byte sector address of the first boot image
    /// plus 4 is patched into bytes 0x1b0..0x1b8 (GRUB2's boot_hybrid.img reads it there).
    pub grub2_mbr: Option<PathBuf>,
    /// `--protective-msdos-label`: an MBR whose partition 1 (bootable, type 0xCD) covers the
    /// image from sector 1 on.
    pub protective_msdos_label: bool,
    /// `--mbr-force-bootable`: some MBR partition is marked bootable, a dummy one if need be.
    pub mbr_force_bootable: bool,
    /// `-iso_mbr_part_type N`: the type byte of the MBR partition that holds the ISO
    /// filesystem (instead of 0xCD, or 0x17 with `-isohybrid-mbr`).
    pub iso_mbr_part_type: Option<u8>,
    /// `-append_partition N TYPE FILE`: files laid out after the ISO filesystem as MBR
    /// partitions (their bytes are image data, not files of the tree).
    pub appended_partitions: Vec<AppendedPartition>,
    /// `-chrp-boot-part`: one bootable MBR partition of type 0x96 (CHRP) over the whole image,
    /// for IBM POWER/CHRP firmware; it excludes every other MBR partition.
    pub chrp_boot_part: bool,
    /// `-appended_part_as_gpt`: the appended partitions go into a GPT (gaps filled, backup at
    /// the end of the image) behind a protective 0xEE MBR partition, not into the MBR.
    pub appended_part_as_gpt: bool,
    /// `-appended_part_as_apm`: the appended partitions are listed in an Apple Partition Map
    /// (512-byte blocks) instead of the MBR.
    pub appended_part_as_apm: bool,
    /// `-prep-boot-part FILE`: FILE's data between the directory tree and the files, as MBR
    /// partition 2 of type 0x41 (PReP boot) between two 0xCD partitions.
    pub prep_boot_part: Option<PathBuf>,
    /// `-efi-boot-part FILE`: FILE's data between the directory tree and the files, as an EFI
    /// System partition of a GPT behind a protective 0xEE MBR partition.
    pub efi_boot_part: Option<PathBuf>,
    /// `-efi-boot-part --efi-boot-image`: the same, with the first El Torito EFI boot image
    /// (`-e`) as the partition: its data moves in front of the other files.
    pub efi_boot_image: bool,
    /// GPT type GUIDs (on-disk byte order) that `-append_partition NUMBER GUID FILE` gave, by
    /// partition number; the partition's MBR type byte is then 0xEF for EFI System, else 0x83.
    pub appended_part_guids: Vec<(u8, [u8; 16])>,
    /// `-iso_mbr_part_type GUID`: the type of the GPT partition that is the filesystem
    /// (`ISO9660`, with `-partition_offset`); its MBR type byte goes to `iso_mbr_part_type`.
    pub iso_gpt_type_guid: Option<[u8; 16]>,
    /// `-partition_cyl_align auto|on|off|all`.
    pub partition_cyl_align: CylinderAlign,
}

/// How the image is recorded. Build with [`IsoOptions::builder`], or start from `Default`
/// and set fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IsoOptions {
    /// ISO 9660 interchange level 1, 2 or 3 (`-iso-level`); 3 allows files of 4 GiB or more.
    pub iso_level: u8,
    /// Rock Ridge mode (`-R`, `-r`).
    pub rock_ridge: RockRidge,
    /// Joliet mode (`-J`, `-joliet-long`).
    pub joliet: Joliet,
    /// `-V`.
    pub volume_id: String,
    /// `-A`.
    pub application_id: String,
    /// `-publisher`.
    pub publisher_id: String,
    /// `-p`.
    pub preparer_id: String,
    /// `-sysid`.
    pub system_id: String,
    /// `-volset`.
    pub volume_set_id: String,
    /// `-N`: no `;1` after ISO 9660 file names.
    pub omit_version_numbers: bool,
    /// `-f`: follow symbolic links while walking source trees.
    pub follow_links: bool,
    /// `-cache-inodes`: write the data of hard-linked files once.
    pub cache_inodes: bool,
    /// `-m`/`-exclude` glob patterns, matched against a source file's name and its whole path.
    pub exclude: Vec<String>,
    /// `-hide` glob patterns (name, source path or image path): not in the ISO 9660/RR tree.
    pub hide: Vec<String>,
    /// `-hide-joliet` glob patterns: not in the Joliet tree.
    pub hide_joliet: Vec<String>,
    /// `-sort`: (glob on the source path, weight); higher weights are written first.
    pub sort_weights: Vec<(String, i32)>,
    /// Reproducible mode (`SOURCE_DATE_EPOCH`): volume dates are this time, atime and ctime of
    /// every file are set to its mtime, nodes without a source get this time.
    pub source_date_epoch: Option<i64>,
    /// `--set_all_file_dates`: every file timestamp is this time.
    pub all_file_dates: Option<i64>,
    /// Volume creation/modification date when not reproducible (`None` = now).
    pub volume_date: Option<i64>,
    /// Blocks of zeros appended (`-pad` = 150, `-no-pad` = 0).
    pub pad_blocks: u32,
    /// El Torito boot (`-b`, `-e`, ...).
    pub el_torito: Option<ElTorito>,
    /// Hybrid MBR/GPT.
    pub hybrid: Hybrid,
    /// A boot block for a non-PC machine in the system area (`-mips-boot`, `-mipsel-boot`,
    /// `-hppa-*`, `-alpha-boot`); excludes [`IsoOptions::hybrid`]'s MBR, GPT and APM.
    pub boot_block: Option<crate::BootBlock>,
    /// Bytes per read of source files.
    pub read_buffer_size: usize,
}

impl Default for IsoOptions {
    fn default() -> Self {
        Self {
            iso_level: 1,
            rock_ridge: RockRidge::Full,
            joliet: Joliet::Off,
            volume_id: "CDROM".into(),
            application_id: String::new(),
            publisher_id: String::new(),
            preparer_id: String::new(),
            system_id: String::new(),
            volume_set_id: String::new(),
            omit_version_numbers: false,
            follow_links: false,
            cache_inodes: false,
            exclude: Vec::new(),
            hide: Vec::new(),
            hide_joliet: Vec::new(),
            sort_weights: Vec::new(),
            source_date_epoch: None,
            all_file_dates: None,
            volume_date: None,
            pad_blocks: 150,
            el_torito: None,
            hybrid: Hybrid::default(),
            boot_block: None,
            read_buffer_size: 1 << 20,
        }
    }
}

impl IsoOptions {
    /// A builder starting from the defaults (level 1, Rock Ridge `-R`, no Joliet, volume id
    /// `CDROM`, 150 blocks of padding).
    pub fn builder() -> IsoOptionsBuilder {
        IsoOptionsBuilder {
            options: IsoOptions::default(),
        }
    }

    /// Reads `SOURCE_DATE_EPOCH` from the environment: `Some(seconds)` if it is set to an integer.
    pub fn source_date_epoch_from_env() -> Option<i64> {
        std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
    }
}

/// Builder of [`IsoOptions`].
#[derive(Debug, Clone)]
#[must_use]
pub struct IsoOptionsBuilder {
    options: IsoOptions,
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$m])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.options.$name = value.into();
            self
        }
    )*};
}

impl IsoOptionsBuilder {
    setters! {
        /// ISO level 1..=3 (values outside are clamped).
        iso_level: u8,
        /// Rock Ridge mode.
        rock_ridge: RockRidge,
        /// Joliet mode.
        joliet: Joliet,
        /// Volume id (`-V`).
        volume_id: &str,
        /// Application id (`-A`).
        application_id: &str,
        /// Publisher id (`-publisher`).
        publisher_id: &str,
        /// Data preparer id (`-p`).
        preparer_id: &str,
        /// System id (`-sysid`).
        system_id: &str,
        /// Volume set id (`-volset`).
        volume_set_id: &str,
        /// `-N`.
        omit_version_numbers: bool,
        /// `-f`.
        follow_links: bool,
        /// `-cache-inodes`.
        cache_inodes: bool,
        /// Reproducible time (`SOURCE_DATE_EPOCH`).
        source_date_epoch: Option<i64>,
        /// Every file date set to this time.
        all_file_dates: Option<i64>,
        /// Volume date when not reproducible.
        volume_date: Option<i64>,
        /// Blocks of trailing padding.
        pad_blocks: u32,
        /// El Torito boot.
        el_torito: Option<ElTorito>,
        /// Hybrid MBR/GPT.
        hybrid: Hybrid,
        /// Non-PC boot block.
        boot_block: Option<crate::BootBlock>,
        /// Read buffer size for source files.
        read_buffer_size: usize,
    }

    /// Adds an exclude glob (`-m`).
    pub fn exclude(mut self, glob: &str) -> Self {
        self.options.exclude.push(glob.into());
        self
    }
    /// Adds a hide glob (`-hide`).
    pub fn hide(mut self, glob: &str) -> Self {
        self.options.hide.push(glob.into());
        self
    }
    /// Adds a Joliet hide glob (`-hide-joliet`).
    pub fn hide_joliet(mut self, glob: &str) -> Self {
        self.options.hide_joliet.push(glob.into());
        self
    }
    /// Adds a sort weight for source paths matching `glob`.
    pub fn sort_weight(mut self, glob: &str, weight: i32) -> Self {
        self.options.sort_weights.push((glob.into(), weight));
        self
    }

    /// The options.
    pub fn build(self) -> IsoOptions {
        let mut o = self.options;
        o.iso_level = o.iso_level.clamp(1, 3);
        o.read_buffer_size = o.read_buffer_size.max(64 * 1024);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_and_clamps() {
        let o = IsoOptions::builder()
            .volume_id("Debian 12")
            .iso_level(7)
            .joliet(Joliet::Long)
            .exclude("*.tmp")
            .read_buffer_size(1)
            .build();
        assert_eq!(o.volume_id, "Debian 12");
        assert_eq!(o.iso_level, 3);
        assert_eq!(o.joliet, Joliet::Long);
        assert_eq!(o.exclude, vec!["*.tmp".to_string()]);
        assert_eq!(o.read_buffer_size, 64 * 1024);
    }
}
