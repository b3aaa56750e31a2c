//! [`PostgresLogView`]: a read-only `LogStore` over a PostgreSQL log,
//! pinned at the size its head had when it was opened.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use postgres::types::Type;
use tresor_audit::merkle::CompactRange;
use tresor_audit::{Error, Hash, LogStore, Node, Result};

use super::{PostgresLog, db_error, read_head, to_i64};

/// The most entries fetched in one query.
const PAGE_ENTRIES: u64 = 1024;

/// The most entry bytes fetched in one query (at least one entry is).
const PAGE_BYTES: i64 = 8 << 20;

/// The most node hashes kept from single reads (proofs) before the cache
/// is emptied.
const MAX_CACHED_NODES: usize = 1 << 16;

/// A read-only view of a [`PostgresLog`] as committed when it was opened
/// ([`PostgresLog::snapshot`]): a `tresor_audit::LogStore` of exactly
/// [`PostgresLogView::size`] entries, whatever writers append meanwhile
/// (committed rows below a head never change, so the view stays
/// consistent without holding a transaction open).
///
/// Open it with [`AuditLog::open`](tresor_audit::AuditLog::open) for tree
/// heads, proofs and entries, or give it to
/// [`verify_log`](tresor_audit::verify_log). Reads go through a small
/// cache: reading entries in order fetches them, and the nodes they
/// complete, a page (up to 1024 entries or 8 MiB) per query.
///
/// [`LogStore::append`] on a view is refused ([`Error::InvalidAppend`]):
/// its size is pinned, and a writer that appended through it would bypass
/// the head row lock. Append through [`PostgresLog::append_batch`] or a
/// [`PostgresLogWriter`](super::PostgresLogWriter), then take a new
/// snapshot.
pub struct PostgresLogView {
    log: PostgresLog,
    size: u64,
    root: Hash,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for PostgresLogView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLogView")
            .field("log", &self.log)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Entries `first..first + entries.len()` and node hashes read so far.
#[derive(Default)]
struct Cache {
    first: u64,
    entries: Vec<Vec<u8>>,
    nodes: HashMap<(u8, u64), Hash>,
}

impl PostgresLogView {
    /// Reads the head and the nodes of its right edge, checks that they
    /// agree, and pins the view at that size.
    pub(super) fn open(log: PostgresLog) -> Result<Self> {
        let mut conn = log.conn()?;
        let head = read_head(&mut *conn, log.name(), false)?;
        drop(conn);
        let view = Self {
            size: head.size(),
            root: head.root(),
            log,
            cache: Mutex::new(Cache::default()),
        };
        // The right edge from the node table, in one query: what proofs will
        // be computed from must be what the head records.
        let positions: Vec<(u8, u64)> = CompactRange::positions(view.size).collect();
        let ranges: Vec<(u8, u64, u64)> = positions.iter().map(|&(l, i)| (l, i, i)).collect();
        let nodes = view.fetch_nodes(&ranges)?;
        let from_nodes = CompactRange::from_nodes(view.size, |level, index| {
            nodes
                .get(&(level, index))
                .copied()
                .ok_or_else(|| missing_node(level, index))
        })?;
        if from_nodes != head {
            return Err(Error::Corrupt {
                position: format!("head of log {:?}", view.log.name()),
                reason: "the right edge in the head row differs from the stored nodes".into(),
            });
        }
        view.lock().nodes = nodes;
        Ok(view)
    }

