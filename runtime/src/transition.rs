//! Signed transitions: the canonical, domain-separated encoding members sign.
//!
//! `body = postcard(TransitionBody { trust, signer, seq, action })`, and the signature is
//! ed25519 over `TRANSITION_DOMAIN || body`. The envelope is `postcard(SignedTransition)`.
//! Decoding re-encodes and refuses any input that is not byte-for-byte canonical, so one
//! transition has exactly one encoding. See `docs/design.md`.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::RefusalError;
use crate::id::{MemberKey, ModuleHash, TrustId};
use crate::model::{Action, Key, Parameter};

/// The domain separator prefixed to every signed transition body.
pub const TRANSITION_DOMAIN: &[u8] = b"cltd/transition/v1\0";

/// Largest signed transition accepted, in bytes.
pub const MAX_TRANSITION_BYTES: usize = 64 * 1024;

/// What a member signs: which trust, who, which of their sequence numbers, and the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionBody {
    /// The trust's id.
    pub trust: TrustId,
    /// The signer's public key.
    pub signer: MemberKey,
    /// The signer's next sequence number (0 for their first transition).
    pub seq: u64,
    /// What the signer asks the trust to do.
    pub action: Action,
}

/// A transition body with its ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTransition {
    /// `postcard(TransitionBody)`, exactly the bytes signed (after the domain).
    pub body: Vec<u8>,
    /// 64-byte ed25519 signature over `TRANSITION_DOMAIN || body`.
    pub signature: Vec<u8>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("in-memory postcard encoding cannot fail")
}

/// Decode `bytes` as `T` and insist that re-encoding gives the same bytes.
fn decode_canonical<T: Serialize + for<'de> Deserialize<'de>>(
    bytes: &[u8],
    what: &str,
) -> Result<T, RefusalError> {
    let (value, rest): (T, &[u8]) = postcard::take_from_bytes(bytes)
        .map_err(|e| RefusalError::Malformed(format!("{what}: {e}")))?;
    if !rest.is_empty() {
        return Err(RefusalError::Malformed(format!(
            "{what}: {} trailing bytes",
            rest.len()
        )));
    }
    if encode(&value) != bytes {
        return Err(RefusalError::Malformed(format!(
            "{what}: not in canonical encoding"
        )));
    }
    Ok(value)
}

impl SignedTransition {
    /// Sign `action` as `keypair`'s transition number `seq` on `trust`.
    pub fn sign(keypair: &Keypair, trust: TrustId, seq: u64, action: Action) -> SignedTransition {
        let body = encode(&TransitionBody {
            trust,
            signer: keypair.member_key(),
            seq,
            action,
        });
        let signature = keypair
            .signing
            .sign(&signing_message(&body))
            .to_bytes()
            .to_vec();
        SignedTransition { body, signature }
    }

    /// The canonical envelope bytes, as submitted and logged.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decode canonical envelope bytes and their body. Checks encoding only, not the signature.
    pub fn decode(bytes: &[u8]) -> Result<(SignedTransition, TransitionBody), RefusalError> {
        if bytes.len() > MAX_TRANSITION_BYTES {
            return Err(RefusalError::Malformed(format!(
                "{} bytes; transitions are at most {MAX_TRANSITION_BYTES}",
                bytes.len()
            )));
        }
        let signed: SignedTransition = decode_canonical(bytes, "envelope")?;
        if signed.signature.len() != 64 {
            return Err(RefusalError::Malformed(format!(
                "signature is {} bytes, not 64",
                signed.signature.len()
            )));
        }
        let body: TransitionBody = decode_canonical(&signed.body, "body")?;
        Ok((signed, body))
    }

    /// Verify the signature against `body.signer` (strict ed25519: no malleable signatures,
    /// no weak keys).
    pub fn verify(&self, body: &TransitionBody) -> Result<(), RefusalError> {
        let bad = || RefusalError::BadSignature(hex::encode(body.signer));
        let key = VerifyingKey::from_bytes(body.signer.as_bytes()).map_err(|_| bad())?;
        let sig = Signature::from_slice(&self.signature).map_err(|_| bad())?;
        key.verify_strict(&signing_message(&self.body), &sig)
            .map_err(|_| bad())
    }
}

/// A transition whose encoding, trust and signature have been checked: the work of judging
/// that needs no state, so it can be done on any thread before the transition reaches the
/// trust's single writer. Made only by [`CheckedTransition::check`].
#[derive(Debug, Clone)]
pub struct CheckedTransition {
    bytes: Vec<u8>,
    body: TransitionBody,
}

