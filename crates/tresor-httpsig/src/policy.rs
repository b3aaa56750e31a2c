//! The verification policy: what a signature must cover and which
//! parameters it must carry.

use crate::alg::Algorithm;
use crate::component::ComponentId;
use crate::digest::DigestAlgorithm;
use crate::error::{Error, Result};
use crate::message::{Message, query_is_utf8};
use crate::params::SignatureParams;

/// Default maximum age of a signature, in seconds (5 minutes).
pub const DEFAULT_MAX_AGE: u64 = 300;
/// Default clock skew tolerated between signer and verifier, in seconds.
pub const DEFAULT_CLOCK_SKEW: u64 = 5;

/// What a verifier demands of a signature.
///
/// The default is the policy for a financial API:
///
/// - covered components: `@method`, `@authority`, `@path`; `@query` when
///   the request has a query; when the message has a body (a
///   `Content-Length` above 0, a `Transfer-Encoding`, or non-empty body
///   bytes given to the verifier) `content-digest` and `content-type`, and
///   `content-length` when that field is present. For a response,
///   `@status` and the same body components.
/// - algorithms: all of [`Algorithm::ALL`] except `rsa-v1_5-sha256`.
/// - `created` required; maximum age [`DEFAULT_MAX_AGE`]; clock skew
///   [`DEFAULT_CLOCK_SKEW`].
/// - `expires`, when present, is always honoured; not required.
/// - `Content-Digest`: `sha-256` and `sha-512` accepted.
/// - `nonce` and `tag` not required; the first signature on the message is
///   verified unless a label or tag selects another.
/// - query parameters must percent-decode to valid UTF-8
///   ([`Policy::require_utf8_query`]); the tower layer verifies with the
///   verifier's policy, so it refuses such requests unless told otherwise.
///
/// Time rules, with `now` the verifier's clock and `skew` the clock skew:
/// a signature is rejected as [`Error::NotYetValid`] when
/// `created > now + skew`, as [`Error::TooOld`] when
/// `now - created > max_age + skew`, and as [`Error::Expired`] when
/// `now > expires + skew`. The boundaries themselves are accepted.
///
/// Nonces: a policy that requires a nonce ([`Policy::require_nonce`])
/// also requires the signature to be bounded in time, since its nonce is
/// remembered exactly as long as the signature can be accepted: `expires`,
/// or `created` under a maximum age. A signature with neither (possible
/// with [`Policy::require_created`]`(false)` or [`Policy::max_age`]`(None)`)
/// is refused as [`Error::MissingParameter`] naming `"created or expires"`
/// (or `"expires"` when there is no maximum age). A signature without
/// `created` but with `expires` is accepted until `expires + skew`, and
/// its nonce remembered until then.
#[derive(Clone, Debug)]
pub struct Policy {
    default_components: bool,
    required: Vec<ComponentId>,
    allowed_algorithms: Vec<Algorithm>,
    require_created: bool,
    max_age: Option<u64>,
    clock_skew: u64,
    require_nonce: bool,
    required_tag: Option<String>,
    label: Option<String>,
    require_utf8_query: bool,
    required_if_present: Vec<ComponentId>,
    body_components: bool,
    require_expires: bool,
    accepted_digests: Vec<DigestAlgorithm>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            default_components: true,
            required: Vec::new(),
            allowed_algorithms: Algorithm::ALL
                .into_iter()
                .filter(|a| *a != Algorithm::RsaV15Sha256)
                .collect(),
            require_created: true,
            max_age: Some(DEFAULT_MAX_AGE),
            clock_skew: DEFAULT_CLOCK_SKEW,
            require_nonce: false,
            required_tag: None,
            label: None,
            require_utf8_query: true,
            required_if_present: Vec::new(),
            body_components: false,
            require_expires: false,
            accepted_digests: DigestAlgorithm::ALL.to_vec(),
        }
    }
}

