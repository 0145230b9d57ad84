//! Interop tests against the old jigdo tools (issue 2, "How it is checked").
//!
//! Trees of files are generated from a seeded RNG into a `TempDir`; xorriso,
//! genisoimage and jigdo-file turn them into .iso/.jigdo/.template; jigsmith must
//! rebuild every image bit for bit (whole, to a file and to a pipe, and byte ranges),
//! write templates the old tools accept, fail cleanly on bad input, and match the old
//! checksum tools' output. A missing old tool prints `skip: <tool> not installed`,
//! or fails the test under `CI=true`.

// Helpers outside #[test] functions report failures by panicking too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod boot;
mod boot_arch;
mod boot_layouts;
mod checks;
mod errors;
mod fixture;
mod get;
mod hybrid_layout;
mod jigdo_file;
mod jigdo_mirror;
mod make_template_iso;
mod mkisofs_jte;
mod mkjigsnap;
mod mount;
mod personalities;
mod rebuild_genisoimage;
mod rebuild_jigdo_file;
mod rebuild_xorriso;
mod s3;
mod serve;
mod support;
mod tree;
mod verify;
mod writer_roundtrip;

// The normalised xorriso boot report, shared with crates/iso's integration tests.
#[path = "../../crates/iso/tests/it/xorriso_report.rs"]
mod xorriso_report;
