//! The `mkisofs`/`xorrisofs`/`genisoimage` personality's command line: mkisofs syntax (single-dash
//! long options such as `-jigdo-jigdo FILE`, also accepted with two dashes as xorriso does) parsed
//! into [`jigsmith_iso::IsoOptions`], the output path, the path specs and the JTE options as plain
//! fields. No clap: mkisofs options do not follow getopt conventions.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use jigsmith_iso::{
    AppendedPartition, BootBlock, BootEntry, CylinderAlign, ElTorito, IsoOptions, Joliet, Palo,
    PathSpec, Platform, RockRidge, SunLabel, MAX_MIPS_BOOT_FILES, MAX_SPARC_PARTITIONS,
};

/// A command line the personality cannot accept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgError {
    /// An option this implementation does not know.
    UnknownOption(String),
    /// An option that needs a value came last.
    MissingValue(String),
    /// An option value that cannot be used.
    BadValue {
        /// The option.
        option: String,
        /// The value given.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A boot option given before any boot image (`-b`/`-e`) it could apply to.
    MisplacedBootOption(String),
    /// A list file (`-path-list`, `-sort`) could not be read.
    ReadList {
        /// The file.
        path: PathBuf,
        /// The I/O error, as text.
        error: String,
    },
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::UnknownOption(o) => write!(f, "unknown option {o}"),
            ArgError::MissingValue(o) => write!(f, "option {o} needs a value"),
            ArgError::BadValue {
                option,
                value,
                reason,
            } => write!(f, "option {option} {value:?}: {reason}"),
            ArgError::MisplacedBootOption(o) => {
                write!(f, "option {o} must follow a boot image option (-b or -e)")
            }
            ArgError::ReadList { path, error } => write!(f, "reading {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for ArgError {}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkisofsArgs {
    /// The image options.
    pub options: IsoOptions,
    /// `-o FILE`; `None` when not given. `/dev/null` means "make only the .jigdo and .template".
    pub output: Option<PathBuf>,
    /// Sources in command-line order (graft points parsed when `-graft-points` was given).
    pub pathspecs: Vec<PathSpec>,
    /// `-path-list FILE`s, read by [`MkisofsArgs::read_lists`].
    pub path_lists: Vec<PathBuf>,
    /// `-graft-points`.
    pub graft_points: bool,
    /// `-sort FILE`, read by [`MkisofsArgs::read_lists`].
    pub sort_file: Option<PathBuf>,
    /// `-q`/`-quiet`.
    pub quiet: bool,
    /// `-v`/`-verbose` (repeatable).
    pub verbose: u8,
    /// `-jigdo-jigdo FILE`.
    pub jigdo_jigdo: Option<PathBuf>,
    /// `-jigdo-template FILE`.
    pub jigdo_template: Option<PathBuf>,
    /// `-jigdo-min-file-size N` (libjte default 1024 when `None`).
    pub jigdo_min_file_size: Option<u64>,
    /// `-jigdo-exclude PATTERN` / `-jigdo-ignore PATTERN`.
    pub jigdo_exclude: Vec<String>,
    /// `-jigdo-force-checksum PATTERN` / `-jigdo-force-md5 PATTERN`.
    pub jigdo_force_checksum: Vec<String>,
    /// `-jigdo-map To=From` as (to, from).
    pub jigdo_map: Vec<(String, String)>,
    /// `-checksum-list FILE` / `-md5-list FILE`.
    pub checksum_list: Option<PathBuf>,
    /// `-jigdo-checksum-algorithm md5|sha256`.
    pub jigdo_checksum_algorithm: Option<String>,
    /// `-jigdo-template-compress gzip|bzip2`.
    pub jigdo_template_compress: Option<String>,
    /// `-checksum_algorithm_iso a,b` (lower case names).
    pub checksum_algorithm_iso: Vec<String>,
    /// `-checksum_algorithm_template a,b` (lower case names).
    pub checksum_algorithm_template: Vec<String>,
}

impl MkisofsArgs {
    /// Reads the `-path-list` files (one path spec per line, appended after the command-line ones)
    /// and the `-sort` file (`path weight` per line).
    ///
    /// # Errors
    /// [`ArgError::ReadList`] for an unreadable file, [`ArgError::BadValue`] for a bad sort weight.
    pub fn read_lists(&mut self) -> Result<(), ArgError> {
        for list in &self.path_lists {
            let text = std::fs::read(list).map_err(|e| ArgError::ReadList {
                path: list.clone(),
                error: e.to_string(),
            })?;
            for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let arg = bytes_to_os(line);
                self.pathspecs.push(self.pathspec(&arg));
            }
        }
        if let Some(sort) = &self.sort_file {
            let text = std::fs::read_to_string(sort).map_err(|e| ArgError::ReadList {
                path: sort.clone(),
                error: e.to_string(),
            })?;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (path, weight) = line.rsplit_once(char::is_whitespace).unwrap_or((line, ""));
                let weight: i32 = weight.parse().map_err(|_| ArgError::BadValue {
                    option: "-sort".into(),
                    value: line.into(),
                    reason: "expected \"path weight\"",
                })?;
                self.options
                    .sort_weights
                    .push((path.trim().to_string(), weight));
            }
        }
        Ok(())
    }

    fn pathspec(&self, arg: &OsStr) -> PathSpec {
        if self.graft_points {
            PathSpec::parse_graft_point(arg)
        } else {
            PathSpec::new(arg)
        }
    }
}

#[cfg(unix)]
fn bytes_to_os(b: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(b.to_vec())
}

#[cfg(not(unix))]
fn bytes_to_os(b: &[u8]) -> OsString {
    OsString::from(String::from_utf8_lossy(b).into_owned())
}

/// Parses mkisofs arguments (without the program name), reading `SOURCE_DATE_EPOCH` from the
/// environment as xorriso does.
///
/// # Errors
/// Unknown options, missing or bad values, boot options without a boot image.
pub fn parse_mkisofs_args<I: IntoIterator<Item = OsString>>(
    args: I,
) -> Result<MkisofsArgs, ArgError> {
    parse_mkisofs_args_with_epoch(args, IsoOptions::source_date_epoch_from_env())
}

