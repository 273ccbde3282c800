//! Keeping peak memory flat with glibc's allocator.
//!
//! glibc raises its mmap threshold each time a large block is freed, after which the multi-MiB
//! transfer buffers come from its heaps and stay resident; with one heap per thread this added
//! about 25 MiB to a download's peak in the benchmark. A fixed threshold sends them back to the
//! system when freed. musl's allocator (used by the packaged buildpack) needs no tuning.

/// Fixes glibc's mmap threshold at 256 KiB and its heaps at 2. Call first thing in `main`,
/// before other threads start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn limit_fragmentation() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread
    // exists, as glibc's documentation asks.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Nothing to do outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn limit_fragmentation() {}
