//! RFC 9162 Merkle tree vectors (`tests/vectors/rfc9162/`, see its README):
//! the reference tree heads, and the `transparency-dev/merkle` inclusion and
//! consistency proof cases. Every case must give its expected verdict, and
//! every mutation of an accepted case must be rejected.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::fs;
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use serde_json::Value;
use tresor_audit::Hash;
use tresor_audit::merkle;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc9162")
}

fn json_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn b64(v: &Value) -> Vec<u8> {
    Base64::decode_vec(v.as_str().unwrap()).unwrap()
}

/// A hash as our typed API takes it. `None` when the bytes are not 32 long:
/// not a SHA-256 hash, unrepresentable, so the case is rejected by type.
fn hash(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

fn proof(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().map(b64).collect(),
        other => panic!("bad proof {other}"),
    }
}

fn reference_leaves() -> Vec<Hash> {
    let v: Value =
        serde_json::from_str(&fs::read_to_string(dir().join("reference-tree.json")).unwrap())
            .unwrap();
    v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| merkle::leaf_hash(&hex::decode(h.as_str().unwrap()).unwrap()))
        .collect()
}

#[test]
fn reference_tree_heads() {
    let v: Value =
        serde_json::from_str(&fs::read_to_string(dir().join("reference-tree.json")).unwrap())
            .unwrap();
    let leaves = reference_leaves();
    let roots = v["roots_hex"].as_object().unwrap();
    assert_eq!(roots.len(), 9);
    for (size, want) in roots {
        let size: usize = size.parse().unwrap();
        let got = merkle::root(&leaves[..size]);
        assert_eq!(hex::encode(got), want.as_str().unwrap(), "size {size}");
    }
    assert_eq!(merkle::root(&[]), merkle::empty_root());
}

