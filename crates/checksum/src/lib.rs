//! Digests, jigdo's base64 and the rsync64 rolling sum.
//!
//! Everything that identifies a file in the jigdo world is here: a [`Digest`]
//! (MD5 for format 1.x, SHA-256 for 2.x; SHA-1 and SHA-512 for the checksum
//! tools), its two text forms (hex as `md5sum` prints it, and jigdo's base64
//! as `.jigdo` files hold it), and [`Rsync64`], the rolling sum over a file's
//! first block that templates store and that scanners slide over images.
//!
//! Pure computation: no I/O.
//!
//! ```
//! use jigsmith_checksum::{Algorithm, Digest, Hasher};
//!
//! let mut h = Hasher::new(Algorithm::Md5);
//! h.update(b"hello\n");
//! let d = h.finalize();
//! assert_eq!(d.to_hex(), "b1946ac92492d2347c6235b4d2611184");
//! assert_eq!(d.to_string(), "sZRqySSS0jR8YjW00mERhA");
//! assert_eq!(Digest::from_base64(Algorithm::Md5, "sZRqySSS0jR8YjW00mERhA")?, d);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithm;
mod digest;
mod error;
mod hasher;
mod rsync;
mod rsync_table;

pub use algorithm::Algorithm;
pub use digest::{jigdo_base64_decode, jigdo_base64_encode, Digest};
pub use error::Error;
pub use hasher::{Hasher, MultiHasher};
pub use rsync::Rsync64;
