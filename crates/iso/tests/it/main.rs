//! Integration tests: build awkward trees, write images, read them back with independent readers
//! (bsdtar for Rock Ridge, 7z for Joliet, isoinfo, xorriso).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod boot;
mod fixture;
mod readers;
mod sinks;
mod tools;
mod xorriso_report;

// The CLI's mkisofs parser (crates/cli/mkisofs_args.rs) and its unit tests, compiled here until the
// binary depends on this crate.
#[path = "../../../cli/mkisofs_args.rs"]
#[allow(dead_code)]
mod mkisofs_args;
