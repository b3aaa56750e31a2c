//! Raw HTTP/1.1 messages, as files: parsing them into [`http`] types and
//! writing them back.
//!
//! This is the one raw HTTP/1.1 parser of tresor: the `tresor http`
//! commands read messages with it, the fuzz targets (`rawhttp_parse`, and
//! the `httpsig_*` targets' inputs) and the tests use it too.
//!
//! ```
//! use tresor_cli::rawhttp::{HttpMessage, RawMessage};
//!
//! let raw = RawMessage::parse(
//!     b"POST /pay?id=7 HTTP/1.1\r\nHost: bank.example\r\nContent-Length: 2\r\n\r\nhi",
//! )?;
//! assert!(raw.is_request());
//! assert_eq!(raw.body(), b"hi");
//!
//! // Appending a field keeps the input's bytes and line endings.
//! let signed = raw.write_with(&[(
//!     http::header::HeaderName::from_static("signature"),
//!     http::HeaderValue::from_static("sig=:AA==:"),
//! )]);
//! assert!(signed.ends_with(b"Content-Length: 2\r\nSignature: sig=:AA==:\r\n\r\nhi"));
//!
//! // The `http` types, and back to bytes that parse to the same message.
//! let HttpMessage::Request(request) = raw.to_http() else { unreachable!() };
//! assert_eq!(request.uri().query(), Some("id=7"));
//! let bytes = HttpMessage::Request(request).to_bytes()?;
//! assert_eq!(RawMessage::parse(&bytes)?.headers(), raw.headers());
//! # Ok::<(), tresor_cli::rawhttp::Error>(())
//! ```
//!
//! # What is read
//!
//! ```text
//! start-line  LE          request line `METHOD SP target SP HTTP/1.x`, or
//!                         status line `HTTP/1.x SP 3DIGIT [SP reason]`
//! *( field-line LE )      `name: value`, in order, duplicates kept
//! LE                      the blank line
//! body                    exactly Content-Length bytes (none without it)
//! [ LE ]                  one final line ending, tolerated and kept
//! ```
//!
//! `LE` is CRLF or a bare LF, each line on its own; new lines are written
//! with the start line's. The request target is origin-form
//! (`/path?query`, the authority then comes from `Host`), absolute-form
//! (`https://host/path`), authority-form (`CONNECT`) or `*`. Field values
//! lose their leading and trailing spaces and tabs.
//!
//! Rejected with a precise [`Error`]: a head over [`MAX_HEAD`] bytes or
//! [`MAX_FIELDS`] fields, a body over [`MAX_BODY`] bytes, input not made of
//! lines, obsolete line folding, whitespace before a field's colon, an
//! invalid field name or value, a missing, malformed, negative or repeated
//! `Content-Length`, a `Transfer-Encoding` (chunked bodies are not
//! supported), a body shorter than `Content-Length`, and any bytes after
//! the body other than one line ending. [`RawMessage::parse_head`] reads
//! the head alone and leaves the body to its caller.
//!
//! # What is written
//!
//! [`RawMessage::write_with`]: the input's bytes up to the blank line,
//! unchanged, then the new field lines, then the blank line, the body and
//! the tolerated final line ending, if any. [`RawMessage::to_bytes`] gives
//! the input back exactly.
//!
//! [`HttpMessage::to_bytes`]: an `http` request or response as HTTP/1.1
//! with CRLF line endings (`METHOD TARGET HTTP/1.x` or `HTTP/1.x CODE
//! REASON`, one `name: value` line per field value, in the map's order,
//! names in lower case, the blank line, the body), refused when it would
//! not parse back to the same message.

use std::io::Read;

use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};

