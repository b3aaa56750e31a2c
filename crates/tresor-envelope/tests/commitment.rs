//! Key commitment, shown by construction.
//!
//! AES-GCM is not key-committing: one can build a ciphertext and tag that
//! authenticate under two different keys ("invisible salamanders",
//! Dodis–Grubbs–Ristenpart–Woodage 2018; "partitioning oracles",
//! Len–Grubbs–Ristenpart 2021). This file builds such a frame for two data
//! keys of one tresor header, proves with raw `ring` that it really opens
//! under both derived message keys, and then shows that a tresor envelope
//! around it opens only under the data key the header's commitment names:
//! the commitment, and nothing else, stands in the way.
//!
//! The key derivation of `FORMAT.md` is re-implemented here with `ring`'s
//! HMAC and SHA-256 (the library uses the `hkdf` and `sha2` crates), so the test also cross-checks
//! `derive.rs`, the frame nonce, the frames' additional data and the
//! key-section AAD byte for byte.
//!
//! The GF(2^128) arithmetic below is attack code in a test, written for
//! clarity; it is not constant-time and not a library primitive.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use aes::Aes256;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes_gcm_siv::aead::AeadInOut;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::{digest, hmac};
use tresor_envelope::{
    Context, DataKey, Envelope, Error, Header, KeyEncryptionKey, Keyring, LocalKek, SealOptions,
    Suite,
};
use zeroize::Zeroizing;

// ---- FORMAT.md, re-implemented ----------------------------------------------

const V1_MESSAGE_KEY_LABEL: &[u8] = b"tresor-envelope/v1 message key";
const V1_COMMITMENT_LABEL: &[u8] = b"tresor-envelope/v1 key commitment";
const KEY_SECTION_LABEL: &[u8] = b"tresor-envelope/v1 key section";
const V3_MESSAGE_KEY_LABEL: &[u8] = b"tresor-envelope/v3 message key";
const V3_COMMITMENT_LABEL: &[u8] = b"tresor-envelope/v3 key commitment";

/// HKDF-SHA-256 (RFC 5869) with a 32-byte output, from HMAC-SHA-256 alone:
/// PRK = HMAC(salt, IKM); OKM = T(1) = HMAC(PRK, info || 0x01).
fn hkdf_sha256_32(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> [u8; 32] {
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), ikm);
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()));
    for part in info {
        ctx.update(part);
    }
    ctx.update(&[0x01]);
    ctx.sign().as_ref().try_into().unwrap()
}

/// HKDF-Expand-SHA-256 (RFC 5869) with a 64-byte output, from HMAC-SHA-256
/// alone: T(1) = HMAC(PRK, info || 0x01), T(2) = HMAC(PRK, T(1) || info || 0x02).
fn hkdf_expand_sha256_64(prk: &[u8], info: &[u8]) -> [u8; 64] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, prk);
    let t1 = hmac::sign(&key, &[info, &[0x01]].concat());
    let t2 = hmac::sign(&key, &[t1.as_ref(), info, &[0x02]].concat());
    [t1.as_ref(), t2.as_ref()].concat().try_into().unwrap()
}

/// The message key and the commitment of `dek` for a header `prefix`
/// (magic through the context entries), by the prefix's version.
struct Derived {
    key: [u8; 32],
    commitment: [u8; 32],
}

fn derive(dek: &[u8; 32], prefix: &[u8]) -> Derived {
    match prefix[4] {
        // Version 1: extract with the message id as salt, two labelled expands.
        0x01 => {
            let message_id = &prefix[10..42];
            Derived {
                key: hkdf_sha256_32(message_id, dek, &[V1_MESSAGE_KEY_LABEL, prefix]),
                commitment: hkdf_sha256_32(message_id, dek, &[V1_COMMITMENT_LABEL, prefix]),
            }
        }
        // Version 2: the data key is the PRK; one 64-byte expand, info = prefix.
        0x02 => {
            let okm = hkdf_expand_sha256_64(dek, prefix);
            Derived {
                key: okm[..32].try_into().unwrap(),
                commitment: okm[32..].try_into().unwrap(),
            }
        }
        // Version 3: the one-step derivation of NIST SP 800-56C (SHA-256),
        // message key over the fixed fields (42 bytes), commitment over a
        // label alone.
        0x03 => {
            let one_step = |label: &[u8], info: &[u8]| -> [u8; 32] {
                digest::digest(
                    &digest::SHA256,
                    &[&[0u8, 0, 0, 1][..], &dek[..], label, info].concat(),
                )
                .as_ref()
                .try_into()
                .unwrap()
            };
            Derived {
                key: one_step(V3_MESSAGE_KEY_LABEL, &prefix[..42]),
                commitment: one_step(V3_COMMITMENT_LABEL, &[]),
            }
        }
        other => panic!("no derivation for version {other}"),
    }
}

