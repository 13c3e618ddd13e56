//! Reading capture files: pcap (µs/ns, either byte order) and pcapng
//! (several sections and interfaces), detected from the content.
//!
//! One read loop in the pcap-parser style: `next()` → handle → `consume()`;
//! on `Incomplete` refill, guarded against making no progress. The reader
//! streams: only one buffer of [`BUFFER_SIZE`] bytes is held at a time.

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use serde::Serialize;
use std::io::{self, Read};

/// Size of the read buffer, and so the largest record that can be read.
pub const BUFFER_SIZE: usize = 1 << 20;

/// The largest record a pcap file may hold whatever its snaplen says:
/// libpcap's maximum snaplen (256 KiB). A record that claims more than both
/// is a corrupt length field, and reading stops there.
pub const MAX_RECORD: u32 = 262_144;

/// The captured length of the pcap record header at the start of `data`.
fn legacy_caplen(data: &[u8], big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = data.get(8..12)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

/// The container format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CaptureFormat {
    Pcap,
    Pcapng,
}

impl CaptureFormat {
    /// Detects the format from the first four bytes of the file.
    pub fn detect(magic: &[u8]) -> Option<CaptureFormat> {
        match magic {
            [0x0a, 0x0d, 0x0d, 0x0a, ..] => Some(CaptureFormat::Pcapng),
            [0xd4, 0xc3, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0xc3, 0xd4, ..]
            | [0x4d, 0x3c, 0xb2, 0xa1, ..]
            | [0xa1, 0xb2, 0x3c, 0x4d, ..] => Some(CaptureFormat::Pcap),
            _ => None,
        }
    }
}

/// One captured frame, borrowed from the read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based position among the packet records of the file, as Wireshark numbers it.
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Link type of the interface the frame was captured on; `None` when a
    /// pcapng packet names an interface that was never described.
    pub link_type: Option<u32>,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
    /// Byte offset of the frame's record in the file.
    pub offset: u64,
    /// Whether the capture kept the whole frame (captured length equals the
    /// length on the wire), so that no header may claim more.
    pub complete: bool,
}

/// Why reading stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ReadStop {
    /// Byte offset in the file of the record that could not be read.
    pub offset: u64,
    /// Number the frame at that offset would have had.
    pub frame: u64,
    /// `true` when the file simply ends inside a record (cut short).
    pub truncated: bool,
    /// What was wrong, for people.
    pub message: String,
}

/// Something wrong in the file that reading went on past: a malformed
/// pcapng block whose length is sound (skipped; reading resumes at the next
/// block), or timestamps that cannot be real.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ReadNotice {
    /// Byte offset in the file of the (first) record concerned.
    pub offset: u64,
    /// Number of the (first) frame concerned, or that the next frame has.
    pub frame: u64,
    /// What was wrong and what reading did about it, for people.
    pub message: String,
}

/// Malformed blocks told apart in a summary's notices; the rest are counted
/// in one last notice.
const MAX_NOTICES: usize = 16;

/// What reading a whole capture produced, besides the frames themselves.
#[derive(Debug, Clone, Serialize)]
pub struct ReadSummary {
    pub format: CaptureFormat,
    /// Link types of the file's interfaces, in first-seen order.
    pub link_types: Vec<u32>,
    /// Packet records read.
    pub frames: u64,
    /// Set when the file could not be read to its end.
    pub stop: Option<ReadStop>,
    /// What reading went on past, in file order.
    pub notices: Vec<ReadNotice>,
}

