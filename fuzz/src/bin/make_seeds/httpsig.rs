//! Seeds of the `httpsig_*` targets, from the RFC 9421 Appendix B messages
//! in `rfc9421/` and from messages signed here with the fixed Ed25519 and
//! HMAC keys of `tresor_fuzz::httpsig`. Ed25519 and HMAC are deterministic
//! and `created` is fixed, so these seeds are the same on every run.

use http::{HeaderValue, Request, Response};
use tresor_fuzz::httpsig::{self as fixtures, HttpMessage, RawMessage, hmac_signer};
use tresor_httpsig::{ComponentId, DigestAlgorithm, Signer};

use crate::Seed;

/// The RFC 9421 Appendix B signed messages, by example number.
const SIGNED: [(&str, &str); 6] = [
    (
        "b21",
        include_str!("../../../rfc9421/b21_request_signed.txt"),
    ),
    (
        "b22",
        include_str!("../../../rfc9421/b22_request_signed.txt"),
    ),
    (
        "b23",
        include_str!("../../../rfc9421/b23_request_signed.txt"),
    ),
    (
        "b24",
        include_str!("../../../rfc9421/b24_response_signed.txt"),
    ),
    (
        "b25",
        include_str!("../../../rfc9421/b25_request_signed.txt"),
    ),
    (
        "b26",
        include_str!("../../../rfc9421/b26_request_signed.txt"),
    ),
];

const RFC_RESPONSE: &str = include_str!("../../../rfc9421/rfc-test-response.txt");

/// Messages of RFC 9421 section 2 that exercise component rules: field
/// values with whitespace, obs-fold and several lines, dictionaries, query
/// parameters with percent-encoding, the request-target forms.
const SECTION_2_HEAD: &str = "GET /path?param=value HTTP/1.1\r\n\
Host: www.example.com\r\n\
Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n\
X-OWS-Header:   Leading and trailing whitespace.   \r\n\
X-Obs-Fold-Header: Obsolete line folding.\r\n\
Cache-Control: max-age=60\r\n\
Cache-Control:    must-revalidate\r\n\
Example-Dict:  a=1,    b=2;x=1;y=2,   c=(a   b   c)\r\n\
Example-Dict:      d\r\n\
Example-Header: value, with, lots\r\n\
Example-Header: of, commas\r\n\
X-Empty-Header: \r\n";

/// Component identifiers, one per line, for `httpsig_base`.
const ALL_REQUEST_COMPONENTS: &str = "\"@method\"\n\"@target-uri\"\n\"@authority\"\n\
\"@scheme\"\n\"@request-target\"\n\"@path\"\n\"@query\"\n\"@query-param\";name=\"param\"\n";

const SECTION_2_COMPONENTS: &str = "\"x-ows-header\"\n\"x-obs-fold-header\"\n\
\"cache-control\"\n\"example-dict\";sf\n\"example-dict\";key=\"a\"\n\"example-dict\";key=\"d\"\n\
\"example-header\";bs\n\"x-empty-header\"\n\"cache-control\";tr\n\"example-dict\";key=\"c\";tr\n";

/// The three seed sets: `httpsig_fields`, `httpsig_base`, `httpsig_verify`.
pub(crate) fn seeds() -> Result<[Vec<Seed>; 3], Box<dyn std::error::Error>> {
    Ok([fields_seeds(), base_seeds(), verify_seeds()?])
}

/// The value of the first field line `name` of a raw message.
fn field<'a>(raw: &'a str, name: &str) -> &'a str {
    raw.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then_some(v.trim())
        })
        .unwrap_or_else(|| panic!("no {name} field"))
}

fn fields_seed(name: &str, input: &str, signature: &str) -> Seed {
    let mut bytes = input.as_bytes().to_vec();
    bytes.push(0xFF);
    bytes.extend_from_slice(signature.as_bytes());
    (name.to_owned(), bytes)
}

