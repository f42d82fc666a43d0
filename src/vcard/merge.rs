//! Item-level vCard merge (seed 000, US 8,620,366 B2 step 5; seed 002's conflict
//! standard for the three-way case) and the identity and fingerprint of a card (seed 004).
//!
//! Owns: record matching ([`identity`], [`same_person`]), item mapping, the two-way merge
//! of the patent ([`merge_two_way`]), a three-way merge against the version a client last
//! saw ([`merge_three_way`]) and the content [`fingerprint`]. Pure: no I/O, no clock (the
//! `REV` to write is passed in), no logging of card contents.
//!
//! Does not: decide *when* to merge (a conditional `PUT` with a current `If-Match` is a
//! replace; that is the caller's call), find the stored card (the caller runs
//! [`same_person`] over its candidates), store anything, or merge two cards of which one
//! does not parse ([`VcardError::Invalid`]).
//!
//! # Items
//! An *item* is one property with its group and parameters. All lines sharing a group
//! (`item1.TEL` + `item1.X-ABLabel`, `item3.ADR` + `item3.X-ABADR`) form one item and move
//! together; its main property is the first line that is not `X-ABLabel`/`X-ABADR`.
//! `VERSION`, `UID`, `PRODID` and `REV` are not items: the stored card's own are kept,
//! and `REV` is set to `now` exactly when something else changed.
//!
//! # Mapping (which stored item an incoming one is)
//! Passes in this order, each over the items still unmapped, first candidate in card
//! order:
//!
//! | pass | applies to | maps when |
//! |------|------------|-----------|
//! | 1 | every item | the stored item is *equivalent* (below) |
//! | 2 | every item | same property name and same normalised value |
//! | 3 | `FN` `N` `BDAY` `ANNIVERSARY` `GENDER` `KIND` `PHOTO` `LOGO` `ORG` `TITLE` `ROLE` `NOTE` `NICKNAME` `CATEGORIES` `TZ` `GEO` `SORT-STRING`, `X-PHONETIC-*-NAME`, `X-ABShowAs`, `X-ADDRESSBOOKSERVER-KIND`, `X-MAIDENNAME`, `X-MS-OL-DESIGN` `X-MS-MANAGER` `X-MS-ASSISTANT` `X-MS-SPOUSE` | same property name, and exactly one unmapped item on each side has that name |
//! | 4 | `TEL` `EMAIL` `ADR` | same name and same non-empty *type key*, and exactly one unmapped item on each side has both |
//!
//! Everything else (`URL`, `IMPP`, `MEMBER`, `RELATED`, unknown and `X-` properties)
//! maps by value only, so a changed value is added next to the old one and nothing
//! unknown is ever lost.
//!
//! Normalised value: `TEL` → its key from [`crate::phone::identity`] read in the given
//! region (E.164 for a possible number, an extension kept apart, else canonical digits);
//! `EMAIL` → unescaped, `mailto:` removed, trimmed, lower-cased; `ADR`, `N`, `ORG` → per
//! component unescaped, white space collapsed, lower-cased, trailing empty components
//! removed; anything else → unescaped text, trailing empty components removed.
//! Type key: the `TYPE` values lower-cased, without `pref`, `internet`, `voice`, sorted,
//! plus the group's `X-ABLabel` text, lower-cased.
//!
//! *Equivalent*: same name, same canonical parameters (names upper-cased, `TYPE` values
//! as a lower-cased sorted set without `internet`/`voice`, `CHARSET` and `VALUE=text`
//! ignored, others sorted by name), same canonical value (`TEL` by its phone identity, `EMAIL`
//! lower-cased, others unescaped), and every companion line of the incoming item present
//! in the stored one. An incoming item equivalent to its stored item changes nothing —
//! that is what makes uploading the same data twice a no-op.
//!
//! # Two-way (the patent)
//! A mapped item that is not equivalent is replaced by the incoming one (value and
//! parameters), keeping the stored group name and any stored companion the incoming item
//! does not mention (Thunderbird drops Apple labels); an unmapped item is added (a new
//! group name when its own is taken); stored items the upload does not mention are kept.
//!
//! # Three-way
//! Base, stored and incoming items are mapped base→stored and base→incoming with the
//! passes above; items new on both sides with passes 1–2 and, for `N`, `BDAY`,
//! `ANNIVERSARY`, `GENDER`, `KIND` only (RFC 6350 cardinality `*1`), pass 3 — two
//! different new notes or numbers are two items. "Changed" means the later item is not
//! equivalent to the base item.
//!
//! | base | stored | incoming | result |
//! |------|--------|----------|--------|
//! | b | s = b | missing | deleted (client deleted it) |
//! | b | s ≠ b | missing | `Prefer::Incoming` → deleted, `Prefer::Stored` → s |
//! | b | missing | i = b | stays deleted (server deleted it) |
//! | b | missing | i ≠ b | `Prefer::Incoming` → i, `Prefer::Stored` → stays deleted |
//! | b | s | i = b | s |
//! | b | s = b | i ≠ b | i |
//! | b | s ≠ b | i ≠ b, ≠ s | by `prefer` |
//! | — | s | — | s |
//! | — | — | i | i added |
//! | — | s | i (same item) | equal → s; else by `prefer` |
//!
//! `FN` and `N` are never deleted (a card needs them).
//!
//! # Output
//! The stored card's version and line ending; every line of an untouched item byte for
//! byte; new and changed lines in the stored version's syntax (an incoming card of the
//! other version is converted first with [`super::convert`]), folded at 75 octets on
//! character boundaries. Added items go before `END:VCARD`. When nothing changed the
//! result is the stored bytes exactly and `changed` is false.