impl Policy {
    /// The default policy (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops the default components: only those added with
    /// [`Policy::require_component`] are required.
    #[must_use]
    pub fn without_default_components(mut self) -> Self {
        self.default_components = false;
        self
    }

    /// Requires one more covered component.
    #[must_use]
    pub fn require_component(mut self, component: ComponentId) -> Self {
        self.required.push(component);
        self
    }

    /// Requires `component` to be covered whenever the message has it: a
    /// header field when the message carries that field (e.g.
    /// `authorization`, `idempotency-key`), `@query` when the request has
    /// a query. Any other component (derived components, and components
    /// of the related request) counts as always present, so this is then
    /// [`Policy::require_component`].
    ///
    /// This is how a profile that depends on the request is written: a
    /// brokerage API that requires `authorization` and `idempotency-key`
    /// to be signed whenever they are sent, without one policy per route.
    #[must_use]
    pub fn require_component_if_present(mut self, component: ComponentId) -> Self {
        self.required_if_present.push(component);
        self
    }

    /// After [`Policy::without_default_components`], keeps the body part
    /// of the defaults: when the message has a body, `content-digest` and
    /// `content-type`, and `content-length` when that field is present,
    /// must be covered (the default policy always requires them). For
    /// profiles that choose their own request components but must never
    /// accept an unprotected body.
    #[must_use]
    pub fn require_body_components(mut self) -> Self {
        self.body_components = true;
        self
    }

    /// Whether `expires` must be present (default no).
    #[must_use]
    pub fn require_expires(mut self, required: bool) -> Self {
        self.require_expires = required;
        self
    }

