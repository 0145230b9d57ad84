//! `read_desc_table` on arbitrary bytes, as the jigdo-file personality reads
//! the DESC table at the end of an `IMAGE.tmp` of unknown origin: never
//! panics, never allocates past the input, and a table it accepts starts
//! inside the input and can be written again.
#![no_main]

use std::io::Cursor;

use jigsmith_format::{encode_desc_table, read_desc_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((entries, start)) = read_desc_table(&mut Cursor::new(data)) else {
        return;
    };
    let start = usize::try_from(start).expect("the table starts inside the input");
    assert!(start <= data.len());
    let _ = encode_desc_table(&entries);
});
