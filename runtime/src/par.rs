//! Work spread over the machine's cores: what audits and replays do to many independent
//! entries at once (signature checks, bylaw calls whose views are already known).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Items handed to a worker at a time: small enough to balance uneven work, large enough
/// that taking them costs nothing next to the work.
const CHUNK: usize = 16;

/// Threads to use: the machine's cores (1 if it cannot tell).
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` of every item, in the items' order, computed on [`workers`] threads (on the calling
/// thread alone when there is one core or few items).
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = workers().min(items.len().div_ceil(CHUNK));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Vec<R>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= items.len() {
                            break done;
                        }
                        let end = (start + CHUNK).min(items.len());
                        done.push((start, items[start..end].iter().map(&f).collect()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    parts.sort_unstable_by_key(|(start, _)| *start);
    parts.into_iter().flat_map(|(_, part)| part).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn maps_in_order_whatever_the_threads() {
        for n in [0, 1, 15, 16, 17, 1000] {
            let items: Vec<u64> = (0..n).collect();
            let squares = super::map(&items, |x| x * x);
            assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        }
    }
}
