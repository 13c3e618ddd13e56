//! Classifying a connection's opening and release from what was observed.

use crate::flow::{At, Connection};
use crate::state::Side;
use serde::Serialize;

/// How the connection was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeStatus {
    /// SYN, SYN-ACK and the final ACK all seen.
    Complete,
    /// Both sides sent a bare SYN (simultaneous open).
    Simultaneous,
    /// A RST answered the SYN.
    Refused,
    /// SYNs only: no answer.
    Unanswered,
    /// SYN-ACK seen, the final ACK never.
    Incomplete,
    /// The capture began after the handshake.
    Missing,
}

impl HandshakeStatus {
    pub const ALL: [HandshakeStatus; 6] = [
        HandshakeStatus::Complete,
        HandshakeStatus::Simultaneous,
        HandshakeStatus::Refused,
        HandshakeStatus::Unanswered,
        HandshakeStatus::Incomplete,
        HandshakeStatus::Missing,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            HandshakeStatus::Complete => "complete",
            HandshakeStatus::Simultaneous => "simultaneous",
            HandshakeStatus::Refused => "refused",
            HandshakeStatus::Unanswered => "unanswered",
            HandshakeStatus::Incomplete => "incomplete",
            HandshakeStatus::Missing => "missing",
        }
    }
}

/// How the connection was released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeardownStatus {
    /// Both FINs sent and acknowledged.
    Graceful,
    /// The FINs crossed: each side sent its FIN before receiving the other's.
    Simultaneous,
    /// Ended by an acceptable RST.
    Reset,
    /// One FIN only.
    HalfClosed,
    /// Both FINs sent, the last ACK not seen.
    Incomplete,
    /// No FIN and no RST.
    None,
}

impl TeardownStatus {
    pub const ALL: [TeardownStatus; 6] = [
        TeardownStatus::Graceful,
        TeardownStatus::Simultaneous,
        TeardownStatus::Reset,
        TeardownStatus::HalfClosed,
        TeardownStatus::Incomplete,
        TeardownStatus::None,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            TeardownStatus::Graceful => "graceful",
            TeardownStatus::Simultaneous => "simultaneous",
            TeardownStatus::Reset => "reset",
            TeardownStatus::HalfClosed => "half_closed",
            TeardownStatus::Incomplete => "incomplete",
            TeardownStatus::None => "none",
        }
    }
}

/// Who started the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Initiator {
    Client,
    Server,
    Both,
}

impl Initiator {
    pub const fn as_str(self) -> &'static str {
        match self {
            Initiator::Client => "client",
            Initiator::Server => "server",
            Initiator::Both => "both",
        }
    }
}

impl From<Side> for Initiator {
    fn from(s: Side) -> Initiator {
        match s {
            Side::Client => Initiator::Client,
            Side::Server => Initiator::Server,
        }
    }
}

pub fn handshake(c: &Connection) -> HandshakeStatus {
    let o = &c.obs;
    if o.server_bare_syn && o.syn.is_some() {
        HandshakeStatus::Simultaneous
    } else if o.refused {
        HandshakeStatus::Refused
    } else if o.syn.is_none() && o.syn_ack.is_none() {
        HandshakeStatus::Missing
    } else if o.hs_ack.is_some() {
        HandshakeStatus::Complete
    } else if o.syn_ack.is_some() {
        HandshakeStatus::Incomplete
    } else {
        HandshakeStatus::Unanswered
    }
}

pub fn teardown(c: &Connection) -> (TeardownStatus, Option<Initiator>) {
    let o = &c.obs;
    let client = c.tracker.endpoint(Side::Client);
    let server = c.tracker.endpoint(Side::Server);
    let fins_done_at = match (o.fin_ack[0], o.fin_ack[1]) {
        (Some(a), Some(b)) => Some(a.frame.max(b.frame)),
        _ => None,
    };
    if let Some((at, who)) = o.rst {
        let after_release = fins_done_at.is_some_and(|done| at.frame > done);
        if o.refused {
            return (TeardownStatus::None, None);
        }
        if !after_release {
            return (TeardownStatus::Reset, Some(who.into()));
        }
    }
    match (o.fin[0], o.fin[1]) {
        (Some(_), Some(_)) => {
            if client.active_close && server.active_close {
                (TeardownStatus::Simultaneous, Some(Initiator::Both))
            } else {
                let first = if client.active_close {
                    Side::Client
                } else {
                    Side::Server
                };
                let status = if fins_done_at.is_some() {
                    TeardownStatus::Graceful
                } else {
                    TeardownStatus::Incomplete
                };
                (status, Some(first.into()))
            }
        }
        (Some(_), None) => (TeardownStatus::HalfClosed, Some(Initiator::Client)),
        (None, Some(_)) => (TeardownStatus::HalfClosed, Some(Initiator::Server)),
        (None, None) => (TeardownStatus::None, None),
    }
}

/// Frames involved in the release: the FINs, the ACKs of the FINs and the RST.
pub fn teardown_frames(c: &Connection) -> Vec<u64> {
    let o = &c.obs;
    let mut frames: Vec<u64> = [
        o.fin[0],
        o.fin[1],
        o.fin_ack[0],
        o.fin_ack[1],
        o.rst.map(|r| r.0),
    ]
    .into_iter()
    .flatten()
    .map(|at: At| at.frame)
    .collect();
    frames.sort_unstable();
    frames.dedup();
    frames
}
