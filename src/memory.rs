//! Allocator tuning of the process, kept out of the use cases.

/// Hands memory freed so far back to the OS. Called before an alert evaluation allocates its
/// findings (a hundred thousand rows at a million SKUs): the allocator keeps freed memory per
/// thread arena, so an evaluation landing on another runtime thread than the last one found the
/// last one's memory still held, and the peaks added up (docs/performance.md).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free pages of the allocator's own arenas to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}
