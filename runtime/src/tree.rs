//! The log's Merkle tree kept in the store, so that a checkpoint, an inclusion proof and a
//! consistency proof cost O(log n) reads whatever the log's size (instead of re-hashing
//! every entry).
//!
//! The `tree` table holds the hash of every *complete* subtree: level `l`, index `i` is the
//! root of leaves `i·2^l .. (i+1)·2^l`. Appending leaf `n` writes its leaf hash at level 0
//! and, while the new node is a right child, its parent: about two nodes per entry, in the
//! same write transaction as the entry itself. Every subtree the RFC 6962 tree of any size
//! uses is either one of those complete subtrees or a right-edge range made of them
//! ([`range_root`]), so roots and proofs are assembled from O(log n) stored nodes (O(log² n)
//! for a proof's right edge).
//!
//! The table is derived data: `verify` recomputes it from the entries and reports a
//! mismatch, and a store written before it existed is filled in when it is next opened for
//! writing (until then, publishing falls back to hashing the entries).

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::error::StoreError;
use crate::id::EntryHash;
use crate::log::entry_hash_of;
use crate::merkle::{self, TreeHash};
use crate::schema::TREE;

/// The `tree` key of level `level`, index `index`: the level in the top byte.
pub(crate) fn node_key(level: u32, index: u64) -> u64 {
    (u64::from(level) << 56) | index
}

/// The largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The nodes appending leaf number `n` (0-based) with hash `leaf` adds: `(level, index,
/// hash)`, the leaf first. `get` reads an existing node.
pub(crate) fn appended<E>(
    n: u64,
    leaf: TreeHash,
    get: &mut impl FnMut(u32, u64) -> Result<TreeHash, E>,
) -> Result<Vec<(u32, u64, TreeHash)>, E> {
    let mut out = vec![(0, n, leaf)];
    let (mut level, mut index, mut hash) = (0u32, n, leaf);
    while index & 1 == 1 {
        let left = get(level, index - 1)?;
        hash = merkle::node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        out.push((level, index, hash));
    }
    Ok(out)
}

