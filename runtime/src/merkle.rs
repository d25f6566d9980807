//! The log's Merkle tree, exactly as RFC 6962 / RFC 9162 define it: SHA-256, leaf hashes
//! `SHA-256(0x00 ‖ leaf)`, node hashes `SHA-256(0x01 ‖ left ‖ right)`, the left subtree of
//! `n` leaves holding the largest power of two smaller than `n`. A leaf is an entry's
//! 32-byte blake3 [`crate::entry_hash`]: blake3 stays the content address of entries, and
//! the tree uses SHA-256 so that C2SP tlog verifiers and witnesses can check a trust's log.
//!
//! Inclusion proofs ("this entry is in the log of this size") and consistency proofs ("this
//! log extends that smaller one") are generated as in RFC 6962 §2.1 and verified with the
//! algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type TreeHash = [u8; 32];

use crate::error::ProofError;

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> TreeHash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &TreeHash, right: &TreeHash) -> TreeHash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> TreeHash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (for `n >= 2`).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Below this many leaves, hashing stays on the calling thread.
const PARALLEL_FROM: usize = 4096;

/// Threads to hash `n` leaves on: one for short logs, else every core (at most 8).
fn threads_for(n: usize) -> usize {
    if n < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |c| c.get().min(8))
}

/// The leaf hashes of log entries given as their stored bytes: `SHA-256(0x00 ‖ entry hash)`
/// with the entry hash taken over the bytes ([`crate::entry_hash_of`]). Long logs are
/// hashed on every core.
pub fn entry_leaves<E: AsRef<[u8]> + Sync>(entries: &[E]) -> Vec<TreeHash> {
    spread(entries, |e| {
        leaf_hash(crate::log::entry_hash_of(e.as_ref()).as_slice())
    })
}

/// The leaf hashes of entries whose entry hashes are known (as [`entry_leaves`] computes
/// them from the entries' bytes), on several cores for a long log.
pub fn leaves_of(hashes: &[crate::id::EntryHash]) -> Vec<TreeHash> {
    spread(hashes, |h| leaf_hash(h.as_slice()))
}

/// `leaf` of every item, in order, on [`threads_for`] threads.
fn spread<T: Sync>(items: &[T], leaf: impl Fn(&T) -> TreeHash + Sync) -> Vec<TreeHash> {
    let threads = threads_for(items.len());
    if threads == 1 {
        return items.iter().map(leaf).collect();
    }
    let leaf = &leaf;
    std::thread::scope(|s| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| s.spawn(move || part.iter().map(leaf).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("a hashing thread panicked"))
            .collect()
    })
}

/// The Merkle tree hash (MTH) of a list of *leaf hashes*. A large tree's two halves are
/// hashed on two cores.
pub fn root(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            let (left, right) = leaves.split_at(k);
            if threads_for(n) > 1 {
                let (l, r) = std::thread::scope(|s| {
                    let l = s.spawn(|| root(left));
                    let r = serial_root(right);
                    (l.join().expect("a hashing thread panicked"), r)
                });
                node_hash(&l, &r)
            } else {
                node_hash(&serial_root(left), &serial_root(right))
            }
        }
    }
}

/// [`root`] on the calling thread.
fn serial_root(leaves: &[TreeHash]) -> TreeHash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&serial_root(&leaves[..k]), &serial_root(&leaves[k..]))
        }
    }
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `leaves` (leaf hashes).
pub fn inclusion_proof(leaves: &[TreeHash], index: usize) -> Result<Vec<TreeHash>, ProofError> {
    if index >= leaves.len() {
        return Err(ProofError::Bounds(format!(
            "leaf {index} of a tree of {}",
            leaves.len()
        )));
    }
    let mut path = Vec::new();
    path_into(leaves, index, &mut path);
    Ok(path)
}

fn path_into(leaves: &[TreeHash], m: usize, out: &mut Vec<TreeHash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path_into(&leaves[..k], m, out);
        out.push(root(&leaves[k..]));
    } else {
        path_into(&leaves[k..], m - k, out);
        out.push(root(&leaves[..k]));
    }
}

/// The consistency proof between the tree of the first `old_size` leaves and the tree of
/// all `leaves` (leaf hashes).
pub fn consistency_proof(
    leaves: &[TreeHash],
    old_size: usize,
) -> Result<Vec<TreeHash>, ProofError> {
    if old_size > leaves.len() {
        return Err(ProofError::Bounds(format!(
            "old size {old_size} beyond new size {}",
            leaves.len()
        )));
    }
    let mut proof = Vec::new();
    if old_size > 0 {
        subproof(leaves, old_size, true, &mut proof);
    }
    Ok(proof)
}

fn subproof(leaves: &[TreeHash], m: usize, whole: bool, out: &mut Vec<TreeHash>) {
    let n = leaves.len();
    if m == n {
        if !whole {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(&leaves[..k], m, whole, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(&leaves[k..], m - k, false, out);
        out.push(root(&leaves[..k]));
    }
}

/// Verify that `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves with root
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &TreeHash,
    proof: &[TreeHash],
    root: &TreeHash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Bounds(format!(
            "leaf {index} of a tree of {size}"
        )));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::Length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Length);
    }
    if &r != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// Verify that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2). Every tree extends the empty
