//! Keys that never leave a PKCS#11 token (an HSM, a smart card, SoftHSM2),
//! configured by RFC 7512 PKCS#11 URIs.
//!
//! The crate opens a token named by a URI such as
//!
//! ```text
//! pkcs11:token=tresor;object=kek-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin
//! ```
//!
//! keeps a pool of logged-in sessions on it, and lets the other tresor
//! crates use keys that stay inside it: the envelope key-encryption key
//! ([`Pkcs11Kek`], feature `envelope`), the credential registry's pepper
//! ([`Pkcs11Pepper`], feature `credentials`), ECDSA P-256 and Ed25519
//! signing keys ([`Pkcs11SigningKey`]) that sign HTTP requests for
//! `tresor-httpsig` (feature `httpsig`), and the Ed25519 key that signs
//! `tresor-audit` checkpoints ([`Pkcs11NoteSigner`], feature `audit`).
//! [`Token::objects`] lists a token's keys.
//!
//! # Guarantees
//!
//! - **Keys stay in the token.** Every operation on a key is a PKCS#11
//!   call on its handle; its bytes are never read. A key that could leave
//!   the token (`CKA_EXTRACTABLE` true or `CKA_SENSITIVE` false) is refused
//!   unless the caller explicitly allows it, and [`Pkcs11Kek::generate`]
//!   creates keys that never can (as does [`Pkcs11SigningKey::generate`]
//!   for private keys). [`Pkcs11Kek::custody`] and
//!   [`Pkcs11SigningKey::custody`] show what the token says about a key.
//! - **Signing keys are checked.** A signing key's public key is read from
//!   the token and validated ([`SigningPublicKey`]: P-256 points with the
//!   `p256` crate), and a key pair opens only if its public key verifies
//!   a signature its private key just made. Signatures are in the format
//!   RFC 9421 and JOSE use (ECDSA `r || s`, 64 bytes), whatever form the
//!   token returns them in.
//! - **Wrapped keys are bound to their envelope.** The KEK wraps data keys
//!   with AES-256-GCM *in the token* (`CKM_AES_GCM`), the envelope's
//!   key-section AAD as the GCM additional data; see [`Pkcs11Kek`] for the
//!   format and why GCM rather than `CKM_AES_KEY_WRAP_KWP`.
//! - **An outage is not tampering.** A wrapped key that does not
//!   authenticate is `tresor_envelope::Error::Decrypt`; a token that is
//!   gone or failing is `tresor_envelope::Error::Kek` with this crate's
//!   [`Error`] as its source, for which [`Error::is_unavailable`] is true.
//! - **The PIN stays secret.** It is never in a URI (`pin-value` is
//!   refused), is read from a file (or an environment variable) named by
//!   `pin-source`, kept wiped-on-drop in memory, used only for `C_Login`,
//!   and never appears in an error or in `Debug` output. A PIN the token
//!   refuses is not tried again ([`Error::PinIncorrect`]), so a changed PIN
//!   cannot lock the token through retries.
//! - **The pepper's MACs are computed in the token.** [`Pkcs11Pepper`]
//!   signs with `CKM_SHA256_HMAC` on a key that never leaves the token;
//!   the tag is exactly HMAC-SHA-256 under that key, as
//!   `tresor_credentials::LocalPepper` computes it. A token failure is a
//!   pepper outage for the registry (503), never a failed authentication.
//! - **Sessions recover.** A session or token failure drops the pool's
//!   sessions; the next call finds the token again (in whatever slot it
//!   now is) and logs in a new session. See [`Token`].
//! - **Sessions are capped.** A token never has more than
//!   [`TokenOptions::max_sessions`] sessions open; callers beyond the cap
//!   wait, then fail with [`Error::SessionsExhausted`], an outage.
//! - **Listing shows no value.** [`Token::objects`] reports names, kinds
//!   and custody flags ([`ObjectInfo`]); it never reads a key's value.
//! - **No panics on input.** The URI parser refuses what it does not
//!   understand with an error that says why and never quotes a value;
//!   wrapped keys of any length or content are rejected, never a panic.
//!
//! # Example
//!
#![cfg_attr(
    feature = "envelope",
    doc = r##"
