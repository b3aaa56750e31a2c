//! Every tree of up to 64 leaves, against a naive implementation written
//! straight from the recursive definitions of RFC 9162 section 2.1: tree
//! heads, every inclusion proof, every consistency proof, and every single
//! mutation of each proof.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::needless_range_loop
)]

use ring::digest::{SHA256, digest};
use tresor_audit::Hash;
use tresor_audit::merkle;

const MAX: usize = 64;

// --- The naive reference: RFC 9162 section 2.1, transcribed ---------------

fn sha256(parts: &[&[u8]]) -> Hash {
    let all: Vec<u8> = parts.concat();
    digest(&SHA256, &all).as_ref().try_into().unwrap()
}

/// `k`: the largest power of two smaller than `n` (n > 1).
fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf *inputs* (section 2.1.1).
fn mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => sha256(&[]),
        1 => sha256(&[&[0x00], &d[0]]),
        n => {
            let k = k_of(n);
            sha256(&[&[0x01], &mth(&d[..k]), &mth(&d[k..])])
        }
    }
}

/// PATH(m, D[n]) (section 2.1.3.1).
fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (section 2.1.4.1).
fn proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    subproof(m, d, true)
}

fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn data() -> Vec<Vec<u8>> {
    (0..MAX)
        .map(|i| format!("entry {i}").into_bytes())
        .collect()
}

// --- Mutations -------------------------------------------------------------

/// Every single mutation of a proof: one bit flipped at each byte position
/// of each node (bit `byte % 8`), a node inserted at each position, each
/// node removed, each pair of distinct nodes swapped.
fn mutations(p: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for n in 0..p.len() {
        for byte in 0..32 {
            let mut q = p.to_vec();
            q[n][byte] ^= 1 << (byte % 8);
            out.push(q);
        }
    }
    for n in 0..=p.len() {
        let mut q = p.to_vec();
        q.insert(n, [0x5a; 32]);
        out.push(q);
        if let Some(dup) = p.get(n).or(p.last()) {
            let mut q = p.to_vec();
            q.insert(n, *dup);
            out.push(q);
        }
    }
    for n in 0..p.len() {
        let mut q = p.to_vec();
        q.remove(n);
        out.push(q);
        for m in n + 1..p.len() {
            if p[n] != p[m] {
                let mut q = p.to_vec();
                q.swap(n, m);
                out.push(q);
            }
        }
    }
    out
}

/// See `merkle_vectors.rs`: positions whose proofs have the same shape are
/// indistinguishable to a verifier that is given the root; only mutations
/// that change the shape must be rejected.
fn inclusion_shape(m: u64, n: u64) -> Option<Vec<bool>> {
    fn walk(m: u64, n: u64, out: &mut Vec<bool>) {
        if n > 1 {
            let k = 1u64 << (63 - (n - 1).leading_zeros());
            if m < k {
                walk(m, k, out);
                out.push(true);
            } else {
                walk(m - k, n - k, out);
                out.push(false);
            }
        }
    }
    (m < n).then(|| {
        let mut out = Vec::new();
        walk(m, n, &mut out);
        out
    })
}