/// Every frame's additional data: the whole prefix from version 3 on,
/// nothing before.
fn frame_aad(prefix: &[u8]) -> &[u8] {
    if prefix[4] >= 0x03 { prefix } else { &[] }
}

/// The STREAM nonce of frame `counter`.
fn frame_nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// A header prefix built by hand: magic, version, suite, frame size,
/// message id, context_len and the context entries (given sorted).
fn prefix_by_hand(
    version: u8,
    suite: u8,
    frame_size: u32,
    message_id: [u8; 32],
    pairs: &[(&str, &str)],
) -> Vec<u8> {
    let mut entries = Vec::new();
    for (k, v) in pairs {
        entries.extend_from_slice(&u16::try_from(k.len()).unwrap().to_be_bytes());
        entries.extend_from_slice(k.as_bytes());
        entries.extend_from_slice(&u16::try_from(v.len()).unwrap().to_be_bytes());
        entries.extend_from_slice(v.as_bytes());
    }
    let mut prefix = b"TRSE".to_vec();
    prefix.push(version);
    prefix.push(suite);
    prefix.extend_from_slice(&frame_size.to_be_bytes());
    prefix.extend_from_slice(&message_id);
    prefix.extend_from_slice(&u16::try_from(entries.len()).unwrap().to_be_bytes());
    prefix.extend_from_slice(&entries);
    prefix
}

/// The prefix of a sealed message: bytes 0 to 44 + context_len.
fn prefix_of(message: &[u8]) -> &[u8] {
    let context_len = usize::from(u16::from_be_bytes([message[42], message[43]]));
    &message[..44 + context_len]
}

/// The AAD the key-encryption key binds the wrapped data key to:
/// label || version || suite || context_len || entries || kek_id_len || kek_id.
fn key_section_aad(prefix: &[u8], kek_id: &str) -> Vec<u8> {
    let mut aad = KEY_SECTION_LABEL.to_vec();
    aad.push(prefix[4]);
    aad.push(prefix[5]);
    aad.extend_from_slice(&prefix[42..]);
    aad.push(u8::try_from(kek_id.len()).unwrap());
    aad.extend_from_slice(kek_id.as_bytes());
    aad
}

/// kek_id_len || kek_id || wrapped_len || wrapped.
fn key_section(kek_id: &str, wrapped: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::try_from(kek_id.len()).unwrap()];
    out.extend_from_slice(kek_id.as_bytes());
    out.extend_from_slice(&u16::try_from(wrapped.len()).unwrap().to_be_bytes());
    out.extend_from_slice(wrapped);
    out
}

// ---- GF(2^128) and GCM by hand -----------------------------------------------

/// The field's 1 in GCM's bit order (the leftmost bit is x^0).
const ONE: u128 = 1 << 127;

/// Multiplication in GF(2^128) as GCM defines it (NIST SP 800-38D,
/// Algorithm 1), blocks read as big-endian integers.
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xe1 << 120;
    let (mut z, mut v) = (0u128, y);
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

fn gf_pow(mut base: u128, mut exp: u128) -> u128 {
    let mut acc = ONE;
    while exp != 0 {
        if exp & 1 == 1 {
            acc = gf_mul(acc, base);
        }
        base = gf_mul(base, base);
        exp >>= 1;
    }
    acc
}

/// x^-1 = x^(2^128 - 2).
fn gf_inv(x: u128) -> u128 {
    assert_ne!(x, 0, "zero has no inverse");
    gf_pow(x, u128::MAX - 1)
}

fn aes256(key: &[u8; 32], block: [u8; 16]) -> u128 {
    let cipher = Aes256::new(&Array::from(*key));
    let mut block = Array::from(block);
    cipher.encrypt_block(&mut block);
    u128::from_be_bytes(block.into())
}

