//! The uplink (seed 000, US 8,620,366): one request carrying many vCards — a phone's first
//! backup, a second phone joining the same number, an import — applied record by record
//! and item by item. A card that matches a stored card (same `UID`, else the identity rule
//! of `vcard::merge::same_person`) is merged into it with the two-way merge; one that
//! matches none is stored as a new card. Cards in the same upload that match each other
//! are merged together, so an upload never creates duplicates.
//!
//! Invariants: the whole upload is one storage transaction (`put_objects`): all cards or
//! none. It is idempotent: a card whose merge changes nothing is not written, so the same
//! upload twice leaves every ETag and the sync token as they were.
//!
//! Does not: delete anything (the patent's merge never deletes), or speak HTTP (the
//! `POST` handler and `dialbook import` both call [`apply`]).

use std::collections::HashMap;

use serde::Serialize;

use crate::storage::{
    Collection, Condition, NewObject, ObjectPages, Storage, StorageError, etag_of,
};
use crate::vcard::merge::{Identity, identity, merge_two_way, same_person, uid_key};
use crate::vcard::{self, VcardError};

/// What happened to one uploaded card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardResult {
    /// Stored as a new card.
    Created,
    /// Merged into an existing card, which changed.
    Merged,
    /// Matched an existing card that already held everything it carries.
    Unchanged,
}

/// One uploaded card's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardOutcome {
    /// Position of the card in the upload, from 0.
    pub index: usize,
    pub result: CardResult,
    /// The member name of the stored card it created or merged into.
    pub name: String,
    /// The UID of that stored card.
    pub uid: String,
    /// Its ETag after the upload.
    pub etag: String,
}

/// The whole upload's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UplinkReport {
    pub created: usize,
    pub merged: usize,
    pub unchanged: usize,
    pub cards: Vec<CardOutcome>,
}

/// Why an upload was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("{0}")]
    Split(#[from] vcard::split::SplitError),
    #[error("card {index}: {error}")]
    Card { index: usize, error: VcardError },
    #[error("card {index} is larger than the maximum resource size")]
    TooLarge { index: usize },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Settings an upload needs.
pub struct UplinkOptions<'a> {
    pub region: Option<&'a str>,
    pub max_resource_size: u64,
    /// The `REV` value merged cards get.
    pub now: &'a str,
}

/// One stored (or newly created) card while the upload is being applied.
struct Entry {
    name: String,
    uid: String,
    /// ETag in storage before the upload (None for cards this upload creates).
    stored_etag: Option<String>,
    body: Vec<u8>,
    /// Read from the body only when needed: a stored card is found by its stored UID
    /// first, and its identity is parsed when a card of the upload matches no UID (or
    /// when the card is merged).
    identity: Option<Identity>,
    dirty: bool,
}

/// The stored cards of the book, indexed for matching.
struct Book {
    entries: Vec<Entry>,
    by_uid: HashMap<String, usize>,
    by_key: HashMap<String, Vec<usize>>,
    /// Whether every entry's identity is parsed and `by_key` is complete.
    keyed: bool,
    names: std::collections::HashSet<String>,
}

/// The matching keys of an identity: its numbers and e-mail addresses.
fn keys(id: &Identity) -> impl Iterator<Item = String> + '_ {
    id.tels
        .iter()
        .map(|t| format!("t:{t}"))
        .chain(id.emails.iter().map(|e| format!("e:{e}")))
}

