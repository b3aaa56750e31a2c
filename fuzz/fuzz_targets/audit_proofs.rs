//! `merkle::verify_inclusion` and `merkle::verify_consistency` of arbitrary
//! claims: leaf hashes, indexes, sizes (up to `u64::MAX`), proofs of any
//! length and roots. See `tresor_fuzz::audit::ProofInput` for the layout
//! (*direct* claims, and *relative* ones built by editing a real proof).
//!
//! Properties: verification never panics and gives the same answer twice;
//! for the input's fixed tree (`tree(salt)`, 1 to 64 leaves) the real proof
//! of the claimed position verifies; and it is the only thing that does: a
//! claim that verifies against the real root of the fixed tree of its size
//! names the real leaf at its index (the real old root at its old size) and
//! carries exactly the real proof. Anything else would be a SHA-256
//! collision, or a verifier bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_audit::{Hash, merkle};
use tresor_fuzz::audit::{LengthEdit, MAX_TREE, ProofInput, tree, xor};

/// The claim handed to the verifier.
struct Claim {
    a: u64,
    b: u64,
    h1: Hash,
    h2: Hash,
    proof: Vec<Hash>,
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = ProofInput::parse(data) else {
        return;
    };
    let leaves = tree(input.salt);
    let claim = if input.relative {
        relative_claim(&input, &leaves)
    } else {
        Claim {
            a: input.a,
            b: input.b,
            h1: input.h1,
            h2: input.h2,
            proof: input.nodes.clone(),
        }
    };
    let verify = |c: &Claim| {
        if input.consistency {
            merkle::verify_consistency(c.a, c.b, &c.proof, &c.h1, &c.h2)
        } else {
            merkle::verify_inclusion(&c.h1, c.a, c.b, &c.proof, &c.h2)
        }
    };
    let verdict = verify(&claim);
    assert_eq!(
        verdict.is_ok(),
        verify(&claim).is_ok(),
        "verification is not repeatable"
    );
    if verdict.is_ok() {
        check_sound(input.consistency, &claim, &leaves);
    }
});

/// A claim built from the real proof in the tree of `n = b % 64 + 1`
/// leaves, edited as the input says. Checks that the unedited proof
/// verifies.
fn relative_claim(input: &ProofInput, leaves: &[Hash]) -> Claim {
    let n = input.b % MAX_TREE + 1;
    let all = leaves.get(..to_usize(n)).expect("n <= MAX_TREE");
    let root = merkle::root(all);
    let (a, h1, proof) = if input.consistency {
        let m = input.a % n + 1;
        let old = merkle::root(all.get(..to_usize(m)).expect("m <= n"));
        let proof = merkle::consistency_proof(all, m).expect("0 < m <= n");
        merkle::verify_consistency(m, n, &proof, &old, &root)
            .expect("a real consistency proof verifies");
        (m, old, proof)
    } else {
        let i = input.a % n;
        let leaf = *all.get(to_usize(i)).expect("i < n");
        let proof = merkle::inclusion_proof(all, i).expect("i < n");
        merkle::verify_inclusion(&leaf, i, n, &proof, &root)
            .expect("a real inclusion proof verifies");
        (i, leaf, proof)
    };
    let real_len = proof.len();
    let mut proof: Vec<Hash> = proof
        .iter()
        .enumerate()
        .map(|(k, node)| input.nodes.get(k).map_or(*node, |mask| xor(node, mask)))
        .collect();
    match input.edit {
        LengthEdit::None => {}
        LengthEdit::DropLast => {
            proof.pop();
        }
        LengthEdit::Append => proof.push(input.nodes.get(real_len).copied().unwrap_or_default()),
        LengthEdit::DropFirst => {
            if !proof.is_empty() {
                proof.remove(0);
            }
        }
    }
    Claim {
        a: a ^ u64::from(input.index_delta),
        b: n.wrapping_add_signed(i64::from(input.size_delta)),
        h1: xor(&h1, &input.h1),
        h2: xor(&root, &input.h2),
        proof,
    }
}

/// An accepted claim against the real root of a fixed tree must be the
/// real leaf (old root) with the real proof.
fn check_sound(consistency: bool, claim: &Claim, leaves: &[Hash]) {
    if claim.b == 0 || claim.b > MAX_TREE {
        return;
    }
    let all = leaves.get(..to_usize(claim.b)).expect("b <= MAX_TREE");
    if claim.h2 != merkle::root(all) {
        return;
    }
    if consistency {
        let m = claim.a;
        assert!(0 < m && m <= claim.b, "accepted sizes {m} -> {}", claim.b);
        let old = merkle::root(all.get(..to_usize(m)).expect("m <= b"));
        assert_eq!(claim.h1, old, "accepted a wrong old root at size {m}");
        let real = merkle::consistency_proof(all, m).expect("0 < m <= b");
        assert_eq!(claim.proof, real, "accepted a forged consistency proof");
    } else {
        let i = claim.a;
        assert!(i < claim.b, "accepted index {i} in size {}", claim.b);
        let leaf = all.get(to_usize(i)).expect("i < b");
        assert_eq!(&claim.h1, leaf, "accepted a wrong leaf at index {i}");
        let real = merkle::inclusion_proof(all, i).expect("i < b");
        assert_eq!(claim.proof, real, "accepted a forged inclusion proof");
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).expect("tree sizes are small")
}
