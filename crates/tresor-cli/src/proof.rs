//! Merkle proofs as JSON: what `audit prove` and `audit consistency` print
//! and what `audit verify-proof` reads, in the shape of the RFC 9162 test
//! vectors of the transparency-dev project.
//!
//! - Inclusion: `{"leafIdx": I, "treeSize": N, "root": B64, "leafHash":
//!   B64, "proof": [B64, …]}`.
//! - Consistency: `{"size1": N, "size2": M, "root1": B64, "root2": B64,
//!   "proof": [B64, …]}`.
//!
//! Hashes are 32 bytes in standard Base64 with padding. Sizes and indexes
//! are JSON integers from 0 to 2^64 − 1. `proof` may be `null` or absent
//! for an empty proof. Other members (`desc`, `wantErr` in the vectors) are
//! ignored; a member given twice, or members of both shapes, are refused.
//!
//! One exception to the 32 bytes, for the vectors' sake: a consistency
//! proof between equal sizes (at least 1) with an empty proof claims only
//! that the two roots are the same, and is checked by comparing them as
//! given, whatever their length (the transparency-dev vectors use
//! placeholder roots there, and accept equal ones).

use std::io::Read;

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Serialize};
use tresor_audit::{Hash, merkle};

use crate::args::AuditVerifyProofArgs;
use crate::error::{CliError, Result};
use crate::input::Input;
use crate::output::print_json;

/// The most bytes `verify-proof` reads: a proof has at most 128 hashes.
const MAX_PROOF_INPUT: u64 = 1 << 20;

/// An inclusion proof, as printed by `audit prove`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InclusionJson {
    pub(crate) leaf_idx: u64,
    pub(crate) tree_size: u64,
    pub(crate) root: String,
    pub(crate) leaf_hash: String,
    pub(crate) proof: Vec<String>,
}

impl InclusionJson {
    /// The JSON of a proof that `leaf_hash` is leaf `index` of the tree of
    /// `tree_size` leaves with head `root`.
    pub(crate) fn new(
        index: u64,
        tree_size: u64,
        root: &Hash,
        leaf_hash: &Hash,
        proof: &[Hash],
    ) -> Self {
        InclusionJson {
            leaf_idx: index,
            tree_size,
            root: b64(root),
            leaf_hash: b64(leaf_hash),
            proof: proof.iter().map(b64).collect(),
        }
    }
}

/// A consistency proof, as printed by `audit consistency`.
#[derive(Debug, Serialize)]
pub(crate) struct ConsistencyJson {
    pub(crate) size1: u64,
    pub(crate) size2: u64,
    pub(crate) root1: String,
    pub(crate) root2: String,
    pub(crate) proof: Vec<String>,
}

impl ConsistencyJson {
    /// The JSON of a proof that the tree of `size2` leaves with head
    /// `root2` extends the one of `size1` leaves with head `root1`.
    pub(crate) fn new(size1: u64, size2: u64, root1: &Hash, root2: &Hash, proof: &[Hash]) -> Self {
        ConsistencyJson {
            size1,
            size2,
            root1: b64(root1),
            root2: b64(root2),
            proof: proof.iter().map(b64).collect(),
        }
    }
}

/// Standard Base64 with padding.
pub(crate) fn b64(hash: &Hash) -> String {
    Base64::encode_string(hash)
}

/// Either shape, as read: every member optional, sorted out afterwards so
/// that a missing member is named. serde refuses a known member given
/// twice.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofInput {
    leaf_idx: Option<u64>,
    tree_size: Option<u64>,
    root: Option<String>,
    leaf_hash: Option<String>,
    size1: Option<u64>,
    size2: Option<u64>,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
}

/// A proof read from JSON, with its hashes decoded.
#[derive(Debug, PartialEq, Eq)]
enum Proof {
    Inclusion {
        index: u64,
        tree_size: u64,
        root: Hash,
        leaf_hash: Hash,
        proof: Vec<Hash>,
    },
    Consistency {
        size1: u64,
        size2: u64,
        root1: Hash,
        root2: Hash,
        proof: Vec<Hash>,
    },
    /// A consistency proof between equal sizes with an empty proof and
    /// roots not 32 bytes long: only their equality is claimed.
    SameTree {
        size: u64,
        root1: Vec<u8>,
        root2: Vec<u8>,
    },
}

