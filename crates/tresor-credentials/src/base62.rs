//! Base62 (`0-9A-Za-z`) of fixed-size big-endian numbers, fixed width,
//! left-padded with `0`. An encoding, not a cryptographic primitive: plain
//! schoolbook division and multiplication over byte arrays.
//!
//! The working buffers may hold secret bytes, so they are wiped on drop.

use zeroize::Zeroizing;

/// The alphabet, in digit order: `0-9`, then `A-Z`, then `a-z`.
pub(crate) const ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The value of a base62 digit, or `None` for any other byte.
pub(crate) fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

/// The base62 digit for a value below 62.
fn digit_char(v: u8) -> char {
    char::from(ALPHABET.get(usize::from(v)).copied().unwrap_or(b'0'))
}

/// Encodes the big-endian number `bytes` in exactly `width` base62 digits,
/// or `None` if it needs more.
pub(crate) fn encode(bytes: &[u8], width: usize) -> Option<Zeroizing<String>> {
    let mut num = Zeroizing::new(bytes.to_vec());
    let mut digits = Zeroizing::new(Vec::with_capacity(width));
    // Repeated division by 62, most significant byte first; each pass yields
    // the least significant remaining digit.
    while num.iter().any(|&b| b != 0) {
        let mut rem: u32 = 0;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            // acc < 62 * 256, so the quotient fits a byte.
            *b = u8::try_from(acc / 62).unwrap_or(0);
            rem = acc % 62;
        }
        digits.push(u8::try_from(rem).unwrap_or(0));
    }
    if digits.len() > width {
        return None;
    }
    let mut out = Zeroizing::new(String::with_capacity(width));
    for _ in digits.len()..width {
        out.push('0');
    }
    for &d in digits.iter().rev() {
        out.push(digit_char(d));
    }
    Some(out)
}

/// Decodes base62 `text` into a big-endian number of exactly `len` bytes,
/// or `None` if a character is not base62 or the value needs more bytes.
/// (The format check compares digits instead; this is the reference the
/// tests hold it to.)
#[cfg(test)]
pub(crate) fn decode(text: &str, len: usize) -> Option<Zeroizing<Vec<u8>>> {
    // num = num * 62 + digit over 32-bit limbs, least significant limb
    // first (a secret is checked on every authentication: byte-wise
    // arithmetic cost a microsecond).
    let mut limbs = Zeroizing::new(vec![0u32; len.div_ceil(4)]);
    for c in text.bytes() {
        let mut carry = u64::from(digit_value(c)?);
        for limb in limbs.iter_mut() {
            let acc = u64::from(*limb) * 62 + carry;
            *limb = u32::try_from(acc & 0xffff_ffff).unwrap_or(0);
            carry = acc >> 32;
        }
        if carry != 0 {
            return None;
        }
    }
    // Big-endian bytes; the limbs may hold up to 3 bytes more than `len`,
    // which must be zero.
    let mut wide = Zeroizing::new(Vec::with_capacity(limbs.len() * 4));
    for limb in limbs.iter().rev() {
        wide.extend_from_slice(&limb.to_be_bytes());
    }
    let extra = wide.len() - len;
    if wide.iter().take(extra).any(|&b| b != 0) {
        return None;
    }
    Some(Zeroizing::new(wide.get(extra..)?.to_vec()))
}

/// Encodes a `u32` in exactly 6 base62 digits (62^6 > 2^32).
pub(crate) fn encode_u32(value: u32) -> String {
    let mut v = value;
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        let d = u8::try_from(v % 62).unwrap_or(0);
        *slot = ALPHABET.get(usize::from(d)).copied().unwrap_or(b'0');
        v /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(&*encode(&[0; 4], 3).unwrap(), "000");
        assert_eq!(&*encode(&[0, 61], 2).unwrap(), "0z");
        assert_eq!(&*encode(&[0, 62], 2).unwrap(), "10");
        assert_eq!(
            &*encode(&[0xff; 32], 43).unwrap(),
            "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"
        );
        assert!(encode(&[0xff; 32], 42).is_none());
        assert_eq!(encode_u32(0), "000000");
        assert_eq!(encode_u32(u32::MAX), "4gfFC3");
        assert_eq!(&*decode("4gfFC3", 4).unwrap(), &u32::MAX.to_be_bytes());
        assert!(decode("4gfFC4", 4).is_none());
        assert!(decode("4gf-C3", 4).is_none());
        // Lengths that are not a multiple of the limb size.
        assert_eq!(&*decode("z", 1).unwrap(), &[61]);
        assert_eq!(&*decode("46", 1).unwrap(), &[0xfe]);
        assert!(decode("48", 1).is_none());
        assert!(decode("4A", 1).is_none());
        assert_eq!(&*decode("0H3C", 3).unwrap(), &[0x01, 0x00, 0x0a]);
        assert!(decode("z", 0).is_none());
        assert!(decode("", 0).is_some());
    }

    #[test]
    fn round_trip() {
        for seed in 0u8..=255 {
            let bytes: Vec<u8> = (0u8..32)
                .map(|i| i.wrapping_mul(seed).wrapping_add(seed))
                .collect();
            let text = encode(&bytes, 43).unwrap();
            assert_eq!(text.len(), 43);
            assert_eq!(&**decode(&text, 32).unwrap(), &bytes[..]);
        }
    }
}