fn fields_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = SIGNED
        .iter()
        .map(|(n, raw)| {
            fields_seed(
                &format!("rfc-{n}"),
                field(raw, "signature-input"),
                field(raw, "signature"),
            )
        })
        .collect();
    let sig = ":wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
    let cases: [(&str, &str, String); 12] = [
        (
            "all-params",
            r#"sig1=("@method" "@path");created=1618884473;expires=1618884773;keyid="k";alg="ed25519";nonce="n-1";tag="t""#,
            format!("sig1={sig}"),
        ),
        (
            "component-params",
            r#"a=("x";sf "y";key="k" "z";bs "w";req "v";tr "@query-param";name="Pet" "@status";req "u";req;sf;tr "t";key="a\"b\\c")"#,
            format!("a={sig}"),
        ),
        (
            "two-members",
            r#"a=("@method");keyid="x", b=("@path");keyid="y""#,
            format!("b={sig}, a=:AAAA:"),
        ),
        (
            "multi-line",
            "a=(\"@method\");keyid=\"x\"\nb=(\"@authority\")",
            format!("a={sig}\nb=:YQ==:"),
        ),
        (
            "unknown-params",
            r#"a=();foo=1.5;bar;baz=?0;qux=:AAA=:;tok=abc;neg=-999999999999999"#,
            "a=:YWJj:;p=1".to_owned(),
        ),
        (
            "duplicate-label",
            r#"a=("@method"), a=("@path")"#,
            "a=:AA==:, a=:AQ==:".to_owned(),
        ),
        (
            "nine-members",
            "a=(), b=(), c=(), d=(), e=(), f=(), g=(), h=(), i=()",
            "a=:AA==:".to_owned(),
        ),
        (
            "bad-not-inner-list",
            r#"a="@method";keyid="x""#,
            "a=(:AA==:)".to_owned(),
        ),
        (
            "bad-component-token",
            "a=(method @path);created=x",
            "a=\"not bytes\"".to_owned(),
        ),
        (
            "bad-param-types",
            r#"a=("@method");created="1";keyid=1;alg=?1"#,
            "a=?1".to_owned(),
        ),
        (
            "bad-components",
            r#"a=("@signature-params" "@unknown" "Upper" "x";sf;bs "@method";sf "x";name="n")"#,
            String::new(),
        ),
        (
            "component-ids",
            "\"@query-param\";name=\"a\\\"b\"\n\"example-dict\";key=\"a\";req;tr\n\"x\";sf=?1;req",
            String::new(),
        ),
    ];
    for (name, input, signature) in cases {
        seeds.push(fields_seed(name, input, &signature));
    }
    seeds
}

/// `head`, an empty line, then `components`.
fn base_seed(name: &str, head: &str, components: &str) -> Seed {
    let head = head.split("\n\n").next().unwrap_or(head).trim_end();
    (
        name.to_owned(),
        format!("{head}\n\n{components}").into_bytes(),
    )
}

/// The covered components of a signed message's `Signature-Input`, one per
/// line.
fn covered(raw: &str) -> String {
    let input = field(raw, "signature-input");
    let list = input
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or("", |(inner, _)| inner);
    let mut out = String::new();
    // The RFC's lists separate identifiers with single spaces outside quotes.
    let mut in_quotes = false;
    for c in list.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                out.push(c);
            }
            ' ' if !in_quotes => out.push('\n'),
            _ => out.push(c),
        }
    }
    out.push('\n');
    out
}

fn base_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = SIGNED
        .iter()
        .map(|(n, raw)| base_seed(&format!("rfc-{n}"), raw, &covered(raw)))
        .collect();
    let request = fixtures::RFC_REQUEST;
    let extra = [
        ("rfc-request-derived", request, ALL_REQUEST_COMPONENTS),
        (
            "rfc-request-fields",
            request,
            "\"date\"\n\"content-digest\";sf\n\"content-digest\";key=\"sha-512\"\n\
\"content-type\";bs\n\"host\"\n\"content-length\";tr\n",
        ),
        (
            "rfc-request-errors",
            request,
            "\"@status\"\n\"@authority\";req\n\"missing\"\n\"content-type\";key=\"a\"\n\
\"@query-param\";name=\"none\"\n\"@method\"\n\"@method\"\n",
        ),
        (
            "rfc-response-req",
            RFC_RESPONSE,
            "\"@status\"\n\"@method\";req\n\"@authority\";req\n\"@path\";req\n\
\"content-digest\";req;sf\n\"content-type\"\n\"content-digest\";key=\"sha-512\"\n",
        ),
        ("section2", SECTION_2_HEAD, SECTION_2_COMPONENTS),
        (
            "section2-query",
            "GET /parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&q&q=2 HTTP/1.1\r\nHost: www.example.com\r\n",
            "\"@query-param\";name=\"var\"\n\"@query-param\";name=\"bar\"\n\
\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\"\n\"@query-param\";name=\"q\"\n\"@query\"\n",
        ),
        (
            "absolute-form",
            "OPTIONS https://www.example.com:8443/a/b?x=1 HTTP/1.1\r\nHost: other.example\r\n",
            ALL_REQUEST_COMPONENTS,
        ),
        (
            "asterisk-form",
            "OPTIONS * HTTP/1.1\r\nHost: www.example.com:443\r\n",
            ALL_REQUEST_COMPONENTS,
        ),
        (
            "authority-form",
            "CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com:80\r\n",
            ALL_REQUEST_COMPONENTS,
        ),
        (
            "with-signature-input",
            "GET /x?y HTTP/1.1\r\nHost: a.example\r\nSignature-Input: s1=(\"@method\" \"host\";bs);created=1;keyid=\"k\", s2=(\"@query\" \"missing\")\r\n",
            "\"@path\"\n\"signature-input\";key=\"s1\"\n\"signature-input\";sf\n",
        ),
    ];
    for (name, head, components) in extra {
        seeds.push(base_seed(name, head, components));
    }
    seeds
}