/// tree, and a tree extends itself, with an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &TreeHash,
    new_root: &TreeHash,
    proof: &[TreeHash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::Bounds(format!(
            "old size {old_size} beyond new size {new_size}"
        )));
    }
    if old_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::Length)
        };
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::Length);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let mut path: Vec<TreeHash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::Length);
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::Length);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Length);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_logs_hash_on_every_core_to_the_same_tree() {
        // Above PARALLEL_FROM, and an odd size so the parts and the tree's split differ.
        let entries: Vec<Vec<u8>> = (0..PARALLEL_FROM as u32 * 2 + 7)
            .map(|i| i.to_le_bytes().repeat(1 + i as usize % 5))
            .collect();
        let serial: Vec<TreeHash> = entries
            .iter()
            .map(|e| leaf_hash(crate::log::entry_hash_of(e).as_slice()))
            .collect();
        assert_eq!(entry_leaves(&entries), serial);
        assert_eq!(root(&serial), serial_root(&serial));
        assert_eq!(entry_leaves(&entries[..3]), serial[..3]);
    }

    /// The eight leaves of the RFC 6962 reference test vectors (certificate-transparency).
    fn reference_leaves() -> Vec<TreeHash> {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        data.iter().map(|d| leaf_hash(d)).collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = reference_leaves();
        for (n, hex_root) in expected.iter().enumerate() {
            assert_eq!(
                hex::encode(root(&leaves[..=n])),
                *hex_root,
                "size {}",
                n + 1
            );
        }
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn proofs_match_the_committed_vectors() {
        let leaves = reference_leaves();
        let text = include_str!("../testdata/merkle-rfc6962.txt");
        let mut checked = 0;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let a: usize = words[1].parse().unwrap();
            let b: usize = words[2].parse().unwrap();
            let expected: Vec<String> = words[3..].iter().map(|w| w.to_string()).collect();
            let proof = match words[0] {
                "inclusion" => {
                    let proof = inclusion_proof(&leaves[..b], a).unwrap();
                    verify_inclusion(a as u64, b as u64, &leaves[a], &proof, &root(&leaves[..b]))
                        .unwrap();
                    proof
                }
                "consistency" => {
                    let proof = consistency_proof(&leaves[..b], a).unwrap();
                    verify_consistency(
                        a as u64,
                        b as u64,
                        &root(&leaves[..a]),
                        &root(&leaves[..b]),
                        &proof,
                    )
                    .unwrap();
                    proof
                }
                other => panic!("unknown vector kind {other}"),
            };
            let got: Vec<String> = proof.iter().map(hex::encode).collect();
            assert_eq!(got, expected, "{line}");
            checked += 1;
        }
        assert_eq!(checked, 9);
    }

    #[test]
    fn every_inclusion_proof_verifies_and_no_other_does() {
        let leaves: Vec<TreeHash> = (0u32..40).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for n in 1..=leaves.len() {
            let r = root(&leaves[..n]);
            for i in 0..n {
                let proof = inclusion_proof(&leaves[..n], i).unwrap();
                verify_inclusion(i as u64, n as u64, &leaves[i], &proof, &r).unwrap();
                // The wrong leaf, index or root fails. (A proof does not bind the size by
                // itself: where two sizes give leaf `i` the same path it verifies for both;
                // the signed checkpoint binds the size to the root.)
                let other = leaves[(i + 1) % n];
                if n > 1 {
                    assert!(verify_inclusion(i as u64, n as u64, &other, &proof, &r).is_err());
                    assert!(
                        verify_inclusion(((i + 1) % n) as u64, n as u64, &leaves[i], &proof, &r)
                            .is_err()
                    );
                }
                let mut bad = r;
                bad[0] ^= 1;
                assert!(verify_inclusion(i as u64, n as u64, &leaves[i], &proof, &bad).is_err());
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_no_other_does() {
        let leaves: Vec<TreeHash> = (0u32..40).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for n in 1..=leaves.len() {
            let new_root = root(&leaves[..n]);
            for m in 0..=n {
                let old_root = root(&leaves[..m]);
                let proof = consistency_proof(&leaves[..n], m).unwrap();
                verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof).unwrap();
                if m > 0 && m < n {
                    // A forked old tree (one leaf changed) is not extended by this tree.
                    let mut forked = leaves[..m].to_vec();
                    forked[m - 1][0] ^= 1;
                    let forked_root = root(&forked);
                    assert!(
                        verify_consistency(m as u64, n as u64, &forked_root, &new_root, &proof)
                            .is_err()
                    );
                    // Nor is the new root with any leaf changed.
                    let mut changed = leaves[..n].to_vec();
                    changed[n - 1][0] ^= 1;
                    assert!(
                        verify_consistency(m as u64, n as u64, &old_root, &root(&changed), &proof)
                            .is_err()
                    );
                }
            }
        }
        assert!(matches!(
            consistency_proof(&leaves[..3], 4),
            Err(ProofError::Bounds(_))
        ));
    }
}
