//! `Jigdo::from_reader` (plain or gzipped) and everything a caller does with
//! the result: part locations and label expansion. Also `unquote_value`.
#![no_main]

use jigsmith_format::{split_label, unquote_value, Jigdo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = unquote_value(s);
        let _ = split_label(s);
    }
    let Ok(j) = Jigdo::from_reader(data) else {
        return;
    };
    for part in &j.parts {
        for loc in part.locations() {
            let _ = split_label(&loc);
            let _ = j.expand(&loc);
        }
    }
    for s in &j.servers {
        let _ = (s.location(), s.options());
    }
    if let Some(image) = &j.image {
        let _ = image.comment_value("Image size");
    }
});
