//! The HTTP message signature commands: `key generate`, `http sign`,
//! `http verify`, `http base`.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use tresor_httpsig::{
    Algorithm, Clock, ComponentId, FixedClock, KeyResolver, Message, Policy, Signer, SystemClock,
    Verified, Verifier, VerifyingKey, base::signature_base_for_label, verify_content_digest,
};

use crate::args::{HttpBaseArgs, HttpSignArgs, HttpVerifyArgs, KeyGenerateArgs, MessageArgs};
use crate::error::{CliError, Result};
use crate::input::Input;
use crate::output::{Output, print_json};
use crate::rawhttp::{HttpMessage, RawMessage};
use crate::sigkeys;

/// `tresor key generate`: writes a key pair and prints the public key's
/// RFC 7638 thumbprint.
pub(crate) fn key_generate(args: &KeyGenerateArgs) -> Result<()> {
    if args.out.as_os_str() == "-" {
        return Err(CliError::Usage(
            "key generate writes the key to a file only: give --out FILE".to_owned(),
        ));
    }
    let alg = args.alg;
    let public = sigkeys::generate(&args.out, alg)?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", public.thumbprint())
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

/// Parses component identifiers given to `flag`.
fn components(flag: &str, values: &[String]) -> Result<Vec<ComponentId>> {
    values
        .iter()
        .map(|value| {
            ComponentId::parse(value).map_err(|err| {
                CliError::Usage(format!(
                    "invalid {flag} {value:?}: {err} (write it as in Signature-Input, e.g. \
                     '\"@method\"' or '\"@query-param\";name=\"id\"')"
                ))
            })
        })
        .collect()
}

/// Checks `--scheme`.
fn scheme(value: Option<&str>) -> Result<Option<&str>> {
    match value {
        None | Some("http" | "https") => Ok(value),
        Some(other) => Err(CliError::Usage(format!(
            "invalid --scheme {other:?}: expected http or https"
        ))),
    }
}

/// Reads `--request`: a raw request, for a response's `req` components.
fn related_request(message: &RawMessage, args: &MessageArgs) -> Result<Option<HttpMessage>> {
    let Some(path) = &args.request else {
        return Ok(None);
    };
    if message.is_request() {
        return Err(CliError::Usage(
            "--request is for responses: the message is a request".to_owned(),
        ));
    }
    let request = read_message(Some(path))?;
    if !request.is_request() {
        return Err(CliError::Usage(format!(
            "--request {path:?} holds a response, not a request"
        )));
    }
    Ok(Some(request.to_http()))
}

/// Adds a hint to a `req` component missing because no `--request` was
/// given.
fn req_hint(err: tresor_httpsig::Error, related: Option<&HttpMessage>) -> CliError {
    match &err {
        tresor_httpsig::Error::ComponentNotFound { component }
            if related.is_none() && component.contains(";req") =>
        {
            CliError::Usage(format!(
                "{err}: give the request the response answers with --request PATH"
            ))
        }
        _ => err.into(),
    }
}

/// Reads a raw message from a file or standard input.
fn read_message(path: Option<&Path>) -> Result<RawMessage> {
    let mut input = Input::open(path, true)?;
    Ok(RawMessage::read_from(input.reader())?)
}

/// The library's view of a request.
fn request_view<'a>(message: &'a HttpMessage, scheme: Option<&str>) -> Option<Message<'a>> {
    let HttpMessage::Request(request) = message else {
        return None;
    };
    let view = Message::from_request(request);
    Some(match scheme {
        Some(scheme) => view.with_scheme(scheme),
        None => view,
    })
}

/// The library's view of a message, with its related request if any.
fn view<'a>(
    message: &'a HttpMessage,
    scheme: Option<&str>,
    related: Option<&'a HttpMessage>,
) -> Message<'a> {
    match message {
        HttpMessage::Request(request) => {
            let view = Message::from_request(request);
            match scheme {
                Some(scheme) => view.with_scheme(scheme),
                None => view,
            }
        }
        HttpMessage::Response(response) => {
            let view = Message::from_response(response);
            match related.and_then(|related| request_view(related, scheme)) {
                Some(request) => view.with_request(request),
                None => view,
            }
        }
    }
}