    /// The number of entries the view holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree head at [`PostgresLogView::size`], as the head row records
    /// it (checked against the stored nodes when the view was opened).
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The log viewed.
    pub fn log(&self) -> &PostgresLog {
        &self.log
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // The cache holds only copies of committed rows: a panic while it
        // was locked cannot have left it wrong, only incomplete.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches the page of entries starting at `start`, and every node those
    /// entries complete, into the cache.
    fn load_page(&self, start: u64) -> Result<()> {
        let end = start.saturating_add(PAGE_ENTRIES).min(self.size);
        let mut conn = self.log.conn()?;
        let rows = conn
            .query_typed(
                "SELECT idx, bytes FROM (
                    SELECT idx, bytes,
                           sum(octet_length(bytes)) OVER (ORDER BY idx) - octet_length(bytes)
                               AS before
                    FROM tresor_audit_entries
                    WHERE log = $1 AND idx >= $2 AND idx < $3
                 ) AS page
                 WHERE before < $4
                 ORDER BY idx",
                &[
                    (&self.log.name(), Type::TEXT),
                    (&to_i64(start)?, Type::INT8),
                    (&to_i64(end)?, Type::INT8),
                    (&PAGE_BYTES, Type::INT8),
                ],
            )
            .map_err(db_error)?;
        drop(conn);
        let mut entries = Vec::with_capacity(rows.len());
        for (expected, row) in (start..end).zip(&rows) {
            let idx: i64 = row.try_get(0).map_err(db_error)?;
            if u64::try_from(idx).ok() != Some(expected) {
                return Err(missing_entry(expected));
            }
            entries.push(row.try_get::<_, Vec<u8>>(1).map_err(db_error)?);
        }
        if entries.is_empty() {
            return Err(missing_entry(start));
        }
        let got_end = start + entries.len() as u64;
        let ranges = completed_ranges(start, got_end);
        let nodes = self.fetch_nodes(&ranges)?;
        let mut cache = self.lock();
        cache.first = start;
        cache.entries = entries;
        cache.nodes = nodes;
        Ok(())
    }

    /// The node hashes at `(level, from..=to)` for each range given, in one
    /// query; ranges must lie inside the view.
    fn fetch_nodes(&self, ranges: &[(u8, u64, u64)]) -> Result<HashMap<(u8, u64), Hash>> {
        if ranges.is_empty() {
            return Ok(HashMap::new());
        }
        let levels: Vec<i16> = ranges.iter().map(|r| i16::from(r.0)).collect();
        let from = ranges
            .iter()
            .map(|r| to_i64(r.1))
            .collect::<Result<Vec<_>>>()?;
        let to = ranges
            .iter()
            .map(|r| to_i64(r.2))
            .collect::<Result<Vec<_>>>()?;
        let mut conn = self.log.conn()?;
        let rows = conn
            .query_typed(
                "SELECT n.level, n.idx, n.hash
                 FROM unnest($2::smallint[], $3::bigint[], $4::bigint[]) AS r (level, lo, hi)
                 JOIN tresor_audit_nodes AS n
                   ON n.log = $1 AND n.level = r.level AND n.idx BETWEEN r.lo AND r.hi",
                &[
                    (&self.log.name(), Type::TEXT),
                    (&levels, Type::INT2_ARRAY),
                    (&from, Type::INT8_ARRAY),
                    (&to, Type::INT8_ARRAY),
                ],
            )
            .map_err(db_error)?;
        drop(conn);
        let mut nodes = HashMap::with_capacity(rows.len());
        for row in &rows {
            let level: i16 = row.try_get(0).map_err(db_error)?;
            let index: i64 = row.try_get(1).map_err(db_error)?;
            let hash: &[u8] = row.try_get(2).map_err(db_error)?;
            let (Ok(level), Ok(index), Ok(hash)) = (
                u8::try_from(level),
                u64::try_from(index),
                Hash::try_from(hash),
            ) else {
                return Err(Error::Corrupt {
                    position: format!("node {level}/{index}"),
                    reason: "a malformed node row".into(),
                });
            };
            nodes.insert((level, index), hash);
        }
        Ok(nodes)
    }
}

/// The nodes that entries `start..end` complete, as `(level, first index,
/// last index)` per level: at level l, node i ends at leaf (i + 1)·2^l − 1,
/// so i + 1 runs over ⌈(start + 1) / 2^l⌉ ..= ⌊end / 2^l⌋.
fn completed_ranges(start: u64, end: u64) -> Vec<(u8, u64, u64)> {
    (0u8..64)
        .filter_map(|level| {
            let lo = lo_ceil(start.saturating_add(1), level);
            let hi = end >> level;
            (lo <= hi && lo > 0).then(|| (level, lo - 1, hi - 1))
        })
        .collect()
}

/// `⌈n / 2^level⌉`.
fn lo_ceil(n: u64, level: u8) -> u64 {
    (n >> level) + u64::from(n & ((1u64 << level) - 1) != 0)
}

fn missing_entry(index: u64) -> Error {
    Error::Corrupt {
        position: format!("entry {index}"),
        reason: "missing from the database, below the log's committed size".into(),
    }
}

fn missing_node(level: u8, index: u64) -> Error {
    Error::Corrupt {
        position: format!("node {level}/{index}"),
        reason: "missing from the database, below the log's committed size".into(),
    }
}

impl LogStore for PostgresLogView {
    fn len(&self) -> u64 {
        self.size
    }

