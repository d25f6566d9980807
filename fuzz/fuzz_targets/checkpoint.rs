//! Checkpoints and signed notes, as received from a log or a witness: parsing never panics,
//! a parsed note prints to text that parses to the same note, and a checkpoint's text is
//! canonical (what parses prints back byte for byte).
#![no_main]

use cltd_runtime::{Checkpoint, SignedNote};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(checkpoint) = Checkpoint::parse(text) {
        assert_eq!(
            checkpoint.text(),
            text,
            "a non-canonical checkpoint was accepted"
        );
    }
    if let Ok(note) = SignedNote::parse(text) {
        let again = SignedNote::parse(&note.to_string()).expect("a printed note parses");
        assert_eq!(again, note);
        if let Ok(checkpoint) = Checkpoint::parse(&note.text) {
            let _ = note.verify(&checkpoint.origin, &[0; 32]);
        }
    }
});