```no_run
use tresor_envelope::{Context, Envelope, Keyring};
use tresor_pkcs11::{Pkcs11Kek, Pkcs11Uri};

# fn main() -> Result<(), Box<dyn std::error::Error>> {
let uri: Pkcs11Uri = "pkcs11:token=tresor;object=kek-2026\
    ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin"
    .parse()?;

// Loads the module, finds the token, logs in, finds and checks the key.
let kek = Pkcs11Kek::open(&uri)?;
let envelope = Envelope::new(Keyring::with_primary(kek)?);

let context = Context::from_pairs([("tenant", "acme"), ("field", "iban")])?;
let sealed = envelope.seal_to_vec(b"DE89 3704 0044 0532 0130 00", &context)?;
assert_eq!(envelope.open_to_vec(&sealed, &context)?, b"DE89 3704 0044 0532 0130 00");
# Ok(())
# }
```

A new key, generated in the token (once, by an operator):

```no_run
use tresor_pkcs11::{Pkcs11Kek, Pkcs11Uri, Token};

# fn main() -> Result<(), Box<dyn std::error::Error>> {
let uri: Pkcs11Uri = "pkcs11:token=tresor\
    ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/tresor/hsm.pin"
    .parse()?;
let token = Token::open(&uri)?;
let kek = Pkcs11Kek::generate(&token, "kek-2026", Some(&[0x20, 0x26]))?;
assert!(kek.custody()?.never_leaves_token());
# Ok(())
# }
```
"##
)]
#![cfg_attr(
    not(feature = "envelope"),
    doc = "(The examples use the `envelope` feature.)"
)]
//!
//! # Configuration
//!
//! [`Pkcs11Uri`] documents the URI syntax this crate accepts: RFC 7512
//! path attributes select the module's token and slot (`token`, `serial`,
//! `slot-id`…) and the key (`object`, `id`); query attributes name the
//! module (`module-path`, required) and the PIN's source (`pin-source`:
//! `file:/path`, or `env:VARIABLE`, an extension of this crate).
//!
//! # Blocking calls
//!
//! Every call into the token blocks the calling thread for the length of
//! the PKCS#11 call (microseconds for SoftHSM2, a network round trip for a
//! network HSM). An async server calls the envelope from
//! `spawn_blocking`, or caches data keys (`tresor-envelope`'s seal and
//! open caches) so that most requests never reach the token. No runtime
//! is started here.
//!
//! # Features
//!
//! - `envelope` (default): [`Pkcs11Kek`], a
//!   `tresor_envelope::KeyEncryptionKey`.
//! - `credentials` (default): [`Pkcs11Pepper`], a
//!   `tresor_credentials::Pepper`.
//! - `httpsig` (default): [`Pkcs11SigningKey`] implements
//!   `tresor_httpsig::SigningKey`, and gives its verifying key
//!   (`Pkcs11SigningKey::verifying_key`, a `tresor_httpsig::PublicKey`).
//! - `audit` (default): [`Pkcs11NoteSigner`], a
//!   `tresor_audit::note::NoteSign` for signed checkpoints.
//!
//! Without any feature the crate is the URI parser, the token and its
//! session pool, key listing, and [`Pkcs11SigningKey`] signing raw
//! messages.
//!
//! # What the crate root exports
//!
//! - configuration: [`Pkcs11Uri`], [`PinSource`], [`ObjectType`],
//!   [`LibraryVersion`], [`MAX_URI_LEN`];
//! - tokens: [`Token`], [`TokenOptions`], [`SessionStats`],
//!   [`DEFAULT_MAX_SESSIONS`], [`DEFAULT_SESSION_WAIT`];
//! - listing: [`ObjectFilter`], [`ObjectInfo`], [`KeyClass`],
//!   [`KeyKind`], [`KeyCustody`];
//! - key-encryption keys (feature `envelope`): [`Pkcs11Kek`],
//!   [`Pkcs11KekBuilder`], [`PKCS11_WRAPPED_LEN`];
//! - the pepper (feature `credentials`): [`Pkcs11Pepper`],
//!   [`Pkcs11PepperBuilder`], [`PEPPER_KEY_LEN`];
//! - signing keys: [`Pkcs11SigningKey`], [`Pkcs11SigningKeyBuilder`],
//!   [`SignatureAlgorithm`], [`SigningPublicKey`]; [`Pkcs11NoteSigner`]
//!   (feature `audit`);
//! - errors: [`Error`], [`Result`], [`BackendError`].
//!
// Without the `envelope` or `credentials` feature these items are not here: their links go
// to the default build on docs.rs. (One definition per attribute: rustdoc
// reads them so.)
#![cfg_attr(
    not(feature = "envelope"),
    doc = "[`Pkcs11Kek`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11Kek.html"
)]
#![cfg_attr(
    not(feature = "envelope"),
    doc = "[`Pkcs11Kek::generate`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11Kek.html#method.generate"
)]
#![cfg_attr(
    not(feature = "envelope"),
    doc = "[`Pkcs11Kek::custody`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11Kek.html#method.custody"
)]
#![cfg_attr(
    not(feature = "envelope"),
    doc = "[`Pkcs11KekBuilder`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11KekBuilder.html"
)]
#![cfg_attr(
    not(feature = "credentials"),
    doc = "[`Pkcs11Pepper`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11Pepper.html"
)]
#![cfg_attr(
    not(feature = "credentials"),
    doc = "[`Pkcs11PepperBuilder`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11PepperBuilder.html"
)]
#![cfg_attr(
    not(feature = "credentials"),
    doc = "[`PEPPER_KEY_LEN`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/constant.PEPPER_KEY_LEN.html"
)]
#![cfg_attr(
    not(feature = "audit"),
    doc = "[`Pkcs11NoteSigner`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/struct.Pkcs11NoteSigner.html"
)]
#![cfg_attr(
    not(feature = "envelope"),
    doc = "[`PKCS11_WRAPPED_LEN`]: https://docs.rs/tresor-pkcs11/latest/tresor_pkcs11/constant.PKCS11_WRAPPED_LEN.html"
)]
#![forbid(unsafe_code)]