    /// The `Content-Digest` algorithms accepted when the verifier checks a
    /// body (default: all of [`DigestAlgorithm::ALL`]). A field with no
    /// member of an accepted algorithm is refused as
    /// [`Error::DigestMismatch`]; members of other algorithms are ignored.
    /// `[DigestAlgorithm::Sha512]` gives the profiles that demand SHA-512.
    #[must_use]
    pub fn accept_digest_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = DigestAlgorithm>,
    ) -> Self {
        self.accepted_digests = algorithms.into_iter().collect();
        self
    }

    /// Whether every signature must carry `expires`.
    pub fn expires_required(&self) -> bool {
        self.require_expires
    }

    /// The accepted `Content-Digest` algorithms.
    pub fn accepted_digest_algorithms(&self) -> &[DigestAlgorithm] {
        &self.accepted_digests
    }

    /// The components required when present (see
    /// [`Policy::require_component_if_present`]).
    pub fn components_required_if_present(&self) -> &[ComponentId] {
        &self.required_if_present
    }

    /// Sets the allowed algorithms (replacing the default set).
    #[must_use]
    pub fn allow_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.allowed_algorithms = algorithms.into_iter().collect();
        self
    }

    /// Whether `created` must be present (default yes).
    #[must_use]
    pub fn require_created(mut self, required: bool) -> Self {
        self.require_created = required;
        self
    }

    /// The maximum age of a signature from its `created` time, or `None`
    /// for no limit (default [`DEFAULT_MAX_AGE`]).
    #[must_use]
    pub fn max_age(mut self, seconds: Option<u64>) -> Self {
        self.max_age = seconds;
        self
    }

    /// The tolerated clock skew in seconds (default [`DEFAULT_CLOCK_SKEW`]).
    #[must_use]
    pub fn clock_skew(mut self, seconds: u64) -> Self {
        self.clock_skew = seconds;
        self
    }

    /// Whether `nonce` must be present (default no). A nonce, when present,
    /// is checked for replay if the verifier has a nonce store, and
    /// remembered as long as its signature can be accepted. When nonces are
    /// required, a signature that nothing bounds in time (no `expires`, and
    /// no `created` under a maximum age) is refused (see [`Policy`]).
    #[must_use]
    pub fn require_nonce(mut self, required: bool) -> Self {
        self.require_nonce = required;
        self
    }

    /// Requires this `tag`; without a label, the signature is selected by
    /// this tag.
    #[must_use]
    pub fn require_tag(mut self, tag: impl Into<String>) -> Self {
        self.required_tag = Some(tag.into());
        self
    }

    /// Verifies the signature with this label (and no other).
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Whether a request whose query parameters do not all percent-decode
    /// to valid UTF-8 is refused (default yes), as [`Error::Malformed`]
    /// with field `query`, before its signature is checked.
    ///
    /// RFC 9421 section 2.2.8 computes `@query-param` through the
    /// `application/x-www-form-urlencoded` parser, which replaces every
    /// invalid UTF-8 sequence with U+FFFD: `x=%FF`, `x=%C3` and
    /// `x=%EF%BF%BD` all give the value `%EF%BF%BD`, so one signature
    /// covering `@query-param` verifies all three. This crate computes the
    /// value exactly as the RFC says (interoperability); this rule is what
    /// keeps a signature over one from passing for another. Every name and
    /// value of the query is checked, covered or not. `false` accepts such
    /// queries (for clients that send legacy, non-UTF-8 encodings); the
    /// `@query` component, which covers the raw query, is never ambiguous.
    #[must_use]
    pub fn require_utf8_query(mut self, required: bool) -> Self {
        self.require_utf8_query = required;
        self
    }

    /// Whether query parameters must percent-decode to valid UTF-8 (see
    /// [`Policy::require_utf8_query`]).
    pub fn utf8_query_required(&self) -> bool {
        self.require_utf8_query
    }

    /// Whether every signature must carry a `nonce`.
    pub fn nonce_required(&self) -> bool {
        self.require_nonce
    }

    /// The allowed algorithms.
    pub fn allowed_algorithms(&self) -> &[Algorithm] {
        &self.allowed_algorithms
    }

    /// The required label, if any.
    pub fn required_label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The required tag, if any.
    pub fn required_tag(&self) -> Option<&str> {
        self.required_tag.as_deref()
    }

    /// The maximum age in seconds, if any.
    pub fn max_age_seconds(&self) -> Option<u64> {
        self.max_age
    }

    /// The clock skew in seconds.
    pub fn clock_skew_seconds(&self) -> u64 {
        self.clock_skew
    }

    /// The components this policy requires a signature on `message` to
    /// cover; `body_len` is the length of the body when the caller has it.
    pub fn required_components(
        &self,
        message: &Message<'_>,
        body_len: Option<usize>,
    ) -> Vec<ComponentId> {
        let mut out = if self.default_components {
            default_components(message, body_len)
        } else {
            Vec::new()
        };
        if !self.default_components && self.body_components {
            let pushed: std::result::Result<(), std::convert::Infallible> =
                each_body_component(message, body_len, |id| {
                    out.push(id);
                    Ok(())
                });
            let Ok(()) = pushed;
        }
        for c in self.required.iter().chain(
            self.required_if_present
                .iter()
                .filter(|c| is_present(message, c)),
        ) {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    pub(crate) fn check_components(
        &self,
        message: &Message<'_>,
        body_len: Option<usize>,
        covered: &[ComponentId],
    ) -> Result<()> {
        // `required_components` in order, without building it: a required
        // component that is also a default one is checked twice, with the
        // same outcome, so the first missing one is the same.
        let check = |required: &ComponentId| {
            if covered.contains(required) {
                Ok(())
            } else {
                Err(Error::MissingComponent {
                    component: required.to_string(),
                })
            }
        };
        if self.default_components {
            each_default_component(message, body_len, |required| check(&required))?;
        } else if self.body_components {
            each_body_component(message, body_len, |required| check(&required))?;
        }
        self.required.iter().try_for_each(check)?;
        self.required_if_present
            .iter()
            .filter(|c| is_present(message, c))
            .try_for_each(check)
    }

    /// Refuses a request (or the related request of a response) whose
    /// query parameters do not percent-decode to valid UTF-8, when the
    /// policy says so.
    pub(crate) fn check_query(&self, message: &Message<'_>) -> Result<()> {
        if !self.require_utf8_query {
            return Ok(());
        }
        let uri = message
            .uri()
            .or_else(|| message.related_request().and_then(Message::uri));
        if let Some(query) = uri.and_then(http::Uri::query)
            && !query_is_utf8(query)
        {
            return Err(Error::Malformed {
                field: "query",
                reason: "a query parameter does not percent-decode to valid utf-8".to_owned(),
            });
        }
        Ok(())
    }

    pub(crate) fn check_algorithm(
        &self,
        key_alg: Algorithm,
        params: &SignatureParams,
    ) -> Result<()> {
        if !self.allowed_algorithms.contains(&key_alg) {
            return Err(Error::AlgorithmNotAllowed {
                alg: key_alg.name().to_owned(),
                key_alg: String::new(),
            });
        }
        if let Some(alg) = params.alg()
            && alg != key_alg.name()
        {
            return Err(Error::AlgorithmNotAllowed {
                alg: alg.chars().take(64).collect(),
                key_alg: key_alg.name().to_owned(),
            });
        }
        Ok(())
    }

    /// Checks `created`, `expires`, `nonce` and `tag` at time `now`.
    pub(crate) fn check_params(&self, params: &SignatureParams, now: i64) -> Result<()> {
        let skew = i64::try_from(self.clock_skew).unwrap_or(i64::MAX);
        match params.created() {
            None if self.require_created => {
                return Err(Error::MissingParameter {
                    parameter: "created",
                });
            }
            None => {}
            Some(created) => {
                if created > now.saturating_add(skew) {
                    return Err(Error::NotYetValid { created, now });
                }
                if let Some(max_age) = self.max_age {
                    let limit = i64::try_from(max_age)
                        .unwrap_or(i64::MAX)
                        .saturating_add(skew);
                    if now.saturating_sub(created) > limit {
                        return Err(Error::TooOld {
                            created,
                            max_age,
                            now,
                        });
                    }
                }
            }
        }
        if self.require_expires && params.expires().is_none() {
            return Err(Error::MissingParameter {
                parameter: "expires",
            });
        }
        if let Some(expires) = params.expires()
            && now > expires.saturating_add(skew)
        {
            return Err(Error::Expired { expires, now });
        }
        if self.require_nonce {
            if params.nonce().is_none() {
                return Err(Error::MissingParameter { parameter: "nonce" });
            }
            // A nonce protects against replay only while it is remembered,
            // and it must be remembered as long as the signature can be
            // accepted: a signature that nothing bounds in time is refused.
            if self.acceptance_end(params).is_none() {
                return Err(Error::MissingParameter {
                    parameter: if self.max_age.is_some() {
                        "created or expires"
                    } else {
                        "expires"
                    },
                });
            }
        }
        if let Some(expected) = &self.required_tag
            && params.tag() != Some(expected.as_str())
        {
            return Err(Error::TagMismatch {
                expected: expected.clone(),
                found: params.tag().unwrap_or_default().chars().take(64).collect(),
            });
        }
        Ok(())
    }

    /// The last time (UNIX seconds) at which a signature with `params`
    /// can still be accepted under [`Policy::check_params`], or `None` when
    /// nothing bounds it (no `expires`, and no `created` with a maximum
    /// age).
    ///
    /// A signature is accepted at `t` only if `t <= created + max_age +
    /// skew` (when it has `created` and the policy a maximum age) and `t <=
    /// expires + skew` (when it has `expires`); `created` alone bounds
    /// nothing without a maximum age, and the absence of `created` bounds
    /// nothing at all.
    pub(crate) fn acceptance_end(&self, params: &SignatureParams) -> Option<i64> {
        let skew = i64::try_from(self.clock_skew).unwrap_or(i64::MAX);
        let by_age = match (params.created(), self.max_age) {
            (Some(created), Some(max_age)) => Some(
                created
                    .saturating_add(i64::try_from(max_age).unwrap_or(i64::MAX))
                    .saturating_add(skew),
            ),
            _ => None,
        };
        let by_expiry = params.expires().map(|e| e.saturating_add(skew));
        match (by_age, by_expiry) {
            (Some(a), Some(e)) => Some(a.min(e)),
            (Some(a), None) => Some(a),
            (None, Some(e)) => Some(e),
            (None, None) => None,
        }
    }

    /// Until when (UNIX seconds) a nonce must be remembered: as long as the
    /// signature could still be accepted (`acceptance_end`), never
    /// less. An unbounded signature is remembered until `i64::MAX`; a
    /// policy that requires nonces refuses such signatures in
    /// `check_params`, so only a nonce that the policy does not
    /// require (checked because the verifier has a store) gets there.
    pub(crate) fn nonce_horizon(&self, params: &SignatureParams) -> i64 {
        self.acceptance_end(params).unwrap_or(i64::MAX)
    }
}

/// Whether `message` has `component` (see
/// [`Policy::require_component_if_present`]).
fn is_present(message: &Message<'_>, component: &ComponentId) -> bool {
    if component.is_req() {
        return true;
    }
    if component.is_field() {
        return message.headers().contains_key(component.name());
    }
    if *component == ComponentId::query() {
        return message.uri().and_then(http::Uri::query).is_some();
    }
    true
}

/// Whether the message declares a body (Content-Length above 0 or a
/// Transfer-Encoding), or the caller's body bytes are non-empty.
pub(crate) fn has_body(message: &Message<'_>, body_len: Option<usize>) -> bool {
    let headers = message.headers();
    let declared = headers
        .get_all(http::header::CONTENT_LENGTH)
        .iter()
        .any(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) != Some(0))
        || headers.contains_key(http::header::TRANSFER_ENCODING);
    declared || body_len.is_some_and(|n| n > 0)
}

