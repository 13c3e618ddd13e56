//! Several captures read as one, in timestamp order (what `mergecap` does):
//! the files of a `tcpdump -C`/`-G` rotation, or two taps that each saw one
//! direction of the same traffic.
//!
//! Each file is read by [`crate::capture`]'s reader on a thread of its own,
//! which hands its records on in small batches over a bounded channel; the
//! calling thread merges the heads of the files' record streams: the
//! earliest timestamp first, ties broken by file order, then by record
//! order within a file (a file's records are never reordered, even where
//! its clock goes backwards). Memory is bounded by a few batches per file,
//! never a whole file. Each frame keeps its own link type (the files, and
//! pcapng interfaces, may differ), and is numbered in the merged order, as
//! tshark numbers the frames of `mergecap`'s output.

use crate::capture::{self, CaptureError, Frame, ReadSummary};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver};

/// Records handed from a file's thread at a time at most (batches, not
/// single records: handing over each record costs more than the rest of
/// the merge on the benchmark capture)…
const BATCH_FRAMES: usize = 512;
/// …and captured bytes (a batch may exceed it by its last record).
const BATCH_BYTES: usize = 512 * 1024;

/// A record's place in its batch.
struct Meta {
    ts_ns: i64,
    link_type: Option<u32>,
    offset: u64,
    complete: bool,
    /// Its bytes: `data[start..end]` of the batch.
    start: usize,
    end: usize,
}

/// Records of one file, in file order.
#[derive(Default)]
struct Batch {
    frames: Vec<Meta>,
    data: Vec<u8>,
}

/// Where the merge is in one file.
struct Cursor {
    batch: Batch,
    /// The next record of `batch`.
    next: usize,
    rx: Receiver<Batch>,
}

impl Cursor {
    /// The timestamp of the file's next record, waiting for its thread if
    /// the batch is used up; `None` at the file's end.
    fn head(&mut self) -> Option<i64> {
        while self.next == self.batch.frames.len() {
            self.batch = self.rx.recv().ok()?;
            self.next = 0;
        }
        Some(self.batch.frames[self.next].ts_ns)
    }
}

/// Reads every input and hands each frame, with the index of its input, to
/// `on_frame` in timestamp order. Returns what reading each input produced,
/// in input order: an input that cannot be read as a capture is an error
/// there and contributes no frame; the others are merged.
pub fn read_merged<R, F>(inputs: Vec<R>, mut on_frame: F) -> Vec<Result<ReadSummary, CaptureError>>
where
    R: Read + Send,
    F: FnMut(usize, &Frame<'_>),
{
    std::thread::scope(|scope| {
        let mut readers = Vec::with_capacity(inputs.len());
        let mut cursors = Vec::with_capacity(inputs.len());
        for input in inputs {
            // One batch being merged, one waiting: the file's thread reads
            // the next meanwhile.
            let (tx, rx) = sync_channel::<Batch>(1);
            readers.push(scope.spawn(move || {
                let mut batch = Batch::default();
                let read = capture::read_frames(input, |frame| {
                    let start = batch.data.len();
                    batch.data.extend_from_slice(frame.data);
                    batch.frames.push(Meta {
                        ts_ns: frame.ts_ns,
                        link_type: frame.link_type,
                        offset: frame.offset,
                        complete: frame.complete,
                        start,
                        end: batch.data.len(),
                    });
                    if batch.frames.len() >= BATCH_FRAMES || batch.data.len() >= BATCH_BYTES {
                        // The merge only stops taking batches if it panicked.
                        let _ = tx.send(std::mem::take(&mut batch));
                    }
                });
                if !batch.frames.is_empty() {
                    let _ = tx.send(batch);
                }
                read
            }));
            cursors.push(Cursor {
                batch: Batch::default(),
                next: 0,
                rx,
            });
        }
        // The head of each file not yet at its end: (timestamp, file).
        let mut heads = BinaryHeap::with_capacity(cursors.len());
        for (file, cursor) in cursors.iter_mut().enumerate() {
            if let Some(ts) = cursor.head() {
                heads.push(Reverse((ts, file)));
            }
        }
        let mut number = 0u64;
        while let Some(Reverse((_, file))) = heads.pop() {
            let cursor = &mut cursors[file];
            let meta = &cursor.batch.frames[cursor.next];
            number += 1;
            let frame = Frame {
                number,
                ts_ns: meta.ts_ns,
                link_type: meta.link_type,
                data: &cursor.batch.data[meta.start..meta.end],
                offset: meta.offset,
                complete: meta.complete,
            };
            on_frame(file, &frame);
            cursor.next += 1;
            if let Some(ts) = cursor.head() {
                heads.push(Reverse((ts, file)));
            }
        }
        readers
            .into_iter()
            .map(|reader| {
                reader
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian microsecond pcap of Ethernet records, each one byte
    /// long (its value) at the given time in microseconds.
    fn pcap(records: &[(u32, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for &(us, byte) in records {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&us.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.push(byte);
        }
        out
    }

    /// (file, frame number, its byte) of each frame, and what was read.
    type Merged = (
        Vec<(usize, u64, u8)>,
        Vec<Result<ReadSummary, CaptureError>>,
    );

    fn merged(inputs: &[Vec<u8>]) -> Merged {
        let mut seen = Vec::new();
        let read = read_merged(inputs.iter().map(|b| &b[..]).collect(), |file, f| {
            seen.push((file, f.number, f.data[0]))
        });
        (seen, read)
    }

    #[test]
    fn records_come_in_time_order_ties_by_file_then_record() {
        let a = pcap(&[(1, 10), (5, 11), (5, 12), (9, 13)]);
        let b = pcap(&[(0, 20), (5, 21), (7, 22)]);
        let (seen, read) = merged(&[a, b]);
        let order: Vec<u8> = seen.iter().map(|s| s.2).collect();
        assert_eq!(order, [20, 10, 11, 12, 21, 22, 13]);
        let numbers: Vec<u64> = seen.iter().map(|s| s.1).collect();
        assert_eq!(numbers, (1..=7).collect::<Vec<_>>());
        assert_eq!(read[0].as_ref().unwrap().frames, 4);
        assert_eq!(read[1].as_ref().unwrap().frames, 3);
    }

    #[test]
    fn a_file_keeps_its_order_where_its_clock_goes_back() {
        let a = pcap(&[(5, 1), (2, 2)]);
        let b = pcap(&[(3, 3)]);
        let (seen, _) = merged(&[a, b]);
        let order: Vec<u8> = seen.iter().map(|s| s.2).collect();
        assert_eq!(order, [3, 1, 2]);
    }

    #[test]
    fn many_batches_and_an_unreadable_input() {
        let records: Vec<(u32, u8)> = (0..1000).map(|i| (i * 2, (i % 200) as u8)).collect();
        let odd: Vec<(u32, u8)> = (0..1000).map(|i| (i * 2 + 1, 255)).collect();
        let (seen, read) = merged(&[pcap(&records), b"not a capture".to_vec(), pcap(&odd)]);
        assert_eq!(seen.len(), 2000);
        assert!(seen.iter().step_by(2).all(|s| s.0 == 0));
        assert!(seen.iter().skip(1).step_by(2).all(|s| s.0 == 2));
        assert!(read[1].is_err());
    }
}