/// The shape of `PATH(m, D[n])` from the RFC's recursion: for each proof
/// node from the bottom, whether it is a right (`true`) or left sibling.
/// Two positions with the same shape take the same proof to the same root
/// (the verifier cannot tell them apart: a checkpoint binds the size to the
/// root), so a size or index mutation is only required to be rejected when
/// the shape changes. `None` when there is no such proof.
fn inclusion_shape(m: u64, n: u64) -> Option<Vec<bool>> {
    if m >= n {
        return None;
    }
    fn path(m: u64, n: u64, out: &mut Vec<bool>) {
        if n <= 1 {
            return;
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m < k {
            path(m, k, out);
            out.push(true);
        } else {
            path(m - k, n - k, out);
            out.push(false);
        }
    }
    let mut out = Vec::new();
    path(m, n, &mut out);
    Some(out)
}

/// The shape of `PROOF(m, D[n])` (as [`inclusion_shape`]): 0 for the old
/// subtree's own hash, 1 a right sibling, 2 a left sibling.
fn consistency_shape(m: u64, n: u64) -> Option<Vec<u8>> {
    if m == 0 || m > n {
        return None;
    }
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
    let mut out = Vec::new();
    sub(m, n, true, &mut out);
    Some(out)
}

/// Every single mutation of an inclusion proof that a verifier must reject.
fn inclusion_mutations(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Vec<(String, Hash, u64, u64, Vec<Hash>, Hash)> {
    let mut out = Vec::new();
    let case = |what: String, l: Hash, i: u64, s: u64, p: Vec<Hash>, r: Hash| (what, l, i, s, p, r);
    for byte in 0..32 {
        for bit in 0..8 {
            for n in 0..proof.len() {
                let mut p = proof.to_vec();
                p[n][byte] ^= 1 << bit;
                out.push(case(
                    format!("proof[{n}] bit {byte}.{bit}"),
                    *leaf,
                    index,
                    size,
                    p,
                    *root,
                ));
            }
            let mut r = *root;
            r[byte] ^= 1 << bit;
            out.push(case(
                format!("root bit {byte}.{bit}"),
                *leaf,
                index,
                size,
                proof.to_vec(),
                r,
            ));
            let mut l = *leaf;
            l[byte] ^= 1 << bit;
            out.push(case(
                format!("leaf bit {byte}.{bit}"),
                l,
                index,
                size,
                proof.to_vec(),
                *root,
            ));
        }
    }
    for n in 0..=proof.len() {
        for extra in [[0u8; 32], *leaf, *root] {
            let mut p = proof.to_vec();
            p.insert(n, extra);
            out.push(case(
                format!("node added at {n}"),
                *leaf,
                index,
                size,
                p,
                *root,
            ));
        }
    }
    for n in 0..proof.len() {
        let mut p = proof.to_vec();
        p.remove(n);
        out.push(case(
            format!("node {n} dropped"),
            *leaf,
            index,
            size,
            p,
            *root,
        ));
        for m in n + 1..proof.len() {
            if proof[n] != proof[m] {
                let mut p = proof.to_vec();
                p.swap(n, m);
                out.push(case(
                    format!("nodes {n},{m} swapped"),
                    *leaf,
                    index,
                    size,
                    p,
                    *root,
                ));
            }
        }
    }
    let p = proof.to_vec();
    for (i, s) in [
        (index.wrapping_add(1), size),
        (index.wrapping_sub(1), size),
        (index, size.wrapping_add(1)),
        (index, size.wrapping_sub(1)),
        (index, size.wrapping_mul(2)),
        (index, size / 2),
        (size, size),
        (index ^ 2, size),
        (u64::MAX, size),
        (index, u64::MAX),
    ] {
        if inclusion_shape(i, s) != inclusion_shape(index, size) {
            out.push(case(
                format!("index {i} size {s}"),
                *leaf,
                i,
                s,
                p.clone(),
                *root,
            ));
        }
    }
    if proof.is_empty() {
        out.push(case(
            "leaf as root swapped".into(),
            *root,
            index,
            size,
            p,
            *leaf,
        ));
    }
    out.retain(|(_, l, i, s, p, r)| {
        !(l == leaf && *i == index && *s == size && p == proof && r == root)
    });
    out
}

/// Every single mutation of a consistency proof that a verifier must reject.
#[allow(clippy::type_complexity)]
fn consistency_mutations(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Vec<(String, u64, u64, Vec<Hash>, Hash, Hash)> {
    let mut out = Vec::new();
    for byte in 0..32 {
        for bit in 0..8 {
            for n in 0..proof.len() {
                let mut p = proof.to_vec();
                p[n][byte] ^= 1 << bit;
                out.push((
                    format!("proof[{n}] bit {byte}.{bit}"),
                    size1,
                    size2,
                    p,
                    *root1,
                    *root2,
                ));
            }
            let mut r = *root1;
            r[byte] ^= 1 << bit;
            out.push((
                format!("root1 bit {byte}.{bit}"),
                size1,
                size2,
                proof.to_vec(),
                r,
                *root2,
            ));
            let mut r = *root2;
            r[byte] ^= 1 << bit;
            out.push((
                format!("root2 bit {byte}.{bit}"),
                size1,
                size2,
                proof.to_vec(),
                *root1,
                r,
            ));
        }
    }
    for n in 0..=proof.len() {
        for extra in [[0u8; 32], *root1, *root2] {
            let mut p = proof.to_vec();
            p.insert(n, extra);
            out.push((
                format!("node added at {n}"),
                size1,
                size2,
                p,
                *root1,
                *root2,
            ));
        }
    }
    for n in 0..proof.len() {
        let mut p = proof.to_vec();
        p.remove(n);
        out.push((format!("node {n} dropped"), size1, size2, p, *root1, *root2));
        for m in n + 1..proof.len() {
            if proof[n] != proof[m] {
                let mut p = proof.to_vec();
                p.swap(n, m);
                out.push((
                    format!("nodes {n},{m} swapped"),
                    size1,
                    size2,
                    p,
                    *root1,
                    *root2,
                ));
            }
        }
    }
    let p = proof.to_vec();
    for (s1, s2) in [
        (size1.wrapping_add(1), size2),
        (size1.wrapping_sub(1), size2),
        (size1, size2.wrapping_add(1)),
        (size1, size2.wrapping_sub(1)),
        (size2, size1),
        (size1 ^ 2, size2),
        (size1, size2.wrapping_mul(2)),
        (size1, size2 / 2),
        (0, size2),
        (size1, u64::MAX),
    ] {
        if consistency_shape(s1, s2) != consistency_shape(size1, size2) {
            out.push((
                format!("sizes {s1},{s2}"),
                s1,
                s2,
                p.clone(),
                *root1,
                *root2,
            ));
        }
    }
    if root1 != root2 {
        out.push(("roots swapped".into(), size1, size2, p, *root2, *root1));
    }
    out.retain(|(_, s1, s2, p, r1, r2)| {
        !(*s1 == size1 && *s2 == size2 && p == proof && r1 == root1 && r2 == root2)
    });
    out
}

#[test]
fn inclusion_vectors() {
    let reference = reference_leaves();
    let ref_root = merkle::root(&reference);
    let files = json_files(&dir().join("inclusion"));
    let (mut accepted, mut rejected, mut by_type, mut mutations) = (0, 0, 0, 0);
    for file in &files {
        let v: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let index = v["leafIdx"].as_u64().unwrap();
        let size = v["treeSize"].as_u64().unwrap();
        let raw_proof = proof(&v["proof"]);
        let (leaf, root) = (hash(&b64(&v["leafHash"])), hash(&b64(&v["root"])));
        let proof: Option<Vec<Hash>> = raw_proof.iter().map(|p| hash(p)).collect();
        let (Some(leaf), Some(root), Some(proof)) = (leaf, root, proof) else {
            assert!(
                want_err,
                "{}: an accepted case with a non-32-byte hash",
                file.display()
            );
            by_type += 1;
            continue;
        };
        let got = merkle::verify_inclusion(&leaf, index, size, &proof, &root);
        if want_err {
            assert!(got.is_err(), "{}: accepted, want rejected", file.display());
            rejected += 1;
            continue;
        }
        got.unwrap_or_else(|e| panic!("{}: rejected ({e}), want accepted", file.display()));
        accepted += 1;
        // Our proof generation gives the same proof over the reference tree.
        if size == 8 && root == ref_root {
            assert_eq!(reference[index as usize], leaf);
            assert_eq!(merkle::inclusion_proof(&reference, index).unwrap(), proof);
        }
        for (what, l, i, s, p, r) in inclusion_mutations(&leaf, index, size, &proof, &root) {
            assert!(
                merkle::verify_inclusion(&l, i, s, &p, &r).is_err(),
                "{}: mutation {what} accepted",
                file.display()
            );
            mutations += 1;
        }
    }
    eprintln!(
        "inclusion: {} files, {accepted} accepted, {rejected} rejected by the verifier, \
         {by_type} not 32-byte hashes, {mutations} mutations rejected",
        files.len()
    );
    assert_eq!(accepted + rejected + by_type, files.len());
    assert!(accepted >= 5 && mutations > 1000);
}

#[test]
fn consistency_vectors() {
    let reference = reference_leaves();
    let files = json_files(&dir().join("consistency"));
    let (mut accepted, mut rejected, mut by_type, mut mutations) = (0, 0, 0, 0);
    for file in &files {
        let v: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let size1 = v["size1"].as_u64().unwrap();
        let size2 = v["size2"].as_u64().unwrap();
        let raw_proof = proof(&v["proof"]);
        let (raw1, raw2) = (b64(&v["root1"]), b64(&v["root2"]));
        // The "additional" cases use placeholder roots ("don't care 1") that
        // are only compared with each other: lift them to 32 bytes, which
        // keeps equality and inequality.
        let lift = |raw: &[u8]| hash(raw).unwrap_or_else(|| merkle::leaf_hash(raw));
        let (root1, root2) = (lift(&raw1), lift(&raw2));
        let Some(proof) = raw_proof
            .iter()
            .map(|p| hash(p))
            .collect::<Option<Vec<Hash>>>()
        else {
            assert!(
                want_err,
                "{}: an accepted case with a non-32-byte hash",
                file.display()
            );
            by_type += 1;
            continue;
        };
        let got = merkle::verify_consistency(size1, size2, &proof, &root1, &root2);
        if want_err {
            assert!(got.is_err(), "{}: accepted, want rejected", file.display());
            rejected += 1;
            continue;
        }
        got.unwrap_or_else(|e| panic!("{}: rejected ({e}), want accepted", file.display()));
        accepted += 1;
        if size2 <= 8 && root2 == merkle::root(&reference[..size2 as usize]) {
            assert_eq!(
                merkle::consistency_proof(&reference[..size2 as usize], size1).unwrap(),
                proof
            );
        }
        for (what, s1, s2, p, r1, r2) in consistency_mutations(size1, size2, &proof, &root1, &root2)
        {
            assert!(
                merkle::verify_consistency(s1, s2, &p, &r1, &r2).is_err(),
                "{}: mutation {what} accepted",
                file.display()
            );
            mutations += 1;
        }
    }
    eprintln!(
        "consistency: {} files, {accepted} accepted, {rejected} rejected by the verifier, \
         {by_type} not 32-byte hashes, {mutations} mutations rejected",
        files.len()
    );
    assert_eq!(accepted + rejected + by_type, files.len());
    assert!(accepted >= 5 && mutations > 1000);
}

#[test]
fn edge_cases() {
    let e = merkle::empty_root();
    let l = merkle::leaf_hash(b"");
    // Empty tree: nothing is included, nothing to prove consistency from.
    assert!(merkle::verify_inclusion(&l, 0, 0, &[], &e).is_err());
    assert!(merkle::verify_consistency(0, 0, &[], &e, &e).is_err());
    assert!(merkle::verify_consistency(0, 1, &[], &e, &l).is_err());
    // One leaf: the leaf hash is the root.
    merkle::verify_inclusion(&l, 0, 1, &[], &l).unwrap();
    merkle::verify_consistency(1, 1, &[], &l, &l).unwrap();
    assert!(merkle::verify_consistency(1, 1, &[l], &l, &l).is_err());
    // Extreme sizes never panic.
    for (i, s) in [
        (u64::MAX - 1, u64::MAX),
        (0, u64::MAX),
        (u64::MAX, u64::MAX),
    ] {
        let proof = vec![l; 70];
        for n in 0..70 {
            assert!(merkle::verify_inclusion(&l, i, s, &proof[..n], &e).is_err());
            assert!(merkle::verify_consistency(i, s, &proof[..n], &e, &l).is_err());
            assert!(merkle::verify_consistency(1, s, &proof[..n], &e, &l).is_err());
        }
    }
    // Generation refuses what verification would reject.
    let leaves = [l, l, l];
    assert!(merkle::inclusion_proof(&leaves, 3).is_err());
    assert!(merkle::inclusion_proof(&[], 0).is_err());
    assert!(merkle::consistency_proof(&leaves, 0).is_err());
    assert!(merkle::consistency_proof(&leaves, 4).is_err());
    assert_eq!(
        merkle::consistency_proof(&leaves, 3).unwrap(),
        Vec::<Hash>::new()
    );
}