/// [`parse_mkisofs_args`] with an explicit `SOURCE_DATE_EPOCH` value.
///
/// # Errors
/// See [`parse_mkisofs_args`].
pub fn parse_mkisofs_args_with_epoch<I: IntoIterator<Item = OsString>>(
    args: I,
    source_date_epoch: Option<i64>,
) -> Result<MkisofsArgs, ArgError> {
    let mut options = IsoOptions::default();
    // xorriso -as mkisofs defaults: Rock Ridge on, volume id ISOIMAGE, 300 KiB padding
    options.rock_ridge = RockRidge::Full;
    options.volume_id = "ISOIMAGE".into();
    options.source_date_epoch = source_date_epoch;
    let mut a = MkisofsArgs {
        options,
        output: None,
        pathspecs: Vec::new(),
        path_lists: Vec::new(),
        graft_points: false,
        sort_file: None,
        quiet: false,
        verbose: 0,
        jigdo_jigdo: None,
        jigdo_template: None,
        jigdo_min_file_size: None,
        jigdo_exclude: Vec::new(),
        jigdo_force_checksum: Vec::new(),
        jigdo_map: Vec::new(),
        checksum_list: None,
        jigdo_checksum_algorithm: None,
        jigdo_template_compress: None,
        checksum_algorithm_iso: Vec::new(),
        checksum_algorithm_template: Vec::new(),
    };
    let mut raw_specs: Vec<OsString> = Vec::new();
    let mut joliet = false;
    let mut joliet_long = false;
    let mut catalog: Option<String> = None;
    let mut catalog_hide = false;
    let mut entries: Vec<BootEntry> = Vec::new();
    let mut current: Option<BootEntry> = None;
    let mut sparc_label: Option<String> = None;

    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let Some(text) = arg.to_str().filter(|t| t.starts_with('-') && t.len() > 1) else {
            raw_specs.push(arg);
            continue;
        };
        // xorriso accepts every mkisofs option with two dashes as well
        let name = if text.starts_with("--") {
            &text[1..]
        } else {
            text
        };
        let value = |it: &mut dyn Iterator<Item = OsString>| -> Result<OsString, ArgError> {
            it.next()
                .ok_or_else(|| ArgError::MissingValue(text.to_string()))
        };
        let string = |it: &mut dyn Iterator<Item = OsString>| -> Result<String, ArgError> {
            let v = value(it)?;
            v.into_string().map_err(|v| ArgError::BadValue {
                option: text.to_string(),
                value: v.to_string_lossy().into_owned(),
                reason: "not valid UTF-8",
            })
        };
        let number = |v: &str| -> Result<u64, ArgError> {
            v.trim().parse().map_err(|_| ArgError::BadValue {
                option: text.to_string(),
                value: v.to_string(),
                reason: "expected a number",
            })
        };
        let boot = |current: &mut Option<BootEntry>| -> Result<(), ArgError> {
            if current.is_none() {
                return Err(ArgError::MisplacedBootOption(text.to_string()));
            }
            Ok(())
        };
        let o = &mut a.options;
        match name {
            "-o" | "-output" => a.output = Some(PathBuf::from(value(&mut it)?)),
            "-V" | "-volid" => o.volume_id = string(&mut it)?,
            "-A" | "-appid" => o.application_id = string(&mut it)?,
            "-publisher" | "-P" => o.publisher_id = string(&mut it)?,
            "-p" | "-preparer" => o.preparer_id = string(&mut it)?,
            "-sysid" => o.system_id = string(&mut it)?,
            "-volset" => o.volume_set_id = string(&mut it)?,
            "-r" | "-rational-rock" => o.rock_ridge = RockRidge::Rationalized,
            "-R" | "-rock" => {
                if o.rock_ridge == RockRidge::Off {
                    o.rock_ridge = RockRidge::Full;
                }
            }
            "-norock" => o.rock_ridge = RockRidge::Off,
            "-J" | "-joliet" => joliet = true,
            "-joliet-long" => joliet_long = true,
            "-iso-level" => {
                let v = string(&mut it)?;
                let n = number(&v)?;
                if !(1..=3).contains(&n) {
                    return Err(ArgError::BadValue {
                        option: text.into(),
                        value: v,
                        reason: "levels 1, 2 and 3 are supported",
                    });
                }
                o.iso_level = u8::try_from(n).unwrap_or(3);
            }
            "-N" | "-omit-version-number" => o.omit_version_numbers = true,
            // deep directories are never relocated, which is what -D asks for
            "-D" | "-disable-deep-relocation" => {}
            "-f" | "-follow-links" => o.follow_links = true,
            "-cache-inodes" => o.cache_inodes = true,
            "-no-cache-inodes" => o.cache_inodes = false,
            "-m" | "-exclude" | "-x" | "-old-exclude" => o.exclude.push(string(&mut it)?),
            "-hide" => o.hide.push(string(&mut it)?),
            "-hide-joliet" => o.hide_joliet.push(string(&mut it)?),
            "-sort" => a.sort_file = Some(PathBuf::from(value(&mut it)?)),
            "-graft-points" => a.graft_points = true,
            "-path-list" => a.path_lists.push(PathBuf::from(value(&mut it)?)),
            "-pad" => o.pad_blocks = 150,
            "-no-pad" => o.pad_blocks = 0,
            "-q" | "-quiet" => a.quiet = true,
            "-v" | "-verbose" => a.verbose = a.verbose.saturating_add(1),
            "-set_all_file_dates" => {
                let v = string(&mut it)?;
                let t = v
                    .trim_start_matches('=')
                    .parse()
                    .map_err(|_| ArgError::BadValue {
                        option: text.into(),
                        value: v.clone(),
                        reason: "expected seconds since 1970",
                    })?;
                o.all_file_dates = Some(t);
            }
            "-b" | "-eltorito-boot" | "-e" | "-efi-boot" => {
                let path = string(&mut it)?;
                let platform = if matches!(name, "-e" | "-efi-boot") {
                    Platform::Efi
                } else {
                    Platform::X86
                };
                let e = current.get_or_insert_with(BootEntry::default);
                e.image_path = path;
                e.platform = platform;
            }
            "-c" | "-eltorito-catalog" => catalog = Some(string(&mut it)?),
            "-boot-catalog-hide" => catalog_hide = true,
            // the last of -no-emul-boot and -hard-disk-boot wins; neither means floppy emulation
            "-no-emul-boot" => {
                let e = current.get_or_insert_with(BootEntry::default);
                e.no_emulation = true;
                e.hard_disk_emulation = false;
            }
            "-hard-disk-boot" => {
                let e = current.get_or_insert_with(BootEntry::default);
                e.no_emulation = false;
                e.hard_disk_emulation = true;
            }
            "-grub2-boot-info" => {
                current
                    .get_or_insert_with(BootEntry::default)
                    .grub2_boot_info = true
            }
            "-boot-info-table" => {
                current
                    .get_or_insert_with(BootEntry::default)
                    .boot_info_table = true
            }
            "-boot-load-size" => {
                let v = string(&mut it)?;
                let size = if v == "full" {
                    None
                } else {
                    let n = number(&v)?;
                    Some(u16::try_from(n).map_err(|_| ArgError::BadValue {
                        option: text.into(),
                        value: v.clone(),
                        reason: "at most 65535",
                    })?)
                };
                current.get_or_insert_with(BootEntry::default).load_size = size;
            }
            "-eltorito-alt-boot" => {
                boot(&mut current)?;
                if let Some(e) = current.take() {
                    entries.push(e);
                }
            }
            "-isohybrid-mbr" => o.hybrid.mbr_template = Some(PathBuf::from(value(&mut it)?)),
            "-isohybrid-gpt-basdat" => o.hybrid.gpt_basdat = true,
            "-G" | "-embedded-boot" | "-generic-boot" => {
                o.hybrid.system_area_file = Some(PathBuf::from(value(&mut it)?))
            }
            "-grub2-mbr" => o.hybrid.grub2_mbr = Some(PathBuf::from(value(&mut it)?)),
            "-protective-msdos-label" => o.hybrid.protective_msdos_label = true,
            "-chrp-boot-part" | "-chrp-boot" => o.hybrid.chrp_boot_part = true,
            "-appended_part_as_gpt" => o.hybrid.appended_part_as_gpt = true,
            "-partition_cyl_align" => {
                let v = string(&mut it)?;
                o.hybrid.partition_cyl_align = match v.as_str() {
                    "auto" => CylinderAlign::Auto,
                    "on" => CylinderAlign::On,
                    "off" => CylinderAlign::Off,
                    "all" => CylinderAlign::All,
                    _ => {
                        return Err(ArgError::BadValue {
                            option: text.into(),
                            value: v,
                            reason: "expected auto, on, off or all",
                        })
                    }
                };
            }
            "-appended_part_as_apm" => o.hybrid.appended_part_as_apm = true,
            "-prep-boot-part" => o.hybrid.prep_boot_part = Some(PathBuf::from(value(&mut it)?)),
            "-efi-boot-part" => {
                let v = value(&mut it)?;
                if v == "--efi-boot-image" {
                    o.hybrid.efi_boot_part = None;
                    o.hybrid.efi_boot_image = true;
                } else {
                    o.hybrid.efi_boot_part = Some(PathBuf::from(v));
                    o.hybrid.efi_boot_image = false;
                }
            }
            "-append_partition" => {
                let number = string(&mut it)?;
                let ty = string(&mut it)?;
                let path = PathBuf::from(value(&mut it)?);
                let n = number
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|n| (1..=4).contains(n))
                    .ok_or_else(|| ArgError::BadValue {
                        option: text.into(),
                        value: number.clone(),
                        reason: "expected a partition number of 1 to 4 (MBR)",
                    })?;
                // xorriso's names for the common types
                let named = match ty.as_str() {
                    "FAT12" => Some(0x01),
                    "FAT16" => Some(0x06),
                    "Linux" => Some(0x83),
                    _ => mbr_type(&ty),
                };
                let guid = if named.is_some() {
                    None
                } else {
                    type_guid(&ty)
                };
                let type_byte = named
                    .or(guid.map(guid_mbr_type))
                    .ok_or(ArgError::BadValue {
                        option: text.into(),
                        value: ty.clone(),
                        reason:
                            "expected an MBR type byte (0x00 to 0xff), FAT12, FAT16, Linux or a \
                             GPT type GUID",
                    })?;
                o.hybrid.appended_part_guids.retain(|(m, _)| *m != n);
                if let Some(g) = guid {
                    o.hybrid.appended_part_guids.push((n, g));
                }
                o.hybrid.appended_partitions.push(AppendedPartition {
                    number: n,
                    type_byte,
                    path,
                });
            }
            "-mbr-force-bootable" => o.hybrid.mbr_force_bootable = true,
            "-iso_mbr_part_type" => {
                let v = string(&mut it)?;
                o.hybrid.iso_gpt_type_guid = None;
                if v == "default" {
                    o.hybrid.iso_mbr_part_type = None;
                    continue;
                }
                if let Some(g) = type_guid(&v) {
                    o.hybrid.iso_gpt_type_guid = Some(g);
                    o.hybrid.iso_mbr_part_type = Some(guid_mbr_type(g));
                    continue;
                }
                o.hybrid.iso_mbr_part_type = Some(mbr_type(&v).ok_or(ArgError::BadValue {
                    option: text.into(),
                    value: v.clone(),
                    reason: "expected an MBR type byte (0x00 to 0xff) or a GPT type GUID",
                })?);
            }
            // like -no-emul-boot, it belongs to the boot image being defined (xorriso marks
            // the -b image with it if it comes before -eltorito-alt-boot)
            "-isohybrid-apm-hfsplus" => {
                current.get_or_insert_with(BootEntry::default).apm_hfsplus = true
            }
            "-partition_offset" => {
                let v = string(&mut it)?;
                let n = u32::try_from(number(&v)?).map_err(|_| ArgError::BadValue {
                    option: text.into(),
                    value: v.clone(),
                    reason: "too large",
                })?;
                if (1..16).contains(&n) {
                    return Err(ArgError::BadValue {
                        option: text.into(),
                        value: v,
                        reason: "must be 0 or at least 16 (2048-byte blocks)",
                    });
                }
                o.hybrid.partition_offset = n;
            }
            "-mips-boot" | "-mipsel-boot" | "-alpha-boot" | "-hppa-cmdline"
            | "-hppa-bootloader" | "-hppa-kernel-32" | "-hppa-kernel-64" | "-hppa-ramdisk"
            | "-hppa-hdrversion" => boot_block_option(&mut o.boot_block, name, string(&mut it)?)?,
            "-B" | "-sparc-boot" => sparc_boot(&mut o.boot_block, name, value(&mut it)?)?,
            // xorriso only records the text; it reaches the image with -B
            "-sparc-label" => sparc_label = Some(string(&mut it)?),
            "-jigdo-jigdo" => a.jigdo_jigdo = Some(PathBuf::from(value(&mut it)?)),
            "-jigdo-template" => a.jigdo_template = Some(PathBuf::from(value(&mut it)?)),
            "-jigdo-min-file-size" => {
                let v = string(&mut it)?;
                a.jigdo_min_file_size = Some(number(&v)?);
            }
            "-jigdo-exclude" | "-jigdo-ignore" => a.jigdo_exclude.push(string(&mut it)?),
            "-jigdo-force-checksum" | "-jigdo-force-md5" => {
                a.jigdo_force_checksum.push(string(&mut it)?)
            }
            "-jigdo-map" => {
                let v = string(&mut it)?;
                let (to, from) = v.split_once('=').ok_or_else(|| ArgError::BadValue {
                    option: text.into(),
                    value: v.clone(),
                    reason: "expected To=From",
                })?;
                a.jigdo_map.push((to.to_string(), from.to_string()));
            }
            "-checksum-list" | "-md5-list" => {
                a.checksum_list = Some(PathBuf::from(value(&mut it)?))
            }
            "-jigdo-checksum-algorithm" => {
                let v = string(&mut it)?.to_ascii_lowercase();
                if !matches!(v.as_str(), "md5" | "sha256") {
                    return Err(ArgError::BadValue {
                        option: text.into(),
                        value: v,
                        reason: "expected md5 or sha256",
                    });
                }
                a.jigdo_checksum_algorithm = Some(v);
            }
            "-jigdo-template-compress" => {
                let v = string(&mut it)?.to_ascii_lowercase();
                if !matches!(v.as_str(), "gzip" | "bzip2" | "xz" | "zstd") {
                    return Err(ArgError::BadValue {
                        option: text.into(),
                        value: v,
                        reason: "expected gzip, bzip2, xz or zstd",
                    });
                }
                a.jigdo_template_compress = Some(v);
            }
            "-checksum_algorithm_iso" | "-checksum_algorithm_template" => {
                let v = string(&mut it)?;
                let algs: Vec<String> = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_ascii_lowercase)
                    .collect();
                if let Some(bad) = algs
                    .iter()
                    .find(|s| !matches!(s.as_str(), "md5" | "sha1" | "sha256" | "sha512"))
                {
                    return Err(ArgError::BadValue {
                        option: text.into(),
                        value: bad.clone(),
                        reason: "expected md5, sha1, sha256 or sha512",
                    });
                }
                if name == "-checksum_algorithm_iso" {
                    a.checksum_algorithm_iso = algs;
                } else {
                    a.checksum_algorithm_template = algs;
                }
            }
            _ => return Err(ArgError::UnknownOption(text.to_string())),
        }
    }
    if let Some(e) = current.take() {
        if e.image_path.is_empty() {
            return Err(ArgError::MisplacedBootOption(
                "-no-emul-boot/-hard-disk-boot/-boot-load-size/-boot-info-table/-isohybrid-apm-hfsplus"
                    .into(),
            ));
        }
        entries.push(e);
    }
    if !entries.is_empty() {
        // without -c, xorriso's catalog is the file /boot.catalog; --boot-catalog-hide keeps it
        // out of the trees (as the library does for `None`)
        let catalog_path = match (catalog_hide, catalog) {
            (true, _) => None,
            (false, Some(c)) => Some(c),
            (false, None) => Some("/boot.catalog".to_string()),
        };
        a.options.el_torito = Some(ElTorito {
            catalog_path,
            entries,
        });
    } else if catalog.is_some() {
        return Err(ArgError::MisplacedBootOption("-c".into()));
    }
    a.options.joliet = match (joliet, joliet_long) {
        (false, _) => Joliet::Off,
        (true, false) => Joliet::On,
        (true, true) => Joliet::Long,
    };
    if let (Some(BootBlock::Sparc(l)), Some(text)) = (&mut a.options.boot_block, sparc_label) {
        l.label = Some(text);
    }
    a.pathspecs = raw_specs.iter().map(|s| a.pathspec(s)).collect();
    Ok(a)
}