/// The counter block `nonce || counter` of GCM with a 96-bit nonce.
fn counter_block(nonce: [u8; 12], counter: u32) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..12].copy_from_slice(&nonce);
    block[12..].copy_from_slice(&counter.to_be_bytes());
    block
}

/// H = E_K(0^128) and S = E_K(J0), J0 = nonce || 00000001.
fn hash_key_and_mask(key: &[u8; 32], nonce: [u8; 12]) -> (u128, u128) {
    (aes256(key, [0; 16]), aes256(key, counter_block(nonce, 1)))
}

/// GHASH_H of the AAD alone: X_A = A_1·H^m ⊕ … ⊕ A_m·H, the last block
/// zero-padded.
fn ghash_aad(h: u128, aad: &[u8]) -> u128 {
    aad.chunks(16).fold(0, |x, chunk| {
        let mut block = [0u8; 16];
        block[..chunk.len()].copy_from_slice(chunk);
        gf_mul(x ^ u128::from_be_bytes(block), h)
    })
}

/// The lengths block: len(A) and len(C) in bits, 64 bits each.
fn lengths_block(aad: &[u8], ciphertext_len: usize) -> u128 {
    (((aad.len() * 8) as u128) << 64) | (ciphertext_len * 8) as u128
}

/// The GCM tag of a 2-block ciphertext with additional data `aad`:
/// GHASH_H(A, C) = X_A·H^3 ⊕ C1·H^3 ⊕ C2·H^2 ⊕ L·H, tag = GHASH ⊕ S.
fn gcm_tag_2_blocks(key: &[u8; 32], nonce: [u8; 12], aad: &[u8], c1: u128, c2: u128) -> u128 {
    let (h, s) = hash_key_and_mask(key, nonce);
    let l = lengths_block(aad, 32);
    gf_mul(ghash_aad(h, aad) ^ c1, gf_pow(h, 3)) ^ gf_mul(c2, gf_pow(h, 2)) ^ gf_mul(l, h) ^ s
}

/// A 2-block AES-256-GCM ciphertext and tag (additional data `aad`) that
/// authenticates under both `k1` and `k2`: C1 is chosen, C2 solves
/// tag_1 = tag_2, i.e. C2·(H1^2 ⊕ H2^2) = (X_A1 ⊕ C1)·H1^3 ⊕ (X_A2 ⊕ C1)·H2^3
/// ⊕ L·(H1 ⊕ H2) ⊕ S1 ⊕ S2.
fn two_key_frame(
    k1: &[u8; 32],
    k2: &[u8; 32],
    nonce: [u8; 12],
    aad: &[u8],
    c1: [u8; 16],
) -> Vec<u8> {
    let (h1, s1) = hash_key_and_mask(k1, nonce);
    let (h2, s2) = hash_key_and_mask(k2, nonce);
    let c1 = u128::from_be_bytes(c1);
    let l = lengths_block(aad, 32);
    let rhs = gf_mul(ghash_aad(h1, aad) ^ c1, gf_pow(h1, 3))
        ^ gf_mul(ghash_aad(h2, aad) ^ c1, gf_pow(h2, 3))
        ^ gf_mul(l, h1 ^ h2)
        ^ s1
        ^ s2;
    let c2 = gf_mul(rhs, gf_inv(gf_pow(h1, 2) ^ gf_pow(h2, 2)));
    let tag = gcm_tag_2_blocks(k1, nonce, aad, c1, c2);
    assert_eq!(
        tag,
        gcm_tag_2_blocks(k2, nonce, aad, c1, c2),
        "the tags collide"
    );
    [c1.to_be_bytes(), c2.to_be_bytes(), tag.to_be_bytes()].concat()
}

/// Opens `frame` (ciphertext || tag) with raw `ring` AES-256-GCM.
fn ring_open(key: &[u8; 32], nonce: [u8; 12], aad: &[u8], frame: &[u8]) -> Option<Vec<u8>> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let mut in_out = frame.to_vec();
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .ok()?;
    Some(plain.to_vec())
}

