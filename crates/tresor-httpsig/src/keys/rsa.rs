//! RSA public components: PKCS#1 `RSAPublicKey` parsing and encoding, and
//! the size rules.

use pkcs8::der::asn1::UintRef;
use pkcs8::der::{Decode, Encode, Reader, SliceReader};

use super::{der_error, der_sequence, invalid};
use crate::error::Result;

/// The smallest RSA modulus accepted, in bits.
pub(crate) const MIN_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (ring's verification limit).
pub(crate) const MAX_BITS: usize = 8192;

/// An RSA public key: big-endian `n` and `e` without leading zeros.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RsaPublic {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

impl RsaPublic {
    /// Validates the components: modulus of 2048 to 8192 bits and odd, public
    /// exponent odd, at least 3 and at most 33 bits (ring's bounds).
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Result<Self> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = match n.first() {
            Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        };
        if bits < MIN_BITS {
            return Err(invalid(format!(
                "RSA modulus of {bits} bits is too small (at least {MIN_BITS})"
            )));
        }
        if bits > MAX_BITS {
            return Err(invalid(format!(
                "RSA modulus of {bits} bits is too large (at most {MAX_BITS})"
            )));
        }
        if n.last().is_none_or(|b| b & 1 == 0) {
            return Err(invalid("RSA modulus is even"));
        }
        let e_value = if e.len() <= 8 {
            e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        } else {
            u64::MAX
        };
        if e_value < 3 || e_value & 1 == 0 || e_value >= (1 << 33) {
            return Err(invalid(
                "RSA public exponent must be odd, at least 3 and below 2^33",
            ));
        }
        Ok(Self {
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// Parses a PKCS#1 `RSAPublicKey` (`SEQUENCE { n INTEGER, e INTEGER }`).
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let parse = |der: &[u8]| -> pkcs8::der::Result<(Vec<u8>, Vec<u8>)> {
            let mut reader = SliceReader::new(der)?;
            let (n, e) = reader.sequence(|r| {
                let n = UintRef::decode(r)?;
                let e = UintRef::decode(r)?;
                Ok::<_, pkcs8::der::Error>((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
            })?;
            reader.finish()?;
            Ok((n, e))
        };
        let (n, e) = parse(der).map_err(|e| der_error("RSAPublicKey", e))?;
        Self::new(&n, &e)
    }

    /// Encodes as a PKCS#1 `RSAPublicKey`.
    pub(crate) fn to_pkcs1_der(&self) -> Result<Vec<u8>> {
        let enc = |b: &[u8]| -> Result<Vec<u8>> {
            UintRef::new(b)
                .and_then(|u| u.to_der())
                .map_err(|e| der_error("RSAPublicKey", e))
        };
        der_sequence(&[&enc(&self.n)?, &enc(&self.e)?])
    }

    /// The modulus size in bits.
    pub(crate) fn bits(&self) -> usize {
        match self.n.first() {
            Some(&top) => self.n.len() * 8 - top.leading_zeros() as usize,
            None => 0,
        }
    }
}