/// The largest message head (start line and fields) accepted, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most field lines accepted.
pub const MAX_FIELDS: usize = 128;
/// The largest body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// Why a raw message could not be read, parsed or written.
///
/// Messages are lower case, name the line (from 1) where there is one, and
/// quote at most 64 characters of the input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input failed.
    #[error("cannot read the message: {0}")]
    Read(#[source] std::io::Error),

    /// The input is not a message this parser accepts: a bad start line,
    /// field line or `Content-Length`, a body that does not fit it, an
    /// unsupported `Transfer-Encoding`.
    #[error("{}", at_line(*.line, .reason))]
    Malformed {
        /// The line (from 1) at fault, if the fault is on one line.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },

    /// The input is over one of the limits: [`MAX_HEAD`], [`MAX_FIELDS`],
    /// [`MAX_BODY`].
    #[error("{reason}")]
    TooLarge {
        /// Which limit, and its value.
        reason: String,
    },

    /// [`HttpMessage::to_bytes`] cannot write the message as HTTP/1.1 text
    /// that parses back to it (another protocol version, a body that does
    /// not fit `Content-Length`, a value with surrounding whitespace…).
    #[error("cannot write the message as HTTP/1.1: {reason}")]
    Unwritable {
        /// What stands in the way.
        reason: String,
    },
}

fn at_line(line: Option<usize>, reason: &str) -> String {
    match line {
        Some(line) => format!("line {line}: {reason}"),
        None => reason.to_owned(),
    }
}

/// The parser's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A message-format error, at a line when it has one.
fn malformed(line: Option<usize>, reason: impl Into<String>) -> Error {
    Error::Malformed {
        line,
        reason: reason.into(),
    }
}

/// A limit error.
fn too_large(reason: String) -> Error {
    Error::TooLarge { reason }
}

/// A message's start line, parsed.
#[derive(Debug, Clone)]
enum StartLine {
    /// A request line.
    Request {
        /// The method.
        method: Method,
        /// The request target.
        uri: Uri,
        /// The protocol version.
        version: Version,
    },
    /// A status line.
    Response {
        /// The status code.
        status: StatusCode,
        /// The protocol version.
        version: Version,
    },
}

/// A raw HTTP/1.1 message as read: the [`http`] parts, and the input's own
/// bytes, so that it is written back unchanged apart from added fields.
///
/// A value of this type is valid: it can only be made by
/// [`RawMessage::parse`], [`RawMessage::parse_head`] or
/// [`RawMessage::read_from`].
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// The input up to (not including) the blank line: start line and field
    /// lines with their own line endings.
    head: Vec<u8>,
    /// The line ending of new lines (that of the start line).
    line_ending: &'static [u8],
    /// The blank line as found (`\r\n` or `\n`).
    blank_line: &'static [u8],
    /// The start line.
    start: StartLine,
    /// The fields, in order.
    headers: HeaderMap,
    /// The body.
    body: Vec<u8>,
    /// The tolerated final line ending after the body, if any.
    trailing: &'static [u8],
}

impl RawMessage {
    /// Reads a whole message from `reader` and parses it with
    /// [`RawMessage::parse`]. At most [`MAX_HEAD`] + [`MAX_BODY`] + 2 bytes
    /// are read; more is an [`Error::TooLarge`].
    pub fn read_from(reader: &mut dyn Read) -> Result<Self> {
        let limit = MAX_HEAD + MAX_BODY + 2;
        let mut bytes = Vec::new();
        reader
            .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(Error::Read)?;
        if bytes.len() > limit {
            return Err(too_large(format!("the input is larger than {limit} bytes")));
        }
        Self::parse(&bytes)
    }

    /// Parses a whole message: the head, a body of `Content-Length` bytes
    /// (none without the field), and at most one line ending after it.
    pub fn parse(input: &[u8]) -> Result<Self> {
        let (mut message, rest) = Self::parse_head(input)?;
        if message
            .headers
            .contains_key(http::header::TRANSFER_ENCODING)
        {
            return Err(malformed(
                None,
                "Transfer-Encoding is not supported (chunked bodies cannot be signed from a \
                 file): give the decoded body with a Content-Length",
            ));
        }
        let body_len = content_length(&message.headers)?;
        let Some(body) = rest.get(..body_len) else {
            return Err(malformed(
                None,
                format!(
                    "the body is shorter than its Content-Length: {} of {body_len} bytes",
                    rest.len()
                ),
            ));
        };
        message.trailing = match rest.get(body_len..).unwrap_or_default() {
            b"" => b"",
            b"\n" => b"\n",
            b"\r\n" => b"\r\n",
            trailing => {
                return Err(malformed(
                    None,
                    format!(
                        "{} bytes after the body of Content-Length {body_len} (one message \
                         per input)",
                        trailing.len()
                    ),
                ));
            }
        };
        message.body = body.to_vec();
        Ok(message)
    }