/// An unreadable-proof error (exit code 2).
fn unreadable(reason: impl Into<String>) -> CliError {
    CliError::UnreadableProof(reason.into())
}

/// A required member.
fn required<T>(value: Option<T>, name: &str) -> Result<T> {
    value.ok_or_else(|| unreadable(format!("member {name:?} is missing")))
}

/// Decodes standard Base64 with padding.
fn bytes(text: &str, name: &str) -> Result<Vec<u8>> {
    Base64::decode_vec(text)
        .map_err(|_| unreadable(format!("{name} is not standard padded Base64")))
}

/// Decodes a 32-byte hash in standard Base64 with padding.
fn hash(text: &str, name: &str) -> Result<Hash> {
    hash_of(bytes(text, name)?, name)
}

/// Checks that decoded bytes are a 32-byte hash.
fn hash_of(bytes: Vec<u8>, name: &str) -> Result<Hash> {
    Hash::try_from(bytes.as_slice()).map_err(|_| {
        unreadable(format!(
            "{name} is {} bytes long, not 32 (a SHA-256 hash)",
            bytes.len()
        ))
    })
}

impl Proof {
    /// Parses one proof JSON of either shape.
    fn parse(text: &str) -> Result<Self> {
        let input: ProofInput =
            serde_json::from_str(text).map_err(|err| unreadable(format!("not a proof: {err}")))?;
        let inclusion = input.leaf_idx.is_some()
            || input.tree_size.is_some()
            || input.root.is_some()
            || input.leaf_hash.is_some();
        let consistency = input.size1.is_some()
            || input.size2.is_some()
            || input.root1.is_some()
            || input.root2.is_some();
        let path = |proof: Option<Vec<String>>| -> Result<Vec<Hash>> {
            proof
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(i, node)| hash(node, &format!("proof[{i}]")))
                .collect()
        };
        match (inclusion, consistency) {
            (true, false) => Ok(Proof::Inclusion {
                index: required(input.leaf_idx, "leafIdx")?,
                tree_size: required(input.tree_size, "treeSize")?,
                root: hash(&required(input.root, "root")?, "root")?,
                leaf_hash: hash(&required(input.leaf_hash, "leafHash")?, "leafHash")?,
                proof: path(input.proof)?,
            }),
            (false, true) => {
                let size1 = required(input.size1, "size1")?;
                let size2 = required(input.size2, "size2")?;
                let root1 = bytes(&required(input.root1, "root1")?, "root1")?;
                let root2 = bytes(&required(input.root2, "root2")?, "root2")?;
                let proof = path(input.proof)?;
                let same_tree = size1 == size2 && size1 > 0 && proof.is_empty();
                if same_tree && (root1.len() != 32 || root2.len() != 32) {
                    return Ok(Proof::SameTree {
                        size: size1,
                        root1,
                        root2,
                    });
                }
                Ok(Proof::Consistency {
                    size1,
                    size2,
                    root1: hash_of(root1, "root1")?,
                    root2: hash_of(root2, "root2")?,
                    proof,
                })
            }
            (true, true) => Err(unreadable(
                "members of both an inclusion and a consistency proof",
            )),
            (false, false) => Err(unreadable(
                "neither an inclusion proof (leafIdx, treeSize, root, leafHash, proof) nor a \
                 consistency proof (size1, size2, root1, root2, proof)",
            )),
        }
    }

    /// Verifies the proof (RFC 9162 sections 2.1.3.2 and 2.1.4.2).
    fn verify(&self) -> Result<()> {
        match self {
            Proof::Inclusion {
                index,
                tree_size,
                root,
                leaf_hash,
                proof,
            } => merkle::verify_inclusion(leaf_hash, *index, *tree_size, proof, root)?,
            Proof::Consistency {
                size1,
                size2,
                root1,
                root2,
                proof,
            } => merkle::verify_consistency(*size1, *size2, proof, root1, root2)?,
            Proof::SameTree { root1, root2, .. } => {
                if root1 != root2 {
                    return Err(tresor_audit::Error::InvalidProof {
                        reason: "roots of equal tree sizes differ".to_owned(),
                    }
                    .into());
                }
            }
        }
        Ok(())
    }
}

/// What `verify-proof` prints once a proof verifies.
#[derive(Serialize)]
#[serde(
    tag = "verified",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
