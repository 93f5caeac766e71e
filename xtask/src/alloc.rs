//! A counting global allocator (used by the benchmark child to report allocations per invoke).
#![allow(unsafe_code, reason = "a `GlobalAlloc` impl is unsafe by definition")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// Allocations made so far.
pub static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated so far.
pub static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

/// Counts calls to `alloc`/`realloc` and forwards to the system allocator.
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters are plain atomics and do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        ALLOC_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        ALLOC_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