fn request_from(raw: &str) -> Request<Vec<u8>> {
    match RawMessage::parse(raw.as_bytes()).map(|raw| raw.to_http()) {
        Ok(HttpMessage::Request(r)) => r,
        _ => panic!("not a request: {raw:?}"),
    }
}

fn response_from(raw: &str) -> Response<Vec<u8>> {
    match RawMessage::parse(raw.as_bytes()).map(|raw| raw.to_http()) {
        Ok(HttpMessage::Response(r)) => r,
        _ => panic!("not a response: {raw:?}"),
    }
}

fn ids(list: &[&str]) -> Vec<ComponentId> {
    list.iter()
        .map(|s| ComponentId::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// A copy of `request` with `headers` removed.
fn without(request: &Request<Vec<u8>>, headers: &[&str]) -> Request<Vec<u8>> {
    let mut r = request.clone();
    for h in headers {
        r.headers_mut().remove(*h);
    }
    r
}

fn verify_seeds() -> Result<Vec<Seed>, Box<dyn std::error::Error>> {
    let mut seeds: Vec<Seed> = SIGNED
        .iter()
        .map(|(n, raw)| (format!("rfc-{n}"), raw.as_bytes().to_vec()))
        .collect();

    let rfc = request_from(fixtures::RFC_REQUEST);
    let ed = fixtures::ed25519_signer;
    let hmac = hmac_signer;
    let fields = ids(&[
        r#""date""#,
        r#""content-digest";sf"#,
        r#""content-digest";key="sha-512""#,
        r#""content-type";bs"#,
        r#""host""#,
        r#""content-length""#,
    ]);
    let derived = ids(&[
        r#""@method""#,
        r#""@target-uri""#,
        r#""@authority""#,
        r#""@scheme""#,
        r#""@request-target""#,
        r#""@path""#,
        r#""@query""#,
        r#""@query-param";name="Pet""#,
    ]);

    // Valid requests: (name, signer, request).
    let plain_get = request_from("GET /accounts/42 HTTP/1.1\r\nHost: api.bank.example\r\n\r\n");
    let fresh_post = request_from(
        "POST /payments?dry-run=1 HTTP/1.1\r\nHost: api.bank.example:8443\r\nContent-Type: application/json\r\n\r\n",
    );
    let mut fresh_post = fresh_post;
    *fresh_post.body_mut() = br#"{"amount":"10.00","currency":"EUR"}"#.to_vec();
    let signed: Vec<(&str, Signer, Request<Vec<u8>>)> = vec![
        ("ed25519-default", ed(), rfc.clone()),
        ("hmac-default", hmac(), rfc.clone()),
        (
            "ed25519-default-sha256",
            ed().content_digest(Some(DigestAlgorithm::Sha256)),
            without(&rfc, &["content-digest"]),
        ),
        (
            "ed25519-derived",
            ed().components(derived.clone()),
            rfc.clone(),
        ),
        (
            "hmac-fields",
            hmac().components(fields.clone()),
            rfc.clone(),
        ),
        (
            "ed25519-all-params",
            ed().expires_in(3600)
                .nonce("fuzz-nonce")
                .tag("fuzz")
                .include_alg(true)
                .label("sig-fuzz"),
            rfc.clone(),
        ),
        (
            "hmac-empty-list",
            hmac().components(Vec::new()).label("empty"),
            plain_get.clone(),
        ),
        ("ed25519-get", ed(), plain_get.clone()),
        (
            "hmac-post-fresh-body",
            hmac().content_digest(Some(DigestAlgorithm::Sha512)),
            fresh_post.clone(),
        ),
        ("ed25519-post-fresh-body", ed(), fresh_post.clone()),
        (
            "defect-expired",
            ed().created(fixtures::CLOCK_NOW - 100).expires_in(10),
            rfc.clone(),
        ),
        (
            "defect-created-in-future",
            hmac()
                .created(fixtures::CLOCK_NOW + 3600)
                .components(ids(&[r#""@method""#])),
            plain_get.clone(),
        ),
    ];
    let mut valid = Vec::new();
    for (name, signer, mut request) in signed {
        signer.sign_request(&mut request)?;
        let raw = HttpMessage::Request(request).to_bytes()?;
        if !name.starts_with("defect-") {
            valid.push((name.to_owned(), raw.clone()));
        }
        seeds.push((name.to_owned(), raw));
    }

    // A second signature on an already signed message (the first one is
    // verified: the lenient policy selects the first).
    let mut two = rfc.clone();
    hmac().label("second").sign_request(&mut two)?;
    ed().label("first").sign_request(&mut two)?;
    // Reverse the field lines so "first" comes first.
    for name in ["signature-input", "signature"] {
        let mut lines: Vec<HeaderValue> = two.headers().get_all(name).iter().cloned().collect();
        lines.reverse();
        two.headers_mut().remove(name);
        for l in lines {
            two.headers_mut().append(name, l);
        }
    }
    let raw = HttpMessage::Request(two).to_bytes()?;
    valid.push(("two-signatures".to_owned(), raw.clone()));
    seeds.push(("two-signatures".to_owned(), raw));

    // A response signed with HMAC, covering @status and its body fields.
    let mut response = response_from(RFC_RESPONSE);
    hmac().sign_response(&mut response, None)?;
    let raw = HttpMessage::Response(response).to_bytes()?;
    valid.push(("hmac-response".to_owned(), raw.clone()));
    seeds.push(("hmac-response".to_owned(), raw));

    // Defects of a valid message.
    let base = valid
        .iter()
        .find(|(n, _)| n == "ed25519-default")
        .map(|(_, r)| r.clone())
        .ok_or("no ed25519-default seed")?;
    let text = String::from_utf8(base.clone())?;
    let replace = |from: &str, to: &str| -> Vec<u8> {
        assert!(text.contains(from), "{from:?} not in the seed");
        text.replacen(from, to, 1).into_bytes()
    };
    let mut flipped = base.clone();
    let sig_at = text.find("signature: sig=:").ok_or("no signature")? + 16;
    flipped[sig_at] = if flipped[sig_at] == b'A' { b'B' } else { b'A' };
    seeds.push(("defect-signature-flipped".to_owned(), flipped));
    seeds.push((
        "defect-body-changed".to_owned(),
        replace(r#"{"hello": "world"}"#, r#"{"hello": "World"}"#),
    ));
    seeds.push(("defect-method-changed".to_owned(), replace("POST ", "PUT ")));
    seeds.push((
        "defect-unknown-keyid".to_owned(),
        replace("keyid=\"test-key-ed25519\"", "keyid=\"test-key-ed25518\""),
    ));
    seeds.push((
        "defect-alg-mismatch".to_owned(),
        replace(";keyid=", ";alg=\"hmac-sha256\";keyid="),
    ));
    seeds.push((
        "defect-no-signature-field".to_owned(),
        replace("signature: sig=", "x-signature: sig="),
    ));

    // Every seed meant to verify does, so the fuzzer starts past the check.
    for (name, raw) in &valid {
        let message = RawMessage::parse(raw)
            .map_err(|e| format!("{name}: unparsed: {e}"))?
            .to_http();
        fixtures::verify_and_check(&message).map_err(|e| format!("{name} does not verify: {e}"))?;
    }
    for name in ["rfc-b24", "rfc-b25", "rfc-b26"] {
        let (_, raw) = seeds.iter().find(|(n, _)| n == name).ok_or(name)?;
        let message = RawMessage::parse(raw)
            .map_err(|e| format!("{name}: unparsed: {e}"))?
            .to_http();
        fixtures::verify_and_check(&message).map_err(|e| format!("{name} does not verify: {e}"))?;
    }
    for (name, raw) in seeds.iter().filter(|(n, _)| n.starts_with("defect-")) {
        let message = RawMessage::parse(raw)
            .map_err(|e| format!("{name}: unparsed: {e}"))?
            .to_http();
        if fixtures::verify_and_check(&message).is_ok() {
            return Err(format!("defective seed {name} verifies").into());
        }
    }
    Ok(seeds)
}
