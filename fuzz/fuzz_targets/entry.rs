//! Log entries, as read from a store or a bundle an auditor was handed: decoding never
//! panics, and what decodes re-encodes to an entry that decodes to the same value.
#![no_main]

use cltd_runtime::{Entry, entry_hash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(entry) = Entry::from_bytes(bytes) {
        let again = Entry::from_bytes(&entry.to_bytes()).expect("a re-encoded entry decodes");
        assert_eq!(again, entry);
        assert_eq!(entry_hash(&again), entry_hash(&entry));
    }
});
