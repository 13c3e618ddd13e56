//! Cache prefetch hints: the CPU is asked to start loading memory a stage
//! will touch soon, so that the load overlaps other work. A hint never
//! faults and changes nothing the program can observe; on other
//! architectures these functions do nothing.
//!
//! Where they pay off (docs/performance.md, "Session 15"): the connection
//! table's lookahead, the box a new connection will be written into (last
//! written on the reporting thread's core: fetched for writing), and the
//! connections the reporting thread is about to judge (last written on the
//! tracking thread's core).

/// Asks the CPU to start loading the cache line at `at`.
#[inline]
pub fn line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: prefetching is a hint: it never faults and has no effect
        // the program can observe.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// Asks the CPU to start loading the cache lines of the `len` bytes at
/// `start` bytes into `value`.
#[inline]
pub fn part<T>(value: *const T, start: usize, len: usize) {
    let base = value.cast::<u8>();
    let mut at = start & !63;
    while at < start + len {
        line(base.wrapping_add(at));
        at += 64;
    }
}

/// Asks the CPU to start loading every cache line of `value`.
#[inline]
pub fn lines<T>(value: *const T) {
    part(value, 0, std::mem::size_of::<T>());
}

/// Asks the CPU to fetch every cache line of `value` for writing
/// (`PREFETCHW`): a line last written on another core then changes owner
/// before the first store reaches it. Loads it as [`lines`] does on a CPU
/// without the instruction.
#[inline]
pub fn lines_for_writing<T>(value: *const T) {
    #[cfg(target_arch = "x86_64")]
    if has_prefetchw() {
        let base = value.cast::<u8>();
        for offset in (0..std::mem::size_of::<T>()).step_by(64) {
            // SAFETY: PREFETCHW is a hint the CPU supports (checked just
            // above): it never faults, reads or writes no memory the program
            // can observe and leaves the flags alone.
            unsafe {
                std::arch::asm!(
                    "prefetchw [{0}]",
                    in(reg) base.wrapping_add(offset),
                    options(nostack, preserves_flags, readonly)
                );
            }
        }
        return;
    }
    lines(value);
}

/// Whether the CPU has `PREFETCHW` (CPUID leaf 8000_0001h, ECX bit 8,
/// "PRFCHW" / "3DNowPrefetch"), asked once.
#[cfg(target_arch = "x86_64")]
fn has_prefetchw() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: not asked yet, 1: no, 2: yes.
    static HAS: AtomicU8 = AtomicU8::new(0);
    match HAS.load(Ordering::Relaxed) {
        0 => {
            let has = {
                use std::arch::x86_64::__cpuid;
                let top = __cpuid(0x8000_0000).eax;
                top >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0
            };
            HAS.store(if has { 2 } else { 1 }, Ordering::Relaxed);
            has
        }
        known => known == 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_leave_memory_as_it_was() {
        let value = [7u8; 300];
        lines(&value);
        lines_for_writing(&value);
        part(&value, 70, 200);
        line(value.as_ptr());
        assert!(value.iter().all(|&b| b == 7));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_cpuid_answer_is_kept() {
        assert_eq!(has_prefetchw(), has_prefetchw());
    }
}
