//! The local pepper key file.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::os::unix::fs::PermissionsExt;

use tresor_credentials::store::{VERIFIER_CONTEXT, verifier_input};
use tresor_credentials::{Error, LocalPepper, Pepper};

#[test]
fn create_load_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pepper");
    let created = LocalPepper::create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(matches!(
        LocalPepper::create(&path),
        Err(Error::FileExists { .. })
    ));

    let loaded = LocalPepper::load(&path).unwrap();
    assert_eq!(loaded.current_version(), 1);
    assert_eq!(loaded.mac(1, b"x").unwrap(), created.mac(1, b"x").unwrap());
    assert!(matches!(
        loaded.mac(2, b"x"),
        Err(Error::UnknownPepperVersion { version: 2 })
    ));

    let rotated = LocalPepper::rotate_file(&path).unwrap();
    assert_eq!(rotated.current_version(), 2);
    assert_eq!(rotated.versions().collect::<Vec<_>>(), [1, 2]);
    let reloaded = LocalPepper::load(&path).unwrap();
    assert_eq!(
        reloaded.mac(1, b"x").unwrap(),
        created.mac(1, b"x").unwrap()
    );
    assert_eq!(
        reloaded.mac(2, b"x").unwrap(),
        rotated.mac(2, b"x").unwrap()
    );
    assert_ne!(
        reloaded.mac(2, b"x").unwrap(),
        reloaded.mac(1, b"x").unwrap()
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn refuses_a_file_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pepper");
    LocalPepper::create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(matches!(
        LocalPepper::load(&path),
        Err(Error::InsecurePermissions { .. })
    ));
}

#[test]
fn parse_known_answer_and_errors() {
    // HMAC-SHA-256 known answer through our file format (RFC 4231 test
    // case 1 message "Hi There", with a 32-byte key of 0x0b).
    let text = format!("tresor-pepper-v1\n# test\n\n7 {}\n", "0b".repeat(32));
    let pepper = LocalPepper::parse(&text).unwrap();
    assert_eq!(pepper.current_version(), 7);
    let mac = pepper.mac(7, b"Hi There").unwrap();
    assert_eq!(
        hex::encode(mac),
        "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
    );

    let bad = [
        String::new(),
        "tresor-pepper-v2\n".into(),
        "tresor-pepper-v1\n".into(),
        format!("tresor-pepper-v1\n0 {}\n", "00".repeat(32)),
        format!(
            "tresor-pepper-v1\n1 {}\n1 {}\n",
            "00".repeat(32),
            "11".repeat(32)
        ),
        format!("tresor-pepper-v1\n1 {}\n", "00".repeat(31)),
        format!("tresor-pepper-v1\n1 {}zz\n", "00".repeat(31)),
        format!("tresor-pepper-v1\n+1 {}\n", "00".repeat(32)),
        format!("tresor-pepper-v1\n4294967296 {}\n", "00".repeat(32)),
        format!("tresor-pepper-v1\n1\t{}\n", "00".repeat(32)),
    ];
    for text in &bad {
        assert!(
            matches!(LocalPepper::parse(text), Err(Error::PepperFile { .. })),
            "{text:?}"
        );
    }
}

#[test]
fn verifier_input_is_length_prefixed() {
    let input = verifier_input("ab", b"c");
    let mut expected = Vec::new();
    expected.extend_from_slice(&u32::try_from(VERIFIER_CONTEXT.len()).unwrap().to_be_bytes());
    expected.extend_from_slice(VERIFIER_CONTEXT.as_bytes());
    expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c']);
    assert_eq!(&input[..], &expected[..]);
    // Moving a byte across the boundary changes the input.
    assert_ne!(&verifier_input("a", b"bc")[..], &input[..]);
}
