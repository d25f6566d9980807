//! Checkpoints of the log as C2SP signed notes.
//!
//! A checkpoint (C2SP `tlog-checkpoint`) is the text
//! `<origin>\n<tree size>\n<base64 root hash>\n`; the trust's origin is
//! `cltd/trust/<trust id hex>`. It is published as a C2SP `signed-note`: the text, a blank
//! line, and one line per signature, `— <key name> <base64(key id ‖ signature)>`. The host
//! signs with its Ed25519 key (key id: the first four bytes of
//! `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`) under the origin as key name. Witnesses add
//! C2SP `tlog-cosignature` lines (algorithm 0x04: key id ‖ 8-byte big-endian timestamp ‖
//! signature over `"cosignature/v1\ntime <t>\n" ‖ checkpoint text`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::id::TrustId;
use crate::merkle::TreeHash;
use crate::model::Key;
use crate::transition::Keypair;

/// The origin line of a trust's checkpoints.
pub fn origin(trust: &TrustId) -> String {
    format!("cltd/trust/{}", hex::encode(trust))
}

/// Signature algorithm byte of plain Ed25519 note signatures.
const ALG_ED25519: u8 = 0x01;
/// Signature algorithm byte of timestamped Ed25519 cosignatures (`cosignature/v1`).
const ALG_COSIGNATURE: u8 = 0x04;

/// A malformed or unverifiable note or checkpoint.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteError {
    /// The text is not a well-formed note or checkpoint.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// No signature by the expected key.
    #[error("the note carries no signature by key `{0}`")]
    Unsigned(String),
    /// A signature by the expected key does not verify.
    #[error("the signature by key `{0}` does not verify")]
    BadSignature(String),
}

fn malformed(m: impl Into<String>) -> NoteError {
    NoteError::Malformed(m.into())
}

/// A checkpoint: the log's origin, size and Merkle root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// `cltd/trust/<trust id hex>`.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root of the first `size` entries.
    pub root: TreeHash,
}

impl Checkpoint {
    /// The checkpoint text (three lines, each ending in a newline).
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parse a checkpoint text (extension lines after the third are not accepted).
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("a checkpoint ends with a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root] = lines.as_slice() else {
            return Err(malformed(format!(
                "a checkpoint has 3 lines, this one {}",
                lines.len()
            )));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (*size == "0" || !size.starts_with('0'));
        let size: u64 = size
            .parse()
            .ok()
            .filter(|_| size_ok)
            .ok_or_else(|| malformed(format!("tree size `{size}` is not a decimal number")))?;
        let root: TreeHash = B64
            .decode(root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed("the root hash is not 32 bytes of base64"))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The signature bytes after base64 decoding: key id (4 bytes) and the signature.
    pub bytes: Vec<u8>,
}

impl NoteSignature {
    fn key_id(&self) -> Option<[u8; 4]> {
        self.bytes.get(..4)?.try_into().ok()
    }
}

/// A C2SP signed note: text and signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The note text, ending in a newline.
    pub text: String,
    /// Its signatures, in order.
    pub signatures: Vec<NoteSignature>,
}

/// The key id of an Ed25519 key (algorithm `alg`) named `name`.
fn key_id(name: &str, alg: u8, key: &Key) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(key);
    let d: [u8; 32] = h.finalize().into();
    [d[0], d[1], d[2], d[3]]
}

/// A verifier key string, `<name>+<hex key id>+<base64(0x01 ‖ key)>` (the note format's).
pub fn verifier_key(name: &str, key: &Key) -> String {
    let mut material = vec![ALG_ED25519];
    material.extend_from_slice(key);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, ALG_ED25519, key)),
        B64.encode(material)
    )
}

fn verifying(key: &Key, name: &str) -> Result<VerifyingKey, NoteError> {
    VerifyingKey::from_bytes(key).map_err(|_| NoteError::BadSignature(name.to_string()))
}

impl SignedNote {
    /// Sign `text` (which must end in a newline) as `name` with `keypair`.
    pub fn sign(text: &str, name: &str, keypair: &Keypair) -> SignedNote {
        let mut note = SignedNote {
            text: text.to_string(),
            signatures: Vec::new(),
        };
        note.add_signature(name, keypair);
        note
    }

    /// Add a plain Ed25519 signature by `name`.
    pub fn add_signature(&mut self, name: &str, keypair: &Keypair) {
        let mut bytes = key_id(name, ALG_ED25519, &keypair.public()).to_vec();
        bytes.extend_from_slice(&keypair.sign_bytes(self.text.as_bytes()));
        self.signatures.push(NoteSignature {
            name: name.to_string(),
            bytes,
        });
    }

    /// Add a witness cosignature (`cosignature/v1`) by `name` at Unix time `time`.
    pub fn add_cosignature(&mut self, name: &str, keypair: &Keypair, time: u64) {
        let mut bytes = key_id(name, ALG_COSIGNATURE, &keypair.public()).to_vec();
        bytes.extend_from_slice(&time.to_be_bytes());
        bytes.extend_from_slice(&keypair.sign_bytes(&cosigned_message(&self.text, time)));
        self.signatures.push(NoteSignature {
            name: name.to_string(),
            bytes,
        });
    }