/// Errors that prevent reading a file as a capture at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
    #[error("the file is empty")]
    Empty,
    #[error("not a pcap or pcapng file (it starts with bytes {0})")]
    NotACapture(String),
    #[error("the file ends inside its {0} header")]
    ShortHeader(&'static str),
    #[error("invalid {format} file header: {detail}")]
    BadHeader {
        format: &'static str,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    /// Bytes of frame check sequence at the end of each frame (if_fcslen).
    fcs: usize,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp (if_tsoffset).
    offset_s: i64,
}

/// The link type of a pcap file header's link-type field, and the bytes of
/// frame check sequence it says end each frame: the upper bits of the field
/// carry an FCS length in 16-bit words (bits 28–31), valid when bit 26 is set.
fn legacy_link_type(field: u32) -> (u32, usize) {
    let fcs = if field & 0x0400_0000 != 0 {
        (field >> 28) as usize * 2
    } else {
        0
    };
    (field & 0x03ff_ffff, fcs)
}

/// A pcapng interface's `if_fcslen` option (code 13): FCS bytes per frame.
/// The specification counts bits, some writers bytes; only the lengths an
/// FCS has (2 or 4 bytes) are taken.
fn if_fcslen(options: &[pcap_parser::PcapNGOption<'_>]) -> usize {
    let value = options
        .iter()
        .find(|o| o.code.0 == 13)
        .and_then(|o| o.as_bytes().ok()?.first().copied());
    match value {
        Some(n @ (2 | 4)) => usize::from(n),
        Some(n @ (16 | 32)) => usize::from(n / 8),
        _ => 0,
    }
}

/// The frame without its trailing FCS: only a frame captured whole ends
/// with one.
fn without_fcs(data: &[u8], complete: bool, fcs: usize) -> &[u8] {
    if complete && fcs > 0 {
        &data[..data.len().saturating_sub(fcs)]
    } else {
        data
    }
}

/// Units per second for a pcapng `if_tsresol` value, or `None` if it is out of range.
fn units_per_sec(tsresol: u8) -> Option<u64> {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    }
}

/// Nanoseconds since 1970 of a pcapng timestamp; `Err` with the nearest
/// value that can be (0 or `i64::MAX`, in 2262) when it falls outside.
fn to_ns(ts: u64, units_per_sec: u64, offset_s: i64) -> Result<i64, i64> {
    let ns = i128::try_from(u128::from(ts) * 1_000_000_000 / u128::from(units_per_sec.max(1)))
        .unwrap_or(i128::MAX);
    let ns = ns.saturating_add(i128::from(offset_s) * 1_000_000_000);
    i64::try_from(ns)
        .ok()
        .filter(|&ns| ns >= 0)
        .ok_or(if ns < 0 { 0 } else { i64::MAX })
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads `prefix.len()` bytes or up to end of input; returns how many were read.
fn read_prefix(input: &mut impl Read, prefix: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < prefix.len() {
        match input.read(&mut prefix[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// What the reader hands over.
#[derive(Debug)]
pub enum Event<'a, 'b> {
    Frame(&'b Frame<'a>),
    /// Every record in the buffer has been handed over, and reading more
    /// may wait for the input (a live stream): work held back should be
    /// done now.
    Waiting,
}

/// Reads every frame of a capture and hands it to `on_frame`.
///
/// A file that breaks in the middle is not an error: every complete record
/// before the break is delivered, and [`ReadSummary::stop`] says where and why
/// reading stopped. Only a file that cannot be read as a capture at all
/// returns `Err`.
pub fn read_frames<R, F>(input: R, mut on_frame: F) -> Result<ReadSummary, CaptureError>
where
    R: Read + Send,
    F: FnMut(&Frame<'_>),
{
    read_events(input, |event| {
        if let Event::Frame(frame) = event {
            on_frame(frame);
        }
    })
}

/// [`read_frames`], also telling when the reader is about to wait for input.
pub fn read_events<R, F>(input: R, mut on_event: F) -> Result<ReadSummary, CaptureError>
where
    R: Read + Send,
    F: FnMut(Event<'_, '_>),
{
    let (format, mut reader) = open_reader(input)?;
    let mut records = Records::new(format);
    let mut stalls = 0u32;
    loop {
        let offset = reader.consumed() as u64;
        // The common case first: the whole pcap records in the buffer.
        let mut used = 0;
        let data = reader.data();
        while let Some((len, frame)) = records.legacy_whole(&data[used..], offset + used as u64) {
            on_event(Event::Frame(&frame));
            used += len;
        }
        if used > 0 {
            stalls = 0;
            reader.consume_noshift(used);
            continue;
        }
        if let Some(stop) = records.oversized(reader.data(), offset) {
            records.summary.stop = Some(stop);
            break;
        }
        let failed = match reader.next() {
            Ok((len, block)) => {
                stalls = 0;
                if let Some(frame) = records.frame(block, offset) {
                    on_event(Event::Frame(&frame));
                }
                Ok(len)
            }
            Err(PcapError::Incomplete(_)) => Err(None),
            Err(e) => Err(Some((
                describe(&e),
                stop_at(&e, offset, records.summary.frames),
            ))),
        };
        let consumed = match failed {
            Ok(len) => len,
            // A pcapng block that is all there, with a sound length, but
            // whose contents could not be parsed (a length inside it runs
            // past it): skipped, and reading goes on with the next block.
            Err(why) if records.whole_block(reader.data()).is_some() => {
                let len = records.whole_block(reader.data()).unwrap_or(0);
                let why = why.map_or_else(|| "its contents run past its end".into(), |w| w.0);
                records.malformed_block(offset, len, &why);
                len
            }
            Err(None) => {
                on_event(Event::Waiting);
                match refill(reader.as_mut(), &mut stalls, offset, records.summary.frames) {
                    Some(stop) => {
                        records.summary.stop = Some(stop);
                        break;
                    }
                    None => continue,
                }
            }
            Err(Some((_, stop))) => {
                records.summary.stop = stop;
                break;
            }
        };
        // Data moves to the front of the buffer only when it is refilled
        // (a partial record at most), not each time half of it is consumed.
        reader.consume_noshift(consumed);
    }
    records.finish_notices();
    Ok(records.summary)
}

/// A pcap-parser reader over `input`, after detecting the format ourselves
/// and reading exactly the file header: a pipe may deliver the header in
/// pieces, which pcap-parser's one-read probe would misjudge, and reading
/// more than the header would hold back a live stream.
fn open_reader<'r, R>(
    mut input: R,
) -> Result<(CaptureFormat, Box<dyn PcapReaderIterator + Send + 'r>), CaptureError>
where
    R: Read + Send + 'r,
{
    let mut prefix = vec![0u8; 12];
    let got = read_prefix(&mut input, &mut prefix)?;
    if got == 0 {
        return Err(CaptureError::Empty);
    }
    let format = CaptureFormat::detect(&prefix[..got])
        .ok_or_else(|| CaptureError::NotACapture(hex_prefix(&prefix[..got])))?;
    let name = match format {
        CaptureFormat::Pcap => "pcap",
        CaptureFormat::Pcapng => "pcapng",
    };
    if got < 12 {
        return Err(CaptureError::ShortHeader(name));
    }
    let header_len = match format {
        CaptureFormat::Pcap => 24,
        CaptureFormat::Pcapng => {
            section_header_len(&prefix).ok_or_else(|| CaptureError::BadHeader {
                format: name,
                detail: "section header block with an invalid byte-order magic or length".into(),
            })?
        }
    };
    prefix.resize(header_len, 0);
    let more = read_prefix(&mut input, &mut prefix[12..])?;
    if 12 + more < header_len {
        return Err(CaptureError::ShortHeader(name));
    }
    let source = io::Cursor::new(prefix).chain(input);
    let bad_header = |e: PcapError<&'static [u8]>| CaptureError::BadHeader {
        format: name,
        detail: describe(&e),
    };
    let reader: Box<dyn PcapReaderIterator + Send + 'r> = match format {
        CaptureFormat::Pcap => {
            Box::new(LegacyPcapReader::new(BUFFER_SIZE, source).map_err(bad_header)?)
        }
        CaptureFormat::Pcapng => {
            Box::new(PcapNGReader::new(BUFFER_SIZE, source).map_err(bad_header)?)
        }
    };
    Ok((format, reader))
}

/// What the read loop keeps from one record to the next.
struct Records {
    summary: ReadSummary,
    /// pcap: whether timestamps count nanoseconds rather than microseconds.
    legacy_nanos: bool,
    /// pcap: the file's link type.
    legacy_link: Option<u32>,
    /// pcap: bytes of frame check sequence ending each frame, from the
    /// link-type field's FCS bits.
    legacy_fcs: usize,
    /// pcap: record headers are checked before parsing, with the file's byte
    /// order (`true`: big-endian) against the largest record the file may
    /// hold (its snaplen or [`MAX_RECORD`], whichever is larger).
    legacy_record: Option<(bool, u32)>,
    /// pcap with 16-byte record headers (not the "modified" format): records
    /// are parsed here, straight from the reader's buffer
    /// ([`Records::legacy_whole`]), with the same results as pcap-parser's.
    legacy_direct: bool,
    /// pcapng: the interfaces of the current section.
    interfaces: Vec<Interface>,
    /// pcapng: whether the current section is big-endian.
    ng_big_endian: bool,
    /// Malformed pcapng blocks skipped.
    malformed_blocks: u64,
    /// Frames whose timestamps cannot be real, and the notice of the first.
    impossible_ts: u64,
    first_impossible_ts: Option<ReadNotice>,
}

impl Records {
    fn new(format: CaptureFormat) -> Records {
        Records {
            summary: ReadSummary {
                format,
                link_types: Vec::new(),
                frames: 0,
                stop: None,
                notices: Vec::new(),
            },
            legacy_nanos: false,
            legacy_link: None,
            legacy_fcs: 0,
            legacy_record: None,
            legacy_direct: false,
            interfaces: Vec::new(),
            ng_big_endian: false,
            malformed_blocks: 0,
            impossible_ts: 0,
            first_impossible_ts: None,
        }
    }

    /// pcapng: the length of the block at the start of `data` if it is all
    /// there and its length is sound: at least 12 bytes, a multiple of 4,
    /// and repeated at its end.
    fn whole_block(&self, data: &[u8]) -> Option<usize> {
        if self.summary.format != CaptureFormat::Pcapng {
            return None;
        }
        let word = |at: usize, big_endian: bool| -> Option<u32> {
            let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            Some(if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            })
        };
        // A section header says its own byte order.
        let big_endian = match data.get(..4)? {
            [0x0a, 0x0d, 0x0d, 0x0a] => data.get(8..12)? == [0x1a, 0x2b, 0x3c, 0x4d],
            _ => self.ng_big_endian,
        };
        let len = word(4, big_endian)? as usize;
        let sound = len >= 12
            && len % 4 == 0
            && len <= data.len()
            && word(len - 4, big_endian)? as usize == len;
        sound.then_some(len)
    }

    fn malformed_block(&mut self, offset: u64, len: usize, why: &str) {
        self.malformed_blocks += 1;
        if self.summary.notices.len() < MAX_NOTICES {
            self.summary.notices.push(ReadNotice {
                offset,
                frame: self.summary.frames + 1,
                message: format!(
                    "malformed pcapng block of {len} bytes ({why}); skipped, reading \
                     resumed at the next block"
                ),
            });
        }
    }

    /// A frame's timestamp that cannot be real: counted, the first noted.
    fn impossible_ts(&mut self, offset: u64, what: impl FnOnce() -> String) {
        self.impossible_ts += 1;
        if self.first_impossible_ts.is_none() {
            self.first_impossible_ts = Some(ReadNotice {
                offset,
                frame: self.summary.frames + 1,
                message: what(),
            });
        }
    }

    /// The notices that count what reading went past, once it is done.
    fn finish_notices(&mut self) {
        let told = self.summary.notices.len() as u64;
        if self.malformed_blocks > told {
            let more = self.malformed_blocks - told;
            let offset = self.summary.notices.last().map_or(0, |n| n.offset);
            self.summary.notices.push(ReadNotice {
                offset,
                frame: self.summary.frames + 1,
                message: format!("{more} more malformed pcapng blocks skipped after this offset"),
            });
        }
        if let Some(mut first) = self.first_impossible_ts.take() {
            if self.impossible_ts > 1 {
                let more = self.impossible_ts - 1;
                let frames = if more == 1 { "frame" } else { "frames" };
                first.message = format!(
                    "{} (and {more} more {frames} with impossible timestamps)",
                    first.message
                );
            }
            let at = self
                .summary
                .notices
                .partition_point(|n| n.offset <= first.offset);
            self.summary.notices.insert(at, first);
        }
    }

    /// Where reading stops if the pcap record header at the start of `data`
    /// claims more bytes than the file may hold (a corrupt length field).
    fn oversized(&self, data: &[u8], offset: u64) -> Option<ReadStop> {
        let (big_endian, limit) = self.legacy_record?;
        let caplen = legacy_caplen(data, big_endian)?;
        if caplen <= limit {
            return None;
        }
        let msg = format!(
            "a record claims {caplen} bytes, more than the file's snaplen and the \
             {MAX_RECORD}-byte maximum (corrupt length field)"
        );
        Some(ReadStop::corrupt(offset, self.summary.frames, msg))
    }

    fn note_link(&mut self, lt: u32) {
        if !self.summary.link_types.contains(&lt) {
            self.summary.link_types.push(lt);
        }
    }

    /// The frame of a pcap record, numbered.
    fn legacy<'b>(
        &mut self,
        ts_sec: u32,
        ts_frac: u32,
        complete: bool,
        data: &'b [u8],
        offset: u64,
    ) -> Frame<'b> {
        let (frac, per_sec, unit) = if self.legacy_nanos {
            (u64::from(ts_frac), 1_000_000_000, "nanoseconds")
        } else {
            (u64::from(ts_frac) * 1000, 1_000_000, "microseconds")
        };
        if u64::from(ts_frac) >= per_sec {
            // Carried into the seconds: one value, which every field
            // of the report then shows alike.
            self.impossible_ts(offset, || {
                format!(
                    "impossible timestamp: {unit} field {ts_frac} is not below {per_sec}; \
                     carried into the seconds"
                )
            });
        }
        self.summary.frames += 1;
        Frame {
            number: self.summary.frames,
            ts_ns: i64::from(ts_sec) * 1_000_000_000 + frac as i64,
            link_type: self.legacy_link,
            data: without_fcs(data, complete, self.legacy_fcs),
            offset,
            complete,
        }
    }

    /// pcap: the record at the start of `data` and its length, if it is all
    /// there and its length is sound (at most the file's limit). Anything
    /// else (an incomplete record, a corrupt length, the end of the file)
    /// is left to pcap-parser's reader, which says what is wrong.
    #[inline]
    fn legacy_whole<'b>(&mut self, data: &'b [u8], offset: u64) -> Option<(usize, Frame<'b>)> {
        let (big_endian, limit) = self.legacy_record.filter(|_| self.legacy_direct)?;
        let header: &[u8; 16] = data.get(..16)?.try_into().ok()?;
        let field = |i: usize| {
            let bytes = [header[i], header[i + 1], header[i + 2], header[i + 3]];
            if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let (caplen, origlen) = (field(8), field(12));
        if caplen > limit {
            return None;
        }
        let len = 16 + caplen as usize;
        let body = data.get(16..len)?;
        let frame = self.legacy(field(0), field(4), caplen == origlen, body, offset);
        Some((len, frame))
    }

    /// The frame a block holds, numbered; a header or an interface
    /// description is noted for the packets that follow it.
    fn frame<'b>(&mut self, block: PcapBlockOwned<'b>, offset: u64) -> Option<Frame<'b>> {
        let (ts_ns, link_type, data, complete) = match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy_nanos = h.is_nanosecond_precision();
                self.legacy_record = Some((h.is_bigendian(), h.snaplen.max(MAX_RECORD)));
                self.legacy_direct = !h.is_modified_format();
                let (lt, fcs) = legacy_link_type(h.network.0 as u32);
                self.legacy_fcs = fcs;
                self.legacy_link = Some(lt);
                self.note_link(lt);
                return None;
            }
            PcapBlockOwned::Legacy(b) => {
                return Some(self.legacy(
                    b.ts_sec,
                    b.ts_usec,
                    b.caplen == b.origlen,
                    b.data,
                    offset,
                ))
            }
            PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                self.interfaces.clear();
                self.ng_big_endian = shb.big_endian();
                return None;
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                let lt = idb.linktype.0 as u32;
                self.note_link(lt);
                self.interfaces.push(Interface {
                    link_type: lt,
                    fcs: if_fcslen(&idb.options),
                    units_per_sec: units_per_sec(idb.if_tsresol).unwrap_or(1_000_000),
                    offset_s: idb.if_tsoffset,
                });
                return None;
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let iface = self.interfaces.get(epb.if_id as usize).copied();
                let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                let ts_ns = match iface.map(|i| to_ns(ts, i.units_per_sec, i.offset_s)) {
                    Some(Ok(ns)) => ns,
                    Some(Err(ns)) => {
                        self.impossible_ts(offset, || {
                            let nearest = if ns == 0 {
                                "1970-01-01T00:00:00Z"
                            } else {
                                "2262-04-11T23:47:16.854775807Z"
                            };
                            format!(
                                "impossible timestamp: with the interface's if_tsoffset it \
                                 falls outside 1970-2262; taken as {nearest}"
                            )
                        });
                        ns
                    }
                    None => 0,
                };
                // The block may pad the data; caplen says how much is real.
                let len = (epb.caplen as usize).min(epb.data.len());
                let complete = epb.caplen == epb.origlen;
                let fcs = iface.map_or(0, |i| i.fcs);
                (
                    ts_ns,
                    iface.map(|i| i.link_type),
                    without_fcs(&epb.data[..len], complete, fcs),
                    complete,
                )
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let iface = self.interfaces.first().copied();
                let len = (spb.origlen as usize).min(spb.data.len());
                let complete = spb.data.len() >= spb.origlen as usize;
                (0, iface.map(|i| i.link_type), &spb.data[..len], complete)
            }
            PcapBlockOwned::NG(_) => return None,
        };
        self.summary.frames += 1;
        Some(Frame {
            number: self.summary.frames,
            ts_ns,
            link_type,
            data,
            offset,
            complete,
        })
    }
}

