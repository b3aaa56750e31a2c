//! Where a token's user PIN comes from, and the PIN itself.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::SecretBox;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Where the user PIN comes from: a URI's `pin-source` attribute.
///
/// | `pin-source` | meaning |
/// | --- | --- |
/// | `file:/absolute/path`, `file:///absolute/path`, `/absolute/path` | the file's content, less one trailing newline (`\n` or `\r\n`) |
/// | `env:VARIABLE` | the environment variable's value (**an extension of this crate**: RFC 7512 defines no `env:` scheme) |
///
/// The file belongs to the operator: keep it mode 0600 (or 0400), owned by
/// the service's user. It is read when a [`Token`](crate::Token) is opened;
/// the PIN is then kept in memory (wiped on drop) to log in new sessions.
/// An `env:` PIN stays in the process environment, where other code of
/// the process (and, on Linux, `/proc/PID/environ` for the same user) can
/// read it: prefer `file:`.
///
/// A `PinSource` is not secret: it names where the PIN is, never the PIN,
/// and displays as written in a URI.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum PinSource {
    /// Read the PIN from this file (an absolute path).
    File(PathBuf),
    /// Read the PIN from this environment variable.
    Env(String),
}

impl PinSource {
    /// A PIN file; the path must be absolute and UTF-8.
    pub fn file(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if !path.is_absolute() || path.to_str().is_none() {
            return Err(Error::uri(
                "pin-source: a PIN file is an absolute UTF-8 path",
            ));
        }
        Ok(PinSource::File(path))
    }

    /// An environment variable: a name of ASCII letters, digits and `_`,
    /// not starting with a digit.
    pub fn env(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let mut bytes = name.bytes();
        let valid = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && name.len() <= 255;
        if !valid {
            return Err(Error::uri(
                "pin-source: env: needs a variable name (ASCII letters, digits and `_`, not starting with a digit)",
            ));
        }
        Ok(PinSource::Env(name))
    }

    /// Parses a decoded `pin-source` value. The error never quotes the
    /// value: a PIN written there by mistake stays out of logs.
    pub(crate) fn parse(value: &[u8]) -> Result<Self> {
        let unsupported = || {
            Error::uri(
                "unsupported pin-source: use file:/absolute/path or env:VARIABLE \
                 (the value is not shown, in case it is a PIN)",
            )
        };
        let text = std::str::from_utf8(value).map_err(|_| unsupported())?;
        if let Some(name) = text.strip_prefix("env:") {
            return Self::env(name);
        }
        let path = match text.strip_prefix("file:") {
            // file:///path (empty authority) or file:/path; never a host.
            Some(rest) => match rest.strip_prefix("//") {
                Some(after) if after.starts_with('/') => after,
                Some(_) => {
                    return Err(Error::uri(
                        "pin-source: file URIs with a host are not supported: use file:/absolute/path",
                    ));
                }
                None => rest,
            },
            None if text.starts_with('/') => text,
            None => return Err(unsupported()),
        };
        Self::file(path)
    }

    /// Reads the PIN.
    pub(crate) fn read(&self) -> Result<Pin> {
        let fail = |source: io::Error| Error::PinSource {
            pin_source: self.to_string(),
            source,
        };
        let mut bytes = match self {
            PinSource::File(path) => Zeroizing::new(std::fs::read(path).map_err(fail)?),
            PinSource::Env(name) => {
                let value = std::env::var_os(name).ok_or_else(|| {
                    fail(io::Error::new(
                        io::ErrorKind::NotFound,
                        "the environment variable is not set",
                    ))
                })?;
                let value = value.into_string().map_err(|_| {
                    fail(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the environment variable is not UTF-8",
                    ))
                })?;
                Zeroizing::new(value.into_bytes())
            }
        };
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        if bytes.is_empty() {
            return Err(fail(io::Error::new(
                io::ErrorKind::InvalidData,
                "the PIN is empty",
            )));
        }
        Ok(Pin(SecretBox::new(Box::new(bytes.to_vec()))))
    }

    /// The PIN file's path, for a `File` source.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PinSource::File(path) => Some(path),
            PinSource::Env(_) => None,
        }
    }
}

impl fmt::Display for PinSource {
    /// As written in a URI: `file:/path` or `env:NAME`; a path that starts
    /// with `//` is written `file:///…`, so that it does not read as a
    /// host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinSource::File(path) if path.to_string_lossy().starts_with("//") => {
                write!(f, "file://{}", path.display())
            }
            PinSource::File(path) => write!(f, "file:{}", path.display()),
            PinSource::Env(name) => write!(f, "env:{name}"),
        }
    }
}

/// A user PIN, wiped on drop; its `Debug` shows no digit of it.
pub(crate) struct Pin(SecretBox<Vec<u8>>);

impl Pin {
    pub(crate) fn secret(&self) -> &SecretBox<Vec<u8>> {
        &self.0
    }

    #[cfg(test)]
    fn expose(&self) -> &[u8] {
        use secrecy::ExposeSecret as _;
        self.0.expose_secret()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_file_sources() {
        for text in ["file:/etc/pin", "file:///etc/pin", "/etc/pin"] {
            assert_eq!(
                PinSource::parse(text.as_bytes()).unwrap(),
                PinSource::File(PathBuf::from("/etc/pin")),
                "{text}"
            );
        }
        // Not one of the supported forms: refused without quoting the
        // value (it may be a PIN written in the wrong place).
        for text in [
            "file:S3CRET/pin",
            "file://S3CRET/pin",
            "S3CRET/pin",
            "S3CRET",
            "env:",
            "env:9S3CRET",
            "env:S3CRET-PIN",
            "http://S3CRET",
        ] {
            let err = PinSource::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(!err.contains("S3CRET"), "{err} quotes {text}");
        }
    }

    #[test]
    fn display_parses_back_to_the_same_text() {
        for text in ["file:/etc/pin", "file:////srv//pin", "file:///x", "env:PIN"] {
            let source = PinSource::parse(text.as_bytes()).unwrap();
            let shown = source.to_string();
            let again = PinSource::parse(shown.as_bytes()).unwrap();
            assert_eq!(again.to_string(), shown, "{text}");
        }
        // A bare path with a leading `//` keeps its slashes.
        let source = PinSource::parse(b"//srv/pin").unwrap();
        assert_eq!(source.to_string(), "file:////srv/pin");
        assert_eq!(
            PinSource::parse(source.to_string().as_bytes())
                .unwrap()
                .to_string(),
            "file:////srv/pin"
        );
    }

    #[test]
    fn a_pin_file_loses_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        for (content, pin) in [
            (&b"1234\n"[..], &b"1234"[..]),
            (b"1234\r\n", b"1234"),
            (b"1234", b"1234"),
            (b"12 34\n\n", b"12 34\n"),
        ] {
            let path = dir.path().join("pin");
            std::fs::write(&path, content).unwrap();
            assert_eq!(
                PinSource::file(&path).unwrap().read().unwrap().expose(),
                pin
            );
        }
        let path = dir.path().join("empty");
        std::fs::write(&path, b"\n").unwrap();
        let err = PinSource::file(&path).unwrap().read().unwrap_err();
        assert!(err.to_string().contains("the PIN is empty"), "{err}");
        let missing = PinSource::file(dir.path().join("missing"))
            .unwrap()
            .read()
            .unwrap_err();
        assert!(matches!(missing, Error::PinSource { .. }), "{missing}");
    }

    #[test]
    fn a_pin_never_shows_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, b"987654").unwrap();
        let pin = PinSource::file(&path).unwrap().read().unwrap();
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
    }
}