/// The RFC 6962 hash of leaves `start..end`, a range the tree of some size uses (its start
/// is a multiple of the largest power of two not above its length), from stored nodes.
pub(crate) fn range_root<E>(
    get: &mut impl FnMut(u32, u64) -> Result<TreeHash, E>,
    start: u64,
    end: u64,
) -> Result<TreeHash, E> {
    let len = end - start;
    if len == 0 {
        return Ok(merkle::empty_root());
    }
    if len.is_power_of_two() {
        let level = len.trailing_zeros();
        return get(level, start >> level);
    }
    let k = split(len);
    let left = range_root(get, start, start + k)?;
    let right = range_root(get, start + k, end)?;
    Ok(merkle::node_hash(&left, &right))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from stored nodes: the
/// same hashes as [`merkle::inclusion_proof`] over all the leaves.
pub(crate) fn inclusion_proof<E>(
    get: &mut impl FnMut(u32, u64) -> Result<TreeHash, E>,
    size: u64,
    index: u64,
) -> Result<Vec<TreeHash>, E> {
    let mut out = Vec::new();
    let (mut start, mut end, mut m) = (0, size, index);
    // Walk down, collecting siblings; the proof lists them from the leaf up.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            out.push(range_root(get, start + k, end)?);
            end = start + k;
        } else {
            out.push(range_root(get, start, start + k)?);
            start += k;
            m -= k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The consistency proof from the tree of `old` leaves to the tree of `size`, from stored
/// nodes: the same hashes as [`merkle::consistency_proof`] over all the leaves.
pub(crate) fn consistency_proof<E>(
    get: &mut impl FnMut(u32, u64) -> Result<TreeHash, E>,
    size: u64,
    old: u64,
) -> Result<Vec<TreeHash>, E> {
    let mut out = Vec::new();
    if old == 0 || old > size {
        return Ok(out);
    }
    let (mut start, mut end, mut m, mut whole) = (0, size, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                out.push(range_root(get, start, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push(range_root(get, start + k, end)?);
            end = start + k;
        } else {
            out.push(range_root(get, start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// A reader of stored nodes over an open `tree` table.
pub(crate) fn reader<'t, T: ReadableTable<u64, &'static [u8; 32]>>(
    table: &'t T,
) -> impl FnMut(u32, u64) -> Result<TreeHash, StoreError> + 't {
    move |level, index| {
        table
            .get(node_key(level, index))?
            .map(|v| *v.value())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("Merkle tree node {level}/{index} is missing"))
            })
    }
}

/// Leaves the stored tree covers (level-0 nodes are written in order, with their entries).
pub(crate) fn covered(
    table: &impl ReadableTable<u64, &'static [u8; 32]>,
) -> Result<u64, StoreError> {
    Ok(table
        .range(node_key(0, 0)..node_key(1, 0))?
        .next_back()
        .transpose()?
        .map_or(0, |(k, _)| k.value() + 1))
}

/// Append the tree nodes of entries `first..` (given by their hashes, [`entry_hash_of`]
/// their stored bytes) to `table`, in the same write transaction as the entries.
pub(crate) fn append(
    table: &mut redb::Table<'_, u64, &'static [u8; 32]>,
    first: u64,
    entries: impl IntoIterator<Item = EntryHash>,
) -> Result<(), StoreError> {
    for (n, hash) in (first..).zip(entries) {
        let leaf = merkle::leaf_hash(hash.as_slice());
        let nodes = appended(n, leaf, &mut |level, index| {
            table
                .get(node_key(level, index))?
                .map(|v| *v.value())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("Merkle tree node {level}/{index} is missing"))
                })
        })?;
        for (level, index, hash) in nodes {
            table.insert(node_key(level, index), &hash)?;
        }
    }
    Ok(())
}

/// Whether the stored tree is exactly what the log's entries give: every node, no more.
/// `Err(reason)` on the first difference.
pub(crate) fn check(db: &impl ReadableDatabase) -> Result<Result<(), String>, StoreError> {
    let txn = db.begin_read()?;
    let log = txn.open_table(crate::schema::LOG)?;
    let stored = match txn.open_table(TREE) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Ok(())),
        Err(e) => return Err(e.into()),
    };
    if stored.len()? == 0 {
        return Ok(Ok(()));
    }
    let mut expected: std::collections::BTreeMap<u64, TreeHash> = Default::default();
    let mut n = 0u64;
    for row in log.iter()? {
        let (_, v) = row?;
        let leaf = merkle::leaf_hash(entry_hash_of(v.value()).as_slice());
        let nodes = appended(n, leaf, &mut |level, index| {
            Ok::<_, StoreError>(expected[&node_key(level, index)])
        })?;
        for (level, index, hash) in nodes {
            expected.insert(node_key(level, index), hash);
        }
        n += 1;
    }
    if stored.len()? != expected.len() as u64 {
        return Ok(Err(format!(
            "the Merkle tree table holds {} nodes; the log's {n} entries give {}",
            stored.len()?,
            expected.len()
        )));
    }
    for row in stored.iter()? {
        let (k, v) = row?;
        let key = k.value();
        if expected.get(&key) != Some(v.value()) {
            return Ok(Err(format!(
                "Merkle tree node {}/{} does not match the log's entries",
                key >> 56,
                key & ((1 << 56) - 1)
            )));
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn leaves(n: u64) -> Vec<TreeHash> {
        (0..n)
            .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
            .collect()
    }

    fn build(leaves: &[TreeHash]) -> BTreeMap<(u32, u64), TreeHash> {
        let mut nodes = BTreeMap::new();
        for (n, leaf) in leaves.iter().enumerate() {
            let added = appended(n as u64, *leaf, &mut |l, i| Ok::<_, ()>(nodes[&(l, i)])).unwrap();
            for (l, i, h) in added {
                nodes.insert((l, i), h);
            }
        }
        nodes
    }

    #[test]
    fn stored_nodes_give_the_same_roots_and_proofs_as_the_leaves() {
        let all = leaves(70);
        let nodes = build(&all);
        let mut get = |l: u32, i: u64| nodes.get(&(l, i)).copied().ok_or(());
        for size in 0..=70u64 {
            let part = &all[..size as usize];
            assert_eq!(
                range_root(&mut get, 0, size).unwrap(),
                merkle::root(part),
                "root of {size}"
            );
            for index in 0..size {
                assert_eq!(
                    inclusion_proof(&mut get, size, index).unwrap(),
                    merkle::inclusion_proof(part, index as usize).unwrap(),
                    "inclusion of {index} in {size}"
                );
            }
            for old in 0..=size {
                assert_eq!(
                    consistency_proof(&mut get, size, old).unwrap(),
                    merkle::consistency_proof(part, old as usize).unwrap(),
                    "consistency from {old} to {size}"
                );
            }
        }
        // About two nodes per leaf: 70 leaves, 70 + 35 + 17 + 8 + 4 + 2 + 1.
        assert_eq!(nodes.len(), 137);
    }
}
