//! What a token's `CKM_ECDSA` output means: the fixed-size `r || s` that
//! RFC 9421 (and *ring*, and JOSE) want, from whatever form the token
//! returned.
//!
//! PKCS#11 says `CKM_ECDSA` returns `r || s`, each as long as the curve's
//! order (32 bytes for P-256). Tokens seen in the field also return:
//!
//! - a DER `ECDSA-Sig-Value` (`SEQUENCE { INTEGER r, INTEGER s }`), as
//!   OpenSSL and some HSM firmware write it;
//! - `r || s` with leading zero bytes dropped, each half as long as the
//!   longer of the two (an even length below 64): each half is
//!   left-padded to 32 bytes.
//!
//! A 64-byte value is `r || s` unless it also parses as DER; then the
//! reading that verifies under the key's public key is taken. Every
//! result is checked to be a valid P-256 signature encoding (`r` and `s`
//! in `[1, n-1]`).

/// Length of a P-256 scalar.
const SCALAR_LEN: usize = 32;

/// The fixed-size `r || s` of a P-256 ECDSA signature.
pub(crate) const P256_SIGNATURE_LEN: usize = 2 * SCALAR_LEN;

/// Converts a token's `CKM_ECDSA` output to `r || s`. `verifies` tells
/// whether a candidate verifies (consulted only when the output is
/// ambiguous). `None` if the output is no P-256 signature.
pub(crate) fn raw_signature(
    returned: &[u8],
    verifies: impl Fn(&[u8; P256_SIGNATURE_LEN]) -> bool,
) -> Option<[u8; P256_SIGNATURE_LEN]> {
    let from_der = p256::ecdsa::Signature::from_der(returned)
        .ok()
        .map(|sig| <[u8; P256_SIGNATURE_LEN]>::from(sig.to_bytes()));
    let raw = match (returned.len(), from_der) {
        (P256_SIGNATURE_LEN, Some(der)) => {
            // Both readings are possible (a DER signature with short r
            // and s is 64 bytes long): take the one that verifies.
            let fixed = <[u8; P256_SIGNATURE_LEN]>::try_from(returned).ok()?;
            if verifies(&fixed) { fixed } else { der }
        }
        (_, Some(der)) => der,
        (P256_SIGNATURE_LEN, None) => <[u8; P256_SIGNATURE_LEN]>::try_from(returned).ok()?,
        (len, None) if len > 0 && len < P256_SIGNATURE_LEN && len % 2 == 0 => {
            let (r, s) = returned.split_at(len / 2);
            let mut raw = [0u8; P256_SIGNATURE_LEN];
            let (r_out, s_out) = raw.split_at_mut(SCALAR_LEN);
            r_out.get_mut(SCALAR_LEN - r.len()..)?.copy_from_slice(r);
            s_out.get_mut(SCALAR_LEN - s.len()..)?.copy_from_slice(s);
            raw
        }
        _ => return None,
    };
    // r and s in [1, n-1].
    p256::ecdsa::Signature::from_slice(&raw).ok()?;
    Some(raw)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
        let int = |v: &[u8]| {
            let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
            if v.first().is_some_and(|b| b & 0x80 != 0) {
                v.insert(0, 0);
            }
            let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
            out.extend(v);
            out
        };
        let body: Vec<u8> = int(r).into_iter().chain(int(s)).collect();
        let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
        out.extend(body);
        out
    }

    #[test]
    fn fixed_der_and_short_forms_agree() {
        let r = [0x81; 32];
        let s = [0x17; 32];
        let mut fixed = [0u8; 64];
        fixed[..32].copy_from_slice(&r);
        fixed[32..].copy_from_slice(&s);
        let never = |_: &[u8; 64]| false;
        assert_eq!(raw_signature(&fixed, never), Some(fixed));
        let encoded = der(&r, &s);
        assert_eq!(encoded.len(), 71);
        assert_eq!(raw_signature(&encoded, never), Some(fixed));

        // Leading zeros dropped by the token: 31-byte halves.
        let mut short_r = [0x05; 32];
        short_r[0] = 0;
        let mut short_s = [0x06; 32];
        short_s[0] = 0;
        let mut padded = [0u8; 64];
        padded[..32].copy_from_slice(&short_r);
        padded[32..].copy_from_slice(&short_s);
        let short: Vec<u8> = short_r[1..].iter().chain(&short_s[1..]).copied().collect();
        assert_eq!(raw_signature(&short, never), Some(padded));
        assert_eq!(raw_signature(&der(&short_r, &short_s), never), Some(padded));
    }

    #[test]
    fn ambiguous_64_bytes_take_the_reading_that_verifies() {
        // r and s of 29 bytes each: DER is 2 + 2 * (2 + 29) = 64 bytes.
        let mut r = [0u8; 32];
        r[3..].fill(0x11);
        let mut s = [0u8; 32];
        s[3..].fill(0x22);
        let encoded = der(&r, &s);
        assert_eq!(encoded.len(), 64);
        let mut meant = [0u8; 64];
        meant[..32].copy_from_slice(&r);
        meant[32..].copy_from_slice(&s);
        assert_eq!(raw_signature(&encoded, |_| false), Some(meant));
        let as_fixed = <[u8; 64]>::try_from(&encoded[..]).unwrap();
        assert_eq!(raw_signature(&encoded, |c| *c == as_fixed), Some(as_fixed));
    }

    proptest::proptest! {
        /// Real signatures, as a token would return them (fixed, DER,
        /// or halves without leading zeros), all give the same `r || s`;
        /// arbitrary bytes never panic.
        #[test]
        fn real_signatures_in_every_form(secret in proptest::array::uniform32(1u8..), message: Vec<u8>, noise: Vec<u8>) {
            use p256::ecdsa::signature::{Signer as _, Verifier as _};

            let Ok(key) = p256::ecdsa::SigningKey::from_slice(&secret) else {
                return Ok(());
            };
            let signature: p256::ecdsa::Signature = key.sign(&message);
            let fixed = <[u8; 64]>::from(signature.to_bytes());
            let verifies = |raw: &[u8; 64]| {
                p256::ecdsa::Signature::from_slice(raw)
                    .is_ok_and(|s| key.verifying_key().verify(&message, &s).is_ok())
            };
            proptest::prop_assert_eq!(raw_signature(&fixed, verifies), Some(fixed));
            let der = signature.to_der();
            proptest::prop_assert_eq!(raw_signature(der.as_bytes(), verifies), Some(fixed));
            let (r, s) = fixed.split_at(32);
            let strip = r.iter().zip(s).take_while(|(a, b)| **a == 0 && **b == 0).count();
            if strip > 0 {
                let short: Vec<u8> = r[strip..].iter().chain(&s[strip..]).copied().collect();
                proptest::prop_assert_eq!(raw_signature(&short, verifies), Some(fixed));
            }
            let _ = raw_signature(&noise, verifies);
        }
    }

    #[test]
    fn garbage_is_refused() {
        let never = |_: &[u8; 64]| false;
        for bad in [
            &[][..],
            &[0u8; 64][..],  // r = s = 0
            &[0xff; 64][..], // r, s >= n
            &[1u8; 63][..],  // odd
            &[1u8; 65][..],  // too long, not DER
            &[0x30, 0x00][..],
        ] {
            assert_eq!(raw_signature(bad, never), None, "{bad:02x?}");
        }
    }
}
