//! An ordered map whose copies share their contents: what lets a commit change a trust's
//! state while readers hold the state of the commit before it.
//!
//! A [`crate::Snapshot`] holds the trust's state behind an `Arc`; the writer's next commit
//! changes that state copy-on-write. With standard `BTreeMap`s, that copy was the whole
//! state, entry by entry: at 100,000 members each commit of a server (which always holds
//! the last commit's snapshot for its readers) copied 100,000 members, sequence numbers
//! and names before changing one of each. A [`SharedMap`] is a persistent tree of small
//! sorted chunks (`immutable-chunkmap`): copying it copies one pointer, and a change copies
//! only the path from the root to the chunk it touches, so a commit costs the same whatever
//! the number of members.

use std::borrow::Borrow;
use std::fmt;
use std::ops::RangeBounds;

use immutable_chunkmap::map::Map;

/// Entries per chunk: a change copies one chunk (and the tree's path to it), a lookup
/// searches one; 64 keeps both small for the 32-byte keys and pointer-sized values the
/// state holds.
const CHUNK: usize = 64;

/// An ordered map (the subset of `BTreeMap`'s interface the state uses) whose clones share
/// their entries: cloning is O(1) and changing a clone copies O(log n) of it, leaving every
/// other clone as it was.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedMap<K: Ord + Clone, V: Clone>(Map<K, V, CHUNK>);

impl<K: Ord + Clone, V: Clone> Default for SharedMap<K, V> {
    fn default() -> Self {
        SharedMap(Map::new())
    }
}

impl<K: Ord + Clone + fmt::Debug, V: Clone + fmt::Debug> fmt::Debug for SharedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Clone, V: Clone> SharedMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when it has no entry.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// The value under `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.0.get(key)
    }

    /// True when `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.0.get(key).is_some()
    }

    /// The value under `key`, to change in place (copying the path to it first if another
    /// clone shares it).
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.0.get_mut_cow(key)
    }

    /// The value under `key`, inserted with `make` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.0.get_or_insert_cow(key, make)
    }

    /// Set `key` to `value`, returning the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.0.insert_cow(key, value)
    }

    /// Remove `key`, returning its value.
    pub fn remove<Q: Ord>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.0.remove_cow(key)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        (&self.0).into_iter()
    }

    /// Entries whose keys fall in `range`, in key order.
    pub fn range<'a, Q, R>(&'a self, range: R) -> impl DoubleEndedIterator<Item = (&'a K, &'a V)>
    where
        Q: Ord + ?Sized + 'a,
        K: Borrow<Q>,
        R: RangeBounds<Q> + 'a,
    {
        self.0.range(range)
    }

    /// Keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

impl<K: Ord + Clone + Borrow<Q>, V: Clone, Q: Ord + ?Sized> std::ops::Index<&Q>
    for SharedMap<K, V>
{
    type Output = V;

    /// The value under `key`; panics if there is none, as `BTreeMap`'s index does.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry under the key")
    }
}

impl<K: Ord + Clone, V: Clone> FromIterator<(K, V)> for SharedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = SharedMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::SharedMap;
    use std::collections::BTreeMap;

    /// Every operation agrees with `BTreeMap`, and a clone taken before the changes keeps
    /// what it had (the property a snapshot relies on).
    #[test]
    fn a_shared_map_behaves_as_an_ordered_map_and_its_clones_are_untouched_by_changes() {
        let mut model = BTreeMap::new();
        let mut map = SharedMap::new();
        let mut seed = 0x2026_1204_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut frozen = Vec::new();
        for step in 0..20_000 {
            let key = next() % 3_000;
            match next() % 4 {
                0 => assert_eq!(map.remove(&key), model.remove(&key)),
                1 => {
                    if let (Some(a), Some(b)) = (map.get_mut(&key), model.get_mut(&key)) {
                        *a += 1;
                        *b += 1;
                    }
                }
                2 => {
                    *map.get_or_insert_with(key, || 7) += 2;
                    *model.entry(key).or_insert(7) += 2;
                }
                _ => assert_eq!(map.insert(key, step), model.insert(key, step)),
            }
            if step % 2_500 == 0 {
                frozen.push((map.clone(), model.clone()));
            }
        }
        assert_eq!(map.len(), model.len());
        assert!(map.iter().eq(model.iter()));
        assert!(map.range(100..200).eq(model.range(100..200)));
        assert_eq!(map.keys().next_back(), model.keys().next_back());
        for (copy, then) in &frozen {
            assert!(copy.iter().eq(then.iter()), "a clone changed with the map");
        }
        let rebuilt: SharedMap<u64, u64> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(rebuilt, map);
        assert_ne!(frozen[0].0, map);
    }
}