    /// Every entry of the view is committed.
    fn durable_len(&self) -> u64 {
        self.size
    }

    /// Refused: a view is pinned at its size (see [`PostgresLogView`]).
    fn append(&mut self, _entry: &[u8], _nodes: &[Node]) -> Result<u64> {
        Err(Error::InvalidAppend {
            index: self.size,
            reason: "a PostgresLogView is a read-only snapshot: append through \
                     PostgresLog or PostgresLogWriter"
                .into(),
        })
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>> {
        if index >= self.size {
            return Err(Error::OutOfRange {
                index,
                size: self.size,
            });
        }
        let cached = |cache: &Cache| {
            index
                .checked_sub(cache.first)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| cache.entries.get(i))
                .cloned()
        };
        if let Some(entry) = cached(&self.lock()) {
            return Ok(entry);
        }
        self.load_page(index)?;
        cached(&self.lock()).ok_or_else(|| missing_entry(index))
    }

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        // Node (level, index) is complete in a tree of `size` leaves iff its
        // last leaf, (index + 1)·2^level − 1, is below `size`.
        if level >= 64 || index >= self.size >> level {
            return Err(Error::OutOfRange {
                index,
                size: self.size,
            });
        }
        if let Some(hash) = self.lock().nodes.get(&(level, index)) {
            return Ok(*hash);
        }
        let nodes = self.fetch_nodes(&[(level, index, index)])?;
        let hash = nodes
            .get(&(level, index))
            .copied()
            .ok_or_else(|| missing_node(level, index))?;
        let mut cache = self.lock();
        if cache.nodes.len() >= MAX_CACHED_NODES {
            cache.nodes.clear();
        }
        cache.nodes.insert((level, index), hash);
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tresor_audit::merkle::{self, CompactRange};

    use super::completed_ranges;

    /// The ranges a page fetches are exactly the nodes its entries
    /// complete, as `CompactRange::append` emits them.
    #[test]
    fn a_page_fetches_the_nodes_its_entries_complete() {
        let mut range = CompactRange::new();
        let mut completed = Vec::new();
        for i in 0..300u64 {
            let nodes = range.append(merkle::leaf_hash(&i.to_be_bytes()));
            completed.push(nodes.iter().map(|n| (n.level, n.index)).collect::<Vec<_>>());
        }
        for start in 0..130u64 {
            for end in start + 1..start + 140 {
                let want: BTreeSet<(u8, u64)> = (start..end)
                    .flat_map(|i| completed[usize::try_from(i).unwrap_or(0)].clone())
                    .collect();
                let got: BTreeSet<(u8, u64)> = completed_ranges(start, end)
                    .into_iter()
                    .flat_map(|(level, lo, hi)| (lo..=hi).map(move |i| (level, i)))
                    .collect();
                assert_eq!(got, want, "entries {start}..{end}");
            }
        }
    }
}
