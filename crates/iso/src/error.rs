//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while building or writing an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A source path given on the command line or found while walking could not be inspected.
    #[error("reading metadata of {path}")]
    Metadata {
        /// The source path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A source directory could not be listed.
    #[error("listing directory {path}")]
    ReadDir {
        /// The source directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A source file could not be opened or read.
    #[error("reading {path}")]
    ReadFile {
        /// The source file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A source file had a different size while its data was copied than when the tree was scanned.
    #[error("{path} changed size while being written: expected {expected} bytes, found {found}")]
    FileChanged {
        /// The source file.
        path: PathBuf,
        /// Size recorded when the tree was built.
        expected: u64,
        /// Size found while reading (a lower bound when the file grew).
        found: u64,
    },
    /// Writing to the image sink failed.
    #[error("writing the image at byte {offset}")]
    Write {
        /// Image offset where the write failed.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Two sources map to the same path inside the image and cannot be merged.
    #[error("{image_path} in the image comes from both {first} and {second}")]
    Conflict {
        /// Path inside the image.
        image_path: String,
        /// The source added first.
        first: PathBuf,
        /// The source that collides with it.
        second: PathBuf,
    },
    /// A graft point target path is unusable (e.g. a file used as a directory).
    #[error("graft point {image_path}: {reason}")]
    BadGraftPoint {
        /// Path inside the image.
        image_path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file needs multi-extent recording, which needs ISO level 3.
    #[error("{path} is {size} bytes; files of 4 GiB or more need ISO level 3 (-iso-level 3)")]
    FileTooLarge {
        /// The source file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The image would be larger than ISO 9660 can address.
    #[error("the image would need {blocks} blocks, more than ISO 9660 can address")]
    ImageTooLarge {
        /// Number of 2048-byte blocks needed.
        blocks: u64,
    },
    /// A path inside the image named by a boot option does not exist.
    #[error("boot file {image_path} is not in the image")]
    BootFileMissing {
        /// Path inside the image.
        image_path: String,
    },
    /// A boot image is unusable.
    #[error("boot image {image_path}: {reason}")]
    BadBootImage {
        /// Path inside the image.
        image_path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A boot option needs another one (e.g. `-b` without `-c` is fine, but `-boot-info-table` without `-b` is not).
    #[error("option {option} needs {needs}")]
    MissingOption {
        /// The option given.
        option: &'static str,
        /// What it needs.
        needs: &'static str,
    },
    /// The isohybrid MBR template could not be used.
    #[error("isohybrid MBR template {path}: {reason}")]
    BadMbrTemplate {
        /// The template file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `-partition_offset` of 1 to 15 blocks: the partition's volume descriptors would overlap
    /// the image's (xorriso refuses it too).
    #[error("-partition_offset {blocks}: must be 0 or at least 16")]
    BadPartitionOffset {
        /// The offset given, in 2048-byte blocks.
        blocks: u32,
    },
    /// A floppy emulation boot image (`-b` without `-no-emul-boot`) of a size no BIOS floppy has.
    #[error(
        "boot image {image_path} is {size} bytes: floppy emulation needs 1228800, 1474560 or \
         2949120 bytes (1.2, 1.44 or 2.88 MB); add -no-emul-boot or -hard-disk-boot"
    )]
    FloppySize {
        /// Path inside the image.
        image_path: String,
        /// Its size in bytes.
        size: u64,
    },
    /// A file given to `-append_partition`, `-prep-boot-part` or `-efi-boot-part` cannot be a
    /// partition.
    #[error("partition file {path}: {reason}")]
    BadPartitionFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two options that cannot be used together.
    #[error("{first} cannot be combined with {second}")]
    OptionConflict {
        /// One option.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A non-PC boot block (`-mips-boot`, `-mipsel-boot`, `-hppa-*`, `-alpha-boot`) cannot hold
    /// what it was given.
    #[error("{option}: {reason}")]
    BadBootBlock {
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two users of the first sector of the image: the non-PC boot blocks exclude each other and
    /// the isohybrid MBR, GPT and APM (xorriso: "First sector already occupied").
    #[error("{option} cannot be combined with {other}: both need the first sector of the image")]
    FirstSectorTaken {
        /// The boot block option.
        option: &'static str,
        /// The other option.
        other: &'static str,
    },
    /// A feature that is recognised but not implemented.
    #[error("{feature} is not supported yet")]
    Unsupported {
        /// The option or feature.
        feature: &'static str,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
