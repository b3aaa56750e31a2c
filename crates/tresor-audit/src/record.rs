//! [`AuditRecord`]: what one log entry says, and its canonical bytes.
//!
//! A record is a JSON object with exactly these members:
//!
//! | member       | JSON type | content                                                      |
//! |--------------|-----------|--------------------------------------------------------------|
//! | `timestamp`  | string    | RFC 3339 UTC time, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`            |
//! | `actor`      | object    | `{"kind": string, "id": string}`, both non-empty              |
//! | `action`     | string    | non-empty, e.g. `payment.approve`                             |
//! | `resource`   | string    | non-empty, what was acted on                                  |
//! | `outcome`    | string    | `allowed`, `denied` or `failed`                               |
//! | `request_id` | string    | non-empty, correlates with other systems' logs                |
//! | `source`     | string    | non-empty, the system or address the request came from        |
//! | `details`    | object    | anything else, free-form                                      |
//! | `payload`    | string    | optional: opaque (encrypted) bytes, standard base64 with `=`  |
//!
//! The entry stored in the log is the record's RFC 8785 canonical JSON
//! ([`AuditRecord::canonical_bytes`]); its leaf hash is
//! `SHA-256(0x00 || canonical bytes)`. Timestamps are written in one form:
//! no fraction when the nanoseconds are zero, else the fraction without its
//! trailing zeros (`.5Z`, `.000123Z`).
//!
//! `payload` is for personal data: encrypt it under a per-subject key
//! (tresor-envelope) and log the ciphertext. The ciphertext is what is
//! hashed, so destroying the subject's key ("crypto-shredding") makes the
//! data unreadable while every proof still verifies.
//!
//! Numbers inside `details` are IEEE-754 doubles (I-JSON): an integer
//! beyond 2⁵³ is rounded, and the record keeps it rounded, as it is hashed
//! ([`jcs::normalize`]). Put exact amounts and identifiers in strings.
//!
//! ```
//! use tresor_audit::record::{Actor, AuditRecord, Outcome, Timestamp};
//!
//! let record = AuditRecord::builder()
//!     .timestamp("2026-01-31T12:00:00.25Z".parse()?)
//!     .actor(Actor::new("user", "u-1842")?)
//!     .action("payment.approve")
//!     .resource("payment/9921")
//!     .outcome(Outcome::Allowed)
//!     .request_id("req-77f1")
//!     .source("10.0.0.7")
//!     .build()?;
//! let bytes = record.canonical_bytes()?;
//! assert!(bytes.starts_with(br#"{"action":"payment.approve","actor":{"id":"u-1842","kind":"user"}"#));
//! assert_eq!(AuditRecord::from_canonical(&bytes)?, record);
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jcs;
use crate::merkle;
use crate::store::Hash;

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidRecord {
        reason: reason.into(),
    }
}

// --- Timestamp ---------------------------------------------------------------