enum Verified {
    Inclusion {
        leaf_idx: u64,
        tree_size: u64,
        root: String,
    },
    Consistency {
        size1: u64,
        size2: u64,
        root1: String,
        root2: String,
    },
}

/// `tresor audit verify-proof`: reads one proof JSON and verifies it.
pub(crate) fn verify_proof(args: &AuditVerifyProofArgs) -> Result<()> {
    let input =
        Input::open(args.input.as_deref(), false).map_err(|err| unreadable(err.one_line()))?;
    let mut bytes = Vec::new();
    input
        .into_reader()
        .take(MAX_PROOF_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| unreadable(format!("cannot read the input: {err}")))?;
    if bytes.len() as u64 > MAX_PROOF_INPUT {
        return Err(unreadable(format!(
            "the input is longer than {MAX_PROOF_INPUT} bytes"
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| unreadable("the input is not UTF-8"))?;
    let proof = Proof::parse(text)?;
    proof.verify()?;
    let verified = match proof {
        Proof::Inclusion {
            index,
            tree_size,
            root,
            ..
        } => Verified::Inclusion {
            leaf_idx: index,
            tree_size,
            root: b64(&root),
        },
        Proof::Consistency {
            size1,
            size2,
            root1,
            root2,
            ..
        } => Verified::Consistency {
            size1,
            size2,
            root1: b64(&root1),
            root2: b64(&root2),
        },
        Proof::SameTree { size, root1, root2 } => Verified::Consistency {
            size1: size,
            size2: size,
            root1: Base64::encode_string(&root1),
            root2: Base64::encode_string(&root2),
        },
    };
    print_json(&verified, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    fn parse_err(text: &str) -> String {
        match Proof::parse(text) {
            Err(err @ CliError::UnreadableProof(_)) => err.to_string(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn shapes() {
        let inclusion = format!(
            r#"{{"leafIdx":0,"treeSize":1,"root":"{H}","leafHash":"{H}","proof":null,"desc":"x"}}"#
        );
        assert!(matches!(
            Proof::parse(&inclusion).unwrap(),
            Proof::Inclusion { proof, .. } if proof.is_empty()
        ));
        let consistency =
            format!(r#"{{"size1":1,"size2":2,"root1":"{H}","root2":"{H}","proof":["{H}"]}}"#);
        assert!(matches!(
            Proof::parse(&consistency).unwrap(),
            Proof::Consistency { proof, .. } if proof.len() == 1
        ));
    }

    #[test]
    fn placeholder_roots_only_for_equal_sizes() {
        let same = r#"{"size1":1,"size2":1,"root1":"ZG9uJ3QgY2FyZSAy","root2":"ZG9uJ3QgY2FyZSAy","proof":[]}"#;
        Proof::parse(same).unwrap().verify().unwrap();
        let differ = same.replacen("Ay\"", "Ax\"", 1);
        assert!(Proof::parse(&differ).unwrap().verify().is_err());
        let grown = same.replacen("\"size2\":1", "\"size2\":2", 1);
        assert!(parse_err(&grown).contains("not 32"));
        let zero = same.replace(":1,", ":0,");
        assert!(parse_err(&zero).contains("not 32"));
    }

    #[test]
    fn unreadable_inputs() {
        assert!(parse_err("garbage").contains("not a proof"));
        assert!(parse_err("[]").contains("not a proof"));
        assert!(parse_err("{}").contains("neither"));
        assert!(parse_err(r#"{"leafIdx":0}"#).contains("treeSize"));
        assert!(parse_err(r#"{"leafIdx":-1}"#).contains("not a proof"));
        assert!(parse_err(r#"{"leafIdx":0,"leafIdx":1}"#).contains("duplicate"));
        assert!(parse_err(r#"{"leafIdx":0,"size1":1}"#).contains("both"));
        let short = format!(r#"{{"size1":1,"size2":2,"root1":"{H}","root2":"AAAA","proof":[]}}"#);
        assert!(parse_err(&short).contains("3 bytes long"));
        let bad = format!(r#"{{"size1":1,"size2":1,"root1":"{H}","root2":"{H}","proof":["!"]}}"#);
        assert!(parse_err(&bad).contains("proof[0]"));
        let unpadded = H.trim_end_matches('=');
        let bad =
            format!(r#"{{"size1":1,"size2":1,"root1":"{unpadded}","root2":"{H}","proof":[]}}"#);
        assert!(parse_err(&bad).contains("root1"));
    }
}