mod model;
#[cfg(test)]
mod tests;

use super::lines::{self, ContentLine, unescape_text};
use super::{Card, VcardError, Version};
use model::Item;

/// Which side wins an item changed on both sides in a three-way merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    #[default]
    Incoming,
    Stored,
}

/// A merge result: the card to store, and whether it differs from the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub bytes: Vec<u8>,
    /// `bytes != stored`.
    pub changed: bool,
}

/// Two-way merge (the patent's uplink): `incoming` merged into `stored` item by item.
/// Never deletes a stored item. `now` is the `REV` value written when anything changed;
/// `region` is the default region for national phone numbers.
///
/// Errors: either card not UTF-8 or not a valid single vCard 3.0/4.0 →
/// [`VcardError::Invalid`].
pub fn merge_two_way(
    stored: &[u8],
    incoming: &[u8],
    now: &str,
    region: Option<&str>,
) -> Result<Merged, VcardError> {
    let stored_text = utf8(stored)?;
    let s_card = Card::parse(stored_text)?;
    let incoming_text = as_version(incoming, s_card.version)?;
    let i_card = Card::parse(&incoming_text)?;
    let s_items = model::items(&s_card, region);
    let i_items = dedup(model::items(&i_card, region));

    let mut plan = Plan::new(&s_items);
    let mapping = model::map(&s_items, &i_items, true);
    for (b, item) in i_items.iter().enumerate() {
        match mapping[b] {
            Some(a) => plan.apply(&s_items, a, item),
            None => plan.add(&s_items, item),
        }
    }
    plan.write(stored, &s_card, &s_items, now)
}

