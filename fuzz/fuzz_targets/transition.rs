//! Signed transitions, as submitted by anyone: decoding never panics, accepts only the
//! canonical encoding (what decodes re-encodes to the same bytes), and checking the
//! signature of whatever decodes never panics.
#![no_main]

use cltd_runtime::SignedTransition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((signed, body)) = SignedTransition::decode(bytes) {
        assert_eq!(
            signed.to_bytes(),
            bytes,
            "a non-canonical encoding was accepted"
        );
        let _ = signed.verify(&body);
    }
});
