//! The signing profile brokerage APIs publish, as one list used by both
//! sides: the client signs exactly these components, the server refuses a
//! signature that does not cover them all.
//!
//! `@method`, `@path`, `@query` when there is a query, `accept`,
//! `authorization` on every call but the token request; with a body
//! `content-type`, `content-length` and a sha-512 `content-digest`;
//! `idempotency-key` on API POSTs; parameters `created`, `expires`,
//! `nonce` and `keyid` (the key's RFC 7638 thumbprint).

use axum::http::Method;
use tresor::httpsig::{ComponentId, Verified};

/// The components a request must cover.
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
    out.extend(
        fields
            .into_iter()
            .filter_map(|f| ComponentId::field(f).ok()),
    );
    out
}

/// Whether `verified` covers the profile for this request, with
/// `expires` and `nonce` present.
pub(crate) fn covered_by(
    verified: &Verified,
    method: &Method,
    has_query: bool,
    has_body: bool,
    with_authorization: bool,
    api_call: bool,
) -> bool {
    let covered = verified.components();
    verified.expires().is_some()
        && verified.nonce().is_some()
        && components(method, has_query, has_body, with_authorization, api_call)
            .iter()
            .all(|c| covered.contains(c))
}
