use jigsmith_checksum::Algorithm;

/// Everything that can be wrong with a template, a `.jigdo` file or a checksum list.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing failed.
    #[error("I/O error {context}")]
    Io {
        /// What was being done, e.g. "reading the template header".
        context: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with `JigsawDownload template`.
    #[error("not a jigdo template: it starts with {found:?}")]
    NotATemplate {
        /// The first bytes, for the message.
        found: String,
    },
    /// A template version this reader does not know (only 1.x and 2.x exist).
    #[error("unsupported template format version {0:?} (1.x and 2.x are known)")]
    UnsupportedVersion(String),
    /// The file ended inside a structure.
    #[error("template truncated: {what} at byte {offset} runs past the end of the file ({file_len} bytes)")]
    Truncated {
        /// The structure that was cut off.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// The file's length.
        file_len: u64,
    },
    /// Bytes where a part header should be that are not `DATA`, `BZIP` or `DESC`.
    #[error("unknown template part {id:?} at byte {offset}")]
    UnknownPart {
        /// The four bytes found.
        id: String,
        /// Where they are.
        offset: u64,
    },
    /// A part header whose length fields make no sense.
    #[error("template part at byte {offset} has a bad length field ({len})")]
    BadPartLength {
        /// Where the part starts.
        offset: u64,
        /// The length it claims.
        len: u64,
    },
    /// The DESC part found by walking the parts is not where the trailer points.
    #[error("template DESC part is at byte {walked}, but the trailer points to {trailer}")]
    DescMisplaced {
        /// Where walking the parts found DESC.
        walked: u64,
        /// Where the last six bytes say it is.
        trailer: u64,
    },
    /// A DESC entry type that no jigdo tool writes.
    #[error("unknown DESC entry type {entry_type} at byte {offset}")]
    UnknownDescEntry {
        /// The type byte.
        entry_type: u8,
        /// Where the entry starts.
        offset: u64,
    },
    /// A DESC entry that does not fit the format version.
    #[error("DESC entry at byte {offset} uses {found}, but the template is format {version} ({expected})")]
    WrongAlgorithm {
        /// Where the entry starts.
        offset: u64,
        /// The header's format version.
        version: String,
        /// The header's algorithm.
        expected: Algorithm,
        /// The entry's algorithm.
        found: Algorithm,
    },
    /// The DESC table has no image info entry, or not as its last entry.
    #[error("template DESC table has no image information entry at its end")]
    NoImageInfo,
    /// The entries add up to something other than the image length.
    #[error("template entries add up to {sum} bytes but the image is {image_len} bytes")]
    LengthMismatch {
        /// Sum of all entry lengths.
        sum: u64,
        /// The image info's length.
        image_len: u64,
    },
    /// Unmatched entries need more data than the data parts hold, or less.
    #[error(
        "template entries need {needed} bytes of unmatched data, the data parts hold {available}"
    )]
    DataMismatch {
        /// Sum of unmatched entry lengths.
        needed: u64,
        /// Sum of the data parts' raw lengths.
        available: u64,
    },
    /// A data part's compressed stream is damaged.
    #[error("{kind} data part at byte {offset} is corrupt")]
    CorruptPart {
        /// "zlib" or "bzip2".
        kind: &'static str,
        /// Where the part starts.
        offset: u64,
        /// What the decompressor said.
        #[source]
        source: std::io::Error,
    },
    /// A data part decompressed to a different size than its header says.
    #[error("data part at byte {offset} holds {actual} bytes, its header says {expected}")]
    PartSizeMismatch {
        /// Where the part starts.
        offset: u64,
        /// The header's raw length.
        expected: u64,
        /// What the stream gave (a lower bound if it gave too much).
        actual: u64,
    },
    /// A `.jigdo` file larger than any real one once decompressed (a gzip bomb?).
    #[error(".jigdo file is over {} MiB once decompressed; real ones are at most about 10 MiB, so it is refused", limit >> 20)]
    JigdoTooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// A value too large for a 48-bit template field.
    #[error("{what} of {value} bytes is too large for a template (48-bit field)")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A digest of the wrong algorithm was handed to the template writer.
    #[error("template writer for {expected} was given a {found} digest")]
    WriterAlgorithm {
        /// The writer's algorithm.
        expected: Algorithm,
        /// The digest's.
        found: Algorithm,
    },
    /// A `.jigdo` line that cannot be parsed.
    #[error("line {line}: {message}")]
    JigdoSyntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The `.jigdo` file is not UTF-8 (the format requires it).
    #[error("line {line}: not valid UTF-8")]
    JigdoEncoding {
        /// 1-based line number.
        line: usize,
    },
    /// A `.jigdo` file lacks the `JigsawDownload` header or a [Jigdo] section.
    #[error("not a .jigdo file: {0}")]
    NotAJigdo(&'static str),
    /// A checksum list line that cannot be parsed.
    #[error("checksum list line {line}: {message}")]
    ChecksumListSyntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { context, source }
    }
}
