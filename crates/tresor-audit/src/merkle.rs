//! The RFC 9162 (Certificate Transparency 2.0) Merkle tree: hashes, tree
//! heads, inclusion and consistency proofs, and their verification.
//!
//! Everything here is a pure function of its arguments and follows RFC 9162
//! section 2.1 to the letter, so that roots and proofs interoperate with
//! Certificate Transparency and `transparency-dev` tooling:
//!
//! - leaf hash `SHA-256(0x00 || data)`, interior node `SHA-256(0x01 || left || right)`;
//! - the tree head of `n > 1` leaves splits at `k`, the largest power of two
//!   smaller than `n` (section 2.1.1); the empty tree's head is `SHA-256("")`;
//! - proofs are `PATH` (section 2.1.3.1) and `PROOF`/`SUBPROOF` (2.1.4.1),
//!   listed from the leaves upwards;
//! - [`verify_inclusion`] and [`verify_consistency`] are the algorithms of
//!   sections 2.1.3.2 and 2.1.4.2, step by step.
//!
//! Verification never panics, whatever its inputs (sizes near `u64::MAX`,
//! proofs of any length): a bad proof is an [`Error::InvalidProof`]. Roots
//! are compared in constant time.
//!
//! [`CompactRange`] keeps the right edge of a growing tree (at most 64
//! hashes): it yields the tree head after each append and the perfect-subtree
//! nodes a [`LogStore`](crate::LogStore) keeps.
//!
//! ```
//! use tresor_audit::merkle;
//!
//! let leaves: Vec<_> = (0u8..5).map(|i| merkle::leaf_hash(&[i])).collect();
//! let root = merkle::root(&leaves);
//!
//! let proof = merkle::inclusion_proof(&leaves, 3)?;
//! merkle::verify_inclusion(&leaves[3], 3, 5, &proof, &root)?;
//!
//! let old_root = merkle::root(&leaves[..2]);
//! let proof = merkle::consistency_proof(&leaves, 2)?;
//! merkle::verify_consistency(2, 5, &proof, &old_root, &root)?;
//! # Ok::<(), tresor_audit::Error>(())
//! ```

use ring::digest::{Context, SHA256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::store::{Hash, Node};

/// Domain separation prefix of a leaf hash (RFC 9162 section 2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation prefix of an interior node hash.
const NODE_PREFIX: u8 = 0x01;

fn finish(ctx: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The hash of a leaf holding `data`: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[LEAF_PREFIX]);
    ctx.update(data);
    finish(ctx)
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[NODE_PREFIX]);
    ctx.update(left);
    ctx.update(right);
    finish(ctx)
}

/// The tree head of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    finish(Context::new(&SHA256))
}

/// `k`, the largest power of two strictly smaller than `n`, for `n >= 2`
/// (for smaller `n`, 1, which callers never use).
fn split_point(n: u64) -> u64 {
    let bits = 63u32.saturating_sub(n.saturating_sub(1).leading_zeros());
    1u64 << bits
}

/// The Merkle tree hash `MTH(D[n])` of a list of leaf hashes (RFC 9162
/// section 2.1.1). `root(&[])` is [`empty_root`].
pub fn root(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.push(*leaf);
    }
    range.root()
}

/// `MTH` of `leaves[start..end]`, or an error if the range is not inside.
fn slice_root(leaves: &[Hash], start: u64, end: u64) -> Result<Hash> {
    let range = usize::try_from(start)
        .ok()
        .zip(usize::try_from(end).ok())
        .and_then(|(s, e)| leaves.get(s..e))
        .ok_or(Error::OutOfRange {
            index: end,
            size: leaves.len() as u64,
        })?;
    Ok(root(range))
}

/// The audit path `PATH(index, D[n])` (RFC 9162 section 2.1.3.1) of leaf
/// `index` in the tree over all of `leaves`, from the leaf's sibling up.
///
/// # Errors
///
/// [`Error::OutOfRange`] if `index` is not below `leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>> {
    inclusion_path(index, leaves.len() as u64, |s, e| slice_root(leaves, s, e))
}

