//! The allocator and how the process tunes it. mimalloc's purge delay (how
//! long freed memory stays before it goes back to the system) is left at its
//! 10 ms: a longer one saves the page faults of connections' memory given
//! back and taken again, but raises the million-SYN flood's peak above
//! 100 MB (docs/performance.md, sessions 6 and 10); `MIMALLOC_PURGE_DELAY`
//! sets it for whoever prefers the speed.

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