/// A UTC instant with nanosecond precision, from 0000-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999999999Z, written in RFC 3339 with a `Z` offset.
///
/// Parsing is strict: `T` and `Z` upper case, two-digit fields, 1 to 9
/// fraction digits, no other offset, no leap second (`:60`), real dates only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Seconds from the Unix epoch to 0000-01-01T00:00:00Z and past 9999-12-31.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Timestamp {
    /// The instant `secs` seconds and `nanos` nanoseconds after
    /// 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] if `nanos` is not below 10⁹ or the instant is
    /// outside years 0000 to 9999.
    pub fn from_unix(secs: i64, nanos: u32) -> Result<Self> {
        if nanos >= 1_000_000_000 {
            return Err(invalid("timestamp nanoseconds must be below 10^9"));
        }
        if !(MIN_SECS..=MAX_SECS).contains(&secs) {
            return Err(invalid("timestamp outside years 0000 to 9999"));
        }
        Ok(Self { secs, nanos })
    }

    /// The instant a [`SystemTime`] stands for (read it from your clock).
    ///
    /// # Errors
    ///
    /// As [`Timestamp::from_unix`].
    pub fn from_system_time(t: SystemTime) -> Result<Self> {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => {
                let secs = i64::try_from(d.as_secs())
                    .map_err(|_| invalid("timestamp outside years 0000 to 9999"))?;
                Self::from_unix(secs, d.subsec_nanos())
            }
            Err(e) => {
                let d = e.duration();
                let secs = i64::try_from(d.as_secs())
                    .map_err(|_| invalid("timestamp outside years 0000 to 9999"))?;
                if d.subsec_nanos() == 0 {
                    Self::from_unix(-secs, 0)
                } else {
                    Self::from_unix(-secs - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn nanos(&self) -> u32 {
        self.nanos
    }

    /// The instant as a [`SystemTime`].
    pub fn to_system_time(&self) -> SystemTime {
        let nanos = Duration::from_nanos(u64::from(self.nanos));
        if self.secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.secs.unsigned_abs()) + nanos
        } else {
            UNIX_EPOCH - Duration::from_secs(self.secs.unsigned_abs()) + nanos
        }
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

impl FromStr for Timestamp {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            invalid(format!(
                "timestamp {s:?} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.fraction]Z)"
            ))
        };
        let b = s.as_bytes();
        let field = |range: std::ops::Range<usize>| b.get(range).and_then(digits);
        let sep = |i: usize, c: u8| b.get(i) == Some(&c);
        if b.len() < 20
            || !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':'))
            || b.last() != Some(&b'Z')
        {
            return Err(bad());
        }
        let (y, mo, d) = (field(0..4), field(5..7), field(8..10));
        let (h, mi, se) = (field(11..13), field(14..16), field(17..19));
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (y, mo, d, h, mi, se)
        else {
            return Err(bad());
        };
        let nanos = match b.get(19..b.len() - 1) {
            Some([]) => 0,
            Some([b'.', frac @ ..]) if (1..=9).contains(&frac.len()) => {
                let n = digits(frac).ok_or_else(bad)?;
                let scale = 10i64.pow(9 - u32::try_from(frac.len()).map_err(|_| bad())?);
                u32::try_from(n * scale).map_err(|_| bad())?
            }
            _ => return Err(bad()),
        };
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || se > 59
        {
            return Err(bad());
        }
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
        Self::from_unix(secs, nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// --- Actor and outcome -------------------------------------------------------

/// Who acted: a kind (`user`, `service`, `system` …) and an identifier,
/// ideally a pseudonym (see [`Pseudonymizer`](crate::Pseudonymizer)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawActor")]
pub struct Actor {
    kind: String,
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActor {
    kind: String,
    id: String,
}

impl TryFrom<RawActor> for Actor {
    type Error = Error;
    fn try_from(raw: RawActor) -> Result<Self> {
        Actor::new(raw.kind, raw.id)
    }
}

impl Actor {
    /// An actor of `kind` with identifier `id`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] if either is empty.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Result<Self> {
        let (kind, id) = (kind.into(), id.into());
        non_empty("actor.kind", &kind)?;
        non_empty("actor.id", &id)?;
        Ok(Self { kind, id })
    }

    /// The kind of actor.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The actor's identifier.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What came of the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The action was authorised and carried out.
    Allowed,
    /// The action was refused (authorisation, policy).
    Denied,
    /// The action was attempted and failed.
    Failed,
}

fn non_empty(what: &str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    Ok(())
}

// --- The record ----------------------------------------------------------------

/// One audit log entry (see the [module documentation](self) for its JSON
/// form). Valid by construction: built by [`AuditRecord::builder`] or parsed
/// by [`AuditRecord::from_json`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRecord")]
pub struct AuditRecord {
    timestamp: Timestamp,
    actor: Actor,
    action: String,
    resource: String,
    outcome: Outcome,
    request_id: String,
    source: String,
    details: Map<String, Value>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "payload_base64"
    )]
    payload: Option<Vec<u8>>,
}

fn payload_base64<S: Serializer>(payload: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match payload {
        Some(bytes) => s.serialize_str(&Base64::encode_string(bytes)),
        None => s.serialize_none(),
    }
}

/// `Some(string)`, refusing `null` (absent is the only way to say none).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    timestamp: Timestamp,
    actor: Actor,
    action: String,
    resource: String,
    outcome: Outcome,
    request_id: String,
    source: String,
    details: Map<String, Value>,
    #[serde(default, deserialize_with = "present")]
    payload: Option<String>,
}

impl TryFrom<RawRecord> for AuditRecord {
    type Error = Error;
    fn try_from(raw: RawRecord) -> Result<Self> {
        let payload = match raw.payload {
            None => None,
            Some(text) => Some(
                Base64::decode_vec(&text)
                    .map_err(|_| invalid("payload is not canonical padded base64"))?,
            ),
        };
        let mut builder = AuditRecord::builder()
            .timestamp(raw.timestamp)
            .actor(raw.actor)
            .action(raw.action)
            .resource(raw.resource)
            .outcome(raw.outcome)
            .request_id(raw.request_id)
            .source(raw.source)
            .details(raw.details);
        if let Some(p) = payload {
            builder = builder.payload(p);
        }
        builder.build()
    }
}

impl AuditRecord {
    /// A builder; every member but `details` (default `{}`) and `payload`
    /// must be set.
    pub fn builder() -> AuditRecordBuilder {
        AuditRecordBuilder::default()
    }