impl Book {
    fn index(&mut self, i: usize) {
        let e = &self.entries[i];
        let uid = match &e.identity {
            Some(id) => id.uid.clone(),
            None => uid_key(&e.uid).to_string(),
        };
        self.by_uid.entry(uid).or_insert(i);
        if self.keyed
            && let Some(id) = &self.entries[i].identity
        {
            for k in keys(id) {
                let v = self.by_key.entry(k).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
        }
    }

    /// Parses every identity not read yet and indexes every entry by its keys. A stored
    /// card that no longer parses is never a merge target by number or e-mail.
    fn key_all(&mut self, region: Option<&str>) {
        if self.keyed {
            return;
        }
        self.keyed = true;
        for i in 0..self.entries.len() {
            if self.entries[i].identity.is_none() {
                match identity(&self.entries[i].body, region) {
                    Ok(id) => self.entries[i].identity = Some(id),
                    Err(_) => continue,
                }
            }
            self.index(i);
        }
    }

    fn find(&mut self, id: &Identity, region: Option<&str>) -> Option<usize> {
        if let Some(&i) = self.by_uid.get(&id.uid) {
            return Some(i);
        }
        self.key_all(region);
        if let Some(&i) = self.by_uid.get(&id.uid) {
            return Some(i);
        }
        for k in keys(id) {
            for &i in self.by_key.get(&k).into_iter().flatten() {
                if let Some(stored) = &self.entries[i].identity
                    && same_person(stored, id)
                {
                    return Some(i);
                }
            }
        }
        None
    }

    /// A member name for a new card: the UID when it is a safe file name, else a UUID.
    fn new_name(&mut self, uid: &str) -> String {
        let safe = !uid.is_empty()
            && uid.len() <= 200
            && uid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
        let mut name = if safe {
            format!("{uid}.vcf")
        } else {
            format!("{}.vcf", vcard::new_uid())
        };
        while self.names.contains(&name) {
            name = format!("{}.vcf", vcard::new_uid());
        }
        self.names.insert(name.clone());
        name
    }
}

/// Reads every card of the collection (bodies in pages), indexed by stored UID.
async fn load(storage: &dyn Storage, coll: &Collection) -> Result<Book, StorageError> {
    let mut book = Book {
        entries: Vec::new(),
        by_uid: HashMap::new(),
        by_key: HashMap::new(),
        keyed: false,
        names: Default::default(),
    };
    let mut pages = ObjectPages::new(coll.id, 500);
    while let Some(page) = pages.next(storage).await? {
        for o in page {
            book.names.insert(o.meta.name.clone());
            book.entries.push(Entry {
                name: o.meta.name,
                uid: o.meta.uid,
                stored_etag: Some(o.meta.etag),
                body: o.body,
                identity: None,
                dirty: false,
            });
            let i = book.entries.len() - 1;
            book.index(i);
        }
    }
    Ok(book)
}

/// Applies an upload to `coll` atomically. Retries (up to three times) when another
/// writer changed a matched card between reading and writing.
pub async fn apply(
    storage: &dyn Storage,
    coll: &Collection,
    body: &[u8],
    charset: Option<&str>,
    opts: &UplinkOptions<'_>,
) -> Result<UplinkReport, UplinkError> {
    let raw = vcard::split::split_cards(body)?;
    let mut cards = Vec::with_capacity(raw.len());
    for (index, c) in raw.iter().enumerate() {
        if c.len() as u64 > opts.max_resource_size {
            return Err(UplinkError::TooLarge { index });
        }
        let ing = vcard::ingest(c, charset).map_err(|error| UplinkError::Card { index, error })?;
        let id = identity(&ing.bytes, opts.region)
            .map_err(|error| UplinkError::Card { index, error })?;
        cards.push((ing, id));
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match apply_once(storage, coll, &cards, opts).await {
            Err(UplinkError::Storage(StorageError::Batch { error, .. }))
                if attempt < 3 && matches!(*error, StorageError::PreconditionFailed) =>
            {
                continue;
            }
            other => return other,
        }
    }
}

async fn apply_once(
    storage: &dyn Storage,
    coll: &Collection,
    cards: &[(vcard::Ingested, Identity)],
    opts: &UplinkOptions<'_>,
) -> Result<UplinkReport, UplinkError> {
    let mut book = load(storage, coll).await?;
    let mut outcomes: Vec<(usize, CardResult, usize)> = Vec::with_capacity(cards.len());
    for (index, (ing, id)) in cards.iter().enumerate() {
        match book.find(id, opts.region) {
            // The same bytes merge to themselves (merge(a, a) = a, a property test of
            // `vcard::merge`): a repeated upload costs no merge.
            Some(i) if book.entries[i].body == ing.bytes => {
                outcomes.push((index, CardResult::Unchanged, i));
            }
            Some(i) => {
                let merged =
                    merge_two_way(&book.entries[i].body, &ing.bytes, opts.now, opts.region)
                        .map_err(|error| UplinkError::Card { index, error })?;
                let result = if merged.changed {
                    let e = &mut book.entries[i];
                    e.body = merged.bytes;
                    e.dirty = true;
                    e.identity = Some(
                        identity(&e.body, opts.region)
                            .map_err(|error| UplinkError::Card { index, error })?,
                    );
                    book.index(i);
                    CardResult::Merged
                } else {
                    CardResult::Unchanged
                };
                outcomes.push((index, result, i));
            }
            None => {
                let name = book.new_name(&id.uid);
                book.entries.push(Entry {
                    name,
                    uid: ing.uid.clone(),
                    stored_etag: None,
                    body: ing.bytes.clone(),
                    identity: Some(id.clone()),
                    dirty: true,
                });
                let i = book.entries.len() - 1;
                book.index(i);
                outcomes.push((index, CardResult::Created, i));
            }
        }
    }
    let writes: Vec<(NewObject, Condition)> = book
        .entries
        .iter()
        .filter(|e| e.dirty)
        .map(|e| {
            let obj = NewObject {
                name: e.name.clone(),
                uid: e.uid.clone(),
                etag: etag_of(&e.body),
                content_type: super::VCARD_TYPE.into(),
                body: e.body.clone(),
            };
            let cond = match &e.stored_etag {
                Some(t) => Condition::IfMatch(vec![t.clone()]),
                None => Condition::IfNoneMatchAny,
            };
            (obj, cond)
        })
        .collect();
    storage.put_objects(coll.id, &writes).await?;
    let mut report = UplinkReport {
        created: 0,
        merged: 0,
        unchanged: 0,
        cards: Vec::with_capacity(outcomes.len()),
    };
    for (index, result, i) in outcomes {
        // A later card of the same upload that matched a card this upload created counts
        // as merged into it: `created` is the number of new contacts.
        let e = &book.entries[i];
        match result {
            CardResult::Created => report.created += 1,
            CardResult::Merged => report.merged += 1,
            CardResult::Unchanged => report.unchanged += 1,
        }
        report.cards.push(CardOutcome {
            index,
            result,
            name: e.name.clone(),
            uid: e.uid.clone(),
            etag: etag_of(&e.body),
        });
    }
    Ok(report)
}