impl CheckedTransition {
    /// Decode `bytes` and check they are meant for `trust` and signed by their signer: the
    /// same checks, in the same order and with the same refusals, that judging makes first.
    pub fn check(bytes: Vec<u8>, trust: &TrustId) -> Result<CheckedTransition, RefusalError> {
        let (signed, body) = SignedTransition::decode(&bytes)?;
        if &body.trust != trust {
            return Err(RefusalError::WrongTrust {
                expected: hex::encode(trust),
                found: hex::encode(body.trust),
            });
        }
        signed.verify(&body)?;
        Ok(CheckedTransition { bytes, body })
    }

    /// The signed bytes, as submitted and logged.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The decoded body.
    pub fn body(&self) -> &TransitionBody {
        &self.body
    }
}

fn signing_message(body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(TRANSITION_DOMAIN.len() + body.len());
    msg.extend_from_slice(TRANSITION_DOMAIN);
    msg.extend_from_slice(body);
    msg
}

/// Domain separating upload approvals from every other signature.
pub const UPLOAD_DOMAIN: &[u8] = b"cltd/upload/v1\0";

/// A member's signature over `"cltd/upload/v1\0" || trust id || module hash`: the member
/// uploads this module to this trust. Uploads are idempotent (content-addressed), so an
/// approval needs no sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSignature {
    /// The uploading member's key.
    pub signer: MemberKey,
    /// The ed25519 signature (64 bytes).
    pub signature: Vec<u8>,
}

/// Domain separating a member's approval to store an impact preview from every other
/// signature.
pub const PREVIEW_DOMAIN: &[u8] = b"cltd/preview/v1\0";

fn preview_message(trust: &TrustId, module: &ModuleHash, proposed: &[Parameter]) -> Vec<u8> {
    let charter = postcard::to_stdvec(proposed).expect("in-memory encoding cannot fail");
    [
        PREVIEW_DOMAIN,
        trust.as_slice(),
        module.as_slice(),
        &charter,
    ]
    .concat()
}

fn upload_message(trust: &TrustId, module: &ModuleHash) -> Vec<u8> {
    [UPLOAD_DOMAIN, trust.as_slice(), module.as_slice()].concat()
}

impl UploadSignature {
    /// Sign the upload of `module` to `trust` as `keypair`.
    pub fn sign(keypair: &Keypair, trust: TrustId, module: ModuleHash) -> UploadSignature {
        UploadSignature {
            signer: keypair.member_key(),
            signature: keypair
                .signing
                .sign(&upload_message(&trust, &module))
                .to_bytes()
                .to_vec(),
        }
    }

    /// Verify it for `module` on `trust` (strict ed25519).
    pub fn verify(&self, trust: &TrustId, module: &ModuleHash) -> Result<(), RefusalError> {
        self.verify_message(&upload_message(trust, module))
    }

    /// Sign, as `keypair`, the storing of the impact preview of `module` with the `proposed`
    /// charter on `trust`: `"cltd/preview/v1\0" || trust id || module hash ||
    /// postcard(proposed)`. A stored preview is what lets an amendment naming that pair open.
    pub fn sign_preview(
        keypair: &Keypair,
        trust: TrustId,
        module: ModuleHash,
        proposed: &[Parameter],
    ) -> UploadSignature {
        UploadSignature {
            signer: keypair.member_key(),
            signature: keypair
                .signing
                .sign(&preview_message(&trust, &module, proposed))
                .to_bytes()
                .to_vec(),
        }
    }

    /// Verify a [`UploadSignature::sign_preview`] approval.
    pub fn verify_preview(
        &self,
        trust: &TrustId,
        module: &ModuleHash,
        proposed: &[Parameter],
    ) -> Result<(), RefusalError> {
        self.verify_message(&preview_message(trust, module, proposed))
    }

    fn verify_message(&self, message: &[u8]) -> Result<(), RefusalError> {
        let bad = || RefusalError::BadSignature(hex::encode(self.signer));
        let key = VerifyingKey::from_bytes(self.signer.as_bytes()).map_err(|_| bad())?;
        let sig = Signature::from_slice(&self.signature).map_err(|_| bad())?;
        key.verify_strict(message, &sig).map_err(|_| bad())
    }
}

/// A member's ed25519 key pair.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", hex::encode(self.public()))
    }
}