    /// Parses the head alone, up to and including the blank line, and
    /// returns it with the bytes after it, for a caller that frames the
    /// body itself. The message's body is empty; `Content-Length` and
    /// `Transfer-Encoding` are not looked at.
    pub fn parse_head(input: &[u8]) -> Result<(Self, &[u8])> {
        if input.is_empty() {
            return Err(malformed(None, "the input is empty"));
        }
        let mut rest = input;
        let mut line_no = 0usize;
        let mut fields: Vec<(HeaderName, HeaderValue)> = Vec::new();
        let mut start: Option<(StartLine, &'static [u8])> = None;
        let head_too_large = || too_large(format!("the head is larger than {MAX_HEAD} bytes"));
        let blank_line = loop {
            line_no += 1;
            let consumed = input.len() - rest.len();
            let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
                if input.len() > MAX_HEAD {
                    return Err(head_too_large());
                }
                return Err(malformed(
                    Some(line_no),
                    "the message ends before the blank line that ends its fields",
                ));
            };
            if consumed + newline > MAX_HEAD {
                return Err(head_too_large());
            }
            let (raw_line, after) = rest.split_at(newline);
            rest = after.get(1..).unwrap_or_default();
            let (line, ending): (&[u8], &'static [u8]) = match raw_line.strip_suffix(b"\r") {
                Some(line) => (line, b"\r\n"),
                None => (raw_line, b"\n"),
            };
            if line.contains(&b'\r') {
                return Err(malformed(Some(line_no), "bare CR in the line"));
            }
            match &start {
                None => {
                    if line.is_empty() {
                        return Err(malformed(Some(line_no), "empty line before the start line"));
                    }
                    start = Some((parse_start_line(line, line_no)?, ending));
                }
                Some(_) if line.is_empty() => break ending,
                Some(_) => {
                    if fields.len() >= MAX_FIELDS {
                        return Err(too_large(format!("more than {MAX_FIELDS} field lines")));
                    }
                    fields.push(parse_field_line(line, line_no)?);
                }
            }
        };
        let Some((start, line_ending)) = start else {
            return Err(malformed(None, "no start line"));
        };
        let head_len = input.len() - rest.len() - blank_line.len();
        let head = input.get(..head_len).unwrap_or_default().to_vec();

        let mut headers = HeaderMap::with_capacity(fields.len());
        for (name, value) in fields {
            headers.append(name, value);
        }
        let message = RawMessage {
            head,
            line_ending,
            blank_line,
            start,
            headers,
            body: Vec::new(),
            trailing: b"",
        };
        Ok((message, rest))
    }

    /// Whether the message is a request (else a response).
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The fields, in order, duplicates kept.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The message as an `http` request or response, body included.
    pub fn to_http(&self) -> HttpMessage {
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                let mut request = Request::new(self.body.clone());
                *request.method_mut() = method.clone();
                *request.uri_mut() = uri.clone();
                *request.version_mut() = *version;
                *request.headers_mut() = self.headers.clone();
                HttpMessage::Request(request)
            }
            StartLine::Response { status, version } => {
                let mut response = Response::new(self.body.clone());
                *response.status_mut() = *status;
                *response.version_mut() = *version;
                *response.headers_mut() = self.headers.clone();
                HttpMessage::Response(response)
            }
        }
    }

    /// The message exactly as it was read.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.write_with(&[])
    }

    /// The message with `new_fields` appended after the original field
    /// lines, in the start line's line-ending style. Each new name is
    /// written with its dash-separated words capitalised
    /// (`Signature-Input`, `Content-Digest`).
    pub fn write_with(&self, new_fields: &[(HeaderName, HeaderValue)]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.head.len() + self.body.len() + 256 * new_fields.len() + 8);
        out.extend_from_slice(&self.head);
        for (name, value) in new_fields {
            write_display_name(&mut out, name);
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(self.line_ending);
        }
        out.extend_from_slice(self.blank_line);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(self.trailing);
        out
    }
}

/// A field name with each dash-separated word capitalised.
fn write_display_name(out: &mut Vec<u8>, name: &HeaderName) {
    let mut word_start = true;
    for &b in name.as_str().as_bytes() {
        out.push(if word_start {
            b.to_ascii_uppercase()
        } else {
            b
        });
        word_start = b == b'-';
    }
}

/// A message as the `http` crate's types, body included.
#[derive(Debug)]
pub enum HttpMessage {
    /// A request.
    Request(Request<Vec<u8>>),
    /// A response.
    Response(Response<Vec<u8>>),
}