/// AES-CTR keystream from counter 2 (the plaintext blocks' counters).
fn keystream_2_blocks(key: &[u8; 32], nonce: [u8; 12]) -> Vec<u8> {
    [
        aes256(key, counter_block(nonce, 2)).to_be_bytes(),
        aes256(key, counter_block(nonce, 3)).to_be_bytes(),
    ]
    .concat()
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

// ---- tests of the tools --------------------------------------------------------

#[test]
fn field_arithmetic_is_sound() {
    let samples = [
        ONE,
        2,
        0x66e9_4bd4_ef8a_2c3b_884c_fa59_ca34_2b2e, // H of the all-zero AES-128 key
        0xdead_beef_0123_4567_89ab_cdef_f00d_cafe,
        u128::MAX,
    ];
    for &x in &samples {
        assert_eq!(gf_mul(x, ONE), x);
        assert_eq!(gf_mul(ONE, x), x);
        assert_eq!(gf_mul(x, gf_inv(x)), ONE, "{x:032x}");
        for &y in &samples {
            assert_eq!(gf_mul(x, y), gf_mul(y, x));
            assert_eq!(gf_pow(x, 2) ^ gf_pow(y, 2), gf_pow(x ^ y, 2), "Frobenius");
        }
    }
    // x · x^127 = x^128 = x^7 + x^2 + x + 1: the GCM polynomial. In GCM's
    // bit order x is 0x40..0 and x^127 is the last bit.
    assert_eq!(gf_mul(ONE >> 1, 1), 0xe1 << 120);
}

/// The hand-written GCM tag matches `ring` on random keys and ciphertexts,
/// so a collision found with it is a collision for `ring`.
#[test]
fn hand_written_gcm_tag_matches_ring() {
    use ring::rand::{SecureRandom, SystemRandom};
    let rng = SystemRandom::new();
    for i in 0..32 {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        let mut plaintext = [0u8; 32];
        // No AAD, part of a block, whole blocks, and a header-sized one.
        let mut aad = vec![0u8; [0, 5, 16, 32, 87][i % 5]];
        rng.fill(&mut key).unwrap();
        rng.fill(&mut nonce).unwrap();
        rng.fill(&mut plaintext).unwrap();
        rng.fill(&mut aad).unwrap();
        let sealer = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
        let mut ct = plaintext.to_vec();
        let tag = sealer
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut ct,
            )
            .unwrap();
        let c1 = u128::from_be_bytes(ct[..16].try_into().unwrap());
        let c2 = u128::from_be_bytes(ct[16..].try_into().unwrap());
        assert_eq!(
            gcm_tag_2_blocks(&key, nonce, &aad, c1, c2).to_be_bytes(),
            tag.as_ref()
        );
        assert_eq!(xor(&ct, &keystream_2_blocks(&key, nonce)), plaintext);
    }
}

