//! Temporary files for the spools (`connection/packets.rs`, `run/spool.rs`).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;

/// A new temporary file, opened with `options` (`create_new` added: never
/// one that exists already, nor a link), named after the process, `tag` and
/// a number the process never gives twice, so that a name removed while
/// its file is still read is not taken again by another spool of the run.
pub fn create(tag: &str, options: &mut OpenOptions) -> io::Result<(File, PathBuf)> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    options.create_new(true);
    let mut attempt = 0;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tcpstate-{}-{tag}-{n}.spool", std::process::id()));
        match options.open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_never_given_twice() {
        let (_, a) = super::create("test", std::fs::File::options().write(true)).unwrap();
        std::fs::remove_file(&a).unwrap();
        let (_, b) = super::create("test", std::fs::File::options().write(true)).unwrap();
        assert_ne!(a, b);
        std::fs::remove_file(&b).unwrap();
    }
}
