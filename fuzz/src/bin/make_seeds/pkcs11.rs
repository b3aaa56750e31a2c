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
