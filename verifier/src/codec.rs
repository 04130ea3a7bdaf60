//! Bitcoin-style serialization, as the real Cascoin node's `CDataStream` writes it.
//!
//! Integers are little-endian at their fixed width, `bool` is one byte (0 or 1), enums are one
//! byte, byte vectors, strings and vectors of items carry a CompactSize count first, and
//! `uint256` / `uint160` are their raw 32 / 20 bytes.
//!
//! Decoding is strict: CompactSize must be canonical (the shortest form), a count may not claim
//! more items than there are bytes left, every type has a length cap, booleans are 0 or 1, and
//! [`Decode::decode`] refuses trailing bytes. No input makes a decoder panic.

use thiserror::Error;

/// Largest CompactSize count accepted anywhere (the real node's `MAX_SIZE`, 32 MiB).
pub const MAX_SIZE: u64 = 0x0200_0000;

/// Why a byte string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The input ended in the middle of a field.
    #[error("unexpected end of input while reading {what}: need {need} more bytes, {left} left")]
    UnexpectedEof {
        /// The field being read.
        what: &'static str,
        /// Bytes the field needs.
        need: usize,
        /// Bytes that were left.
        left: usize,
    },
    /// A CompactSize used a longer encoding than needed.
    #[error("non-canonical CompactSize {value} for {what}")]
    NonCanonicalCompactSize {
        /// The field whose length prefix was bad.
        what: &'static str,
        /// The decoded value.
        value: u64,
    },
    /// A length or count is larger than the type allows.
    #[error("{what} too long: {len} > {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The claimed length.
        len: u64,
        /// The cap.
        max: u64,
    },
    /// A value outside the field's domain (a bool that is not 0/1, an unknown enum tag, ...).
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Bytes left after a complete object.
    #[error("{0} trailing bytes after the object")]
    TrailingBytes(usize),
}

/// A cursor over bytes being decoded.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Start reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Take exactly `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        if self.remaining() < n {
            return Err(CodecError::UnexpectedEof {
                what,
                need: n,
                left: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Take a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CodecError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Read a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(what)?[0])
    }
    /// Read a little-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, CodecError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, CodecError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    /// Read a boolean: exactly 0 or 1.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, CodecError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(CodecError::Invalid {
                what,
                detail: format!("boolean byte {v}"),
            }),
        }
    }

    /// Read a canonical CompactSize no larger than `max`.
    pub fn compact_size(&mut self, what: &'static str, max: u64) -> Result<u64, CodecError> {
        let first = self.u8(what)?;
        let (v, min) = match first {
            0..=0xfc => (first as u64, 0),
            0xfd => (self.u16(what)? as u64, 0xfd),
            0xfe => (self.u32(what)? as u64, 0x1_0000),
            0xff => (self.u64(what)?, 0x1_0000_0000),
        };
        if v < min {
            return Err(CodecError::NonCanonicalCompactSize { what, value: v });
        }
        let cap = max.min(MAX_SIZE);
        if v > cap {
            return Err(CodecError::TooLong {
                what,
                len: v,
                max: cap,
            });
        }
        Ok(v)
    }

    /// Read a count of items, each at least `min_item_size` bytes, capped at `max`: the count
    /// may not promise more bytes than are left (so no huge allocation from a short input).
    pub fn count(
        &mut self,
        what: &'static str,
        max: u64,
        min_item_size: usize,
    ) -> Result<usize, CodecError> {
        let n = self.compact_size(what, max)?;
        let need = (n as u128) * (min_item_size.max(1) as u128);
        if need > self.remaining() as u128 {
            return Err(CodecError::UnexpectedEof {
                what,
                need: need.min(usize::MAX as u128) as usize,
                left: self.remaining(),
            });
        }
        Ok(n as usize)
    }

    /// Read a CompactSize-prefixed byte vector of at most `max` bytes.
    pub fn var_bytes(&mut self, what: &'static str, max: u64) -> Result<Vec<u8>, CodecError> {
        let n = self.count(what, max, 1)?;
        Ok(self.take(n, what)?.to_vec())
    }

    /// Read a CompactSize-prefixed UTF-8 string of at most `max` bytes.
    pub fn string(&mut self, what: &'static str, max: u64) -> Result<String, CodecError> {
        let b = self.var_bytes(what, max)?;
        String::from_utf8(b).map_err(|e| CodecError::Invalid {
            what,
            detail: format!("not UTF-8: {e}"),
        })
    }

    /// Read a CompactSize-prefixed vector of decodable items, at most `max` of them.
    pub fn vec<T: Decode>(&mut self, what: &'static str, max: u64) -> Result<Vec<T>, CodecError> {
        let n = self.count(what, max, T::MIN_SIZE)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::decode_from(self)?);
        }
        Ok(v)
    }

    /// Fail unless every byte was read.
    pub fn finish(&self) -> Result<(), CodecError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(CodecError::TrailingBytes(n)),
        }
    }
}