/// `tresor http sign`: writes the message with the new fields.
pub(crate) fn sign(args: &HttpSignArgs) -> Result<()> {
    let alg = args.alg;
    let covered = components("--component", &args.component)?;
    let digest = args.digest;
    let scheme = scheme(args.message.scheme.as_deref())?;
    let created = match args.created {
        Some(created) => created,
        None => SystemClock
            .now()
            .map_err(|source| tresor_httpsig::Error::ClockUnavailable { source })?
            .as_secs(),
    };
    let expires_in = args
        .expires
        .map(|expires| {
            expires
                .checked_sub(created)
                .and_then(|delta| u64::try_from(delta).ok())
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "--expires {expires} is before the signature's created time {created}"
                    ))
                })
        })
        .transpose()?;
    let key = sigkeys::signing_key(&args.key, alg)?;

    let mut input = Input::open(args.io.input.as_deref(), true)?;
    let raw = RawMessage::read_from(input.reader())?;
    let related = related_request(&raw, &args.message)?;
    if digest.is_some()
        && let Some(existing) = raw.headers().get("content-digest")
    {
        let value = existing
            .to_str()
            .map_err(|_| CliError::Http("the message's Content-Digest is not ASCII".to_owned()))?;
        verify_content_digest(value, raw.body()).map_err(|err| {
            CliError::Usage(format!(
                "the message has a Content-Digest already, which does not fit its body: {err}"
            ))
        })?;
    }

    let mut signer = Signer::new(key, args.keyid.clone())
        .created(created)
        .content_digest(digest)
        .include_alg(args.include_alg);
    if let Some(label) = &args.label {
        signer = signer.label(label.clone());
    }
    if !covered.is_empty() {
        signer = signer.components(covered);
    }
    if let Some(seconds) = expires_in {
        signer = signer.expires_in(seconds);
    }
    if let Some(nonce) = &args.nonce {
        signer = signer.nonce(nonce.clone());
    }
    if args.random_nonce {
        signer = signer.random_nonce();
    }
    if let Some(tag) = &args.tag {
        signer = signer.tag(tag.clone());
    }
    if let Some(scheme) = scheme {
        signer = signer.scheme(scheme);
    }

    let mut message = raw.to_http();
    match &mut message {
        HttpMessage::Request(request) => {
            signer.sign_request(request)?;
        }
        HttpMessage::Response(response) => {
            let request = related
                .as_ref()
                .and_then(|related| request_view(related, scheme));
            signer
                .sign_response(response, request)
                .map_err(|err| req_hint(err, related.as_ref()))?;
        }
    }
    let added = new_fields(raw.headers(), message.headers())?;
    let bytes = raw.write_with(&added);

    let mut output = Output::create(args.io.output.as_deref(), &input)?;
    output
        .write_all(&bytes)
        .map_err(|err| match args.io.output.as_deref() {
            Some(path) if path != Path::new("-") => {
                CliError::file("cannot write output", path, err)
            }
            _ => CliError::Stdout(err),
        })?;
    output.finish()
}

/// The order in which added fields are written: the digest first, the
/// signature fields last.
fn field_rank(name: &HeaderName) -> u8 {
    match name.as_str() {
        "content-digest" => 0,
        "content-length" => 1,
        "signature-input" => 3,
        "signature" => 4,
        _ => 2,
    }
}

/// The field lines the signer added: for each name, the values beyond the
/// ones the message had, which must be unchanged.
fn new_fields(before: &HeaderMap, after: &HeaderMap) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let mut added: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for name in after.keys() {
        let old: Vec<&HeaderValue> = before.get_all(name).iter().collect();
        let new: Vec<&HeaderValue> = after.get_all(name).iter().collect();
        if !new.starts_with(&old) {
            return Err(CliError::Usage(format!(
                "internal error: signing changed the existing field {name}"
            )));
        }
        added.extend(
            new.into_iter()
                .skip(old.len())
                .map(|value| (name.clone(), value.clone())),
        );
    }
    added.sort_by_key(|(name, _)| field_rank(name));
    Ok(added)
}

/// The one key the command line gives, whatever `keyid` the signature
/// names (unless `--keyid` requires one).
struct OneKey {
    key: Arc<dyn VerifyingKey>,
    key_id: Option<String>,
}