/// Reads more input after the reader found a record incomplete. Where
/// reading stops if that fails, or if it makes no progress three times in a
/// row (the file ends inside the record).
fn refill(
    reader: &mut (dyn PcapReaderIterator + Send + '_),
    stalls: &mut u32,
    offset: u64,
    frames: u64,
) -> Option<ReadStop> {
    let before = reader.data().len();
    if let Err(e) = reader.refill() {
        return Some(ReadStop::corrupt(offset, frames, describe(&e)));
    }
    if reader.data().len() == before {
        *stalls += 1;
        if *stalls > 2 {
            return Some(ReadStop::cut_short(offset, frames));
        }
    }
    None
}

/// Where reading stops on a reader error other than `Incomplete`: nowhere
/// at the end of the file.
fn stop_at<I>(e: &PcapError<I>, offset: u64, frames: u64) -> Option<ReadStop> {
    Some(match e {
        PcapError::Eof => return None,
        PcapError::UnexpectedEof => ReadStop::cut_short(offset, frames),
        PcapError::BufferTooSmall => {
            let msg =
                format!("a record is larger than {BUFFER_SIZE} bytes (corrupt length field?)");
            ReadStop::corrupt(offset, frames, msg)
        }
        e => ReadStop::corrupt(offset, frames, describe(e)),
    })
}

/// Length of a pcapng Section Header Block from its first 12 bytes (the
/// byte-order magic at 8..12 says how to read the length at 4..8), if sane.
fn section_header_len(first: &[u8]) -> Option<usize> {
    let len_bytes: [u8; 4] = first.get(4..8)?.try_into().ok()?;
    let len = match first.get(8..12)? {
        [0x4d, 0x3c, 0x2b, 0x1a] => u32::from_le_bytes(len_bytes),
        [0x1a, 0x2b, 0x3c, 0x4d] => u32::from_be_bytes(len_bytes),
        _ => return None,
    };
    // At least the fixed fields; at most what the read buffer can hold.
    let len = len as usize;
    (28..=BUFFER_SIZE / 2).contains(&len).then_some(len)
}

impl ReadStop {
    /// The file ends inside the record at `offset`, after `frames_read` frames.
    fn cut_short(offset: u64, frames_read: u64) -> ReadStop {
        ReadStop {
            offset,
            frame: frames_read + 1,
            truncated: true,
            message: "the file ends inside a record".into(),
        }
    }

    /// The record at `offset` cannot be read.
    fn corrupt(offset: u64, frames_read: u64, message: String) -> ReadStop {
        ReadStop {
            offset,
            frame: frames_read + 1,
            truncated: false,
            message,
        }
    }
}

fn describe<I>(e: &PcapError<I>) -> String {
    match e {
        PcapError::Eof | PcapError::UnexpectedEof | PcapError::Incomplete(_) => {
            "the file ends inside a record".into()
        }
        PcapError::BufferTooSmall => "a record is too large".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::HeaderNotRecognized => "header not recognized".into(),
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("malformed record ({})", kind.description())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(magic: u32, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&magic.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&link.to_le_bytes());
        v
    }

    fn record(sec: u32, frac: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [sec, frac, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    /// (frame number, timestamp in ns, captured length) of each frame read.
    type Seen = Vec<(u64, i64, usize)>;

    fn read_all(bytes: Vec<u8>) -> (Result<ReadSummary, CaptureError>, Seen) {
        let mut seen = Vec::new();
        let r = read_frames(io::Cursor::new(bytes), |f| {
            seen.push((f.number, f.ts_ns, f.data.len()))
        });
        (r, seen)
    }

    #[test]
    fn reads_microsecond_and_nanosecond_pcap() {
        let mut us = pcap_header(0xa1b2c3d4, 1);
        us.extend(record(10, 5, &[1, 2, 3]));
        let (r, seen) = read_all(us);
        assert_eq!(r.unwrap().frames, 1);
        assert_eq!(seen, vec![(1, 10_000_005_000, 3)]);

        let mut ns = pcap_header(0xa1b23c4d, 1);
        ns.extend(record(10, 5, &[1, 2, 3]));
        let (_, seen) = read_all(ns);
        assert_eq!(seen, vec![(1, 10_000_000_005, 3)]);
    }

    #[test]
    fn a_record_cut_short_keeps_earlier_frames() {
        let mut f = pcap_header(0xa1b2c3d4, 1);
        f.extend(record(1, 0, &[0; 40]));
        let second = record(2, 0, &[0; 40]);
        f.extend_from_slice(&second[..30]);
        let (r, seen) = read_all(f);
        let s = r.unwrap();
        assert_eq!(seen.len(), 1);
        let stop = s.stop.unwrap();
        assert!(stop.truncated);
        assert_eq!(stop.offset, 24 + 16 + 40);
        assert_eq!(stop.frame, 2);
    }

    #[test]
    fn rejects_what_is_not_a_capture() {
        let (r, _) = read_all(b"hello world, this is text".to_vec());
        assert!(matches!(r, Err(CaptureError::NotACapture(_))));
        let (r, _) = read_all(Vec::new());
        assert!(matches!(r, Err(CaptureError::Empty)));
        let (r, _) = read_all(vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0]);
        assert!(matches!(r, Err(CaptureError::ShortHeader("pcap"))));
    }

    #[test]
    fn huge_record_length_stops_without_allocating() {
        let mut f = pcap_header(0xa1b2c3d4, 1);
        let mut rec = record(1, 0, &[0; 4]);
        rec[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        f.extend(rec);
        let (r, seen) = read_all(f);
        assert!(seen.is_empty());
        assert!(r.unwrap().stop.is_some());
    }

    #[test]
    fn record_over_the_maximum_stops_with_a_message() {
        let mut f = pcap_header(0xa1b2c3d4, 1);
        f.extend(record(1, 0, &[0; 40]));
        let mut rec = record(2, 0, &[0; 40]);
        rec[8..12].copy_from_slice(&(MAX_RECORD + 1).to_le_bytes());
        f.extend(rec);
        let (r, seen) = read_all(f);
        assert_eq!(seen.len(), 1, "the record before is read");
        let stop = r.unwrap().stop.unwrap();
        assert!(!stop.truncated);
        assert_eq!((stop.offset, stop.frame), (24 + 56, 2));
        assert!(stop.message.contains("262145 bytes"), "{}", stop.message);
    }

    #[test]
    fn link_type_field_with_fcs_bits() {
        assert_eq!(legacy_link_type(1), (1, 0));
        // FCS length 2 words, with the "present" bit: Ethernet with a 4-byte FCS.
        assert_eq!(legacy_link_type(0x2400_0001), (1, 4));
        // Length bits without the "present" bit say nothing.
        assert_eq!(legacy_link_type(0x2000_0001), (1, 0));
        assert_eq!(without_fcs(&[1, 2, 3, 4, 5, 6], true, 4), &[1, 2]);
        assert_eq!(without_fcs(&[1, 2, 3], false, 4), &[1, 2, 3]);
        assert_eq!(without_fcs(&[1, 2], true, 4), &[] as &[u8]);

        let mut f = pcap_header(0xa1b2c3d4, 0x2400_0001);
        f.extend(record(1, 0, &[0; 40]));
        let mut seen = Vec::new();
        let summary = read_frames(io::Cursor::new(f), |fr| {
            seen.push((fr.link_type, fr.data.len()))
        })
        .unwrap();
        assert_eq!(summary.link_types, [1]);
        assert_eq!(seen, [(Some(1), 36)]);
    }

    #[test]
    fn pcapng_fcs_length_in_bits_or_bytes() {
        use pcap_parser::{OptionCode, PcapNGOption};
        let opt = |v: u8| PcapNGOption {
            code: OptionCode(13),
            len: 1,
            value: std::borrow::Cow::Owned(vec![v, 0, 0, 0]),
        };
        assert_eq!(if_fcslen(&[opt(4)]), 4);
        assert_eq!(if_fcslen(&[opt(32)]), 4);
        assert_eq!(if_fcslen(&[opt(16)]), 2);
        assert_eq!(if_fcslen(&[opt(7)]), 0);
        assert_eq!(if_fcslen(&[]), 0);
    }

    /// A pcapng block (little-endian): type, length, body, length.
    fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut v = kind.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    fn ng_header(tsoffset: Option<i64>) -> Vec<u8> {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut v = ng_block(0x0a0d_0d0a, &shb);
        let mut idb = vec![1, 0, 0, 0];
        idb.extend_from_slice(&65535u32.to_le_bytes());
        if let Some(offset) = tsoffset {
            idb.extend_from_slice(&[14, 0, 8, 0]);
            idb.extend_from_slice(&offset.to_le_bytes());
            idb.extend_from_slice(&[0, 0, 0, 0]);
        }
        v.extend(ng_block(1, &idb));
        v
    }

    /// An enhanced packet block whose caplen field says `caplen`.
    fn epb(ts_us: u64, data: &[u8], caplen: u32) -> Vec<u8> {
        let mut body = 0u32.to_le_bytes().to_vec();
        body.extend_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts_us as u32).to_le_bytes());
        body.extend_from_slice(&caplen.to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        ng_block(6, &body)
    }

    /// A block whose caplen runs past it, and a name-resolution record
    /// longer than its block, in a file that goes on: each is a malformed
    /// block at its offset, skipped, and the packets after it are read.
    #[test]
    fn a_malformed_pcapng_block_is_skipped_and_reading_resumes() {
        let mut f = ng_header(None);
        f.extend(epb(1_000_000, &[0; 40], 40));
        let bad_epb = f.len() as u64;
        f.extend(epb(2_000_000, &[0; 40], 400));
        f.extend(epb(3_000_000, &[0; 40], 40));
        let bad_nrb = f.len() as u64;
        // An IPv4 record claiming 200 bytes, in a 24-byte block.
        f.extend(ng_block(4, &[1, 0, 200, 0, 10, 0, 0, 1, b'a', 0, 0, 0]));
        f.extend(epb(4_000_000, &[0; 40], 40));
        let (r, seen) = read_all(f);
        let s = r.unwrap();
        assert_eq!(s.stop, None, "{:?}", s.stop);
        let times: Vec<i64> = seen.iter().map(|&(_, ts, _)| ts / 1_000_000_000).collect();
        assert_eq!(
            times,
            [1, 3, 4],
            "the frames around the bad blocks are read"
        );
        let at: Vec<(u64, u64)> = s.notices.iter().map(|n| (n.offset, n.frame)).collect();
        assert_eq!(at, [(bad_epb, 2), (bad_nrb, 3)]);
        assert!(
            s.notices[0]
                .message
                .starts_with("malformed pcapng block of 72 bytes")
                && s.notices[0]
                    .message
                    .ends_with("reading resumed at the next block"),
            "{}",
            s.notices[0].message
        );
    }

    /// A block whose length is not repeated at its end is not sound: reading
    /// stops there, as it cannot know where the next block begins.
    #[test]
    fn a_block_of_unsound_length_stops_reading() {
        let mut f = ng_header(None);
        f.extend(epb(1_000_000, &[0; 40], 40));
        let bad = f.len();
        let mut broken = epb(2_000_000, &[0; 40], 400);
        let n = broken.len();
        broken[n - 4..].copy_from_slice(&7u32.to_le_bytes());
        f.extend(broken);
        f.extend(epb(3_000_000, &[0; 40], 40));
        let (r, seen) = read_all(f);
        let s = r.unwrap();
        assert_eq!(seen.len(), 1);
        assert!(s.notices.is_empty());
        let stop = s.stop.unwrap();
        assert_eq!((stop.offset, stop.frame), (bad as u64, 2));
    }

    /// pcap microseconds of a million or more: one notice for all of them,
    /// and one value (carried into the seconds) for the frame.
    #[test]
    fn impossible_pcap_microseconds_are_noted_once() {
        let mut f = pcap_header(0xa1b2c3d4, 1);
        f.extend(record(10, 5, &[0; 4]));
        f.extend(record(10, 1_500_000, &[0; 4]));
        f.extend(record(11, 4_000_000_000, &[0; 4]));
        let (r, seen) = read_all(f);
        let s = r.unwrap();
        assert_eq!(seen[1].1, 11_500_000_000);
        assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
        let n = &s.notices[0];
        assert_eq!((n.offset, n.frame), (24 + 20, 2));
        assert!(
            n.message
                .contains("microseconds field 1500000 is not below 1000000")
                && n.message
                    .ends_with("(and 1 more frame with impossible timestamps)"),
            "{}",
            n.message
        );
    }

    /// An if_tsoffset that takes timestamps out of what can be represented:
    /// noted, and clamped, so no field of the report can disagree.
    #[test]
    fn pcapng_tsoffset_out_of_range_is_noted_and_clamped() {
        for (offset, expect) in [(i64::MIN, 0), (i64::MAX, i64::MAX), (-5, 0)] {
            let mut f = ng_header(Some(offset));
            f.extend(epb(1_000_000, &[0; 40], 40));
            let (r, seen) = read_all(f);
            let s = r.unwrap();
            assert_eq!(seen[0].1, expect, "offset {offset}");
            assert_eq!(s.notices.len(), 1, "offset {offset}");
            assert!(s.notices[0].message.starts_with("impossible timestamp"));
        }
        let mut f = ng_header(Some(100));
        f.extend(epb(1_000_000, &[0; 40], 40));
        let (r, seen) = read_all(f);
        assert_eq!(seen[0].1, 101_000_000_000);
        assert!(r.unwrap().notices.is_empty());
    }

    #[test]
    fn tsresol_units() {
        assert_eq!(units_per_sec(6), Some(1_000_000));
        assert_eq!(units_per_sec(9), Some(1_000_000_000));
        assert_eq!(units_per_sec(0x80 | 10), Some(1024));
        assert_eq!(units_per_sec(20), None);
        assert_eq!(units_per_sec(0x80 | 64), None);
    }
}