/// The consistency proof `PROOF(old_size, D[n])` (RFC 9162 section 2.1.4.1)
/// between the tree over the first `old_size` leaves and the tree over all
/// of `leaves`. Empty when `old_size` equals the number of leaves.
///
/// # Errors
///
/// [`Error::OutOfRange`] if `old_size` exceeds `leaves.len()`;
/// [`Error::InvalidProof`] if `old_size` is 0 (every tree extends the empty
/// tree: there is nothing to prove, and verifiers reject such a proof).
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>> {
    consistency_path(old_size, leaves.len() as u64, |s, e| {
        slice_root(leaves, s, e)
    })
}

/// `PATH(index, D[size])`, with `subtree(start, end)` giving `MTH(D[start:end])`.
///
/// `subtree` is only asked for ranges of the RFC's recursion: `start` is a
/// multiple of a power of two at least `end - start`, and at most one range
/// is not a perfect subtree.
pub(crate) fn inclusion_path(
    index: u64,
    size: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<Hash>,
) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::OutOfRange { index, size });
    }
    // Walk down from the root, collecting the sibling of each subtree that
    // holds the leaf; the RFC lists them from the bottom up.
    let mut path = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            path.push(subtree(lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(subtree(lo, lo + k)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// `PROOF(old_size, D[size])`, with `subtree` as for [`inclusion_path`].
pub(crate) fn consistency_path(
    old_size: u64,
    size: u64,
    mut subtree: impl FnMut(u64, u64) -> Result<Hash>,
) -> Result<Vec<Hash>> {
    if old_size > size {
        return Err(Error::OutOfRange {
            index: old_size,
            size,
        });
    }
    if old_size == 0 {
        return Err(invalid("no consistency proof exists from the empty tree"));
    }
    let mut proof = Vec::new();
    // SUBPROOF(m, D[lo:hi], whole), walked from the top.
    let (mut lo, mut hi) = (0u64, size);
    let mut whole = true;
    loop {
        let m = old_size - lo;
        let n = hi - lo;
        if m == n {
            if !whole {
                proof.push(subtree(lo, hi)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(subtree(lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(subtree(lo, lo + k)?);
            lo += k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidProof {
        reason: reason.into(),
    }
}

fn hashes_equal(a: &Hash, b: &Hash) -> bool {
    a.ct_eq(b).into()
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `tree_size`
/// leaves whose head is `root`, following RFC 9162 section 2.1.3.2.
///
/// # Errors
///
/// [`Error::InvalidProof`] if `index` is not below `tree_size`, if the proof
/// has the wrong length for that position, or if it leads to another root.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    // Step 1.
    if index >= tree_size {
        return Err(invalid(format!(
            "leaf index {index} is not below tree size {tree_size}"
        )));
    }
    // Steps 2 and 3.
    let mut fnode = index;
    let mut snode = tree_size - 1;
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if snode == 0 {
            return Err(invalid("inclusion proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    if snode != 0 {
        return Err(invalid("inclusion proof is too short"));
    }
    if !hashes_equal(&r, root) {
        return Err(invalid("inclusion proof leads to a different root"));
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with head `root2` extends the
/// tree of `size1` leaves with head `root1`, following RFC 9162 section
/// 2.1.4.2.
///
/// Section 2.1.4.2 covers `0 < size1 < size2`. At its edges, as the
/// `transparency-dev` test vectors expect: `size1 == size2` (non-zero) needs
/// an empty proof and equal roots; `size1 == 0` is always rejected (a proof
/// from the empty tree proves nothing, so a caller asking for one has a
/// bug); `size1 > size2` is rejected.
///
/// # Errors
///
/// [`Error::InvalidProof`] if the sizes are out of order or zero, if the
/// proof has the wrong length, or if it does not lead to both roots.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<()> {
    if size1 > size2 {
        return Err(invalid(format!(
            "old tree size {size1} exceeds new tree size {size2}"
        )));
    }
    if size1 == 0 {
        return Err(invalid("no consistency proof exists from the empty tree"));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(invalid(
                "consistency proof between equal sizes must be empty",
            ));
        }
        if !hashes_equal(root1, root2) {
            return Err(invalid("roots of equal tree sizes differ"));
        }
        return Ok(());
    }
    // Step 1.
    if proof.is_empty() {
        return Err(invalid("consistency proof is empty"));
    }
    // Step 2: if size1 is a power of two, the path starts with root1.
    let mut path = proof.iter();
    let first = if size1.is_power_of_two() {
        root1
    } else {
        match path.next() {
            Some(h) => h,
            None => return Err(invalid("consistency proof is empty")),
        }
    };
    // Step 3.
    let mut fnode = size1 - 1;
    let mut snode = size2 - 1;
    // Step 4.
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let mut fr = *first;
    let mut sr = *first;
    // Step 6.
    for c in path {
        if snode == 0 {
            return Err(invalid("consistency proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(invalid("consistency proof is too short"));
    }
    let ok1 = hashes_equal(&fr, root1);
    let ok2 = hashes_equal(&sr, root2);
    if !ok1 {
        return Err(invalid("consistency proof does not lead to the old root"));
    }
    if !ok2 {
        return Err(invalid("consistency proof does not lead to the new root"));
    }
    Ok(())
}

/// The right edge of a Merkle tree: the hashes of the perfect subtrees that
/// cover leaves `[0, size)`, one per set bit of `size`, largest (leftmost)
/// first. At most 64 hashes, whatever the size.
///
/// Enough to append leaves and compute the tree head, not to prove anything:
/// proofs need the stored subtrees (see [`LogStore`](crate::LogStore)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty range (a tree of no leaves).
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the range of a tree of `size` leaves from its stored
    /// perfect subtrees: `node(level, index)` is called once per set bit of
    /// `size`, from the highest, for the subtree covering leaves
    /// `[index << level, (index + 1) << level)`.
    ///
    /// # Errors
    ///
    /// Whatever `node` returns.
    pub fn from_nodes(size: u64, mut node: impl FnMut(u8, u64) -> Result<Hash>) -> Result<Self> {
        let mut hashes = Vec::with_capacity(size.count_ones() as usize);
        for (level, index) in Self::positions(size) {
            hashes.push(node(level, index)?);
        }
        Ok(Self { size, hashes })
    }

    /// The `(level, index)` of the perfect subtrees on the right edge of a
    /// tree of `size` leaves, largest first: the nodes
    /// [`CompactRange::from_nodes`] reads.
    pub fn positions(size: u64) -> impl Iterator<Item = (u8, u64)> {
        (0u8..64)
            .rev()
            .filter(move |level| size >> level & 1 == 1)
            .map(move |level| (level, (size >> level) - 1))
    }

    /// The number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree hashes, largest (leftmost) first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The tree head `MTH` of the leaves covered.
    pub fn root(&self) -> Hash {
        let mut iter = self.hashes.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// Appends a leaf hash. Returns the nodes to store with it: the leaf
    /// itself (level 0, index = the old size) then every perfect subtree it
    /// completes, by increasing level.
    ///
    /// A range already holding `u64::MAX` leaves is left unchanged and an
    /// empty list is returned (unreachable in practice).
    pub fn append(&mut self, leaf: Hash) -> Vec<Node> {
        let mut nodes = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.push_with(leaf, |node| nodes.push(node));
        nodes
    }

    /// [`CompactRange::append`] without collecting the nodes.
    fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_| {});
    }

    fn push_with(&mut self, leaf: Hash, mut emit: impl FnMut(Node)) {
        let Some(new_size) = self.size.checked_add(1) else {
            return;
        };
        let mut level = 0u8;
        let mut index = self.size;
        let mut hash = leaf;
        emit(Node { level, index, hash });
        // Each trailing one bit of the old size is a perfect subtree of the
        // same height as `hash`, just to its left: merge them.
        while index & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            emit(Node { level, index, hash });
        }
        self.hashes.push(hash);
        self.size = new_size;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn compact_range_positions() {
        let p: Vec<_> = CompactRange::positions(13).collect();
        assert_eq!(p, vec![(3, 0), (2, 2), (0, 12)]);
        assert_eq!(CompactRange::positions(0).count(), 0);
        assert_eq!(CompactRange::positions(u64::MAX).count(), 64);
    }

    #[test]
    fn append_emits_completed_subtrees() {
        let mut range = CompactRange::new();
        for i in 0..7u8 {
            range.append(leaf_hash(&[i]));
        }
        let nodes = range.append(leaf_hash(&[7]));
        let levels: Vec<_> = nodes.iter().map(|n| (n.level, n.index)).collect();
        assert_eq!(levels, vec![(0, 7), (1, 3), (2, 1), (3, 0)]);
        assert_eq!(nodes[3].hash, range.root());
    }
}