impl KeyResolver for OneKey {
    fn resolve(&self, key_id: &str) -> tresor_httpsig::Result<Arc<dyn VerifyingKey>> {
        match &self.key_id {
            Some(expected) if expected != key_id => Err(tresor_httpsig::Error::UnknownKey {
                key_id: key_id.chars().take(128).collect(),
            }),
            _ => Ok(Arc::clone(&self.key)),
        }
    }
}

/// What `tresor http verify` prints.
#[derive(Serialize)]
struct VerifiedJson<'a> {
    label: &'a str,
    keyid: &'a str,
    alg: &'static str,
    components: Vec<String>,
    created: Option<i64>,
    expires: Option<i64>,
    nonce: Option<&'a str>,
    tag: Option<&'a str>,
    content_digest_checked: bool,
}

impl<'a> VerifiedJson<'a> {
    fn new(verified: &'a Verified) -> Self {
        VerifiedJson {
            label: verified.label(),
            keyid: verified.key_id(),
            alg: verified.algorithm().name(),
            components: verified
                .components()
                .iter()
                .map(ToString::to_string)
                .collect(),
            created: verified.created(),
            expires: verified.expires(),
            nonce: verified.nonce(),
            tag: verified.tag(),
            content_digest_checked: verified.body_checked(),
        }
    }
}

/// `tresor http verify`: verifies one signature and prints it as JSON.
pub(crate) fn verify(args: &HttpVerifyArgs) -> Result<()> {
    let alg = args.alg;
    let required = components("--require", &args.require)?;
    let scheme = scheme(args.message.scheme.as_deref())?;
    let key = sigkeys::verifying_key(&args.key, alg)?;

    let mut policy = Policy::new()
        .without_default_components()
        .allow_algorithms(Algorithm::ALL)
        .require_created(args.max_age.is_some())
        .max_age(args.max_age);
    if let Some(label) = &args.label {
        policy = policy.label(label.clone());
    }
    for component in required {
        policy = policy.require_component(component);
    }
    let resolver = OneKey {
        key,
        key_id: args.keyid.clone(),
    };
    let mut verifier = Verifier::new(Arc::new(resolver), policy);
    if let Some(now) = args.now {
        verifier = verifier.clock(Arc::new(FixedClock::new(now)));
    }

    let raw = read_message(args.input.as_deref())?;
    let related = related_request(&raw, &args.message)?;
    let message = raw.to_http();
    let view = view(&message, scheme, related.as_ref());
    let verified = verifier
        .verify_message(&view, Some(raw.body()))
        .map_err(|err| req_hint(err, related.as_ref()))?;
    print_json(&VerifiedJson::new(&verified), false)
}

/// `tresor http base`: prints the signature base, exactly.
pub(crate) fn base(args: &HttpBaseArgs) -> Result<()> {
    let scheme = scheme(args.message.scheme.as_deref())?;
    let raw = read_message(args.input.as_deref())?;
    let related = related_request(&raw, &args.message)?;
    let message = raw.to_http();
    let base = signature_base_for_label(&view(&message, scheme, related.as_ref()), &args.label)
        .map_err(|err| req_hint(err, related.as_ref()))?;
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(base.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_fields_in_order() {
        let mut before = HeaderMap::new();
        before.append("signature", HeaderValue::from_static("a=:AA==:"));
        let mut after = before.clone();
        after.append("signature", HeaderValue::from_static("b=:AA==:"));
        after.append("signature-input", HeaderValue::from_static("b=()"));
        after.append("content-digest", HeaderValue::from_static("sha-256=:AA==:"));
        let added = new_fields(&before, &after).unwrap();
        let names: Vec<&str> = added.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["content-digest", "signature-input", "signature"]);

        let mut changed = HeaderMap::new();
        changed.append("signature", HeaderValue::from_static("x"));
        assert!(new_fields(&before, &changed).is_err());
    }

    #[test]
    fn schemes() {
        assert_eq!(scheme(None).unwrap(), None);
        assert_eq!(scheme(Some("http")).unwrap(), Some("http"));
        assert!(scheme(Some("ftp")).is_err());
    }
}
