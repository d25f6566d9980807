//! The guest's allocator: a bump arena.
//!
//! A bylaw instance lives for one call: the host instantiates the component, calls
//! `evaluate`, `describe` or `migrate` once and drops the whole instance with its memory. So
//! nothing a bylaw allocates ever needs to be given back before the instance goes, and a
//! general-purpose allocator's bookkeeping (free lists, size classes, coalescing) is fuel
//! spent for nothing. [`Arena`] hands out memory by moving one pointer forward through
//! linear memory, growing the memory a page run at a time; it frees only the most recent
//! allocation (so a temporary that is dropped at once costs nothing) and grows the most
//! recent allocation in place (so a `Vec` or `String` being pushed to rarely copies).
//!
//! It is the global allocator of every bylaw built for `wasm32` with this SDK (feature
//! `arena`, on by default); a native build (tests, `cltd scenario --native`) keeps the
//! system allocator. The host's memory limit still bounds the instance: when growing the
//! memory fails, allocation fails and the bylaw traps, as with any allocator.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

/// Bytes in a wasm page.
const PAGE: usize = 64 * 1024;

/// A bump allocator over the end of linear memory. See the [module docs](self).
///
/// Its state is two addresses: the next free byte and the end of memory as far as the
/// arena has grown it (both 0 until the first allocation). Wasm instances of a bylaw are
/// single-threaded; the atomics are plain loads and stores there.
#[derive(Debug)]
pub struct Arena {
    next: AtomicUsize,
    end: AtomicUsize,
}

impl Arena {
    /// An arena that has not allocated yet.
    pub const fn new() -> Arena {
        Arena {
            next: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
        }
    }

    /// Make sure memory reaches `top`, growing it if needed. False if it cannot grow.
    fn reach(&self, top: usize) -> bool {
        let end = self.end.load(Ordering::Relaxed);
        if top <= end {
            return true;
        }
        let pages = (top - end).div_ceil(PAGE);
        if grow(pages).is_none() {
            return false;
        }
        self.end.store(end + pages * PAGE, Ordering::Relaxed);
        true
    }