impl HttpMessage {
    /// The fields.
    pub fn headers(&self) -> &HeaderMap {
        match self {
            HttpMessage::Request(request) => request.headers(),
            HttpMessage::Response(response) => response.headers(),
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            HttpMessage::Request(request) => request.body(),
            HttpMessage::Response(response) => response.body(),
        }
    }

    /// The message as HTTP/1.1 text with CRLF line endings, which
    /// [`RawMessage::parse`] reads back to the same method, target (or
    /// status), version, fields and body.
    ///
    /// Refused ([`Error::Unwritable`]) when it would not: a version other
    /// than HTTP/1.0 and HTTP/1.1, a target not in one of the four forms, a
    /// `Transfer-Encoding` field, a body whose length is not the
    /// `Content-Length` (0 without one), a field value with leading or
    /// trailing whitespace, or over the limits.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let out = match self {
            HttpMessage::Request(request) => format!(
                "{} {} {}\r\n",
                request.method(),
                request.uri(),
                version_text(request.version())?
            ),
            HttpMessage::Response(response) => {
                let status = response.status();
                format!(
                    "{} {} {}\r\n",
                    version_text(response.version())?,
                    status.as_str(),
                    status.canonical_reason().unwrap_or_default()
                )
            }
        };
        // The start line must read back as written.
        let start_line = out.trim_end_matches("\r\n");
        parse_start_line(start_line.as_bytes(), 1).map_err(|err| unwritable(err.to_string()))?;
        let headers = self.headers();
        if headers.contains_key(http::header::TRANSFER_ENCODING) {
            return Err(unwritable("a Transfer-Encoding field".to_owned()));
        }
        if headers.len() > MAX_FIELDS {
            return Err(unwritable(format!("more than {MAX_FIELDS} fields")));
        }
        let body = self.body();
        let expected = content_length(headers).map_err(|err| unwritable(err.to_string()))?;
        if body.len() != expected {
            return Err(unwritable(format!(
                "a body of {} bytes with a Content-Length of {expected}",
                body.len()
            )));
        }
        let mut bytes = out.into_bytes();
        for (name, value) in headers {
            let value = value.as_bytes();
            if trim_ows(value).len() != value.len() {
                return Err(unwritable(format!(
                    "the value of field {name} starts or ends with whitespace"
                )));
            }
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        if bytes.len() > MAX_HEAD {
            return Err(unwritable(format!("a head larger than {MAX_HEAD} bytes")));
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(body);
        Ok(bytes)
    }
}

fn unwritable(reason: String) -> Error {
    Error::Unwritable { reason }
}

/// The version as written on a start line.
fn version_text(version: Version) -> Result<&'static str> {
    match version {
        Version::HTTP_11 => Ok("HTTP/1.1"),
        Version::HTTP_10 => Ok("HTTP/1.0"),
        other => Err(unwritable(format!(
            "protocol version {other:?} (HTTP/1.1 or HTTP/1.0)"
        ))),
    }
}

fn version(text: &[u8], line: usize) -> Result<Version> {
    match text {
        b"HTTP/1.1" => Ok(Version::HTTP_11),
        b"HTTP/1.0" => Ok(Version::HTTP_10),
        _ => Err(malformed(
            Some(line),
            format!(
                "unsupported protocol version {:?} (HTTP/1.1 or HTTP/1.0)",
                shown(text)
            ),
        )),
    }
}

