//! [`BackendError`]: the cause of a backend failure, shared by the tresor
//! crates' error types.

use std::fmt;
use std::sync::Arc;

/// The cause of a backend failure (a database, a key store, an HSM or KMS,
/// a shared nonce store, a random generator): any error, shared behind an
/// [`Arc`] so that the error types that carry it stay `Clone`, as rustls'
/// `OtherError` does.
///
/// `tresor-httpsig` (`Error::Unavailable`, `Error::Signing`) and
/// `tresor-credentials` (`Error::Storage`, `Error::Pepper`, `Error::Io`,
/// `Error::Signing`) carry it as their `#[source]` and re-export it as
/// `tresor_httpsig::BackendError` and `tresor_credentials::BackendError`:
/// the same type.
///
/// It displays as its cause and passes on the cause's own source, so an
/// error chain reads `nonce store unavailable: connection refused`. Two
/// values are equal only if they share the same cause (the same
/// allocation): errors from backends have no meaningful equality.
///
/// ```
/// use tresor_types::BackendError;
///
/// let cause = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let error = BackendError::new(cause);
/// assert_eq!(error.to_string(), "connection refused");
/// assert!(error.downcast_ref::<std::io::Error>().is_some());
/// assert_eq!(error, error.clone()); // the same cause
/// assert_ne!(error, BackendError::new("connection refused")); // another one
/// ```
#[derive(Clone)]
pub struct BackendError(Arc<dyn std::error::Error + Send + Sync>);

impl BackendError {
    /// Wraps `source` (any error, or a message: `&str` and `String`
    /// convert). It must hold no secret: it is displayed in logs.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(Arc::from(source.into()))
    }

    /// Wraps an error that is already shared.
    pub fn from_arc(source: Arc<dyn std::error::Error + Send + Sync>) -> Self {
        Self(source)
    }

    /// The cause.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The cause as a `T`, if it is one (e.g. the [`std::io::Error`] of a
    /// key file).
    pub fn downcast_ref<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for BackendError {
    /// The same cause (the same allocation), not merely an equal message.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BackendError {}

#[cfg(test)]
mod tests {
    use super::BackendError;
    use std::error::Error as _;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn passes_on_the_cause_and_its_source() {
        let e = BackendError::new(Outer(std::io::Error::other("inner")));
        assert_eq!(e.to_string(), "outer");
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("inner")
        );
        assert!(e.downcast_ref::<Outer>().is_some());
        assert!(e.downcast_ref::<std::io::Error>().is_none());
    }

    #[test]
    fn equal_only_to_the_same_allocation() {
        let shared = std::sync::Arc::new(std::io::Error::other("down"));
        let a = BackendError::from_arc(shared.clone());
        let b = BackendError::from_arc(shared);
        assert_eq!(a, b);
        assert_ne!(BackendError::new("down"), BackendError::new("down"));
    }
}