/// Three-way merge of `incoming` into `stored` against `base`, the version the client
/// last saw (see the module table). `prefer` decides items changed differently on both
/// sides.
///
/// Errors: any of the three cards not UTF-8 or not a valid vCard → [`VcardError::Invalid`].
pub fn merge_three_way(
    base: &[u8],
    stored: &[u8],
    incoming: &[u8],
    prefer: Prefer,
    now: &str,
    region: Option<&str>,
) -> Result<Merged, VcardError> {
    let stored_text = utf8(stored)?;
    let s_card = Card::parse(stored_text)?;
    let base_text = as_version(base, s_card.version)?;
    let b_card = Card::parse(&base_text)?;
    let incoming_text = as_version(incoming, s_card.version)?;
    let i_card = Card::parse(&incoming_text)?;
    let s_items = model::items(&s_card, region);
    let b_items = dedup(model::items(&b_card, region));
    let i_items = dedup(model::items(&i_card, region));

    // For each stored / incoming item, its base item.
    let s_from = model::map(&b_items, &s_items, true);
    let i_from = model::map(&b_items, &i_items, true);
    let mut s_of = vec![None; b_items.len()];
    for (s, b) in s_from.iter().enumerate() {
        if let Some(b) = b {
            s_of[*b] = Some(s);
        }
    }
    let mut i_of = vec![None; b_items.len()];
    for (i, b) in i_from.iter().enumerate() {
        if let Some(b) = b {
            i_of[*b] = Some(i);
        }
    }
    // Items new on both sides, matched to each other (not by type, and by name only for
    // `*1` properties: two different new numbers or notes are two items).
    let s_new: Vec<usize> = (0..s_items.len())
        .filter(|&s| s_from[s].is_none())
        .collect();
    let i_new: Vec<usize> = (0..i_items.len())
        .filter(|&i| i_from[i].is_none())
        .collect();
    let s_new_items: Vec<Item> = s_new.iter().map(|&s| s_items[s].clone()).collect();
    let i_new_items: Vec<Item> = i_new.iter().map(|&i| i_items[i].clone()).collect();
    let new_pairs = model::map(&s_new_items, &i_new_items, false);

    let changed = |old: &Item, new: &Item| !old.covers(new);
    let protected = |item: &Item| matches!(item.name.as_str(), "FN" | "N");
    let mut plan = Plan::new(&s_items);

    for (s, from) in s_from.iter().enumerate() {
        let Some(b) = *from else { continue };
        let (base, ours) = (&b_items[b], &s_items[s]);
        match i_of[b] {
            None => {
                if (!changed(base, ours) || prefer == Prefer::Incoming) && !protected(ours) {
                    plan.delete[s] = true;
                }
            }
            Some(i) => {
                let theirs = &i_items[i];
                if !changed(base, theirs) {
                    continue;
                }
                if !changed(base, ours) || prefer == Prefer::Incoming {
                    plan.apply(&s_items, s, theirs);
                }
            }
        }
    }
    for (k, pair) in new_pairs.iter().enumerate() {
        if let Some(j) = pair
            && prefer == Prefer::Incoming
        {
            plan.apply(&s_items, s_new[*j], &i_items[i_new[k]]);
        }
    }
    for (i, from) in i_from.iter().enumerate() {
        let theirs = &i_items[i];
        match from {
            // Deleted on the server: back only if the client changed it and wins.
            Some(b) if s_of[*b].is_none() => {
                if changed(&b_items[*b], theirs) && prefer == Prefer::Incoming {
                    plan.add(&s_items, theirs);
                }
            }
            Some(_) => {}
            None => {
                let k = i_new.iter().position(|&x| x == i).expect("i is new");
                if new_pairs[k].is_none() {
                    plan.add(&s_items, theirs);
                }
            }
        }
    }
    plan.write(stored, &s_card, &s_items, now)
}

/// The identity of a card for record matching. See [`same_person`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The `UID` value, trimmed, a leading `urn:uuid:` (any case) removed; empty when none.
    pub uid: String,
    /// The normalised full name (see [`normalise_name`]); empty when none.
    pub name: String,
    /// The key of every `TEL` whose [`crate::phone::identity`] is strong (a possible
    /// number, or enough digits), sorted, unique.
    pub tels: Vec<String>,
    /// Every `EMAIL` containing `@`: unescaped, `mailto:` removed, trimmed, lower-cased;
    /// sorted, unique.
    pub emails: Vec<String>,
}

/// A `UID` value as [`Identity::uid`] holds it: trimmed, a leading `urn:uuid:` (any case)
/// removed.
pub fn uid_key(uid: &str) -> &str {
    let v = uid.trim();
    let v = match v.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("urn:uuid:") => &v[9..],
        _ => v,
    };
    v.trim()
}

/// Reads the [`Identity`] of a card. The name is `FN`; a card without a non-empty `FN`
/// uses `N` (prefix, given, additional, family, suffix, joined by spaces).
///
/// Errors: not UTF-8 or not a valid vCard → [`VcardError::Invalid`].
pub fn identity(card: &[u8], region: Option<&str>) -> Result<Identity, VcardError> {
    let card = Card::parse(utf8(card)?)?;
    let mut id = Identity::default();
    let props = || card.parsed.iter().map(|(_, l)| l);
    if let Some(uid) = props().find(|l| l.is("UID")) {
        id.uid = uid_key(&uid.value).to_string();
    }
    id.name = props()
        .filter(|l| l.is("FN"))
        .map(|l| normalise_name(&unescape_text(&l.value)))
        .find(|n| !n.is_empty())
        .unwrap_or_default();
    if id.name.is_empty()
        && let Some(n) = props().find(|l| l.is("N"))
    {
        let parts = model::split_components(&n.value);
        let order = [3, 1, 2, 0, 4];
        let joined: Vec<String> = order
            .iter()
            .filter_map(|&k| parts.get(k))
            .map(|p| unescape_text(p).into_owned())
            .collect();
        id.name = normalise_name(&joined.join(" "));
    }
    for l in props() {
        if l.is("TEL") {
            let tel = model::tel_identity(&l.value, region);
            if tel.strong {
                id.tels.push(tel.key);
            }
        } else if l.is("EMAIL") {
            let key = model::email_key(&l.value);
            if key.contains('@') {
                id.emails.push(key);
            }
        }
    }
    id.tels.sort();
    id.tels.dedup();
    id.emails.sort();
    id.emails.dedup();
    Ok(id)
}

