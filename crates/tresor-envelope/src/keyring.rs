//! Key-encryption keys by id, one of them primary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::kek::validate_key_id;
use crate::{Error, KeyEncryptionKey, Result};

/// The lifecycle state of a key-encryption key in a [`Keyring`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KekState {
    /// Seals (if primary, or named explicitly) and opens.
    Active,
    /// Opens and can be rewrapped from, never seals again.
    Retired,
    /// Gone: data wrapped under it can no longer be opened.
    Destroyed,
}

/// Key-encryption keys by id: one primary for new data, any number of others
/// that still open (and can be named explicitly for sealing, the per-subject
/// crypto-shredding pattern), retired keys that only open, and the ids of
/// destroyed keys, which are remembered so that opening their data says
/// [`Error::KekDestroyed`] and the id is never reused.
///
/// ```
/// use tresor_envelope::{Keyring, LocalKek};
///
/// let mut keyring = Keyring::new();
/// keyring.add(LocalKek::generate("kek-2025")?)?;
/// keyring.add(LocalKek::generate("kek-2026")?)?;
/// keyring.set_primary("kek-2026")?;       // new data under kek-2026
/// keyring.retire("kek-2025")?;            // old data still opens
/// assert_eq!(keyring.primary()?.key_id(), "kek-2026");
/// # Ok::<(), tresor_envelope::Error>(())
/// ```
#[derive(Default, Clone)]
pub struct Keyring {
    keks: BTreeMap<String, Arc<dyn KeyEncryptionKey>>,
    primary: Option<String>,
    retired: BTreeSet<String>,
    destroyed: BTreeSet<String>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Keyring::default()
    }

    /// A keyring holding `kek` as its primary.
    pub fn with_primary(kek: impl KeyEncryptionKey + 'static) -> Result<Self> {
        let mut keyring = Keyring::new();
        let id = keyring.add(kek)?;
        keyring.set_primary(&id)?;
        Ok(keyring)
    }

    /// Adds a key and returns its id. The first key added to a new keyring
    /// becomes primary; after that only [`set_primary`](Self::set_primary)
    /// changes the primary (also after the primary was destroyed).
    pub fn add(&mut self, kek: impl KeyEncryptionKey + 'static) -> Result<String> {
        self.add_shared(Arc::new(kek))
    }

    /// Adds a shared key and returns its id, like [`add`](Self::add).
    pub fn add_shared(&mut self, kek: Arc<dyn KeyEncryptionKey>) -> Result<String> {
        let id = kek.key_id().to_owned();
        validate_key_id(&id)?;
        if self.keks.contains_key(&id) || self.destroyed.contains(&id) {
            return Err(Error::DuplicateKek { key_id: id });
        }
        let first = self.keks.is_empty() && self.destroyed.is_empty() && self.retired.is_empty();
        self.keks.insert(id.clone(), kek);
        if first && self.primary.is_none() {
            self.primary = Some(id.clone());
        }
        Ok(id)
    }

    /// Makes an active key the primary: new data is sealed under it.
    pub fn set_primary(&mut self, id: &str) -> Result<()> {
        self.sealing_kek(Some(id))?;
        self.primary = Some(id.to_owned());
        Ok(())
    }

    /// Retires a key: it keeps opening (and being rewrapped from) but never
    /// seals again. The primary cannot be retired.
    pub fn retire(&mut self, id: &str) -> Result<()> {
        self.get(id)?;
        if self.primary.as_deref() == Some(id) {
            return Err(Error::KekIsPrimary {
                key_id: id.to_owned(),
            });
        }
        self.retired.insert(id.to_owned());
        Ok(())
    }

    /// Destroys a key: drops this keyring's handle to it and remembers its id
    /// as destroyed. If it was the primary, the keyring has no primary until
    /// [`set_primary`](Self::set_primary) is called.
    ///
    /// Crypto-shredding is complete only once the key is destroyed at its
    /// source too (KMS key deletion, the key file removed, every other handle
    /// dropped); this method is the keyring's part. Use
    /// [`Envelope::destroy_kek`](crate::Envelope::destroy_kek) on a live
    /// envelope so its caches forget the key's data keys too.
    pub fn destroy(&mut self, id: &str) -> Result<()> {
        self.get(id)?;
        self.keks.remove(id);
        self.retired.remove(id);
        if self.primary.as_deref() == Some(id) {
            self.primary = None;
        }
        self.destroyed.insert(id.to_owned());
        Ok(())
    }

    /// The primary key.
    pub fn primary(&self) -> Result<&Arc<dyn KeyEncryptionKey>> {
        let id = self.primary.as_deref().ok_or(Error::NoPrimaryKek)?;
        self.get(id)
    }

    /// The key with this id, whatever its state, for opening.
    pub fn get(&self, id: &str) -> Result<&Arc<dyn KeyEncryptionKey>> {
        match self.keks.get(id) {
            Some(kek) => Ok(kek),
            None if self.destroyed.contains(id) => Err(Error::KekDestroyed {
                key_id: id.to_owned(),
            }),
            None => Err(Error::UnknownKek {
                key_id: id.to_owned(),
            }),
        }
    }

    /// The key to seal under: the named one, or the primary; never a retired
    /// or destroyed one.
    pub fn sealing_kek(&self, id: Option<&str>) -> Result<&Arc<dyn KeyEncryptionKey>> {
        let kek = match id {
            Some(id) => self.get(id)?,
            None => self.primary()?,
        };
        if self.retired.contains(kek.key_id()) {
            return Err(Error::KekRetired {
                key_id: kek.key_id().to_owned(),
            });
        }
        Ok(kek)
    }

    /// The state of a key, or `None` if the keyring never held it.
    pub fn state(&self, id: &str) -> Option<KekState> {
        if self.destroyed.contains(id) {
            Some(KekState::Destroyed)
        } else if self.retired.contains(id) {
            Some(KekState::Retired)
        } else if self.keks.contains_key(id) {
            Some(KekState::Active)
        } else {
            None
        }
    }

    /// The ids of the keys held (active and retired), sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keks.keys().map(String::as_str)
    }

    /// The primary key's id, if there is one.
    pub fn primary_id(&self) -> Option<&str> {
        self.primary.as_deref()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("keks", &self.keks.keys().collect::<Vec<_>>())
            .field("primary", &self.primary)
            .field("retired", &self.retired)
            .field("destroyed", &self.destroyed)
            .finish()
    }
}
