//! The registry as an RFC 9421 [`KeyResolver`]: a signature's `keyid` is
//! a registered key's RFC 7638 thumbprint.
//!
//! [`KeyResolver::resolve`] gets no client id, so the key id alone finds
//! the client: key ids are unique across clients (the store's key index,
//! [`CredentialStore::find_by_key`](crate::CredentialStore::find_by_key),
//! refuses a second owner), and the lookup is one indexed query.
//!
//! A key resolves only if its client is active, its state is active or
//! verify-only, `now` is inside its validity window, and its algorithm has
//! an RFC 9421 name (`PS256` keys do not). Every refusal is
//! [`tresor_httpsig::Error::UnknownKey`], except a store failure, which is
//! [`tresor_httpsig::Error::Unavailable`] (`what`: "client registry") with
//! the store's [`Error`](crate::Error) as its source: an outage, never a
//! verdict on the key, so the tower `VerifyLayer` answers it 503 (retry
//! later), not 401. After verification,
//! [`Registry::client_for_key`] tells which client signed.

use std::sync::Arc;

use tresor_httpsig::{KeyResolver, VerifyingKey};

use crate::keys::{ClientPublicKey, check_usable};
use crate::registry::Registry;

/// The longest key id quoted back in an error.
const MAX_QUOTED_KID: usize = 64;

impl KeyResolver for Registry {
    fn resolve(&self, key_id: &str) -> tresor_httpsig::Result<Arc<dyn VerifyingKey>> {
        let unknown = || tresor_httpsig::Error::UnknownKey {
            key_id: key_id.chars().take(MAX_QUOTED_KID).collect(),
        };
        let stored = self
            .store
            .find_by_key(key_id)
            .map_err(|e| tresor_httpsig::Error::unavailable("client registry", e))?
            .ok_or_else(unknown)?;
        let key = stored
            .record
            .public_keys
            .iter()
            .find(|k| k.kid == key_id)
            .ok_or_else(unknown)?;
        let now = self
            .clock
            .now()
            .map_err(|source| tresor_httpsig::Error::ClockUnavailable { source })?
            .as_secs();
        check_usable(&stored.record, key, now).map_err(|_| unknown())?;
        let public = ClientPublicKey::from_registered(key)
            .and_then(|k| k.to_httpsig())
            .ok_or_else(unknown)?;
        Ok(Arc::new(public))
    }
}