    /// Parses a record from JSON text, strictly: duplicate member names,
    /// unknown or missing members, a bad timestamp, an unknown outcome or an
    /// empty required string are all errors.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] saying what is wrong.
    pub fn from_json(json: &str) -> Result<Self> {
        let value = jcs::parse(json).map_err(|e| invalid(e.to_string()))?;
        serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
    }

    /// Parses a log entry: [`AuditRecord::from_json`], and the bytes must be
    /// exactly the record's canonical form.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] if the bytes are not UTF-8, not a valid
    /// record, or not canonical.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("entry is not UTF-8"))?;
        let record = Self::from_json(text)?;
        if record.canonical_bytes()? != bytes {
            return Err(invalid("entry is not in RFC 8785 canonical form"));
        }
        Ok(record)
    }

    /// The record's RFC 8785 canonical JSON: the bytes the log stores and hashes.
    ///
    /// # Errors
    ///
    /// [`Error::Canonicalization`] if `details` nests deeper than 128 levels.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>> {
        let value = serde_json::to_value(self).map_err(|e| Error::Canonicalization {
            reason: e.to_string(),
        })?;
        jcs::canonicalize(&value)
    }

    /// The record's Merkle leaf hash: `SHA-256(0x00 || canonical bytes)`.
    ///
    /// # Errors
    ///
    /// As [`AuditRecord::canonical_bytes`].
    pub fn leaf_hash(&self) -> Result<Hash> {
        Ok(merkle::leaf_hash(&self.canonical_bytes()?))
    }

    /// When the action happened.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
    /// Who acted.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// What was done.
    pub fn action(&self) -> &str {
        &self.action
    }
    /// What it was done to.
    pub fn resource(&self) -> &str {
        &self.resource
    }
    /// What came of it.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
    /// The request's correlation identifier.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    /// Where the request came from.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Free-form details.
    pub fn details(&self) -> &Map<String, Value> {
        &self.details
    }
    /// The opaque (typically encrypted) payload, if any.
    pub fn payload(&self) -> Option<&[u8]> {
        self.payload.as_deref()
    }
}

/// Builds an [`AuditRecord`], validating it in [`AuditRecordBuilder::build`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct AuditRecordBuilder {
    timestamp: Option<Timestamp>,
    actor: Option<Actor>,
    action: Option<String>,
    resource: Option<String>,
    outcome: Option<Outcome>,
    request_id: Option<String>,
    source: Option<String>,
    details: Map<String, Value>,
    payload: Option<Vec<u8>>,
}

impl AuditRecordBuilder {
    /// Sets `timestamp`.
    pub fn timestamp(mut self, t: Timestamp) -> Self {
        self.timestamp = Some(t);
        self
    }
    /// Sets `actor`.
    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }
    /// Sets `action`.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }
    /// Sets `resource`.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }
    /// Sets `outcome`.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }
    /// Sets `request_id`.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    /// Sets `source`.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }
    /// Sets `details` (default: the empty object).
    pub fn details(mut self, details: Map<String, Value>) -> Self {
        self.details = details;
        self
    }
    /// Adds one member to `details`.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
    /// Sets `payload`: opaque bytes, typically a tresor-envelope ciphertext.
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = Some(payload.into());
        self
    }

    /// The record.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRecord`] if a required member is missing or an empty
    /// string, if `payload` is empty, or if `details` cannot be
    /// canonicalised.
    pub fn build(self) -> Result<AuditRecord> {
        fn required<T>(what: &str, v: Option<T>) -> Result<T> {
            v.ok_or_else(|| invalid(format!("missing {what}")))
        }
        let mut details = Value::Object(self.details);
        jcs::normalize(&mut details);
        let Value::Object(details) = details else {
            return Err(invalid("details must be an object"));
        };
        let record = AuditRecord {
            timestamp: required("timestamp", self.timestamp)?,
            actor: required("actor", self.actor)?,
            action: required("action", self.action)?,
            resource: required("resource", self.resource)?,
            outcome: required("outcome", self.outcome)?,
            request_id: required("request_id", self.request_id)?,
            source: required("source", self.source)?,
            details,
            payload: self.payload,
        };
        non_empty("action", &record.action)?;
        non_empty("resource", &record.resource)?;
        non_empty("request_id", &record.request_id)?;
        non_empty("source", &record.source)?;
        if record.payload.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid("payload must not be empty when present"));
        }
        jcs::canonicalize(&Value::Object(record.details.clone()))
            .map_err(|e| invalid(format!("details: {e}")))?;
        Ok(record)
    }
}