    /// Verify the plain Ed25519 signature by `name` with `key`.
    pub fn verify(&self, name: &str, key: &Key) -> Result<(), NoteError> {
        let id = key_id(name, ALG_ED25519, key);
        let sig = self
            .signatures
            .iter()
            .find(|s| s.name == name && s.key_id() == Some(id))
            .ok_or_else(|| NoteError::Unsigned(name.to_string()))?;
        let signature = Signature::from_slice(&sig.bytes[4..])
            .map_err(|_| NoteError::BadSignature(name.to_string()))?;
        verifying(key, name)?
            .verify_strict(self.text.as_bytes(), &signature)
            .map_err(|_| NoteError::BadSignature(name.to_string()))
    }

    /// Verify the cosignature by witness `name` with `key`; returns its timestamp.
    pub fn verify_cosignature(&self, name: &str, key: &Key) -> Result<u64, NoteError> {
        let id = key_id(name, ALG_COSIGNATURE, key);
        let sig = self
            .signatures
            .iter()
            .find(|s| s.name == name && s.key_id() == Some(id))
            .ok_or_else(|| NoteError::Unsigned(name.to_string()))?;
        if sig.bytes.len() != 4 + 8 + 64 {
            return Err(NoteError::BadSignature(name.to_string()));
        }
        let time = u64::from_be_bytes(sig.bytes[4..12].try_into().expect("8 bytes"));
        let signature = Signature::from_slice(&sig.bytes[12..])
            .map_err(|_| NoteError::BadSignature(name.to_string()))?;
        verifying(key, name)?
            .verify_strict(&cosigned_message(&self.text, time), &signature)
            .map_err(|_| NoteError::BadSignature(name.to_string()))?;
        Ok(time)
    }

    /// Parse a signed note.
    pub fn parse(note: &str) -> Result<SignedNote, NoteError> {
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or_else(|| malformed("a note ends with a newline"))?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or_else(|| malformed(format!("signature line `{line}` lacks the em dash")))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| malformed(format!("signature line `{line}` has no signature")))?;
            let bytes = B64
                .decode(b64)
                .map_err(|_| malformed(format!("signature of `{name}` is not base64")))?;
            if name.is_empty() || bytes.len() < 5 {
                return Err(malformed(format!("signature line `{line}` is too short")));
            }
            signatures.push(NoteSignature {
                name: name.to_string(),
                bytes,
            });
        }
        Ok(SignedNote {
            text: text.to_string(),
            signatures,
        })
    }
}

impl std::fmt::Display for SignedNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.text)?;
        for s in &self.signatures {
            writeln!(f, "\u{2014} {} {}", s.name, B64.encode(&s.bytes))?;
        }
        Ok(())
    }
}

fn cosigned_message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: origin(&TrustId([7; 32])),
            size: 42,
            root: [9; 32],
        }
    }

    #[test]
    fn checkpoints_round_trip_and_reject_sloppy_text() {
        let c = checkpoint();
        assert_eq!(Checkpoint::parse(&c.text()).unwrap(), c);
        assert!(c.text().starts_with("cltd/trust/0707"));
        for bad in [
            "o\n42\n",
            "o\n042\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
            "o\n-1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n",
            "o\n1\nCQkJ\n",
            "o\n1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn notes_sign_verify_and_round_trip() {
        let host = Keypair::from_secret([1; 32]);
        let c = checkpoint();
        let note = SignedNote::sign(&c.text(), &c.origin, &host);
        let text = note.to_string();
        assert!(text.contains("\n\n\u{2014} cltd/trust/"), "{text}");
        let parsed = SignedNote::parse(&text).unwrap();
        assert_eq!(parsed, note);
        parsed.verify(&c.origin, &host.public()).unwrap();
        // Another key, another name, or a changed text does not verify.
        let other = Keypair::from_secret([2; 32]);
        assert!(parsed.verify(&c.origin, &other.public()).is_err());
        assert!(parsed.verify("someone/else", &host.public()).is_err());
        let mut changed = parsed.clone();
        changed.text = changed.text.replace("\n42\n", "\n43\n");
        assert!(matches!(
            changed.verify(&c.origin, &host.public()),
            Err(NoteError::BadSignature(_))
        ));
    }

    #[test]
    fn cosignatures_carry_their_time() {
        let host = Keypair::from_secret([1; 32]);
        let witness = Keypair::from_secret([3; 32]);
        let c = checkpoint();
        let mut note = SignedNote::sign(&c.text(), &c.origin, &host);
        note.add_cosignature("witness.example", &witness, 1_800_000_000);
        let parsed = SignedNote::parse(&note.to_string()).unwrap();
        assert_eq!(
            parsed.verify_cosignature("witness.example", &witness.public()),
            Ok(1_800_000_000)
        );
        parsed.verify(&c.origin, &host.public()).unwrap();
        // A plain signature is not a cosignature, and vice versa.
        assert!(parsed.verify("witness.example", &witness.public()).is_err());
        assert!(
            parsed
                .verify_cosignature(&c.origin, &host.public())
                .is_err()
        );
        assert!(verifier_key("witness.example", &witness.public()).starts_with("witness.example+"));
    }
}
