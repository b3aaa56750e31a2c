//! The key layout, and the one script both replay stores run.

use ring::digest;

/// Checks a key prefix: non-empty, ASCII letters, digits and `:_-.`.
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b))
}

fn sha256_hex(value: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, value.as_bytes()))
}

/// The key of `value` alone under `prefix`: `PREFIX` and `H(value)`, the
/// lower-case hex SHA-256 of its UTF-8 bytes (a fixed length, whatever
/// the value).
#[cfg(feature = "credentials")]
pub(crate) fn hashed_key(prefix: &str, value: &str) -> String {
    format!("{prefix}{}", sha256_hex(value))
}

/// The two keys of `(owner, value)` under `prefix`:
///
/// - the entry `PREFIX{H(owner)}:H(value)`, a string `1` that expires when
///   the entry may be forgotten;
/// - the owner's index `PREFIX{H(owner)}:index`, a sorted set of
///   `H(value)` scored by the same expiry, which bounds the owner's share.
///
/// `H` is SHA-256 in lower-case hex: hostile key ids, nonces and `jti`s
/// make keys of a fixed length and cannot reach outside the prefix. The
/// braces are a Redis Cluster hash tag, so both keys are in one slot.
/// Returns `(entry, index, H(value))`.
pub(crate) fn keys(prefix: &str, owner: &str, value: &str) -> (String, String, String) {
    let owner = sha256_hex(owner);
    let value = sha256_hex(value);
    (
        format!("{prefix}{{{owner}}}:{value}"),
        format!("{prefix}{{{owner}}}:index"),
        value,
    )
}

/// `KEYS[1]` the entry, `KEYS[2]` the owner's index; `ARGV[1]` the UNIX
/// second at which the entry may be forgotten (exclusive: Redis deletes a
/// key at its `EXAT` second), `ARGV[2]` the owner's share, `ARGV[3]` the
/// index member. Answers 0 (seen and live: a replay), 1 (recorded, or
/// already expired so nothing to record) or 2 (the owner holds its share).
/// The server's clock decides what expired, so all API servers agree.
pub(crate) const CHECK_AND_RECORD: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local now = tonumber(redis.call('TIME')[1])
local forget_at = tonumber(ARGV[1])
if forget_at <= now then
  return 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  return 2
end
redis.call('SET', KEYS[1], '1', 'EXAT', forget_at)
redis.call('ZADD', KEYS[2], forget_at, ARGV[3])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('EXPIREAT', KEYS[2], tonumber(last[2]))
return 1
";

/// The latest `forget_at` passed to the script: `2^53 - 1`, the largest
/// integer a Lua number (a double) holds exactly, and below the largest
/// `EXAT` Redis takes (`i64::MAX / 1000`). Later expiries (up to
/// `i64::MAX`, which the HTTP-signature verifier passes for a signature
/// that nothing bounds in time) are remembered until then: some 285
/// million years, forever in practice. Passed as they are, Lua would
/// round them to a float that `SET ... EXAT` refuses, and the store would
/// fail every such call as unavailable.
pub(crate) const MAX_FORGET_AT: i64 = (1 << 53) - 1;

/// What the script answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Replayed,
    Recorded,
    ShareUsed,
}

/// Runs [`CHECK_AND_RECORD`] for `(owner, value)` on `connection`, with
/// `forget_at` at most [`MAX_FORGET_AT`].
pub(crate) fn check_and_record(
    connection: &crate::RedisConnection,
    script: &redis::Script,
    prefix: &str,
    (owner, value): (&str, &str),
    forget_at: i64,
    share: usize,
) -> Result<Verdict, crate::connection::CallError> {
    let (entry, index, member) = keys(prefix, owner, value);
    let forget_at = forget_at.min(MAX_FORGET_AT);
    let answer: i64 = connection.run(|mut manager| async move {
        let answer: i64 = script
            .key(entry)
            .key(index)
            .arg(forget_at)
            .arg(share)
            .arg(member)
            .invoke_async(&mut manager)
            .await?;
        Ok(answer)
    })?;
    match answer {
        0 => Ok(Verdict::Replayed),
        1 => Ok(Verdict::Recorded),
        2 => Ok(Verdict::ShareUsed),
        other => Err(crate::connection::CallError::Unexpected(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout() {
        // SHA-256("abc") and SHA-256("") (FIPS 180-2 and its empty input).
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let (entry, index, member) = keys("tresor:nonce:", "abc", "");
        assert_eq!(entry, format!("tresor:nonce:{{{abc}}}:{empty}"));
        assert_eq!(index, format!("tresor:nonce:{{{abc}}}:index"));
        assert_eq!(member, empty);
    }

    #[cfg(feature = "credentials")]
    #[test]
    fn hashed_key_layout() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            hashed_key("tresor:rate:", "abc"),
            format!("tresor:rate:{abc}")
        );
    }

    #[test]
    fn prefixes() {
        for good in ["tresor:nonce:", "a", "app-1.jti_x:"] {
            assert!(valid_prefix(good), "{good}");
        }
        for bad in ["", "a b", "{tag}", "x\n", "é"] {
            assert!(!valid_prefix(bad), "{bad:?}");
        }
    }
}
