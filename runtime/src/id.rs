//! The 32-byte names cltd deals in, each its own type so one cannot be passed for another:
//! a trust's id, a bylaw module's hash, a log entry's hash and a member's public key. Each
//! prints and parses as 64 hex digits and is stored exactly as the bare 32 bytes it wraps
//! (serde-transparent), so records written before these types existed read back unchanged
//! (`tests/all/formats.rs` holds the committed bytes).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Text that is not 64 hex digits, where one of cltd's 32-byte names was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is 64 hex digits; `{text}` is not")]
pub struct ParseIdError {
    /// What was expected (`a trust id`).
    pub what: &'static str,
    /// The text given, cut to 80 characters.
    pub text: String,
}

/// Parse 64 hex digits (either case) into 32 bytes: a hash, a key or a trust id as cltd
/// prints them. The one parser of such text; `None` for anything else.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

macro_rules! id32 {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// What this names, for messages.
            pub const WHAT: &'static str = $what;

            /// The 32 bytes.
            pub const fn to_bytes(self) -> [u8; 32] {
                self.0
            }

            /// The 32 bytes, borrowed.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The 32 bytes as a slice.
            pub fn as_slice(&self) -> &[u8] {
                &self.0
            }

            /// The 32 bytes in a `Vec`, as the WIT contract's records carry keys and hashes.
            pub fn to_vec(&self) -> Vec<u8> {
                self.0.to_vec()
            }

            /// 64 lowercase hex digits.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            /// 64 hex digits, either case.
            fn from_str(text: &str) -> Result<Self, ParseIdError> {
                parse_hash(text).map($name).ok_or_else(|| ParseIdError {
                    what: $what,
                    text: text.chars().take(80).collect(),
                })
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }
        }

        impl From<$name> for [u8; 32] {
            fn from(id: $name) -> [u8; 32] {
                id.0
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl PartialEq<[u8; 32]> for $name {
            fn eq(&self, other: &[u8; 32]) -> bool {
                &self.0 == other
            }
        }
    };
}

id32!(
    /// A trust's id: the blake3 hash of its genesis entry.
    TrustId,
    "a trust id"
);
id32!(
    /// A bylaw module's hash: blake3 of the component's bytes.
    ModuleHash,
    "a module hash"
);
id32!(
    /// A log entry's hash: blake3 of the entry as stored.
    EntryHash,
    "an entry hash"
);
id32!(
    /// A member's ed25519 public key.
    MemberKey,
    "a member key"
);

impl MemberKey {
    /// The key as a proposal's roll carries it (`roll-key`): four 64-bit words read
    /// big-endian, so they order as the bytes do.
    pub fn to_words(&self) -> (u64, u64, u64, u64) {
        let w =
            |i: usize| u64::from_be_bytes(self.0[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        (w(0), w(1), w(2), w(3))
    }

    /// The key a roll's four words stand for ([`MemberKey::to_words`] undone).
    pub fn from_words((a, b, c, d): (u64, u64, u64, u64)) -> MemberKey {
        let mut k = [0u8; 32];
        for (i, w) in [a, b, c, d].into_iter().enumerate() {
            k[i * 8..i * 8 + 8].copy_from_slice(&w.to_be_bytes());
        }
        MemberKey(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_as_64_hex_digits_and_encodes_as_the_bare_bytes() {
        let id = TrustId([0xab; 32]);
        assert_eq!(id.to_string(), "ab".repeat(32));
        assert_eq!("AB".repeat(32).parse::<TrustId>(), Ok(id));
        let err = "abc".parse::<ModuleHash>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "a module hash is 64 hex digits; `abc` is not"
        );
        assert!("g".repeat(64).parse::<EntryHash>().is_err());
        assert_eq!(
            postcard::to_allocvec(&id).unwrap(),
            postcard::to_allocvec(&[0xabu8; 32]).unwrap()
        );
        let key: MemberKey = postcard::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(key, [7u8; 32]);
        assert_eq!(
            format!("{key:?}"),
            format!("MemberKey({})", "07".repeat(32))
        );
    }
}