/// `derive.rs` agrees with the independent derivation, for messages the
/// library sealed: unwrap the data key with the known KEK bytes, derive,
/// compare the commitment, and decrypt the frames with raw AEADs.
#[test]
fn library_derivation_matches_format() {
    let kek_bytes = [0x42u8; 32];
    let kek_id = "kek-format";
    let envelope = Envelope::new(
        Keyring::with_primary(LocalKek::from_bytes(kek_id, Zeroizing::new(kek_bytes)).unwrap())
            .unwrap(),
    );
    let context = Context::from_pairs([("tenant", "acme"), ("field", "iban")]).unwrap();
    let kek = aes_gcm_siv::Aes256GcmSiv::new(&kek_bytes.into());
    for suite in Suite::ALL {
        for len in [0usize, 1, 16, 40] {
            let plaintext: Vec<u8> = (0..len).map(|i| u8::try_from(i).unwrap()).collect();
            let sealed = envelope
                .seal_to_vec_with(
                    &plaintext,
                    &context,
                    &SealOptions::new().suite(suite).frame_size(16),
                )
                .unwrap();
            let (header, header_len) = Header::parse(&sealed).unwrap();
            let prefix = prefix_of(&sealed);
            assert_eq!(&prefix[10..42], header.message_id());

            // Unwrap: nonce (12) || encrypted key (32) || tag (16).
            let wrapped = header.wrapped_dek();
            assert_eq!(wrapped.len(), 60);
            let mut dek = [0u8; 32];
            dek.copy_from_slice(&wrapped[12..44]);
            kek.decrypt_inout_detached(
                &aes_gcm_siv::Nonce::try_from(&wrapped[..12]).unwrap(),
                &key_section_aad(prefix, kek_id),
                (&mut dek[..]).into(),
                &aes_gcm_siv::Tag::try_from(&wrapped[44..]).unwrap(),
            )
            .expect("the key-section AAD of FORMAT.md unwraps the data key");

            let derived = derive(&dek, prefix);
            assert_eq!(
                &derived.commitment,
                header.commitment(),
                "{suite}: commitment"
            );

            let frames: Vec<&[u8]> = sealed[header_len..].chunks(32).collect();
            let mut opened = Vec::new();
            for (i, frame) in frames.iter().enumerate() {
                let nonce = frame_nonce(i as u64, i + 1 == frames.len());
                let aad = frame_aad(prefix);
                let plain = match suite {
                    Suite::Aes256Gcm => {
                        ring_open(&derived.key, nonce, aad, frame).expect("frame opens")
                    }
                    _ => {
                        let cipher = aes_gcm_siv::Aes256GcmSiv::new(&derived.key.into());
                        let (ct, tag) = frame.split_at(frame.len() - 16);
                        let mut buf = ct.to_vec();
                        cipher
                            .decrypt_inout_detached(
                                &nonce.into(),
                                aad,
                                (&mut buf[..]).into(),
                                &aes_gcm_siv::Tag::try_from(tag).unwrap(),
                            )
                            .expect("frame opens");
                        buf
                    }
                };
                opened.extend_from_slice(&plain);
            }
            assert_eq!(opened, plaintext, "{suite}, {len} bytes");
        }
    }
}

// ---- the construction ------------------------------------------------------------

const KEK_ID: &str = "salamander-kek";

/// Opens `message` with `open_to_vec` and with the streaming `open`; both
/// must agree.
fn open_both(envelope: &Envelope, message: &[u8], context: &Context) -> Result<Vec<u8>, Error> {
    let record = envelope.open_to_vec(message, context);
    let mut streamed = Vec::new();
    let stream = envelope.open(message, &mut streamed, context);
    match (record, stream) {
        (Ok(a), Ok(_)) => {
            assert_eq!(a, streamed, "record and stream agree");
            Ok(a)
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "record and stream agree"
            );
            assert!(streamed.is_empty(), "nothing released");
            Err(a)
        }
        (a, b) => panic!("record and stream disagree: {a:?} vs {b:?}"),
    }
}

