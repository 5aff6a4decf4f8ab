//! Allocation counting, by thread role: which of the process's threads
//! (client, server, receiver) allocated what.

use super::*;

/// Every thread not named below: the OpenTelemetry SDK's batch thread,
/// the exporter's runtime, flush helpers, the (idle) main thread.
pub(crate) const ROLE_CLIENT: u8 = 0;
pub(crate) const ROLE_SERVER: u8 = 1;
pub(crate) const ROLE_RECEIVER: u8 = 2;
/// The client's runtime thread: the request path.
pub(crate) const ROLE_REQUESTS: u8 = 3;

thread_local! {
    pub(crate) static ROLE: Cell<u8> = const { Cell::new(ROLE_CLIENT) };
}

/// One cache line per counter, so the cores do not share one.
#[repr(align(64))]
pub(crate) struct Counter(pub(crate) AtomicU64);

pub(crate) static ALLOCS: [Counter; 4] = [
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
];
pub(crate) static REALLOCS: [Counter; 4] = [
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
    Counter(AtomicU64::new(0)),
];

pub(crate) fn count(counters: &[Counter; 4], role: u8) -> u64 {
    counters[role as usize].0.load(Ordering::Relaxed)
}

pub(crate) fn role() -> usize {
    ROLE.try_with(|r| r.get()).unwrap_or(ROLE_CLIENT) as usize
}

pub(crate) struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS[role()].0.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS[role()].0.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS[role()].0.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
pub(crate) static GLOBAL: Counting = Counting;
