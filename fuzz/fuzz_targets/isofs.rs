//! The ISO 9660 reader on arbitrary images: errors are fine, panics, hangs
//! and huge allocations are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut fs) = jigsmith_isofs::IsoFs::open(std::io::Cursor::new(data)) {
        let _ = fs.files();
    }
});
