//! Seeds of `pkcs11_uri`: the URIs of RFC 7512 section 3 that tresor
//! accepts, tresor's own, URIs with every attribute and every way of
//! percent-encoding, and one refused URI per defect; the same on every
//! run.

use tresor_pkcs11::Pkcs11Uri;

use crate::Seed;

/// URIs that parse.
const VALID: [(&str, &str); 14] = [
    ("empty", "pkcs11:"),
    ("rfc-pubkey", "pkcs11:object=my-pubkey;type=public"),
    (
        "rfc-private-pin-source",
        "pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
    ),
    (
        "rfc-certificate",
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;\
model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=\
?pin-source=file:/etc/token_pin",
    ),
    (
        "rfc-module-path",
        "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
    ),
    (
        "rfc-slot-description",
        "pkcs11:slot-description=Sun%20Metaslot",
    ),
    (
        "rfc-library",
        "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;\
library-version=1.23",
    ),
    (
        "rfc-percent",
        "pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
    ),
    (
        "rfc-utf8",
        "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
    ),
    (
        "tresor-kek",
        "pkcs11:token=tresor;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so\
&pin-source=file:/etc/tresor/hsm.pin",
    ),
    (
        "tresor-env-module-name",
        "pkcs11:token=tresor;id=%20%26?module-path=/usr/lib/softhsm&module-name=softhsm2\
&pin-source=env:TRESOR_HSM_PIN",
    ),
    (
        "every-attribute",
        "PKCS11:token=t;manufacturer=m;serial=s;model=mo;library-manufacturer=lm;\
library-description=ld;library-version=2;object=o;type=secret-key;id=%00;\
slot-description=sd;slot-manufacturer=sm;slot-id=18446744073709551615;x-path=&x?\
module-name=n&module-path=/m&pin-source=file:///p&x-query=/?|&x-query=2",
    ),
    (
        "reserved-characters",
        "pkcs11:object=:[]@!$'()*+,=&~._-?x-q=:[]@!$'()*+,=/?|~._-",
    ),
    (
        "bare-pin-path",
        "pkcs11:token=a?pin-source=/run/secrets/hsm%20pin",
    ),
];

/// URIs that are refused, each for one reason.
const REFUSED: [(&str, &str); 16] = [
    ("bad-scheme", "pkcs12:token=a"),
    ("bad-pin-value", "pkcs11:token=a?pin-value=1234"),
    ("bad-pin-value-path", "pkcs11:pin-value=1234"),
    ("bad-fragment", "pkcs11:token=a#b"),
    ("bad-repeated", "pkcs11:token=a;token=b"),
    ("bad-unknown", "pkcs11:vendor-aaa=value-a"),
    ("bad-misplaced", "pkcs11:?token=a"),
    ("bad-empty-attribute", "pkcs11:token=a;;object=b"),
    ("bad-no-equals", "pkcs11:token"),
    ("bad-percent", "pkcs11:token=%4"),
    ("bad-raw-space", "pkcs11:token=a b"),
    ("bad-not-utf8", "pkcs11:token=%C3"),
    ("bad-slot-id", "pkcs11:slot-id=18446744073709551616"),
    ("bad-library-version", "pkcs11:library-version=1.256"),
    ("bad-relative-module", "pkcs11:?module-path=lib.so"),
    ("bad-module-name-alone", "pkcs11:?module-name=softhsm2"),
];

/// The `pkcs11_uri` seeds; checks that each parses or is refused as its
/// name says.
pub(crate) fn seeds() -> Result<Vec<Seed>, Box<dyn std::error::Error>> {
    let mut seeds = Vec::new();
    for (name, text) in VALID {
        Pkcs11Uri::parse(text).map_err(|err| format!("seed {name}: {err}"))?;
        seeds.push((name.to_owned(), text.as_bytes().to_vec()));
    }
    for (name, text) in REFUSED {
        if Pkcs11Uri::parse(text).is_ok() {
            return Err(format!("seed {name} parses").into());
        }
        seeds.push((name.to_owned(), text.as_bytes().to_vec()));
    }
    Ok(seeds)
}

/// The P-256 generator, uncompressed: a valid point.
const P256_G: [u8; 65] = [
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
    0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
    0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
    0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51,
    0xf5,
];

/// The `pkcs11_ec_point` seeds: a selector byte (0: P-256, 1: Ed25519)
/// and a `CKA_EC_POINT` value, DER-wrapped, bare, compressed, and refused
/// ones (off the curve, truncated, empty, a wrong length); checks that
/// each is read or refused as its name says.
pub(crate) fn ec_point_seeds() -> Result<Vec<Seed>, Box<dyn std::error::Error>> {
    use tresor_pkcs11::{SignatureAlgorithm, SigningPublicKey};

    let wrap = |raw: &[u8]| -> Vec<u8> {
        let len = u8::try_from(raw.len()).unwrap_or(0);
        [0x04, len].iter().chain(raw).copied().collect()
    };
    let mut compressed = vec![0x03];
    compressed.extend_from_slice(P256_G.get(1..33).unwrap_or_default());
    let mut off_curve = P256_G;
    if let Some(last) = off_curve.last_mut() {
        *last ^= 1;
    }
    let ed25519 = [0x5a; 32];
    let cases: Vec<(&str, u8, Vec<u8>, bool)> = vec![
        ("p256-der", 0, wrap(&P256_G), true),
        ("p256-bare", 0, P256_G.to_vec(), true),
        ("p256-compressed", 0, compressed, true),
        ("ed25519-der", 1, wrap(&ed25519), true),
        ("ed25519-bare", 1, ed25519.to_vec(), true),
        ("bad-p256-off-curve", 0, wrap(&off_curve), false),
        (
            "bad-p256-truncated",
            0,
            P256_G.get(..64).unwrap_or_default().to_vec(),
            false,
        ),
        ("bad-p256-empty", 0, Vec::new(), false),
        ("bad-ed25519-31-bytes", 1, wrap(&[0x5a; 31]), false),
    ];
    let mut seeds = Vec::new();
    for (name, selector, value, accepted) in cases {
        let alg = if selector == 0 {
            SignatureAlgorithm::EcdsaP256Sha256
        } else {
            SignatureAlgorithm::Ed25519
        };
        if SigningPublicKey::from_ec_point(alg, &value).is_ok() != accepted {
            return Err(format!(
                "seed {name} is not {}",
                if accepted { "read" } else { "refused" }
            )
            .into());
        }
        seeds.push((
            name.to_owned(),
            [selector].iter().chain(&value).copied().collect(),
        ));
    }
    Ok(seeds)
}
