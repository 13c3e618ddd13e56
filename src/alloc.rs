//! The allocator and how the process tunes it.

use std::ffi::{c_int, c_long};

/// mimalloc instead of the system allocator: connections are allocated on
/// the tracking thread and freed on the reporting thread, and mimalloc backs
/// its arenas with transparent huge pages where the kernel allows them
/// (`madvise` mode included), so the 5,000+ connections a busy capture keeps
/// open cost far fewer TLB misses. On `big.pcap` the default run went from
/// 0.57 to 0.46 s (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mimalloc.h` (v2): how long freed
/// memory stays with the process before it is given back to the system.
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// The purge delay the process runs with, in milliseconds.
const PURGE_DELAY_MS: c_long = 1000;

extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Freed memory is given back to the system after a second unused instead
/// of mimalloc's 10 ms. Connections finish and new ones open all the time:
/// with 10 ms, the pages of the connections just handed over were given
/// back and faulted in again (zeroed by the kernel) for the next ones,
/// about 1,100 faults and a tenth of the tracking thread's time on
/// `big.pcap`; with a second, 200 faults (docs/performance.md, "Session
/// 10"). A capture's burst of connections still gives its memory back a
/// second after it ends. `MIMALLOC_PURGE_DELAY` in the environment wins.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set takes two integers and sets one of
        // mimalloc's options, which it reads atomically; any value is valid.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        // SAFETY: as in `tune`; mi_option_get reads one option.
        let get = || unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // mimalloc's default purge delay: the number names that option.
            assert_eq!(get(), 10);
            tune();
            assert_eq!(get(), PURGE_DELAY_MS);
        }
    }
}
