//! Stopping a run early (Ctrl-C): reading stops as if every input ended
//! there, and the run writes its results for what was read, as tcpdump
//! prints its summary when interrupted.
//!
//! [`interrupt`] only sets a flag, so a signal handler may call it. Inputs
//! are read through [`Input`], which checks the flag before each read. A
//! pipe or a terminal (standard input, a FIFO) is read on a thread of its
//! own, so that a read blocked waiting for data does not keep the run from
//! stopping; what that thread has read already is still analyzed.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Stops the run's reading: each input ends where it is. Safe to call from
/// a signal handler (it only stores to an atomic).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Makes Ctrl-C (SIGINT) end the reading as if the inputs ended there: the
/// results of what was read are written as usual (with the exit status
/// they call for); a second Ctrl-C ends the process at once (status 130).
/// For a command-line program: it replaces the process's SIGINT handler.
#[cfg(unix)]
pub fn stop_reading_on_ctrl_c() {
    extern "C" fn on_sigint(_: libc::c_int) {
        if interrupted() {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
        interrupt();
    }
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only stores to an atomic, or calls _exit.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Ctrl-C ends the process as usual where signals are not handled.
#[cfg(not(unix))]
pub fn stop_reading_on_ctrl_c() {}

/// What a pipe is read in at a time, and the chunks read ahead at most.
const CHUNK: usize = 1 << 20;
const AHEAD: usize = 4;
/// How often a read waiting on a pipe looks at the flag.
const POLL: Duration = Duration::from_millis(50);

/// An input that ends when the run is interrupted.
pub(super) struct Input<R> {
    source: Source<R>,
    /// Bytes handed on so far.
    pub read: u64,
    /// Whether it ended because of an interruption (not at its own end).
    pub stopped: bool,
}

enum Source<R> {
    /// Read here (a regular file, which never blocks for long).
    Direct(R),
    /// Read on a thread of its own (a pipe), in chunks.
    Pumped {
        chunks: Receiver<io::Result<Vec<u8>>>,
        current: Vec<u8>,
        at: usize,
    },
}

impl<R: Read> Input<R> {
    pub fn direct(input: R) -> Input<R> {
        Input {
            source: Source::Direct(input),
            read: 0,
            stopped: false,
        }
    }
}

impl<R: Read + Send + 'static> Input<R> {
    /// `input` read on a thread of its own, which is left behind if the
    /// run stops while it waits for data (the process ends anyway).
    pub fn pumped(mut input: R) -> Input<R> {
        let (send, chunks) = sync_channel(AHEAD);
        std::thread::spawn(move || loop {
            let mut chunk = vec![0; CHUNK];
            let read = loop {
                match input.read(&mut chunk) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let end = !matches!(read, Ok(n) if n > 0);
            let sent = read.map(|n| {
                chunk.truncate(n);
                chunk
            });
            if send.send(sent).is_err() || end {
                break;
            }
        });
        Input {
            source: Source::Pumped {
                chunks,
                current: Vec::new(),
                at: 0,
            },
            read: 0,
            stopped: false,
        }
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.source {
            Source::Direct(input) => {
                if interrupted() {
                    self.stopped = true;
                    return Ok(0);
                }
                // An input under this one (a pumped pipe under a decoder)
                // may have ended because of the interruption, and a decoder
                // cut short by it fails: either is the interruption's end.
                match input.read(buf) {
                    Ok(0) | Err(_) if interrupted() => {
                        self.stopped = true;
                        return Ok(0);
                    }
                    read => read?,
                }
            }
            Source::Pumped {
                chunks,
                current,
                at,
            } => {
                while *at == current.len() {
                    // Once interrupted, what was read already is still
                    // handed on, then the input ends.
                    let next = if interrupted() {
                        chunks.try_recv().map_err(|_| RecvTimeoutError::Timeout)
                    } else {
                        chunks.recv_timeout(POLL)
                    };
                    match next {
                        Ok(chunk) => {
                            *current = chunk?;
                            *at = 0;
                            if current.is_empty() {
                                return Ok(0);
                            }
                        }
                        Err(RecvTimeoutError::Timeout) if !interrupted() => {}
                        Err(RecvTimeoutError::Timeout) => {
                            self.stopped = true;
                            return Ok(0);
                        }
                        Err(RecvTimeoutError::Disconnected) => return Ok(0),
                    }
                }
                let n = buf.len().min(current.len() - *at);
                buf[..n].copy_from_slice(&current[*at..*at + n]);
                *at += n;
                n
            }
        };
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pumped_input_hands_on_everything_to_its_end() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let mut input = Input::pumped(io::Cursor::new(data.clone()));
        let mut got = Vec::new();
        input.read_to_end(&mut got).unwrap();
        assert!(got == data);
        assert_eq!(input.read, data.len() as u64);
        assert!(!input.stopped);
    }
}