/// C12A7328-F81F-11D2-BA4B-00A0C93EC93B, EFI System, in on-disk byte order.
const EFI_SYSTEM_GUID: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];

/// A GPT type GUID as xorriso takes it, in on-disk byte order: 32 hex digits as they are on
/// disk (`28732ac11ff8d211ba4b00a0c93ec93b`), or RFC 4122 text whose first three fields UEFI
/// stores little-endian (`C12A7328-F81F-11D2-BA4B-00A0C93EC93B`).
fn type_guid(v: &str) -> Option<[u8; 16]> {
    let hex: String = v.chars().filter(|c| *c != '-').collect();
    // (from_str_radix alone would also take a sign: "+f")
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let groups: Vec<usize> = v.split('-').map(str::len).collect();
    let structured = match groups.as_slice() {
        [32] => false,
        [8, 4, 4, 4, 12] => true,
        _ => return None,
    };
    let mut g = [0u8; 16];
    for (i, byte) in g.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    if structured {
        g[0..4].reverse();
        g[4..6].reverse();
        g[6..8].reverse();
    }
    Some(g)
}

/// The MBR type xorriso gives a partition of a GPT type: 0xEF for EFI System, else 0x83.
fn guid_mbr_type(g: [u8; 16]) -> u8 {
    if g == EFI_SYSTEM_GUID {
        0xef
    } else {
        0x83
    }
}