/// Builds the two-key frame for the header `prefix` (an AES-256-GCM
/// header whose frame size is at least 32) and shows that only the
/// commitment keeps it from opening under the second data key.
fn salamander(prefix: &[u8], context: &Context) {
    assert_eq!(prefix[5], Suite::Aes256Gcm.id());
    let dek1_bytes = [0x11u8; 32];
    let dek2_bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(29));
    let dek1 = DataKey::from_slice(&dek1_bytes).unwrap();
    let dek2 = DataKey::from_slice(&dek2_bytes).unwrap();

    let d1 = derive(dek1.expose_secret(), prefix);
    let d2 = derive(dek2.expose_secret(), prefix);
    assert_ne!(d1.key, d2.key);
    assert_ne!(d1.commitment, d2.commitment);

    // One frame: frame 0, the last one.
    let nonce = frame_nonce(0, true);
    let aad = frame_aad(prefix);
    let frame = two_key_frame(&d1.key, &d2.key, nonce, aad, *b"invisible salamd");
    assert_eq!(frame.len(), 32 + 16);

    // What makes the test meaningful: raw AES-256-GCM accepts the frame
    // under both message keys, with different plaintexts.
    let p1 = ring_open(&d1.key, nonce, aad, &frame).expect("the frame opens under message key 1");
    let p2 = ring_open(&d2.key, nonce, aad, &frame).expect("the frame opens under message key 2");
    assert_ne!(p1, p2);
    assert_eq!(p1, xor(&frame[..32], &keystream_2_blocks(&d1.key, nonce)));
    assert_eq!(p2, xor(&frame[..32], &keystream_2_blocks(&d2.key, nonce)));
    // Control: a third key does not open it (the tag is not universal).
    let d3 = derive(&[0x33; 32], prefix);
    assert!(ring_open(&d3.key, nonce, aad, &frame).is_none());

    // A keyring with one LocalKek; the test keeps a handle to wrap with.
    let kek = Arc::new(LocalKek::generate(KEK_ID).unwrap());
    let mut keyring = Keyring::new();
    keyring.add_shared(kek.clone()).unwrap();
    let envelope = Envelope::new(keyring);
    let aad = key_section_aad(prefix, KEK_ID);
    let wrapped1 = kek.wrap(&dek1, &aad).unwrap();
    let wrapped2 = kek.wrap(&dek2, &aad).unwrap();
    let ks1 = key_section(KEK_ID, &wrapped1);
    let ks2 = key_section(KEK_ID, &wrapped2);

    // Envelope A: DEK1's commitment, DEK1 wrapped, the frame. It opens, to
    // the plaintext raw GCM gives under message key 1 (so derive.rs, the
    // nonce and the key-section AAD all match FORMAT.md).
    let a = [prefix, &d1.commitment, &ks1, &frame].concat();
    let (header, len) = Header::parse(&a).unwrap();
    assert_eq!(len, a.len() - frame.len());
    assert_eq!(header.commitment(), &d1.commitment);
    assert_eq!(header.wrapped_dek(), wrapped1.as_slice());
    assert_eq!(header.context(), context);
    assert_eq!(open_both(&envelope, &a, context).unwrap(), p1);

    // Envelope B: the same header and frame, but the key section wraps
    // DEK2, under which the frame also authenticates. Refused: DEK2 does
    // not match the commitment.
    let b = [prefix, &d1.commitment, &ks2, &frame].concat();
    assert!(matches!(
        open_both(&envelope, &b, context),
        Err(Error::Decrypt)
    ));

    // The same bytes with DEK2's commitment instead open to the second
    // plaintext: only the commitment stood in the way.
    let b_committed = [prefix, &d2.commitment, &ks2, &frame].concat();
    assert_eq!(open_both(&envelope, &b_committed, context).unwrap(), p2);

    // And DEK1 under DEK2's commitment is refused too.
    let a_miscommitted = [prefix, &d2.commitment, &ks1, &frame].concat();
    assert!(matches!(
        open_both(&envelope, &a_miscommitted, context),
        Err(Error::Decrypt)
    ));
}

/// The header built by hand from `FORMAT.md`.
#[test]
fn two_key_frame_is_stopped_by_the_commitment_hand_built_header() {
    let pairs = [("purpose", "salamander"), ("tenant", "acme")];
    let context = Context::from_pairs(pairs).unwrap();
    // Every format version: versions 1 and 2 are still read.
    for version in [0x01, 0x02, 0x03] {
        for frame_size in [32, 64 << 10] {
            let prefix = prefix_by_hand(
                version,
                Suite::Aes256Gcm.id(),
                frame_size,
                [0x5a; 32],
                &pairs,
            );
            salamander(&prefix, &context);
        }
        // With an empty context too.
        salamander(
            &prefix_by_hand(version, 0x01, 48, [0xa5; 32], &[]),
            &Context::new(),
        );
    }
}

/// The header taken from a message sealed with the public API (random
/// message id, the library's own context encoding), with its commitment,
/// key section and frames replaced.
#[test]
fn two_key_frame_is_stopped_by_the_commitment_sealed_header() {
    let envelope =
        Envelope::new(Keyring::with_primary(LocalKek::generate("any").unwrap()).unwrap());
    let context =
        Context::from_pairs([("tenant", "acme"), ("record", "42"), ("field", "iban")]).unwrap();
    for frame_size in [32, 1 << 20] {
        let sealed = envelope
            .seal_to_vec_with(
                b"a real message",
                &context,
                &SealOptions::new()
                    .suite(Suite::Aes256Gcm)
                    .frame_size(frame_size),
            )
            .unwrap();
        let (header, _) = Header::parse(&sealed).unwrap();
        assert_eq!(header.suite(), Suite::Aes256Gcm);
        assert_eq!(header.frame_size(), frame_size);
        assert_eq!(header.context(), &context);
        let prefix = prefix_of(&sealed);
        assert_eq!(&prefix[10..42], header.message_id());
        assert_eq!(
            &sealed[prefix.len()..prefix.len() + 32],
            header.commitment()
        );
        salamander(prefix, &context);
    }
}

