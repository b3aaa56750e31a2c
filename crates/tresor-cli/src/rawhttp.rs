//! Raw HTTP/1.1 messages, as files: parsing them into `http` types and
//! writing them back with new fields.
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
//! `LE` is CRLF or a bare LF, each line on its own; the output uses the
//! start line's. The request target is origin-form (`/path?query`, the
//! authority then comes from `Host`), absolute-form
//! (`https://host/path`), authority-form (`CONNECT`) or `*`.
//!
//! Rejected with a precise error: a head over [`MAX_HEAD`] bytes or
//! [`MAX_FIELDS`] fields, a body over [`MAX_BODY`] bytes, input not made of
//! lines, obsolete line folding, whitespace before a field's colon, an
//! invalid field name or value, a missing, malformed, negative or repeated
//! `Content-Length`, a `Transfer-Encoding` (chunked bodies are not
//! supported), a body shorter than `Content-Length`, and any bytes after
//! the body other than one line ending.
//!
//! # What is written
//!
//! [`RawMessage::write_with`]: the input's bytes up to the blank line,
//! unchanged, then the new field lines, then the blank line, the body and
//! the tolerated final line ending, if any.

use std::io::Read;

use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};

use crate::error::{CliError, Result};

/// The largest message head (start line and fields) accepted, in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// The most field lines accepted.
pub(crate) const MAX_FIELDS: usize = 128;
/// The largest body accepted, in bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// A message's start line, parsed.
#[derive(Debug)]
pub(crate) enum StartLine {
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

/// A raw HTTP message, read from a file or standard input.
#[derive(Debug)]
pub(crate) struct RawMessage {
    /// The input up to (not including) the blank line: start line and field
    /// lines with their own line endings.
    head: Vec<u8>,
    /// The line ending of new lines (that of the start line).
    line_ending: &'static [u8],
    /// The blank line as found (`\r\n` or `\n`).
    blank_line: Vec<u8>,
    /// The start line.
    start: StartLine,
    /// The fields, in order.
    headers: HeaderMap,
    /// The body.
    body: Vec<u8>,
    /// The tolerated final line ending after the body, if any.
    trailing: Vec<u8>,
}

/// A message-format error, at a line when it has one.
fn malformed(line: Option<usize>, reason: impl Into<String>) -> CliError {
    let reason = reason.into();
    CliError::Http(match line {
        Some(line) => format!("line {line}: {reason}"),
        None => reason,
    })
}

impl RawMessage {
    /// Reads a whole message from `reader` (at most [`MAX_HEAD`] +
    /// [`MAX_BODY`] + 2 bytes are read).
    pub(crate) fn read_from(reader: &mut dyn Read) -> Result<Self> {
        let limit = MAX_HEAD + MAX_BODY + 2;
        let mut bytes = Vec::new();
        reader
            .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|err| CliError::Http(format!("cannot read the message: {err}")))?;
        if bytes.len() > limit {
            return Err(malformed(
                None,
                format!("the input is larger than {limit} bytes"),
            ));
        }
        Self::parse(&bytes)
    }

    /// Parses a whole message.
    pub(crate) fn parse(input: &[u8]) -> Result<Self> {
        if input.is_empty() {
            return Err(malformed(None, "the input is empty"));
        }
        let mut rest = input;
        let mut line_no = 0usize;
        let mut fields: Vec<(HeaderName, HeaderValue)> = Vec::new();
        let mut start: Option<(StartLine, &'static [u8])> = None;
        let blank_line = loop {
            line_no += 1;
            let consumed = input.len() - rest.len();
            let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
                if consumed + rest.len() > MAX_HEAD {
                    return Err(malformed(
                        None,
                        format!("the head is larger than {MAX_HEAD} bytes"),
                    ));
                }
                return Err(malformed(
                    Some(line_no),
                    "the message ends before the blank line that ends its fields",
                ));
            };
            if consumed + newline > MAX_HEAD {
                return Err(malformed(
                    None,
                    format!("the head is larger than {MAX_HEAD} bytes"),
                ));
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
                        return Err(malformed(
                            None,
                            format!("more than {MAX_FIELDS} field lines"),
                        ));
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
        if headers.contains_key(http::header::TRANSFER_ENCODING) {
            return Err(malformed(
                None,
                "Transfer-Encoding is not supported (chunked bodies cannot be signed from a \
                 file): give the decoded body with a Content-Length",
            ));
        }
        let body_len = content_length(&headers)?;
        let Some(body) = rest.get(..body_len) else {
            return Err(malformed(
                None,
                format!(
                    "the body is shorter than its Content-Length: {} of {body_len} bytes",
                    rest.len()
                ),
            ));
        };
        let trailing = rest.get(body_len..).unwrap_or_default();
        if !matches!(trailing, b"" | b"\n" | b"\r\n") {
            return Err(malformed(
                None,
                format!(
                    "{} bytes after the body of Content-Length {body_len} (one message per input)",
                    trailing.len()
                ),
            ));
        }
        Ok(RawMessage {
            head,
            line_ending,
            blank_line: blank_line.to_vec(),
            start,
            headers,
            body: body.to_vec(),
            trailing: trailing.to_vec(),
        })
    }

    /// Whether the message is a request.
    pub(crate) fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The fields.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    /// The message as an `http` request or response, body included.
    pub(crate) fn to_http(&self) -> HttpMessage {
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

    /// The message with `new_fields` appended after the original field
    /// lines, in the original line-ending style.
    pub(crate) fn write_with(&self, new_fields: &[(String, HeaderValue)]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.head.len() + self.body.len() + 256 * new_fields.len() + 8);
        out.extend_from_slice(&self.head);
        for (name, value) in new_fields {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(self.line_ending);
        }
        out.extend_from_slice(&self.blank_line);
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.trailing);
        out
    }
}

/// A parsed message as the `http` crate's types.
#[derive(Debug)]
pub(crate) enum HttpMessage {
    /// A request.
    Request(Request<Vec<u8>>),
    /// A response.
    Response(Response<Vec<u8>>),
}

impl HttpMessage {
    /// The fields.
    pub(crate) fn headers(&self) -> &HeaderMap {
        match self {
            HttpMessage::Request(request) => request.headers(),
            HttpMessage::Response(response) => response.headers(),
        }
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
            malformed(
                None,
                format!("Content-Length {len} is above the limit of {MAX_BODY} bytes"),
            )
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
            let out = msg.write_with(&[("Signature".to_owned(), HeaderValue::from_static("s"))]);
            let expected = text.replace(&format!("{le}{le}"), &format!("{le}Signature: s{le}{le}"));
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
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