fn consistency_shape(m: u64, n: u64) -> Option<Vec<u8>> {
    fn sub(m: u64, n: u64, whole: bool, out: &mut Vec<u8>) {
        if m == n {
            if !whole {
                out.push(0);
            }
            return;
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m <= k {
            sub(m, k, whole, out);
            out.push(1);
        } else {
            sub(m - k, n - k, false, out);
            out.push(2);
        }
    }
    (m > 0 && m <= n).then(|| {
        let mut out = Vec::new();
        sub(m, n, true, &mut out);
        out
    })
}

// --- Tests -----------------------------------------------------------------

#[test]
fn roots_of_every_size() {
    let d = data();
    let leaves: Vec<Hash> = d.iter().map(|x| merkle::leaf_hash(x)).collect();
    let mut range = merkle::CompactRange::new();
    for n in 0..=MAX {
        let want = mth(&d[..n]);
        assert_eq!(merkle::root(&leaves[..n]), want, "size {n}");
        assert_eq!(range.root(), want, "compact range at size {n}");
        assert_eq!(range.size(), n as u64);
        if n < MAX {
            range.append(leaves[n]);
        }
    }
}

#[test]
fn every_inclusion_proof() {
    let d = data();
    let leaves: Vec<Hash> = d.iter().map(|x| merkle::leaf_hash(x)).collect();
    let mut checked = 0u64;
    for n in 1..=MAX {
        let root = mth(&d[..n]);
        let sz = n as u64;
        for m in 0..n {
            let idx = m as u64;
            let want = path(m, &d[..n]);
            let got = merkle::inclusion_proof(&leaves[..n], idx).unwrap();
            assert_eq!(got, want, "PATH({m}, D[{n}])");
            merkle::verify_inclusion(&leaves[m], idx, sz, &got, &root).unwrap();

            for q in mutations(&got) {
                assert!(
                    merkle::verify_inclusion(&leaves[m], idx, sz, &q, &root).is_err(),
                    "mutated PATH({m}, D[{n}]) accepted: {q:?}"
                );
                checked += 1;
            }
            let mut bad_root = root;
            bad_root[m % 32] ^= 1;
            assert!(merkle::verify_inclusion(&leaves[m], idx, sz, &got, &bad_root).is_err());
            let mut bad_leaf = leaves[m];
            bad_leaf[n % 32] ^= 0x80;
            assert!(merkle::verify_inclusion(&bad_leaf, idx, sz, &got, &root).is_err());
            // Another leaf's hash at this position.
            if n > 1 {
                let other = leaves[(m + 1) % n];
                assert!(merkle::verify_inclusion(&other, idx, sz, &got, &root).is_err());
            }
            // Wrong positions: every index in small trees, the neighbours in
            // larger ones, in trees of this size, one more or less, twice.
            let shape = inclusion_shape(idx, sz);
            for s in [sz - 1, sz, sz + 1, sz * 2] {
                let indexes: Vec<u64> = if n <= 16 {
                    (0..=s + 1).collect()
                } else {
                    vec![
                        0,
                        idx.wrapping_sub(1),
                        idx + 1,
                        idx ^ 1,
                        idx ^ 2,
                        s - 1,
                        s,
                        u64::MAX,
                    ]
                };
                for i in indexes {
                    if inclusion_shape(i, s) != shape {
                        assert!(
                            merkle::verify_inclusion(&leaves[m], i, s, &got, &root).is_err(),
                            "PATH({m}, D[{n}]) accepted as index {i} size {s}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    eprintln!("inclusion: {checked} mutations rejected");
}

/// Consistency proofs, split in two tests so the harness runs them in parallel.
fn every_consistency_proof(sizes: std::ops::RangeInclusive<usize>) {
    let d = data();
    let leaves: Vec<Hash> = d.iter().map(|x| merkle::leaf_hash(x)).collect();
    let roots: Vec<Hash> = (0..=MAX).map(|n| mth(&d[..n])).collect();
    let mut checked = 0u64;
    for n in sizes {
        let (root2, s2) = (roots[n], n as u64);
        assert!(merkle::consistency_proof(&leaves[..n], 0).is_err());
        for m in 1..=n {
            let (root1, s1) = (roots[m], m as u64);
            let want = proof(m, &d[..n]);
            let got = merkle::consistency_proof(&leaves[..n], s1).unwrap();
            assert_eq!(got, want, "PROOF({m}, D[{n}])");
            merkle::verify_consistency(s1, s2, &got, &root1, &root2).unwrap();

            for q in mutations(&got) {
                assert!(
                    merkle::verify_consistency(s1, s2, &q, &root1, &root2).is_err(),
                    "mutated PROOF({m}, D[{n}]) accepted: {q:?}"
                );
                checked += 1;
            }
            for byte in [0, 13, 31] {
                let mut r = root1;
                r[byte] ^= 1 << (byte % 8);
                assert!(merkle::verify_consistency(s1, s2, &got, &r, &root2).is_err());
                let mut r = root2;
                r[byte] ^= 1 << (byte % 8);
                assert!(merkle::verify_consistency(s1, s2, &got, &root1, &r).is_err());
            }
            if m != n {
                assert!(merkle::verify_consistency(s1, s2, &got, &root2, &root1).is_err());
                assert!(merkle::verify_consistency(s2, s1, &got, &root1, &root2).is_err());
            }
            // Wrong sizes: every old size in small trees, the neighbours in
            // larger ones, against new sizes around this one.
            let shape = consistency_shape(s1, s2);
            for t2 in [s2 - 1, s2, s2 + 1, s2 * 2] {
                let olds: Vec<u64> = if n <= 16 {
                    (0..=t2 + 1).collect()
                } else {
                    vec![
                        0,
                        s1 - 1,
                        s1 + 1,
                        s1 ^ 1,
                        s1 * 2,
                        s1 / 2,
                        t2,
                        t2 + 1,
                        u64::MAX,
                    ]
                };
                for t1 in olds {
                    if consistency_shape(t1, t2) != shape {
                        assert!(
                            merkle::verify_consistency(t1, t2, &got, &root1, &root2).is_err(),
                            "PROOF({m}, D[{n}]) accepted as sizes {t1}, {t2}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    eprintln!("consistency: {checked} mutations rejected");
}

#[test]
fn every_consistency_proof_small_trees() {
    every_consistency_proof(1..=45);
}

#[test]
fn every_consistency_proof_large_trees() {
    every_consistency_proof(46..=MAX);
}