fn parse_start_line(line: &[u8], line_no: usize) -> Result<StartLine> {
    if line.starts_with(b"HTTP/") {
        // HTTP-version SP status-code SP [ reason-phrase ]
        let mut parts = line.splitn(3, |&b| b == b' ');
        let version = version(parts.next().unwrap_or_default(), line_no)?;
        let code = parts.next().unwrap_or_default();
        let status = if code.len() == 3 && code.iter().all(u8::is_ascii_digit) {
            StatusCode::from_bytes(code).ok()
        } else {
            None
        }
        .filter(|status| status.as_u16() >= 100)
        .ok_or_else(|| {
            malformed(
                Some(line_no),
                format!("invalid status code {:?} (three digits)", shown(code)),
            )
        })?;
        if let Some(reason) = parts.next()
            && reason
                .iter()
                .any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f))
        {
            return Err(malformed(
                Some(line_no),
                "control character in the reason phrase",
            ));
        }
        return Ok(StartLine::Response { status, version });
    }
    // method SP request-target SP HTTP-version
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let [method, target, proto] = parts.as_slice() else {
        return Err(malformed(
            Some(line_no),
            "the start line is neither `METHOD TARGET HTTP/1.1` nor `HTTP/1.1 STATUS REASON`",
        ));
    };
    let version = version(proto, line_no)?;
    let method = Method::from_bytes(method)
        .ok()
        .filter(|m| !m.as_str().is_empty())
        .ok_or_else(|| malformed(Some(line_no), format!("invalid method {:?}", shown(method))))?;
    if target.is_empty() {
        return Err(malformed(Some(line_no), "empty request target"));
    }
    let uri = Uri::try_from(*target).map_err(|err| {
        malformed(
            Some(line_no),
            format!("invalid request target {:?}: {err}", shown(target)),
        )
    })?;
    let form_ok = if method == Method::CONNECT {
        uri.scheme().is_none() && uri.authority().is_some() && uri.path_and_query().is_none()
    } else {
        target.starts_with(b"/")
            || *target == b"*"
            || (uri.scheme().is_some() && uri.authority().is_some())
    };
    if !form_ok {
        return Err(malformed(
            Some(line_no),
            format!(
                "request target {:?} is not in origin form (/path?query) or absolute form \
                 (https://host/path){}",
                shown(target),
                if method == Method::CONNECT {
                    " (CONNECT takes host:port)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(StartLine::Request {
        method,
        uri,
        version,
    })
}

fn parse_field_line(line: &[u8], line_no: usize) -> Result<(HeaderName, HeaderValue)> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(malformed(
            Some(line_no),
            "obsolete line folding (a field line starting with whitespace) is not supported",
        ));
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(malformed(
            Some(line_no),
            format!("field line without a colon: {:?}", shown(line)),
        ));
    };
    let (name, value) = line.split_at(colon);
    let value = value.get(1..).unwrap_or_default();
    if name.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(malformed(
            Some(line_no),
            "whitespace between the field name and the colon",
        ));
    }
    let name = HeaderName::from_bytes(name).map_err(|_| {
        malformed(
            Some(line_no),
            format!("invalid field name {:?}", shown(name)),
        )
    })?;
    let value = HeaderValue::from_bytes(trim_ows(value)).map_err(|_| {
        malformed(
            Some(line_no),
            format!("invalid value of field {name}: control character"),
        )
    })?;
    Ok((name, value))
}