impl Keypair {
    /// A new key pair from the operating system's randomness (fails only if the operating
    /// system cannot provide randomness).
    pub fn generate() -> std::io::Result<Keypair> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
        Ok(Keypair::from_secret(secret))
    }

    /// The key pair for a 32-byte secret.
    pub fn from_secret(secret: [u8; 32]) -> Keypair {
        Keypair {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    /// Parse a hex-encoded 32-byte secret.
    pub fn from_secret_hex(text: &str) -> Option<Keypair> {
        Some(Keypair::from_secret(crate::id::parse_hash(text.trim())?))
    }

    /// The secret, hex-encoded. Keep it private.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// The public key.
    pub fn public(&self) -> Key {
        self.signing.verifying_key().to_bytes()
    }

    /// The public key, as a member's key: what transitions this pair signs carry.
    pub fn member_key(&self) -> MemberKey {
        MemberKey(self.public())
    }

    /// Sign raw bytes (for notes, which carry their own format; transitions and uploads use
    /// their domain-separated messages).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Keypair, SignedTransition) {
        let kp = Keypair::from_secret([7; 32]);
        let t = SignedTransition::sign(&kp, TrustId([1; 32]), 3, Action::Close(9));
        (kp, t)
    }

    #[test]
    fn upload_signatures_bind_the_trust_and_the_module() {
        let kp = Keypair::from_secret([7; 32]);
        let sig = UploadSignature::sign(&kp, TrustId([1; 32]), ModuleHash([2; 32]));
        sig.verify(&TrustId([1; 32]), &ModuleHash([2; 32])).unwrap();
        assert!(sig.verify(&TrustId([1; 32]), &ModuleHash([3; 32])).is_err());
        assert!(sig.verify(&TrustId([4; 32]), &ModuleHash([2; 32])).is_err());
        // Not interchangeable with a transition signature over the same bytes.
        let mut forged = sig.clone();
        forged.signature[0] ^= 1;
        assert!(
            forged
                .verify(&TrustId([1; 32]), &ModuleHash([2; 32]))
                .is_err()
        );
    }

    #[test]
    fn round_trips_and_verifies() {
        let (kp, t) = sample();
        let (decoded, body) = SignedTransition::decode(&t.to_bytes()).unwrap();
        assert_eq!(decoded, t);
        assert_eq!(body.signer, kp.public());
        assert_eq!(body.seq, 3);
        decoded.verify(&body).unwrap();
    }

    #[test]
    fn rejects_tampering_and_noncanonical_bytes() {
        let (_, t) = sample();
        let mut bytes = t.to_bytes();
        *bytes.last_mut().unwrap() ^= 1;
        let (d, body) = SignedTransition::decode(&bytes).unwrap();
        assert!(matches!(
            d.verify(&body),
            Err(RefusalError::BadSignature(_))
        ));

        let mut trailing = t.to_bytes();
        trailing.push(0);
        assert!(matches!(
            SignedTransition::decode(&trailing),
            Err(RefusalError::Malformed(_))
        ));

        assert!(matches!(
            SignedTransition::decode(&[0xff; 10]),
            Err(RefusalError::Malformed(_))
        ));
    }

    #[test]
    fn mutated_bytes_never_panic_and_only_canonical_input_decodes() {
        let (_, t) = sample();
        let valid = t.to_bytes();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..5_000 {
            let mut bytes = valid.clone();
            for _ in 0..=(next() % 4) {
                let i = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[i] = next() as u8,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, next() as u8),
                }
            }
            if let Ok((signed, body)) = SignedTransition::decode(&bytes) {
                assert_eq!(signed.to_bytes(), bytes, "only canonical bytes decode");
                assert_eq!(encode(&body), signed.body);
            }
        }
    }

    #[test]
    fn domain_separates_signatures() {
        let (kp, t) = sample();
        let raw = kp.signing.sign(&t.body).to_bytes().to_vec();
        let forged = SignedTransition {
            body: t.body.clone(),
            signature: raw,
        };
        let (_, body) = SignedTransition::decode(&forged.to_bytes()).unwrap();
        assert!(
            forged.verify(&body).is_err(),
            "a signature without the domain must not verify"
        );
    }
}

#[cfg(test)]
mod vectors {
    //! Committed test vectors: a change to the transition encoding or the signing domain
    //! breaks these, and must come with a new domain version and a CHANGELOG entry.

    use super::*;
    use crate::model::{ProposalBody, ProposalDraft, Vote};

    fn vector(name: &str) -> String {
        let text = include_str!("../testdata/transition-v1.txt");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("vector {name} missing"))
            .trim()
            .to_string()
    }

    #[test]
    fn encodings_match_the_committed_vectors() {
        let kp = Keypair::from_secret([0x42; 32]);
        let trust = TrustId([0x17; 32]);
        let cases = [
            (
                "vote",
                Action::Vote(Vote {
                    proposal: 3,
                    choice: crate::model::Choice::Abstain,
                }),
            ),
            (
                "propose",
                Action::Propose(ProposalDraft {
                    body: ProposalBody::Ordinary,
                    title: "Adopt".into(),
                    text: "".into(),
                    window: 604_800,
                }),
            ),
        ];
        for (name, action) in cases {
            let signed = SignedTransition::sign(&kp, trust, 9, action).to_bytes();
            assert_eq!(
                hex::encode(&signed),
                vector(name),
                "encoding of `{name}` changed"
            );
            let (s, body) = SignedTransition::decode(&signed).unwrap();
            s.verify(&body).unwrap();
        }
    }
}
