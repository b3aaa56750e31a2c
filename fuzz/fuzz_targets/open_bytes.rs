//! `Envelope::open_to_vec` and `Envelope::rewrap_to_vec` of arbitrary bytes,
//! under the fixed keyring and the fixed contexts of `tresor_fuzz`.
//!
//! Properties: neither panics; a rewrap changes only the key section (the
//! rest of the header and every frame are kept byte for byte), and the
//! rewrapped envelope opens exactly when the original does, to the same
//! plaintext.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tresor_envelope::Header;

fuzz_target!(|data: &[u8]| {
    let envelope = tresor_fuzz::envelope();
    let opened = tresor_fuzz::contexts().map(|ctx| envelope.open_to_vec(data, ctx).ok());

    let Ok(rewrapped) = envelope.rewrap_to_vec(data, None) else {
        return;
    };
    let (old, old_len) = Header::parse(data).expect("rewrap parsed this header");
    let (new, new_len) = Header::parse(&rewrapped).expect("rewrap writes a valid header");
    assert_eq!(new.suite(), old.suite());
    assert_eq!(new.frame_size(), old.frame_size());
    assert_eq!(new.message_id(), old.message_id());
    assert_eq!(new.context(), old.context());
    assert_eq!(new.commitment(), old.commitment());
    assert_eq!(new.kek_id(), tresor_fuzz::KEK_ID);
    assert_eq!(
        rewrapped.get(new_len..),
        data.get(old_len..),
        "frames changed"
    );

    let reopened = tresor_fuzz::contexts().map(|ctx| envelope.open_to_vec(&rewrapped, ctx).ok());
    assert_eq!(opened, reopened, "rewrap changed what opens");
});
