//! Cache hints. A hint never changes a result: it asks the CPU to start
//! loading memory that an upcoming input will read, so that, in a batch of
//! lines, one input's cache misses overlap the work on the input before it.

/// Starts loading the cache line that holds `value`.
#[inline(always)]
pub(crate) fn line_of<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    safe_arch::prefetch_t0(value);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Starts loading the cache lines of `items`, at most `max_lines` of them.
#[inline]
pub(crate) fn lines_of<T>(items: &[T], max_lines: usize) {
    let per_line = (64 / std::mem::size_of::<T>().max(1)).max(1);
    for line in items.chunks(per_line).take(max_lines) {
        line_of(&line[0]);
    }
}