/// The default components for a message (see [`Policy`]): what the
/// default policy requires, and what a [`Signer`](crate::Signer) covers by
/// default.
pub fn default_components(message: &Message<'_>, body_len: Option<usize>) -> Vec<ComponentId> {
    let mut out = Vec::with_capacity(7);
    let pushed: std::result::Result<(), std::convert::Infallible> =
        each_default_component(message, body_len, |id| {
            out.push(id);
            Ok(())
        });
    let Ok(()) = pushed;
    out
}

/// Gives each of [`default_components`] to `each`, in order, up to its
/// first error.
fn each_default_component<E>(
    message: &Message<'_>,
    body_len: Option<usize>,
    mut each: impl FnMut(ComponentId) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    if message.is_request() {
        each(ComponentId::method())?;
        each(ComponentId::authority())?;
        each(ComponentId::path())?;
        if message.uri().and_then(http::Uri::query).is_some() {
            each(ComponentId::query())?;
        }
    } else {
        each(ComponentId::status())?;
    }
    each_body_component(message, body_len, each)
}

/// Gives each body component of the defaults to `each`: with a body,
/// `content-digest`, `content-type`, and `content-length` when present.
fn each_body_component<E>(
    message: &Message<'_>,
    body_len: Option<usize>,
    mut each: impl FnMut(ComponentId) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    if has_body(message, body_len) {
        each(ComponentId::known_field("content-digest"))?;
        each(ComponentId::known_field("content-type"))?;
        if message.headers().contains_key(http::header::CONTENT_LENGTH) {
            each(ComponentId::known_field("content-length"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params(created: Option<i64>, expires: Option<i64>) -> SignatureParams {
        let mut p = SignatureParams::new();
        if let Some(c) = created {
            p = p.with_created(c).expect("a valid created");
        }
        if let Some(e) = expires {
            p = p.with_expires(e).expect("a valid expires");
        }
        p.with_nonce("n").expect("a valid nonce")
    }

    fn policy(require_created: bool, max_age: Option<u64>, skew: u64, nonce: bool) -> Policy {
        Policy::new()
            .require_created(require_created)
            .max_age(max_age)
            .clock_skew(skew)
            .require_nonce(nonce)
    }

    #[test]
    fn horizon_in_every_combination() {
        let p = policy(false, Some(300), 5, false);
        // created only: created + max age + skew.
        assert_eq!(p.nonce_horizon(&params(Some(1000), None)), 1305);
        // expires only: expires + skew, not now + max age.
        assert_eq!(p.nonce_horizon(&params(None, Some(5000))), 5005);
        // both: the earlier bound.
        assert_eq!(p.nonce_horizon(&params(Some(1000), Some(1100))), 1105);
        assert_eq!(p.nonce_horizon(&params(Some(1000), Some(9000))), 1305);
        // neither: unbounded.
        assert_eq!(p.acceptance_end(&params(None, None)), None);
        assert_eq!(p.nonce_horizon(&params(None, None)), i64::MAX);
        // no maximum age: created bounds nothing.
        let p = policy(true, None, 5, false);
        assert_eq!(p.acceptance_end(&params(Some(1000), None)), None);
        assert_eq!(p.nonce_horizon(&params(Some(1000), Some(2000))), 2005);
        // saturation instead of overflow.
        let p = policy(false, Some(u64::MAX), u64::MAX, false);
        assert_eq!(
            p.nonce_horizon(&params(Some(999_999_999_999_999), None)),
            i64::MAX
        );
    }

    #[test]
    fn nonce_required_refuses_unbounded_signatures() {
        let missing = |parameter| Err(Error::MissingParameter { parameter });
        let p = policy(false, Some(300), 5, true);
        assert_eq!(
            p.check_params(&params(None, None), 1000),
            missing("created or expires")
        );
        assert_eq!(p.check_params(&params(None, Some(2000)), 1000), Ok(()));
        assert_eq!(p.check_params(&params(Some(1000), None), 1000), Ok(()));
        let p = policy(true, None, 5, true);
        assert_eq!(
            p.check_params(&params(Some(1000), None), 1000),
            missing("expires")
        );
        assert_eq!(
            p.check_params(&params(Some(1000), Some(2000)), 1000),
            Ok(())
        );
    }

    proptest! {
        /// For any parameters accepted by `check_params` at `now`, every
        /// later time at which they are still accepted is within the nonce
        /// horizon; and when the policy requires nonces, an accepted
        /// signature always has a finite bound.
        #[test]
        fn horizon_covers_every_acceptance(
            created in proptest::option::of(-2_000i64..2_000),
            expires in proptest::option::of(-2_000i64..4_000),
            require_created in any::<bool>(),
            require_nonce in any::<bool>(),
            max_age in proptest::option::of(0u64..1_500),
            skew in 0u64..20,
            now in -2_000i64..2_000,
            later in 0i64..6_000,
        ) {
            let p = policy(require_created, max_age, skew, require_nonce);
            let sig = params(created, expires);
            prop_assume!(p.check_params(&sig, now).is_ok());
            let horizon = p.nonce_horizon(&sig);
            let t = now.saturating_add(later);
            if p.check_params(&sig, t).is_ok() {
                prop_assert!(t <= horizon, "accepted at {t}, horizon {horizon}");
            }
            // The horizon is exact: accepted at the horizon itself when finite
            // (and not before `created` - skew).
            if let Some(end) = p.acceptance_end(&sig) {
                prop_assert!(end >= now);
                prop_assert!(p.check_params(&sig, end).is_ok());
                prop_assert!(p.check_params(&sig, end.saturating_add(1)).is_err());
            } else {
                prop_assert!(!require_nonce);
            }
        }
    }
}