/// An MBR partition type as xorriso takes it: `0x`-prefixed hex or decimal, 0 to 255.
fn mbr_type(v: &str) -> Option<u8> {
    let v = v.trim();
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Records one of the non-PC boot block options (issue 11) as xorriso does: `-mips-boot` adds a
/// file (up to 15), a second `-mipsel-boot` is refused, a later `-alpha-boot` replaces the
/// earlier one, the `-hppa-*` options fill in one PALO header; mixing kinds is refused
/// ("First sector already occupied").
fn boot_block_option(
    block: &mut Option<BootBlock>,
    name: &str,
    value: String,
) -> Result<(), ArgError> {
    let bad = |reason| ArgError::BadValue {
        option: name.to_string(),
        value: value.clone(),
        reason,
    };
    let hppa = name.starts_with("-hppa-");
    match (block.as_mut(), name) {
        (None, "-mips-boot") => {
            *block = Some(BootBlock::MipsBigEndian { files: vec![value] });
        }
        (Some(BootBlock::MipsBigEndian { files }), "-mips-boot") => {
            if files.len() >= MAX_MIPS_BOOT_FILES {
                return Err(bad("an SGI volume header lists at most 15 boot files"));
            }
            files.push(value);
        }
        (None, "-mipsel-boot") => *block = Some(BootBlock::MipsLittleEndian { file: value }),
        (None | Some(BootBlock::Alpha { .. }), "-alpha-boot") => {
            *block = Some(BootBlock::Alpha { file: value });
        }
        (None, _) if hppa => {
            let mut palo = Palo::default();
            set_palo(&mut palo, name, value)?;
            *block = Some(BootBlock::Hppa(palo));
        }
        (Some(BootBlock::Hppa(palo)), _) if hppa => set_palo(palo, name, value)?,
        (Some(BootBlock::MipsLittleEndian { .. }), "-mipsel-boot") => {
            return Err(bad("only one DEC boot file can be given"));
        }
        _ => {
            return Err(bad(
                "the first sector already holds another boot block (-mips-boot, -mipsel-boot, \
                 -hppa-*, -alpha-boot exclude each other)",
            ))
        }
    }
    Ok(())
}

/// `-B`/`-sparc-boot FILE[,FILE...][,...]`: disk files appended as partitions 2.. of a Sun disk
/// label; `...` fills the remaining entries. A later `-B` replaces an earlier one, as in xorriso.
fn sparc_boot(block: &mut Option<BootBlock>, name: &str, value: OsString) -> Result<(), ArgError> {
    let bad = |reason| ArgError::BadValue {
        option: name.to_string(),
        value: value.to_string_lossy().into_owned(),
        reason,
    };
    let label = match block.take() {
        None => SunLabel::default(),
        Some(BootBlock::Sparc(l)) => l,
        Some(other) => {
            *block = Some(other);
            return Err(bad(
                "the first sector already holds another boot block (-mips-boot, -mipsel-boot, \
                 -hppa-*, -alpha-boot, -sparc-boot exclude each other)",
            ));
        }
    };
    let mut l = SunLabel {
        partitions: Vec::new(),
        fill_rest: false,
        ..label
    };
    let bytes = os_bytes(&value);
    for item in bytes.split(|&b| b == b',').filter(|i| !i.is_empty()) {
        if l.fill_rest || l.partitions.len() == MAX_SPARC_PARTITIONS {
            // xorriso: "Too many boot images"
            return Err(bad("at most 7 boot images, and nothing after \"...\""));
        }
        if item == b"..." {
            l.fill_rest = true;
        } else {
            l.partitions.push(PathBuf::from(bytes_to_os(item)));
        }
    }
    *block = Some(BootBlock::Sparc(l));
    Ok(())
}

#[cfg(unix)]
fn os_bytes(s: &OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: &OsStr) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

fn set_palo(palo: &mut Palo, name: &str, value: String) -> Result<(), ArgError> {
    match name {
        "-hppa-cmdline" => palo.cmdline = Some(value),
        "-hppa-bootloader" => palo.bootloader = Some(value),
        "-hppa-kernel-32" => palo.kernel_32 = Some(value),
        "-hppa-kernel-64" => palo.kernel_64 = Some(value),
        "-hppa-ramdisk" => palo.ramdisk = Some(value),
        _ => {
            palo.header_version = match value.trim() {
                "4" => 4,
                "5" => 5,
                _ => {
                    return Err(ArgError::BadValue {
                        option: name.to_string(),
                        value,
                        reason: "PALO header versions 4 and 5 exist",
                    })
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<MkisofsArgs, ArgError> {
        parse_mkisofs_args_with_epoch(args.iter().map(OsString::from), None)
    }

    const DEBIAN_CD: &str = "-r -checksum_algorithm_iso sha256,sha512 -V @Debian 12 amd64 1@ \
        -o debian-12-amd64-DVD-1.iso -md5-list checksum-check -jigdo-force-md5 /pool/ \
        -jigdo-min-file-size 1024 -jigdo-exclude boot1 \
        -jigdo-jigdo debian-12-amd64-DVD-1.jigdo -jigdo-template debian-12-amd64-DVD-1.template \
        -jigdo-map Debian=/mirror/debian/ -J -joliet-long -cache-inodes \
        -isohybrid-mbr isohdpfx.bin -b isolinux/isolinux.bin -c isolinux/boot.cat \
        -boot-load-size 4 -boot-info-table -no-emul-boot -eltorito-alt-boot \
        -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat -isohybrid-apm-hfsplus \
        boot1 CD1";

    fn debian_cd_args() -> Vec<String> {
        // '@' quotes the one argument with spaces
        let mut out = Vec::new();
        let mut quoted: Option<String> = None;
        for w in DEBIAN_CD.split_whitespace() {
            match (&mut quoted, w.strip_prefix('@'), w.strip_suffix('@')) {
                (None, Some(rest), _) => quoted = Some(rest.to_string()),
                (Some(q), _, Some(end)) => {
                    q.push(' ');
                    q.push_str(end);
                    out.push(quoted.take().unwrap());
                }
                (Some(q), _, None) => {
                    q.push(' ');
                    q.push_str(w);
                }
                (None, None, _) => out.push(w.to_string()),
            }
        }
        out
    }

    #[test]
    fn debian_cd_command_line() {
        let args = debian_cd_args();
        let a = parse(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let o = &a.options;
        assert_eq!(o.rock_ridge, RockRidge::Rationalized);
        assert_eq!(o.joliet, Joliet::Long);
        assert!(o.cache_inodes);
        assert_eq!(o.volume_id, "Debian 12 amd64 1");
        assert_eq!(a.output, Some(PathBuf::from("debian-12-amd64-DVD-1.iso")));
        assert_eq!(a.checksum_algorithm_iso, ["sha256", "sha512"]);
        assert_eq!(a.checksum_list, Some(PathBuf::from("checksum-check")));
        assert_eq!(a.jigdo_force_checksum, ["/pool/"]);
        assert_eq!(a.jigdo_min_file_size, Some(1024));
        assert_eq!(a.jigdo_exclude, ["boot1"]);
        assert_eq!(
            a.jigdo_jigdo,
            Some(PathBuf::from("debian-12-amd64-DVD-1.jigdo"))
        );
        assert_eq!(
            a.jigdo_template,
            Some(PathBuf::from("debian-12-amd64-DVD-1.template"))
        );
        assert_eq!(
            a.jigdo_map,
            [("Debian".to_string(), "/mirror/debian/".to_string())]
        );
        assert_eq!(o.hybrid.mbr_template, Some(PathBuf::from("isohdpfx.bin")));
        assert!(o.hybrid.gpt_basdat);
        assert_eq!(o.hybrid.partition_offset, 0);
        let et = o.el_torito.as_ref().unwrap();
        assert_eq!(et.catalog_path.as_deref(), Some("isolinux/boot.cat"));
        assert_eq!(
            et.entries,
            [
                BootEntry {
                    image_path: "isolinux/isolinux.bin".into(),
                    platform: Platform::X86,
                    no_emulation: true,
                    load_size: Some(4),
                    boot_info_table: true,
                    load_segment: 0,
                    apm_hfsplus: false,
                    hard_disk_emulation: false,
                    grub2_boot_info: false,
                },
                BootEntry {
                    image_path: "boot/grub/efi.img".into(),
                    platform: Platform::Efi,
                    no_emulation: true,
                    apm_hfsplus: true,
                    ..BootEntry::default()
                },
            ]
        );
        assert_eq!(a.pathspecs, [PathSpec::new("boot1"), PathSpec::new("CD1")]);
    }

    #[test]
    fn double_dash_and_graft_points() {
        let a = parse(&[
            "--graft-points",
            "--V",
            "X",
            "-o",
            "/dev/null",
            "a/b=src",
            "plain",
            "--norock",
            "-iso-level",
            "3",
        ])
        .unwrap();
        assert_eq!(a.options.volume_id, "X");
        assert_eq!(
            a.pathspecs,
            [PathSpec::graft("a/b", "src"), PathSpec::new("plain")]
        );
        assert_eq!(a.options.rock_ridge, RockRidge::Off);
        assert_eq!(a.options.iso_level, 3);
        assert_eq!(a.output, Some(PathBuf::from("/dev/null")));
        let b = parse(&[
            "x=y",
            "-jigdo-ignore",
            "p",
            "-jigdo-force-checksum",
            "q",
            "-checksum-list",
            "l",
        ])
        .unwrap();
        assert_eq!(
            b.pathspecs,
            [PathSpec::new("x=y")],
            "without -graft-points '=' is literal"
        );
        assert_eq!(
            (b.jigdo_exclude, b.jigdo_force_checksum),
            (vec!["p".to_string()], vec!["q".to_string()])
        );
        assert_eq!(b.checksum_list, Some(PathBuf::from("l")));
    }

    #[test]
    fn hybrid_options() {
        let a = parse(&["-partition_offset", "16"]).unwrap();
        assert_eq!(a.options.hybrid.partition_offset, 16);
        assert_eq!(
            parse(&["-partition_offset", "0"])
                .unwrap()
                .options
                .hybrid
                .partition_offset,
            0
        );
        assert!(matches!(
            parse(&["-partition_offset", "8"]),
            Err(ArgError::BadValue { .. })
        ));
        // -isohybrid-apm-hfsplus marks the boot image being defined, as in xorriso
        let flags = |args: &[&str]| -> Vec<bool> {
            parse(args)
                .unwrap()
                .options
                .el_torito
                .unwrap()
                .entries
                .iter()
                .map(|e| e.apm_hfsplus)
                .collect()
        };
        let bios_efi = |apm_at: usize| {
            let mut v = vec![
                "-b",
                "i.bin",
                "-no-emul-boot",
                "-eltorito-alt-boot",
                "-e",
                "e.img",
                "-no-emul-boot",
            ];
            v.insert(apm_at, "-isohybrid-apm-hfsplus");
            v
        };
        assert_eq!(flags(&bios_efi(0)), [true, false], "before -b");
        assert_eq!(flags(&bios_efi(3)), [true, false], "after -b");
        assert_eq!(
            flags(&bios_efi(4)),
            [false, true],
            "after -eltorito-alt-boot"
        );
        assert_eq!(flags(&bios_efi(7)), [false, true], "after -e");
        assert!(matches!(
            parse(&["-isohybrid-apm-hfsplus"]),
            Err(ArgError::MisplacedBootOption(_))
        ));
    }

    #[test]
    fn emulation_and_system_area_options() {
        let entry = |args: &[&str]| {
            let e = parse(args).unwrap().options.el_torito.unwrap().entries[0].clone();
            (e.no_emulation, e.hard_disk_emulation)
        };
        // xorriso: the last of -no-emul-boot and -hard-disk-boot wins; neither is a floppy
        assert_eq!(entry(&["-b", "f.img"]), (false, false));
        assert_eq!(entry(&["-e", "f.img"]), (false, false));
        assert_eq!(
            entry(&["-b", "h", "-no-emul-boot", "-hard-disk-boot"]),
            (false, true)
        );
        assert_eq!(
            entry(&["-b", "h", "-hard-disk-boot", "-no-emul-boot"]),
            (true, false)
        );
        // the catalog: /boot.catalog without -c (as xorriso), hidden with --boot-catalog-hide
        let cat = |args: &[&str]| parse(args).unwrap().options.el_torito.unwrap().catalog_path;
        assert_eq!(cat(&["-b", "f.img"]), Some("/boot.catalog".into()));
        assert_eq!(cat(&["-b", "f.img", "-c", "b.cat"]), Some("b.cat".into()));
        assert_eq!(cat(&["-b", "f.img", "--boot-catalog-hide"]), None);
        let h = parse(&[
            "--embedded-boot",
            "sa.bin",
            "--grub2-mbr",
            "g.bin",
            "--protective-msdos-label",
            "--mbr-force-bootable",
            "-iso_mbr_part_type",
            "0x83",
        ])
        .unwrap()
        .options
        .hybrid;
        assert_eq!(h.system_area_file, Some(PathBuf::from("sa.bin")));
        assert_eq!(h.grub2_mbr, Some(PathBuf::from("g.bin")));
        assert!(h.protective_msdos_label && h.mbr_force_bootable);
        assert_eq!(h.iso_mbr_part_type, Some(0x83));
        let e = &parse(&["-b", "eltorito.img", "--grub2-boot-info"])
            .unwrap()
            .options
            .el_torito
            .unwrap()
            .entries[0];
        assert!(e.grub2_boot_info);
        let h = parse(&["-append_partition", "2", "0xef", "efi.img"])
            .unwrap()
            .options
            .hybrid;
        assert_eq!(
            h.appended_partitions,
            [AppendedPartition {
                number: 2,
                type_byte: 0xef,
                path: PathBuf::from("efi.img")
            }]
        );
        let h = parse(&["-append_partition", "3", "FAT16", "f.img", "-chrp-boot"])
            .unwrap()
            .options
            .hybrid;
        assert_eq!(h.appended_partitions[0].type_byte, 0x06);
        assert!(h.chrp_boot_part);
        for option in ["-efi-boot-part", "--efi-boot-part"] {
            let h = parse(&[option, "--efi-boot-image"]).unwrap().options.hybrid;
            assert!(h.efi_boot_image && h.efi_boot_part.is_none());
        }
        let h = parse(&["-efi-boot-part", "esp.img", "-prep-boot-part", "prep.img"])
            .unwrap()
            .options
            .hybrid;
        assert_eq!(h.efi_boot_part, Some(PathBuf::from("esp.img")));
        assert_eq!(h.prep_boot_part, Some(PathBuf::from("prep.img")));
        assert_eq!(
            parse(&["-partition_cyl_align", "all"])
                .unwrap()
                .options
                .hybrid
                .partition_cyl_align,
            CylinderAlign::All
        );
        assert!(matches!(
            parse(&["-partition_cyl_align", "sometimes"]),
            Err(ArgError::BadValue { .. })
        ));
        let h = parse(&["-appended_part_as_gpt", "-appended_part_as_apm"])
            .unwrap()
            .options
            .hybrid;
        assert!(h.appended_part_as_gpt && h.appended_part_as_apm);
        // type GUIDs: for the GPT, and mapped to 0xEF (EFI System) or 0x83 in the MBR
        let h = parse(&[
            "-append_partition",
            "2",
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "esp.img",
            "-append_partition",
            "3",
            "0fc63daf848347728e793d69d8477de4",
            "root.img",
            "-iso_mbr_part_type",
            "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        ])
        .unwrap()
        .options
        .hybrid;
        assert_eq!(h.appended_partitions[0].type_byte, 0xef);
        assert_eq!(h.appended_partitions[1].type_byte, 0x83);
        assert_eq!(h.appended_part_guids[0], (2, EFI_SYSTEM_GUID));
        assert_eq!(
            h.appended_part_guids[1].1,
            [
                0x0f, 0xc6, 0x3d, 0xaf, 0x84, 0x83, 0x47, 0x72, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47,
                0x7d, 0xe4
            ]
        );
        assert_eq!(h.iso_mbr_part_type, Some(0x83));
        assert_eq!(
            h.iso_gpt_type_guid,
            Some([
                0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47,
                0x7d, 0xe4
            ])
        );
        assert_eq!(
            type_guid("28732ac11ff8d211ba4b00a0c93ec93b"),
            Some(EFI_SYSTEM_GUID)
        );
        for bad in [
            ["5", "0x83"],
            ["0", "0x83"],
            ["2", "28732ac11ff8d211ba4b00a0c93ec93"],
            ["2", "C12A7328-F81F-11D2-BA4B00A0C93EC93B"],
            ["2", "+8732ac11ff8d211ba4b00a0c93ec93b"],
        ] {
            assert!(matches!(
                parse(&["-append_partition", bad[0], bad[1], "f"]),
                Err(ArgError::BadValue { .. })
            ));
        }
        assert_eq!(
            parse(&["-append_partition", "2", "0x83"]),
            Err(ArgError::MissingValue("-append_partition".into()))
        );
        let ty = |v: &str| {
            parse(&[
                "-G",
                "x",
                "-iso_mbr_part_type",
                "12",
                "-iso_mbr_part_type",
                v,
            ])
            .map(|a| a.options.hybrid.iso_mbr_part_type)
        };
        assert_eq!(ty("0xEF"), Ok(Some(0xef)));
        assert_eq!(ty("default"), Ok(None));
        for bad in ["256", "0x100", "a2a0d0ebe5b9334487c068b6b72699c", "x"] {
            assert!(matches!(ty(bad), Err(ArgError::BadValue { .. })), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(
            parse(&["-frobnicate"]),
            Err(ArgError::UnknownOption("-frobnicate".into()))
        );
        assert_eq!(parse(&["-o"]), Err(ArgError::MissingValue("-o".into())));
        assert!(matches!(
            parse(&["-jigdo-min-file-size", "lots"]),
            Err(ArgError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["-jigdo-map", "nomap"]),
            Err(ArgError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["-jigdo-template-compress", "lzma"]),
            Err(ArgError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["-iso-level", "4"]),
            Err(ArgError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&["-eltorito-alt-boot"]),
            Err(ArgError::MisplacedBootOption(_))
        ));
        assert!(matches!(
            parse(&["-no-emul-boot"]),
            Err(ArgError::MisplacedBootOption(_))
        ));
        assert_eq!(
            ArgError::UnknownOption("-zz".into()).to_string(),
            "unknown option -zz"
        );
    }

    #[test]
    fn options_and_lists() {
        let d = std::env::temp_dir().join(format!("mkisofs-args-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("paths"), "a=b\nc\n").unwrap();
        std::fs::write(d.join("sort"), "/src/boot 100\n/src/x y  -5\n").unwrap();
        let mut a = parse(&[
            "-graft-points",
            "-path-list",
            d.join("paths").to_str().unwrap(),
            "-sort",
            d.join("sort").to_str().unwrap(),
            "-m",
            "*.tmp",
            "-hide",
            "h",
            "-hide-joliet",
            "hj",
            "-f",
            "-N",
            "-no-pad",
            "-A",
            "app",
            "-publisher",
            "pub",
            "-p",
            "prep",
            "-sysid",
            "LINUX",
            "-volset",
            "set",
            "-J",
            "-set_all_file_dates",
            "86400",
            "-jigdo-checksum-algorithm",
            "SHA256",
            "-checksum_algorithm_template",
            "md5,sha1",
        ])
        .unwrap();
        a.read_lists().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(a.pathspecs, [PathSpec::graft("a", "b"), PathSpec::new("c")]);
        let o = &a.options;
        assert_eq!(
            o.sort_weights,
            [("/src/boot".to_string(), 100), ("/src/x y".to_string(), -5)]
        );
        assert_eq!(
            (o.exclude.len(), o.hide.len(), o.hide_joliet.len()),
            (1, 1, 1)
        );
        assert!(o.follow_links && o.omit_version_numbers);
        assert_eq!(o.pad_blocks, 0);
        assert_eq!(
            (
                o.application_id.as_str(),
                o.publisher_id.as_str(),
                o.preparer_id.as_str(),
                o.system_id.as_str(),
                o.volume_set_id.as_str()
            ),
            ("app", "pub", "prep", "LINUX", "set")
        );
        assert_eq!(o.joliet, Joliet::On);
        assert_eq!(o.all_file_dates, Some(86400));
        assert_eq!(a.jigdo_checksum_algorithm.as_deref(), Some("sha256"));
        assert_eq!(a.checksum_algorithm_template, ["md5", "sha1"]);
    }

    #[test]
    fn non_pc_boot_blocks() {
        let a = parse(&["-mips-boot", "boot/a", "--mips-boot", "boot/b", "t"]).unwrap();
        assert_eq!(
            a.options.boot_block,
            Some(BootBlock::MipsBigEndian {
                files: vec!["boot/a".into(), "boot/b".into()]
            })
        );
        let a = parse(&["-alpha-boot", "x", "-alpha-boot", "boot/bootlx", "t"]).unwrap();
        assert_eq!(
            a.options.boot_block,
            Some(BootBlock::Alpha {
                file: "boot/bootlx".into()
            })
        );
        let a = parse(&[
            "-hppa-cmdline",
            "root=/dev/ram",
            "-hppa-bootloader",
            "iplboot",
            "-hppa-kernel-32",
            "k32",
            "-hppa-kernel-64",
            "k64",
            "-hppa-ramdisk",
            "rd",
            "-hppa-hdrversion",
            "4",
            "t",
        ])
        .unwrap();
        assert_eq!(
            a.options.boot_block,
            Some(BootBlock::Hppa(Palo {
                cmdline: Some("root=/dev/ram".into()),
                bootloader: Some("iplboot".into()),
                kernel_32: Some("k32".into()),
                kernel_64: Some("k64".into()),
                ramdisk: Some("rd".into()),
                header_version: 4,
            }))
        );
        // xorriso: "First sector already occupied", "already a boot image file registered"
        for bad in [
            &["-mips-boot", "a", "-alpha-boot", "b"][..],
            &["-mipsel-boot", "a", "-mips-boot", "b"],
            &["-mipsel-boot", "a", "-mipsel-boot", "b"],
            &["-alpha-boot", "a", "-hppa-ramdisk", "b"],
            &["-hppa-hdrversion", "3"],
        ] {
            assert!(
                matches!(parse(bad), Err(ArgError::BadValue { .. })),
                "{bad:?}"
            );
        }
        let sixteen: Vec<&str> = ["-mips-boot", "f"].repeat(16);
        assert!(parse(&sixteen).is_err());
        assert!(parse(&sixteen[2..]).is_ok());
    }

    #[test]
    fn sparc_boot_lists() {
        let a = parse(&["-sparc-label", "L", "-B", "x", "-B", "a.img,b.img,...", "t"]).unwrap();
        assert_eq!(
            a.options.boot_block,
            Some(BootBlock::Sparc(SunLabel {
                label: Some("L".into()),
                partitions: vec!["a.img".into(), "b.img".into()],
                fill_rest: true,
            }))
        );
        assert_eq!(a.pathspecs, [PathSpec::new("t")]);
        // without -B the label text goes nowhere, as in xorriso
        assert_eq!(
            parse(&["-sparc-label", "L", "t"])
                .unwrap()
                .options
                .boot_block,
            None
        );
        for bad in [
            &["-sparc-boot", "a,...,b"][..],
            &["-sparc-boot", "1,2,3,4,5,6,7,8"],
            &["-mips-boot", "a", "-B", "b"],
            &["-B", "b", "-alpha-boot", "a"],
        ] {
            assert!(
                matches!(parse(bad), Err(ArgError::BadValue { .. })),
                "{bad:?}"
            );
        }
        assert!(parse(&["-sparc-boot", "1,2,3,4,5,6,7"]).is_ok());
    }
}