/// Append a CompactSize.
pub fn write_compact_size(out: &mut Vec<u8>, n: u64) {
    if n < 0xfd {
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(0xfd);
        out.extend_from_slice(&(n as u16).to_le_bytes());
    } else if n <= 0xffff_ffff {
        out.push(0xfe);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    } else {
        out.push(0xff);
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// Append a CompactSize-prefixed byte string.
pub fn write_var_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_compact_size(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Append a CompactSize-prefixed vector of items.
pub fn write_vec<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
    write_compact_size(out, items.len() as u64);
    for i in items {
        i.encode_to(out);
    }
}

/// A type with a Bitcoin-style serialization.
pub trait Encode {
    /// Append the serialization to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);
    /// The serialization as a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_to(&mut v);
        v
    }
}

/// A type that decodes strictly from its Bitcoin-style serialization.
pub trait Decode: Sized {
    /// The fewest bytes one encoded value takes (used to bound counts before allocating).
    const MIN_SIZE: usize;
    /// Decode one value from the reader.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError>;
    /// Decode exactly one value that fills all of `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_size_round_trip_and_canonical() {
        for n in [
            0u64,
            1,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
        ] {
            let mut v = Vec::new();
            write_compact_size(&mut v, n);
            let mut r = Reader::new(&v);
            assert_eq!(
                r.compact_size("n", u64::MAX).ok(),
                Some(n).filter(|n| *n <= MAX_SIZE)
            );
        }
        // 0xfd followed by a value < 0xfd is non-canonical
        let mut r = Reader::new(&[0xfd, 0x10, 0x00]);
        assert!(matches!(
            r.compact_size("n", MAX_SIZE),
            Err(CodecError::NonCanonicalCompactSize { .. })
        ));
        let mut r = Reader::new(&[0xfe, 0xff, 0xff, 0x00, 0x00]);
        assert!(matches!(
            r.compact_size("n", MAX_SIZE),
            Err(CodecError::NonCanonicalCompactSize { .. })
        ));
    }

    #[test]
    fn counts_cannot_outrun_the_input() {
        let mut r = Reader::new(&[0xfe, 0x00, 0x00, 0x00, 0x01]);
        assert!(r.var_bytes("data", MAX_SIZE).is_err());
        let mut r = Reader::new(&[3, 1, 2]);
        assert!(matches!(
            r.var_bytes("data", 10),
            Err(CodecError::UnexpectedEof { .. })
        ));
        let mut r = Reader::new(&[3, 1, 2, 3]);
        assert!(matches!(
            r.var_bytes("data", 2),
            Err(CodecError::TooLong { .. })
        ));
    }

    #[test]
    fn booleans_are_strict() {
        assert_eq!(Reader::new(&[1]).bool("b"), Ok(true));
        assert!(Reader::new(&[2]).bool("b").is_err());
    }
}
