//! The one error type of yinzheng-document.

use thiserror::Error;

/// What stops reading a document. A document that was read gets a report, even when it fails.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not a well-formed OFD package (what and why).
    #[error("malformed document: {0}")]
    Format(String),
    /// Verification stopped before its end: the caller's deadline passed
    /// (e.g. the request that asked for it timed out).
    #[error("verification stopped: the time allowed for it ran out ({0})")]
    DeadlinePassed(String),
    /// A CMS-layer error (signing).
    #[error(transparent)]
    Cms(#[from] yinzheng_cms::Error),
    /// A document to generate was refused (no pages, too many pages, a page size
    /// that cannot hold text): what and why.
    #[error("cannot generate the document: {0}")]
    Spec(String),
    /// The font has no glyph for a character of the document.
    #[error("the font {font} has no glyph for {ch:?} (U+{:04X})", u32::from(*ch))]
    MissingGlyph {
        /// The character.
        ch: char,
        /// The font's family name.
        font: String,
    },
    /// A QR code could not be made (the text is too long for one).
    #[error("QR code: {0}")]
    Qr(String),
    /// A font could not be read or subset.
    #[error("font: {0}")]
    Font(String),
    /// The file is not a PDF this crate can read or stamp (what and why).
    #[error("PDF: {0}")]
    Pdf(String),
    /// The options given to a stamping function are not usable (what and why).
    /// Untrusted document input never causes it.
    #[error("invalid options: {0}")]
    Options(String),
    /// The phrase a seal was to be placed near is not on the page.
    #[error("text {text:?} not found on page {page}")]
    TextNotFound {
        /// The phrase looked for.
        text: String,
        /// The page searched, from 1.
        page: usize,
    },
    /// The signing callback returned a CMS larger than the space reserved for it.
    #[error(
        "the signature needs {needed} bytes but only {capacity} were reserved (raise contents_capacity)"
    )]
    ContentsTooSmall {
        /// Size of the CMS returned.
        needed: usize,
        /// Bytes reserved (`contents_capacity`).
        capacity: usize,
    },
    /// A seal-layer error.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
    /// The OFD package is not a ZIP file every reader reads the same way: what,
    /// where and why (see [`ZipFault`]).
    #[error("malformed OFD package: {0}")]
    Zip(ZipError),
}

/// A ZIP-level fault of an OFD package: which entry (or structure), at which
/// byte offset of the package, and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{entry} at byte {offset}: {fault}")]
#[non_exhaustive]
pub struct ZipError {
    /// The entry's name as the central directory gives it, or the structure
    /// (`end of central directory`, `central directory`).
    pub entry: String,
    /// Byte offset in the package where the fault was found.
    pub offset: u64,
    /// What is wrong.
    pub fault: ZipFault,
}

/// Why a package's ZIP structure is refused. Each is a way for two readers to
/// see different files in the same bytes, or a limit.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ZipFault {
    /// No end-of-central-directory record (not a ZIP file, or truncated).
    #[error("no end of central directory record (not a ZIP file?)")]
    NoEndOfCentralDirectory,
    /// A record runs past the end of the package or of its directory.
    #[error("{0} runs past the end of the data")]
    Truncated(&'static str),
    /// A record does not start with its signature.
    #[error("no {0} signature")]
    BadSignature(&'static str),
    /// A split (multi-disk) or encrypted archive, or another unsupported feature.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// More entries than [`crate::MAX_PACKAGE_ENTRIES`].
    #[error("{0} entries, more than allowed")]
    TooManyEntries(u64),
    /// The central directory's entries do not fill the size it declares.
    #[error("the central directory declares {declared} bytes but its entries take {parsed}")]
    DirectorySize {
        /// Size in the end-of-central-directory record.
        declared: u64,
        /// Size taken by the entries read.
        parsed: u64,
    },
    /// The local header names another file than the central directory.
    #[error("the local header names {local:?}")]
    NameMismatch {
        /// Name in the local header (lossy UTF-8).
        local: String,
    },
    /// A field of the local header (or data descriptor) differs from the central directory.
    #[error("local {field} is {local:#x}, the central directory says {central:#x}")]
    FieldMismatch {
        /// `CRC-32`, `compressed size`, `uncompressed size`, `method`, `flags`.
        field: &'static str,
        /// The local value.
        local: u64,
        /// The central directory's value.
        central: u64,
    },
    /// Flag bit 3 is set but no data descriptor after the data matches the central directory.
    #[error("no data descriptor after the data agrees with the central directory")]
    DataDescriptor,
    /// Bytes that belong to no entry: before the first, between two, or before the
    /// central directory; a lenient reader may take them for a file.
    #[error("{len} bytes that belong to no entry{}", if *.hidden_header { " (they hold a local file header: a hidden file)" } else { "" })]
    UnclaimedBytes {
        /// How many bytes.
        len: u64,
        /// Whether they contain a local file header signature.
        hidden_header: bool,
    },
    /// The entry's bytes overlap another entry's.
    #[error("overlaps the entry {0:?}")]
    Overlap(String),
    /// The name appears twice (also when differing only by a leading `/` or
    /// ASCII case, which readers may treat as one).
    #[error("the name appears twice (also as {0:?})")]
    DuplicateName(String),
    /// A name readers could resolve differently (`..`, `.`, empty segments, backslashes).
    #[error("ambiguous name")]
    AmbiguousName,
    /// The entry decompresses to another size than the central directory says.
    #[error("decompresses to {actual} bytes, the central directory says {declared}")]
    SizeMismatch {
        /// Uncompressed size in the central directory.
        declared: u64,
        /// Bytes produced.
        actual: u64,
    },
    /// Larger than a limit ([`crate::MAX_PART_LEN`], [`crate::MAX_PACKAGE_LEN`]).
    #[error("larger than {0} bytes uncompressed")]
    TooLarge(u64),
    /// The data could not be decompressed (or its CRC-32 does not match).
    #[error("cannot read the data: {0}")]
    Data(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl From<ZipError> for Error {
    fn from(e: ZipError) -> Self {
        Error::Zip(e)
    }
}