mod ecdsa;
mod error;
#[cfg(feature = "httpsig")]
mod httpsig;
#[cfg(feature = "envelope")]
mod kek;
mod key;
mod module;
#[cfg(feature = "audit")]
mod note;
mod objects;
mod pair;
#[cfg(feature = "credentials")]
mod pepper;
mod percent;
mod pin;
mod pool;
mod public_key;
mod signing;
mod token;
mod uri;

pub use error::{BackendError, Error, Result};
#[cfg(feature = "envelope")]
pub use kek::{PKCS11_WRAPPED_LEN, Pkcs11Kek, Pkcs11KekBuilder};
pub use key::KeyCustody;
#[cfg(feature = "audit")]
pub use note::Pkcs11NoteSigner;
pub use objects::{KeyClass, KeyKind, ObjectFilter, ObjectInfo};
#[cfg(feature = "credentials")]
pub use pepper::{PEPPER_KEY_LEN, Pkcs11Pepper, Pkcs11PepperBuilder};
pub use pin::PinSource;
pub use pool::SessionStats;
pub use public_key::SigningPublicKey;
pub use signing::{Pkcs11SigningKey, Pkcs11SigningKeyBuilder, SignatureAlgorithm};
pub use token::{DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_WAIT, Token, TokenOptions};
pub use uri::{LibraryVersion, MAX_URI_LEN, ObjectType, Pkcs11Uri};

/// The README's examples, compiled as doctests.
#[cfg(all(
    doctest,
    feature = "envelope",
    feature = "credentials",
    feature = "httpsig",
    feature = "audit"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