    /// The first free address: on first use, the linker's heap base (past the stack and
    /// static data), so the memory the module was instantiated with serves before any is
    /// grown. cltd's guest recipe links bylaws with an initial heap for this: a call that
    /// stays within it never grows memory, and growing costs the host two page-protection
    /// changes per call (one to grow, one to shrink the pooled slot back for the next).
    fn start(&self) -> usize {
        let next = self.next.load(Ordering::Relaxed);
        if next != 0 {
            return next;
        }
        self.end.store(current_size(), Ordering::Relaxed);
        heap_base()
    }
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

// SAFETY: every block handed out lies in linear memory the arena has grown for it, is aligned
// as asked, and does not overlap any other live block: `next` only moves forward past a block
// once it is handed out, and moves back only over the most recent block when that block is
// freed or resized.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let next = self.start();
        let Some(addr) = next.checked_next_multiple_of(layout.align()) else {
            return core::ptr::null_mut();
        };
        let Some(top) = addr.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reach(top) {
            return core::ptr::null_mut();
        }
        self.next.store(top, Ordering::Relaxed);
        addr as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Only the most recent block can be given back; the rest goes with the instance.
        let addr = ptr as usize;
        if addr + layout.size() == self.next.load(Ordering::Relaxed) {
            self.next.store(addr, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let addr = ptr as usize;
        if addr + layout.size() == self.next.load(Ordering::Relaxed) {
            // The most recent block grows or shrinks where it is.
            let Some(top) = addr.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !self.reach(top) {
                return core::ptr::null_mut();
            }
            self.next.store(top, Ordering::Relaxed);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the layout is the caller's, with a size they ask for; the old block is
        // live for `layout.size()` bytes and the new one does not overlap it.
        unsafe {
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return core::ptr::null_mut();
            };
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size());
            }
            new
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn current_size() -> usize {
    core::arch::wasm32::memory_size(0) * PAGE
}

/// The first byte past the stack and static data, as the linker placed them.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
fn heap_base() -> usize {
    unsafe extern "C" {
        /// Defined by the wasm linker (lld): the first address free for a heap.
        static __heap_base: u8;
    }
    // Only the address is taken; the byte there is never read.
    core::ptr::addr_of!(__heap_base) as usize
}

#[cfg(target_arch = "wasm32")]
fn grow(pages: usize) -> Option<()> {
    (core::arch::wasm32::memory_grow(0, pages) != usize::MAX).then_some(())
}

// Natively the arena is never installed (the system allocator serves), but it compiles and is
// unit-tested over a fixed buffer.
#[cfg(not(target_arch = "wasm32"))]
fn current_size() -> usize {
    native::base()
}

#[cfg(not(target_arch = "wasm32"))]
fn heap_base() -> usize {
    native::heap_base()
}

#[cfg(not(target_arch = "wasm32"))]
fn grow(pages: usize) -> Option<()> {
    native::grow(pages)
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    //! A stand-in "linear memory" for the arena's native unit tests: one thread-local
    //! buffer of a few pages, the first of which starts with half a page of "static data"
    //! and is otherwise free heap.
    use std::cell::Cell;

    use super::PAGE;

    const PAGES: usize = 8;

    #[repr(align(65536))]
    struct Memory([u8; PAGES * PAGE]);

    thread_local! {
        static MEMORY: Box<Memory> = Box::new(Memory([0; PAGES * PAGE]));
        static GROWN: Cell<usize> = const { Cell::new(1) };
    }

    pub(super) fn base() -> usize {
        MEMORY.with(|m| m.0.as_ptr() as usize) + GROWN.with(Cell::get) * PAGE
    }

    pub(super) fn heap_base() -> usize {
        MEMORY.with(|m| m.0.as_ptr() as usize) + PAGE / 2
    }

    #[cfg(test)]
    pub(super) fn grown() -> usize {
        GROWN.with(Cell::get)
    }

    pub(super) fn grow(pages: usize) -> Option<()> {
        GROWN.with(|g| (g.get() + pages <= PAGES).then(|| g.set(g.get() + pages)))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn bumps_reuses_the_last_block_and_fails_when_memory_cannot_grow() {
        let arena = Arena::new();
        // SAFETY: the arena's blocks lie in the test's own buffer; layouts are valid.
        unsafe {
            // The initial memory's free part serves first: nothing grows.
            let first = arena.alloc(Layout::from_size_align(PAGE / 4, 1).unwrap());
            assert_eq!(first as usize, native::heap_base());
            assert_eq!(native::grown(), 1, "served from the initial memory");
            let a = arena.alloc(Layout::from_size_align(3, 1).unwrap());
            let b = arena.alloc(Layout::from_size_align(8, 8).unwrap());
            assert_eq!(b as usize % 8, 0, "aligned");
            assert!(b as usize >= a as usize + 3, "no overlap");
            // The most recent block grows in place; an older one moves.
            let b2 = arena.realloc(b, Layout::from_size_align(8, 8).unwrap(), 100);
            assert_eq!(b2, b);
            b2.write_bytes(7, 100);
            let a2 = arena.realloc(a, Layout::from_size_align(3, 1).unwrap(), 10);
            assert!(a2 as usize >= b as usize + 100, "moved past the live block");
            // Freeing the most recent block gives it back.
            arena.dealloc(a2, Layout::from_size_align(10, 1).unwrap());
            let c = arena.alloc(Layout::from_size_align(1, 1).unwrap());
            assert_eq!(c, a2);
            assert_eq!(*b2.add(99), 7, "untouched by later blocks");
            // Growing past the pages there are fails cleanly.
            let huge = arena.alloc(Layout::from_size_align(64 * PAGE, 1).unwrap());
            assert!(huge.is_null());
            // And the arena goes on serving what fits.
            let d = arena.alloc(Layout::from_size_align(2 * PAGE, 16).unwrap());
            assert!(!d.is_null());
        }
    }
}