// ---- non-canonical framing, built with the key --------------------------------

/// Seals one frame with the raw AEAD of `suite`.
fn seal_frame_by_hand(
    suite: Suite,
    key: &[u8; 32],
    nonce: [u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut buf = plaintext.to_vec();
    let tag: Vec<u8> = match suite {
        Suite::Aes256Gcm => LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap())
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .unwrap()
            .as_ref()
            .to_vec(),
        _ => aes_gcm_siv::Aes256GcmSiv::new(&(*key).into())
            .encrypt_inout_detached(&nonce.into(), aad, (&mut buf[..]).into())
            .unwrap()
            .to_vec(),
    };
    buf.extend_from_slice(&tag);
    buf
}

/// Frames that only a holder of the data key could write, but that no
/// correct sealer writes, are refused (`FORMAT.md`, "Reading frames"): an
/// empty last frame after frame 0, and a stream with no last frame. The
/// canonical encodings of the same plaintexts, built the same way, open.
#[test]
fn only_canonical_framing_opens() {
    let kek = Arc::new(LocalKek::generate(KEK_ID).unwrap());
    let mut keyring = Keyring::new();
    keyring.add_shared(kek.clone()).unwrap();
    let envelope = Envelope::new(keyring);
    let context = Context::from_pairs([("k", "v")]).unwrap();
    let full = [0x5au8; 32];
    for (suite, version) in Suite::ALL
        .into_iter()
        .flat_map(|s| [(s, 0x01), (s, 0x02), (s, 0x03)])
    {
        let prefix = prefix_by_hand(version, suite.id(), 32, [0x77; 32], &[("k", "v")]);
        let dek = DataKey::from_slice(&[0x99; 32]).unwrap();
        let derived = derive(dek.expose_secret(), &prefix);
        let wrapped = kek.wrap(&dek, &key_section_aad(&prefix, KEK_ID)).unwrap();
        let head = [
            prefix.as_slice(),
            &derived.commitment,
            &key_section(KEK_ID, &wrapped),
        ]
        .concat();
        let message = |frames: &[(&[u8], bool)]| {
            let mut out = head.clone();
            for (i, (plaintext, last)) in frames.iter().enumerate() {
                let nonce = frame_nonce(i as u64, *last);
                out.extend_from_slice(&seal_frame_by_hand(
                    suite,
                    &derived.key,
                    nonce,
                    frame_aad(&prefix),
                    plaintext,
                ));
            }
            out
        };

        // Canonical: they open (the hand-built frames are right).
        assert_eq!(
            open_both(&envelope, &message(&[(b"", true)]), &context).unwrap(),
            b""
        );
        assert_eq!(
            open_both(&envelope, &message(&[(&full, true)]), &context).unwrap(),
            full
        );
        assert_eq!(
            open_both(
                &envelope,
                &message(&[(&full, false), (b"x", true)]),
                &context
            )
            .unwrap(),
            [&full[..], b"x"].concat()
        );

        // Non-canonical: 32 bytes as a full frame and an empty last frame.
        let empty_last = message(&[(&full, false), (b"", true)]);
        assert!(
            matches!(
                envelope.open_to_vec(&empty_last, &context),
                Err(Error::Decrypt)
            ),
            "{suite}: an empty last frame after frame 0 was accepted"
        );
        let mut streamed = Vec::new();
        assert!(matches!(
            envelope.open(empty_last.as_slice(), &mut streamed, &context),
            Err(Error::Decrypt)
        ));
        assert_eq!(
            streamed, full,
            "{suite}: only the authentic full frame is released"
        );

        // No frame flagged last: a stream cut by someone with the key.
        let no_last = message(&[(&full, false), (&full, false)]);
        assert!(matches!(
            envelope.open_to_vec(&no_last, &context),
            Err(Error::Decrypt)
        ));
        // A last flag on a frame that is followed by more data.
        let early_last = message(&[(&full, true), (b"x", true)]);
        assert!(matches!(
            envelope.open_to_vec(&early_last, &context),
            Err(Error::Decrypt)
        ));
    }
}
