//! Seeds of `rawhttp_parse`: small raw messages, one per shape the parser
//! reads (request-target forms, responses, LF and CRLF, duplicate fields,
//! bodies with a final line ending), and a few it refuses.

use tresor_fuzz::httpsig::RawMessage;

use crate::Seed;

/// Messages that parse.
const VALID: [(&str, &[u8]); 10] = [
    (
        "post-crlf",
        b"POST /pay?id=7 HTTP/1.1\r\nHost: bank.example\r\nContent-Type: text/plain\r\n\
Content-Length: 5\r\n\r\nhello",
    ),
    (
        "post-lf-trailing-newline",
        b"POST /pay HTTP/1.0\nHost: bank.example\nContent-Length: 2\n\nhi\n",
    ),
    (
        "get-duplicates-ows",
        b"GET /a/b?x=1&y HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\nx-a:   2 \t\r\n\
Cache-Control: no-cache\r\nX-Empty:\r\n\r\n",
    ),
    (
        "absolute-form",
        b"GET https://bank.example:8443/p?q HTTP/1.1\r\nHost: other.example\r\n\r\n",
    ),
    (
        "authority-form",
        b"CONNECT bank.example:443 HTTP/1.1\r\nHost: bank.example:443\r\n\r\n",
    ),
    (
        "asterisk-form",
        b"OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n",
    ),
    (
        "response-200",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    ),
    ("response-no-reason", b"HTTP/1.1 204\n\n"),
    (
        "response-signed",
        b"HTTP/1.1 503 Service Unavailable\r\nSignature-Input: sig=(\"@status\");created=1\r\n\
Signature: sig=:AA==:\r\n\r\n",
    ),
    (
        "mixed-line-endings",
        b"PUT /x HTTP/1.1\nHost: a\r\nContent-Length: 0\n\r\n",
    ),
];

/// Messages that are refused, each for one reason.
const REFUSED: [(&str, &[u8]); 6] = [
    (
        "bad-chunked",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ),
    (
        "bad-short-body",
        b"POST / HTTP/1.1\nContent-Length: 10\n\nshort",
    ),
    ("bad-obs-fold", b"GET / HTTP/1.1\nX: a\n  b\n\n"),
    ("bad-space-before-colon", b"GET / HTTP/1.1\nHost : a\n\n"),
    (
        "bad-two-lengths",
        b"POST / HTTP/1.1\nContent-Length: 1\nContent-Length: 1\n\na",
    ),
    ("bad-version", b"GET / HTTP/2\n\n"),
];

/// The `rawhttp_parse` seeds; checks that each parses or is refused as
/// its name says.
pub(crate) fn seeds() -> Result<Vec<Seed>, Box<dyn std::error::Error>> {
    let mut seeds = Vec::new();
    for (name, raw) in VALID {
        RawMessage::parse(raw).map_err(|err| format!("seed {name}: {err}"))?;
        seeds.push((name.to_owned(), raw.to_vec()));
    }
    for (name, raw) in REFUSED {
        if RawMessage::parse(raw).is_ok() {
            return Err(format!("seed {name} parses").into());
        }
        seeds.push((name.to_owned(), raw.to_vec()));
    }
    Ok(seeds)
}