/// The body length: `Content-Length`, or 0 without one.
fn content_length(headers: &HeaderMap) -> Result<usize> {
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    let Some(value) = values.next() else {
        return Ok(0);
    };
    if values.next().is_some() {
        return Err(malformed(None, "more than one Content-Length field"));
    }
    let bytes = value.as_bytes();
    let invalid = || {
        malformed(
            None,
            format!(
                "invalid Content-Length {:?}: expected a number of bytes",
                shown(bytes)
            ),
        )
    };
    if bytes.is_empty() || bytes.len() > 20 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let len = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(invalid)?;
    usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_BODY)
        .ok_or_else(|| {
            too_large(format!(
                "Content-Length {len} is above the limit of {MAX_BODY} bytes"
            ))
        })
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Input bytes for an error message: at most 64 characters, lossy.
fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip_crlf_and_lf() {
        for le in ["\r\n", "\n"] {
            let text = format!(
                "POST /foo?a=1 HTTP/1.1{le}Host: example.com{le}X-A: 1{le}x-a:  2 {le}\
                 Content-Length: 3{le}{le}abc"
            );
            let msg = RawMessage::parse(text.as_bytes()).unwrap();
            assert!(msg.is_request());
            assert_eq!(msg.body(), b"abc");
            let values: Vec<_> = msg.headers().get_all("x-a").iter().collect();
            assert_eq!(values, ["1", "2"]);
            assert_eq!(msg.write_with(&[]), text.as_bytes());
            let out = msg.write_with(&[(
                HeaderName::from_static("signature"),
                HeaderValue::from_static("s"),
            )]);
            let expected = text.replace(&format!("{le}{le}"), &format!("{le}Signature: s{le}{le}"));
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn display_names() {
        let shown = |name: &'static str| {
            let mut out = Vec::new();
            write_display_name(&mut out, &HeaderName::from_static(name));
            String::from_utf8(out).unwrap()
        };
        for name in [
            "signature-input",
            "content-digest",
            "signature",
            "x-a-b",
            "a--b",
        ] {
            assert_eq!(shown(name).to_ascii_lowercase(), name);
        }
        assert_eq!(shown("signature-input"), "Signature-Input");
        assert_eq!(shown("x-a-b"), "X-A-B");
    }

    #[test]
    fn http_round_trip() {
        for text in [
            &b"POST /a?b=1 HTTP/1.0\nHost: x\nX: 1\nx: 2\nContent-Length: 3\n\nabc"[..],
            b"CONNECT bank.example:443 HTTP/1.1\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\n\r\n",
            b"GET https://bank.example/p HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 599\r\nContent-Length: 1\r\n\r\nz",
            b"HTTP/1.1 200 Fine\r\n\r\n",
        ] {
            let raw = RawMessage::parse(text).unwrap();
            assert_eq!(raw.to_bytes(), text);
            let bytes = raw.to_http().to_bytes().unwrap();
            let again = RawMessage::parse(&bytes).unwrap();
            assert_eq!(again.headers(), raw.headers());
            assert_eq!(again.body(), raw.body());
            assert_eq!(again.to_http().to_bytes().unwrap(), bytes);
        }
        let mut request = Request::new(b"abc".to_vec());
        assert!(HttpMessage::Request(request.clone()).to_bytes().is_err());
        request
            .headers_mut()
            .insert("content-length", HeaderValue::from_static("3"));
        assert!(HttpMessage::Request(request.clone()).to_bytes().is_ok());
        request
            .headers_mut()
            .insert("x", HeaderValue::from_static(" padded"));
        assert!(HttpMessage::Request(request.clone()).to_bytes().is_err());
        *request.version_mut() = Version::HTTP_2;
        assert!(HttpMessage::Request(request).to_bytes().is_err());
    }

    #[test]
    fn head_alone() {
        let (head, rest) =
            RawMessage::parse_head(b"POST / HTTP/1.1\nContent-Length: 9\n\nrest").unwrap();
        assert!(head.body().is_empty());
        assert_eq!(rest, b"rest");
        assert!(RawMessage::parse_head(b"POST / HTTP/1.1\n").is_err());
    }

    #[test]
    fn response_and_trailing_newline() {
        let msg = RawMessage::parse(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi\n").unwrap();
        assert!(!msg.is_request());
        assert_eq!(msg.body(), b"hi");
        assert!(msg.write_with(&[]).ends_with(b"hi\n"));
        assert!(RawMessage::parse(b"HTTP/1.1 204\n\n").is_ok());
    }

    #[test]
    fn rejects() {
        let bad: &[&[u8]] = &[
            b"",
            b"GET / HTTP/1.1\nHost: a\n",
            b"GET / HTTP/1.1\n folded\n\n",
            b"GET / HTTP/1.1\nHost : a\n\n",
            b"GET / HTTP/1.1\nHost\n\n",
            b"GET / HTTP/2\n\n",
            b"GET  / HTTP/1.1\n\n",
            b"GET foo HTTP/1.1\n\n",
            b"HTTP/1.1 20 OK\n\n",
            b"POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\r\n\r\n",
            b"POST / HTTP/1.1\nContent-Length: 5\n\nabc",
            b"POST / HTTP/1.1\nContent-Length: -1\n\n",
            b"POST / HTTP/1.1\nContent-Length: 1\nContent-Length: 1\n\na",
            b"POST / HTTP/1.1\nContent-Length: 1\n\nabc",
            b"GET / HTTP/1.1\nX: a\rb\n\n",
            b"\xff\xfe\x00garbage",
        ];
        for input in bad {
            assert!(
                RawMessage::parse(input).is_err(),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limits() {
        let mut many = b"GET / HTTP/1.1\n".to_vec();
        for i in 0..=MAX_FIELDS {
            many.extend_from_slice(format!("X-{i}: v\n").as_bytes());
        }
        many.extend_from_slice(b"\n");
        let err = RawMessage::parse(&many).unwrap_err().to_string();
        assert!(err.contains("field lines"), "{err}");
        let mut huge = b"GET / HTTP/1.1\nX: ".to_vec();
        huge.resize(MAX_HEAD + 10, b'a');
        let err = RawMessage::parse(&huge).unwrap_err().to_string();
        assert!(err.contains("head is larger"), "{err}");
    }
}
