//! The allocator and how the process tunes it. mimalloc's purge delay (how
//! long freed memory stays before it goes back to the system) is left at its
//! 10 ms in most modes: a longer one saves the page faults of connections'
//! memory given back and taken again, but raises the million-SYN flood's
//! peak toward 100 MB in the table and the teaching views (docs/performance.md,
//! sessions 6, 10 and 16). The JSON document, whose run costs the most CPU on
//! both cores, keeps freed memory 100 ms ([`keep_freed_memory_longer`]);
//! `MIMALLOC_PURGE_DELAY` sets it for whoever prefers another trade.

/// mimalloc instead of the system allocator: connections are allocated on
/// the tracking thread and freed on the reporting thread, and mimalloc backs
/// its arenas with transparent huge pages where the kernel allows them
/// (`madvise` mode included), so the 5,000+ connections a busy capture keeps
/// open cost far fewer TLB misses. On `big.pcap` the default run went from
/// 0.57 to 0.46 s (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for the rest of the process. They make
/// tracking faster (about 0.1 s of the table's 1.3 s on `big.pcap`), but
/// memory then comes in 2 MiB pages, partly used: about 10 MB more at the
/// peak. A run that keeps every connection's packets spends its time
/// drawing or writing them, and its memory on them: there they are not
/// worth it (docs/performance.md, "Bounded memory, session 7").
pub fn small_pages_only() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and sets a flag of
    // the process; it reads or writes no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`, v2: the sixteenth
/// option, counting from 0), which the Rust bindings do not name.
const MI_OPTION_PURGE_DELAY: i32 = 15;

// mimalloc's C API for its options; linked in with the allocator itself.
extern "C" {
    fn mi_option_get(option: i32) -> std::ffi::c_long;
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

/// Freed memory goes back to the system after 100 ms instead of 10, unless
/// `MIMALLOC_PURGE_DELAY` says otherwise: the JSON document's run then took
/// 0.997 s instead of 1.107 s on `big.pcap` (median of 6), its peaks 76 to
/// 86 MB on issue 14's inputs (docs/performance.md, session 16).
pub fn keep_freed_memory_longer() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: both take and return plain integers; mimalloc's options are
    // atomics, read and set from any thread at any time.
    unsafe {
        if mi_option_get(MI_OPTION_PURGE_DELAY) == 10 {
            mi_option_set(MI_OPTION_PURGE_DELAY, 100);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option's number is the purge delay's: its default is 10 (ms),
    /// as mimalloc documents it, and no option next to it has that default.
    #[test]
    fn the_purge_delay_is_the_option_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: as in `keep_freed_memory_longer`.
        let (before, after) = unsafe {
            (
                mi_option_get(MI_OPTION_PURGE_DELAY - 1),
                mi_option_get(MI_OPTION_PURGE_DELAY + 1),
            )
        };
        assert_ne!(before, 10);
        assert_ne!(after, 10);
        let delay = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert!(delay == 10 || delay == 100, "{delay}");
    }
}