/// The identity rule: two cards are the same person when
/// 1. both have a non-empty `UID` and the UIDs are equal (exact, after the trimming of
///    [`Identity::uid`]), or
/// 2. both normalised names are non-empty and equal, **and** they share at least one
///    strong phone identity or one e-mail address.
///
/// Never by name alone, never by a shared number or address alone (a family landline, a
/// shared mailbox), never with an empty name. Different UIDs do not prevent rule 2: a
/// second phone writes its own UID for the same person.
pub fn same_person(a: &Identity, b: &Identity) -> bool {
    if !a.uid.is_empty() && a.uid == b.uid {
        return true;
    }
    !a.name.is_empty()
        && a.name == b.name
        && (a.tels.iter().any(|t| b.tels.contains(t))
            || a.emails.iter().any(|e| b.emails.contains(e)))
}

/// Name normalisation for [`same_person`]: Unicode lower-case; every run of characters
/// that are neither letters nor digits (white space, `.`, `,`, `-`, `'` …) becomes one
/// space; leading and trailing spaces removed. `"Dr. Jürgen  Müller"` → `"dr jürgen
/// müller"`. No accent folding and no reordering: `"Müller, Jürgen"` ≠ `"Jürgen Müller"`.
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The content fingerprint of a card (published in `docs/merge.md`):
///
/// 1. Decode as UTF-8, split into lines at LF (a CR before it is dropped), unfold (a line
///    starting with a space or tab continues the previous one, that one character
///    removed). Drop blank lines, `BEGIN:VCARD`, `END:VCARD`, and every `REV` and
///    `PRODID` property.
/// 2. Write each remaining property canonically: the group lower-cased followed by `.`
///    (if any); the property name upper-cased; the parameters in the order written but
///    stably sorted by upper-cased name, each as `;` + upper-cased name, and when it has
///    values `=` + its values joined by `,` (a value containing `:`, `;` or `,` in
///    double quotes; `TYPE` values ASCII lower-cased, other values as written, quotes
///    removed); then `:` and the value exactly as written (escapes kept).
/// 3. Sort these strings by their UTF-8 bytes, append `\n` to each, concatenate.
/// 4. BLAKE3 (256-bit) of those bytes, as 64 lower-case hex digits.
///
/// So folding, CRLF vs LF, property order, parameter order and name case, `TYPE` value
/// case, `REV` and `PRODID` do not change it; any change of a value, a group, a
/// parameter value, or a property added or removed does. `VERSION` is included.
///
/// Errors: not UTF-8 or not a valid vCard → [`VcardError::Invalid`].
pub fn fingerprint(card: &[u8]) -> Result<String, VcardError> {
    let card = Card::parse(utf8(card)?)?;
    let mut canon: Vec<String> = card
        .parsed
        .iter()
        .map(|(_, l)| l)
        .filter(|l| !l.is("REV") && !l.is("PRODID"))
        .map(fingerprint_line)
        .collect();
    canon.sort();
    let mut hasher = blake3::Hasher::new();
    for line in &canon {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn fingerprint_line(line: &ContentLine) -> String {
    let mut out = String::with_capacity(line.value.len() + 32);
    if let Some(g) = &line.group {
        out.push_str(&g.to_ascii_lowercase());
        out.push('.');
    }
    out.push_str(&line.name.to_ascii_uppercase());
    let mut params: Vec<_> = line.params.iter().collect();
    params.sort_by_key(|p| p.name.to_ascii_uppercase());
    for p in params {
        let name = p.name.to_ascii_uppercase();
        out.push(';');
        out.push_str(&name);
        if p.values.is_empty() {
            continue;
        }
        out.push('=');
        for (k, v) in p.values.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            let v = if name == "TYPE" {
                v.to_ascii_lowercase()
            } else {
                v.clone()
            };
            if v.contains([':', ';', ',']) {
                out.push('"');
                out.push_str(&v);
                out.push('"');
            } else {
                out.push_str(&v);
            }
        }
    }
    out.push(':');
    out.push_str(&line.value);
    out
}

fn utf8(bytes: &[u8]) -> Result<&str, VcardError> {
    std::str::from_utf8(bytes).map_err(|e| {
        VcardError::Invalid(format!(
            "card is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// The card as text in `target`'s version (validated first; converted if needed).
fn as_version(bytes: &[u8], target: Version) -> Result<String, VcardError> {
    let text = utf8(bytes)?;
    let version = Card::parse(text)?.version;
    if version == target {
        return Ok(text.to_string());
    }
    let converted = super::convert(bytes, target).map_err(|e| match e {
        VcardError::Charset(m) => VcardError::Invalid(m),
        other => other,
    })?;
    String::from_utf8(converted).map_err(|_| VcardError::Invalid("conversion output".into()))
}

/// Drops items that an earlier item of the same card already covers (a client that
/// writes the same number twice must not make the merge unstable).
fn dedup(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        if !out.iter().any(|o| o.name == item.name && o.covers(&item)) {
            out.push(item);
        }
    }
    out
}

/// One output line of a replaced item: a stored line kept byte for byte, or a new
/// unfolded line.
enum Out {
    Keep(usize),
    New(String),
}

/// What happens to the stored card.
struct Plan {
    replace: Vec<Option<Vec<Out>>>,
    /// For a replaced stored item, the incoming item it now says.
    replaced_by: Vec<Option<Item>>,
    delete: Vec<bool>,
    /// Added items: their new unfolded lines, and the item (to avoid adding twice).
    add: Vec<(Vec<String>, Item)>,
    /// Group names in use (lower-cased).
    groups: Vec<String>,
}

impl Plan {
    fn new(stored: &[Item]) -> Self {
        Plan {
            replace: stored.iter().map(|_| None).collect(),
            replaced_by: stored.iter().map(|_| None).collect(),
            delete: vec![false; stored.len()],
            add: Vec::new(),
            groups: stored
                .iter()
                .filter_map(|i| i.group.as_deref())
                .map(str::to_ascii_lowercase)
                .collect(),
        }
    }

    fn fresh_group(&mut self) -> String {
        let name = (1..)
            .map(|n| format!("item{n}"))
            .find(|g| !self.groups.contains(g))
            .expect("an unused group name exists");
        self.groups.push(name.clone());
        name
    }

    fn is_empty(&self) -> bool {
        self.add.is_empty()
            && !self.delete.contains(&true)
            && self.replace.iter().all(Option::is_none)
    }

    /// Replaces stored item `a` by `theirs` unless it already covers it: the main line
    /// from `theirs`, companions of `theirs` replacing stored companions of the same name,
    /// stored companions it does not mention kept, the stored group name kept.
    fn apply(&mut self, stored: &[Item], a: usize, theirs: &Item) {
        let ours = &stored[a];
        if ours.covers(theirs) {
            return;
        }
        let group = match &ours.group {
            Some(g) => Some(g.clone()),
            None if theirs.lines.len() > 1 => Some(self.fresh_group()),
            None => None,
        };
        let same_group = group == ours.group;
        let from = theirs.group.as_deref();
        let mut out = Vec::with_capacity(ours.lines.len().max(theirs.lines.len()));
        if ours.main().canon == theirs.main().canon && same_group {
            out.push(Out::Keep(ours.main().idx));
        } else {
            out.push(Out::New(regroup(
                &theirs.main().text,
                from,
                group.as_deref(),
            )));
        }
        let mut used = vec![false; theirs.lines.len()];
        used[theirs.primary] = true;
        for c in ours.companions() {
            let replacement =
                (0..theirs.lines.len()).find(|&k| !used[k] && theirs.lines[k].name == c.name);
            match replacement {
                Some(k) => {
                    used[k] = true;
                    let t = &theirs.lines[k];
                    if t.canon == c.canon && same_group {
                        out.push(Out::Keep(c.idx));
                    } else {
                        out.push(Out::New(regroup(&t.text, from, group.as_deref())));
                    }
                }
                None if same_group => out.push(Out::Keep(c.idx)),
                None => out.push(Out::New(regroup(
                    &c.text,
                    ours.group.as_deref(),
                    group.as_deref(),
                ))),
            }
        }
        for (k, t) in theirs.lines.iter().enumerate() {
            if !used[k] {
                out.push(Out::New(regroup(&t.text, from, group.as_deref())));
            }
        }
        self.replace[a] = Some(out);
        self.replaced_by[a] = Some(theirs.clone());
    }

    /// Adds `theirs` as a new item unless an item of the result (a stored item as kept
    /// or replaced, or an item already added) covers it.
    fn add(&mut self, stored: &[Item], theirs: &Item) {
        let covered = |o: &Item| o.name == theirs.name && o.covers(theirs);
        let in_result = stored
            .iter()
            .enumerate()
            .any(|(a, s)| !self.delete[a] && covered(self.replaced_by[a].as_ref().unwrap_or(s)));
        if in_result || self.add.iter().any(|(_, o)| covered(o)) {
            return;
        }
        let group = match &theirs.group {
            Some(g) if !self.groups.contains(&g.to_ascii_lowercase()) => {
                self.groups.push(g.to_ascii_lowercase());
                Some(g.clone())
            }
            Some(_) => Some(self.fresh_group()),
            None => None,
        };
        let lines = theirs
            .lines
            .iter()
            .map(|l| regroup(&l.text, theirs.group.as_deref(), group.as_deref()))
            .collect();
        self.add.push((lines, theirs.clone()));
    }

    /// Writes the stored card with the plan applied (or returns it untouched).
    fn write(
        self,
        stored: &[u8],
        card: &Card<'_>,
        items: &[Item],
        now: &str,
    ) -> Result<Merged, VcardError> {
        if self.is_empty() {
            return Ok(Merged {
                bytes: stored.to_vec(),
                changed: false,
            });
        }
        let eol = card
            .lines
            .iter()
            .map(|l| l.eol)
            .find(|e| !e.is_empty())
            .unwrap_or("\r\n");
        let mut owner = vec![None; card.lines.len()];
        let mut first = vec![usize::MAX; items.len()];
        for (k, item) in items.iter().enumerate() {
            for l in &item.lines {
                owner[l.idx] = Some(k);
                first[k] = first[k].min(l.idx);
            }
        }
        let revs: Vec<(usize, &ContentLine)> = card
            .parsed
            .iter()
            .filter(|(_, l)| l.is("REV"))
            .map(|(i, l)| (*i, l))
            .collect();
        let new_rev = |group: Option<&str>| match group {
            Some(g) => format!("{g}.REV:{now}"),
            None => format!("REV:{now}"),
        };

        let mut out = String::with_capacity(stored.len() + 256);
        let keep = |out: &mut String, idx: usize| {
            out.push_str(card.lines[idx].raw);
            out.push_str(card.lines[idx].eol);
        };
        for (idx, owned_by) in owner.iter().enumerate() {
            if idx == card.end {
                for (lines_, _) in &self.add {
                    for l in lines_ {
                        lines::fold_into(&mut out, l, eol);
                    }
                }
                if revs.is_empty() {
                    lines::fold_into(&mut out, &new_rev(None), eol);
                }
                keep(&mut out, idx);
                continue;
            }
            if let Some(k) = *owned_by {
                if self.delete[k] {
                    continue;
                }
                if let Some(replacement) = &self.replace[k] {
                    if idx == first[k] {
                        for o in replacement {
                            match o {
                                Out::Keep(i) => keep(&mut out, *i),
                                Out::New(text) => lines::fold_into(&mut out, text, eol),
                            }
                        }
                    }
                    continue;
                }
            }
            if let Some((_, rev)) = revs.iter().find(|(i, _)| *i == idx) {
                lines::fold_into(&mut out, &new_rev(rev.group.as_deref()), eol);
                continue;
            }
            keep(&mut out, idx);
        }
        Card::parse(&out)
            .map_err(|e| VcardError::Invalid(format!("the merged card does not parse ({e})")))?;
        let bytes = out.into_bytes();
        let changed = bytes != stored;
        Ok(Merged { bytes, changed })
    }
}

/// Moves an unfolded line from group `from` to group `to`.
fn regroup(text: &str, from: Option<&str>, to: Option<&str>) -> String {
    let bare = match from {
        Some(g) if text.len() > g.len() && text.as_bytes()[g.len()] == b'.' => &text[g.len() + 1..],
        _ => text,
    };
    match to {
        Some(g) => format!("{g}.{bare}"),
        None => bare.to_string(),
    }
}
