//! TCP sequence numbers: 32-bit serial arithmetic (RFC 1982, RFC 9293 §3.4).
//!
//! Numbers wrap at 2^32, so "a is before b" means the signed 32-bit
//! difference `b - a` is positive. That relation is not transitive over the
//! whole space, which is why [`SeqNum`] is `PartialOrd` and never `Ord`.
//! All arithmetic wraps; nothing here can panic.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

/// A TCP sequence or acknowledgement number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The raw 32-bit value as carried in the header.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Signed distance from `other` to `self` (`self - other` in serial arithmetic).
    pub const fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// The later of two numbers in serial order (`self` when they are equal
    /// or exactly 2^31 apart).
    pub fn max_serial(self, other: SeqNum) -> SeqNum {
        if other > self {
            other
        } else {
            self
        }
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;
    fn add(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;
    fn sub(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs))
    }
}

impl Sub<SeqNum> for SeqNum {
    type Output = u32;
    /// Unsigned distance `self - rhs` modulo 2^32: the relative number
    /// Wireshark shows when `rhs` is the base.
    fn sub(self, rhs: SeqNum) -> u32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        let d = self.diff(*other);
        match d {
            0 => Some(Ordering::Equal),
            // Exactly half the space apart: RFC 1982 leaves the order undefined.
            i32::MIN => None,
            d if d > 0 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NEAR_WRAP: SeqNum = SeqNum(u32::MAX - 2);

    #[test]
    fn ordering_crosses_the_wrap() {
        let after = NEAR_WRAP + 5; // wraps to 2
        assert_eq!(after.raw(), 2);
        assert!(after > NEAR_WRAP);
        assert!(NEAR_WRAP < after);
        assert_eq!(after - NEAR_WRAP, 5);
        assert_eq!(after.diff(NEAR_WRAP), 5);
        assert_eq!(NEAR_WRAP.diff(after), -5);
    }

    #[test]
    fn half_space_apart_is_unordered() {
        let a = SeqNum(0);
        let b = SeqNum(1 << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert_eq!(b.partial_cmp(&a), None);
    }

    #[test]
    fn max_serial_prefers_the_later_number() {
        assert_eq!(NEAR_WRAP.max_serial(NEAR_WRAP + 10), NEAR_WRAP + 10);
        assert_eq!((NEAR_WRAP + 10).max_serial(NEAR_WRAP), NEAR_WRAP + 10);
    }

    proptest! {
        #[test]
        fn adding_a_small_step_is_always_later(base in any::<u32>(), step in 1u32..(1 << 31)) {
            let a = SeqNum(base);
            let b = a + step;
            prop_assert!(b > a);
            prop_assert!(a < b);
            prop_assert_eq!(b - a, step);
            prop_assert_eq!(b.diff(a), step as i32);
        }

        #[test]
        fn add_then_sub_round_trips(base in any::<u32>(), step in any::<u32>()) {
            let a = SeqNum(base);
            prop_assert_eq!((a + step) - step, a);
            prop_assert_eq!((a + step) - a, step);
        }

        #[test]
        fn order_is_antisymmetric(x in any::<u32>(), y in any::<u32>()) {
            let (a, b) = (SeqNum(x), SeqNum(y));
            match a.partial_cmp(&b) {
                Some(o) => prop_assert_eq!(b.partial_cmp(&a), Some(o.reverse())),
                None => prop_assert_eq!(b.partial_cmp(&a), None),
            }
        }

        #[test]
        fn relative_numbers_match_wireshark(isn in any::<u32>(), offset in any::<u32>()) {
            // Wireshark: relative = raw - base, modulo 2^32.
            let raw = SeqNum(isn) + offset;
            prop_assert_eq!(raw - SeqNum(isn), offset);
        }
    }
}
