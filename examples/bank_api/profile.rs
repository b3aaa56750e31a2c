//! The signing profile brokerage APIs publish, in one place for both sides:
//! the client signs exactly [`components`], and the server verifies with
//! [`policy`], which refuses a signature that does not cover them.
//!
//! `@method`, `@path`, `@query` when there is a query, `accept`,
//! `authorization` on every call but the token request; with a body
//! `content-type`, `content-length` and a sha-512 `content-digest`;
//! `idempotency-key` on API POSTs; parameters `created`, `expires`,
//! `nonce` and `keyid` (the key's RFC 7638 thumbprint).

use axum::http::Method;
use tresor::httpsig::{Algorithm, ComponentId, DigestAlgorithm, Policy, Verified};

/// The components a request covers.
pub(crate) fn components(
    method: &Method,
    has_query: bool,
    has_body: bool,
    with_authorization: bool,
    api_call: bool,
) -> Vec<ComponentId> {
    let mut out = vec![ComponentId::method(), ComponentId::path()];
    if has_query {
        out.push(ComponentId::query());
    }
    let mut fields = vec!["accept"];
    if with_authorization {
        fields.push("authorization");
    }
    if has_body {
        fields.extend(["content-type", "content-length", "content-digest"]);
    }
    if api_call && method == Method::POST {
        fields.push("idempotency-key");
    }
    out.extend(fields.into_iter().filter_map(|f| field(f).ok()));
    out
}

fn field(name: &str) -> Result<ComponentId, tresor::httpsig::Error> {
    ComponentId::field(name)
}

/// The server's verification policy: the whole profile but the one rule
/// that depends on the route ([`covers_authorization`]). What depends on
/// the request is in the policy: `@query` when there is a query, the body
/// components when there is a body, `idempotency-key` whenever it is sent,
/// and only SHA-512 digests.
pub(crate) fn policy() -> Result<Policy, tresor::httpsig::Error> {
    Ok(Policy::new()
        .without_default_components()
        .require_component(ComponentId::method())
        .require_component(ComponentId::path())
        .require_component_if_present(ComponentId::query())
        .require_component(field("accept")?)
        .require_body_components()
        .require_component_if_present(field("idempotency-key")?)
        .accept_digest_algorithms([DigestAlgorithm::Sha512])
        .allow_algorithms([Algorithm::Ed25519, Algorithm::EcdsaP256Sha256])
        .require_expires(true)
        .require_nonce(true))
}

/// The route's rule: API calls (every call but the token request) cover
/// their `authorization`, which carries the access token.
pub(crate) fn covers_authorization(verified: &Verified) -> bool {
    field("authorization").is_ok_and(|a| verified.components().contains(&a))
}
