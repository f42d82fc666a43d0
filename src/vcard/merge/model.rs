//! The item model the merge works on: a card's properties grouped into items, each with
//! the normalised forms used to map and compare them (see the table in `super`).
//!
//! Everything here is derived from `lines::ContentLine`; the exact bytes of a stored line
//! are reached through `Line::idx` (its index in `Card::lines`), never rebuilt.

use super::super::Card;
use super::super::lines::{ContentLine, unescape_text};
use crate::phone::{PhoneId, identity as phone_identity};

/// Properties the merge never maps, adds or deletes: the card's frame and its
/// bookkeeping. The stored card's own `VERSION`, `UID` and `PRODID` are kept; `REV` is
/// rewritten when anything else changed.
pub(super) const MANAGED: &[&str] = &["VERSION", "UID", "REV", "PRODID", "BEGIN", "END"];

/// Properties that map by name alone (one per card in practice, whatever the RFC
/// cardinality): a new value replaces the old one.
pub(super) const SINGLE: &[&str] = &[
    "FN",
    "N",
    "BDAY",
    "ANNIVERSARY",
    "GENDER",
    "KIND",
    "PHOTO",
    "LOGO",
    "ORG",
    "TITLE",
    "ROLE",
    "NOTE",
    "NICKNAME",
    "CATEGORIES",
    "TZ",
    "GEO",
    "SORT-STRING",
    "X-PHONETIC-FIRST-NAME",
    "X-PHONETIC-MIDDLE-NAME",
    "X-PHONETIC-LAST-NAME",
    "X-ABSHOWAS",
    "X-ADDRESSBOOKSERVER-KIND",
    "X-MAIDENNAME",
    "X-MS-OL-DESIGN",
    "X-MS-MANAGER",
    "X-MS-ASSISTANT",
    "X-MS-SPOUSE",
];

/// Properties of RFC 6350 cardinality `*1` among [`SINGLE`]: the only ones mapped by name
/// between items that are new on both sides of a three-way merge.
pub(super) const AT_MOST_ONE: &[&str] = &["N", "BDAY", "ANNIVERSARY", "GENDER", "KIND"];

/// Multi-valued properties that, failing a value match, map by type (`TYPE` set plus
/// Apple label) when that is unambiguous.
pub(super) const BY_TYPE: &[&str] = &["TEL", "EMAIL", "ADR"];

/// Lines that qualify the main property of an Apple-style group rather than being one.
const COMPANIONS: &[&str] = &["X-ABLABEL", "X-ABADR"];

/// `TYPE` values that carry no meaning for mapping: `pref` (a preference, not a kind),
/// `internet` (the only kind of e-mail), `voice` (the 3.0 default for `TEL`).
const NEUTRAL_TYPES: &[&str] = &["pref", "internet", "voice"];

/// One content line of a card.
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// Index in `Card::lines` (meaningful for the card it was read from).
    pub idx: usize,
    pub parsed: ContentLine,
    /// The unfolded line as written.
    pub text: String,
    /// Upper-case property name.
    pub name: String,
    /// Canonical form: name, canonical parameters, canonical value.
    pub canon: String,
}

/// One item: an ungrouped property, or every line of one group (`item1.TEL` +
/// `item1.X-ABLabel`), which travel together.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// The group as written, if any.
    pub group: Option<String>,
    /// The lines in card order.
    pub lines: Vec<Line>,
    /// Index in `lines` of the main property (the first line that is not a companion).
    pub primary: usize,
    /// Upper-case name of the main property.
    pub name: String,
    /// Normalised value of the main property, for mapping by value.
    pub key: String,
    /// Type key (`TYPE` values without the neutral ones, plus the label), if not empty.
    pub types: Option<String>,
}

impl Item {
    pub fn main(&self) -> &Line {
        &self.lines[self.primary]
    }

    pub fn companions(&self) -> impl Iterator<Item = &Line> {
        self.lines
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != self.primary)
            .map(|(_, l)| l)
    }

    pub fn is_single(&self) -> bool {
        SINGLE.contains(&self.name.as_str())
    }

    /// Whether `self` already says everything `other` says: same main property
    /// (canonical form) and every companion of `other` present in `self`. Extra
    /// companions in `self` do not count, because merging never removes them.
    pub fn covers(&self, other: &Item) -> bool {
        self.main().canon == other.main().canon
            && other
                .companions()
                .all(|c| self.companions().any(|s| s.canon == c.canon))
    }
}

/// Reads the items of a parsed card, in card order (by the position of their first line).
pub(super) fn items(card: &Card<'_>, region: Option<&str>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    for (idx, parsed) in &card.parsed {
        let name = parsed.name.to_ascii_uppercase();
        if MANAGED.contains(&name.as_str()) {
            continue;
        }
        let text = card.lines[*idx].unfolded().into_owned();
        let canon = format!(
            "{name}{}:{}",
            canon_params(parsed),
            canon_value(parsed, region)
        );
        let line = Line {
            idx: *idx,
            parsed: parsed.clone(),
            text,
            name,
            canon,
        };
        let existing = parsed.group.as_deref().and_then(|g| {
            out.iter_mut().find(|it| {
                it.group
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(g))
            })
        });
        match existing {
            Some(item) => item.lines.push(line),
            None => out.push(Item {
                group: parsed.group.clone(),
                lines: vec![line],
                primary: 0,
                name: String::new(),
                key: String::new(),
                types: None,
            }),
        }
    }
    for item in &mut out {
        item.primary = item
            .lines
            .iter()
            .position(|l| !COMPANIONS.contains(&l.name.as_str()))
            .unwrap_or(0);
        let main = &item.lines[item.primary];
        item.name = main.name.clone();
        item.key = key_value(&main.parsed, region);
        let mut types = type_set(&main.parsed);
        for c in item.companions() {
            if c.name == "X-ABLABEL" {
                types.push(format!(
                    "label={}",
                    unescape_text(&c.parsed.value).trim().to_lowercase()
                ));
            }
        }
        item.types = (!types.is_empty()).then(|| types.join(","));
    }
    out
}

/// `TYPE` values, lower-cased, split at commas, without the neutral ones, sorted, unique.
fn type_set(line: &ContentLine) -> Vec<String> {
    let mut types: Vec<String> = line
        .param_values("TYPE")
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && !NEUTRAL_TYPES.contains(&v.as_str()))
        .collect();
    types.sort();
    types.dedup();
    types
}

/// Canonical parameters: names upper-cased; all `TYPE` values as one lower-cased,
/// sorted, de-duplicated list (`pref` kept, `internet`/`voice` dropped); `CHARSET` and
/// `VALUE=text` dropped (UTF-8 and text are the defaults); the rest sorted by name.
fn canon_params(line: &ContentLine) -> String {
    let mut types: Vec<String> = line
        .param_values("TYPE")
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && v != "internet" && v != "voice")
        .collect();
    types.sort();
    types.dedup();
    let mut others: Vec<String> = line
        .params
        .iter()
        .filter(|p| {
            let n = p.name.to_ascii_uppercase();
            !(n == "TYPE"
                || n == "CHARSET"
                || (n == "VALUE" && p.values.iter().all(|v| v.eq_ignore_ascii_case("text"))))
        })
        .map(|p| format!("{}={}", p.name.to_ascii_uppercase(), p.values.join(",")))
        .collect();
    others.sort();
    let mut out = String::new();
    if !types.is_empty() {
        out.push_str(";TYPE=");
        out.push_str(&types.join(","));
    }
    for o in others {
        out.push(';');
        out.push_str(&o);
    }
    out
}

/// The value compared for "same content": `TEL` by its phone identity, `EMAIL`
/// lower-cased, anything else unescaped with trailing empty components removed.
fn canon_value(line: &ContentLine, region: Option<&str>) -> String {
    match line.name.to_ascii_uppercase().as_str() {
        "TEL" => tel_key(&line.value, region),
        "EMAIL" => email_key(&line.value),
        _ => unescape_text(trim_empty_components(&line.value)).into_owned(),
    }
}

/// The value used to map items: like [`canon_value`], and for `ADR`, `N` and `ORG` also
/// case-folded with white space collapsed per component.
fn key_value(line: &ContentLine, region: Option<&str>) -> String {
    match line.name.to_ascii_uppercase().as_str() {
        "ADR" | "N" | "ORG" => split_components(trim_empty_components(&line.value))
            .iter()
            .map(|c| fold_text(&unescape_text(c)))
            .collect::<Vec<_>>()
            .join(";"),
        _ => canon_value(line, region),
    }
}

/// A phone number's key: its identity ([`crate::phone::identity`]), after vCard
/// unescaping.
pub(super) fn tel_key(value: &str, region: Option<&str>) -> String {
    phone_identity(&unescape_text(value), region).key
}

/// A phone number's identity: its key, and whether the key can tell a person apart
/// (`PhoneId::strong`).
pub(super) fn tel_identity(value: &str, region: Option<&str>) -> PhoneId {
    phone_identity(&unescape_text(value), region)
}

/// An e-mail address's key: unescaped, `mailto:` removed, trimmed, lower-cased.
pub(super) fn email_key(value: &str) -> String {
    let v = unescape_text(value);
    let v = v.trim();
    let v = strip_prefix_ci(v, "mailto:").unwrap_or(v);
    v.trim().to_lowercase()
}

/// Lower-cases (Unicode) and collapses every run of white space into one space, trimmed.
pub(super) fn fold_text(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Splits a raw value at unescaped `;`.
pub(super) fn split_components(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ';' => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Removes trailing unescaped `;` (empty trailing components: `N:Doe;Jane;;;` is
/// `N:Doe;Jane`).
fn trim_empty_components(value: &str) -> &str {
    let mut v = value;
    while let Some(rest) = v.strip_suffix(';') {
        let backslashes = rest.chars().rev().take_while(|&c| c == '\\').count();
        if backslashes % 2 == 1 {
            break;
        }
        v = rest;
    }
    v
}

/// Maps each item of `incoming` to at most one item of `stored`; returns, per incoming
/// item, the index of its stored item. Passes, each over the items still unmapped:
/// 1. an equivalent stored item ([`Item::covers`]);
/// 2. same name and same normalised value;
/// 3. a property in [`SINGLE`] (in [`AT_MOST_ONE`] unless `loose`): same name, when
///    exactly one unmapped stored item and exactly one unmapped incoming item have that
///    name;
/// 4. a property in [`BY_TYPE`] (only when `loose`): same name and same non-empty type
///    key, when exactly one unmapped item on each side has that name and key.
pub(super) fn map(stored: &[Item], incoming: &[Item], loose: bool) -> Vec<Option<usize>> {
    let mut to: Vec<Option<usize>> = vec![None; incoming.len()];
    let mut taken = vec![false; stored.len()];
    for exact in [true, false] {
        for (b, item) in incoming.iter().enumerate() {
            if to[b].is_some() {
                continue;
            }
            let ok = |s: &Item| {
                s.name == item.name
                    && if exact {
                        s.covers(item)
                    } else {
                        s.key == item.key
                    }
            };
            if let Some(a) = (0..stored.len()).find(|&a| !taken[a] && ok(&stored[a])) {
                taken[a] = true;
                to[b] = Some(a);
            }
        }
    }
    let single = |item: &Item| {
        let listed = if loose {
            item.is_single()
        } else {
            AT_MOST_ONE.contains(&item.name.as_str())
        };
        listed.then(|| item.name.clone())
    };
    unique_slots(stored, incoming, &mut to, &mut taken, single);
    if loose {
        let typed = |item: &Item| {
            let types = item.types.as_deref()?;
            BY_TYPE
                .contains(&item.name.as_str())
                .then(|| format!("{};{types}", item.name))
        };
        unique_slots(stored, incoming, &mut to, &mut taken, typed);
    }
    to
}

/// Maps unmapped items whose slot (`slot` → `Some`) is held by exactly one unmapped item
/// on each side.
fn unique_slots(
    stored: &[Item],
    incoming: &[Item],
    to: &mut [Option<usize>],
    taken: &mut [bool],
    slot: impl Fn(&Item) -> Option<String>,
) {
    let in_slots: Vec<Option<String>> = incoming
        .iter()
        .enumerate()
        .map(|(b, item)| if to[b].is_none() { slot(item) } else { None })
        .collect();
    let st_slots: Vec<Option<String>> = stored
        .iter()
        .enumerate()
        .map(|(a, item)| if taken[a] { None } else { slot(item) })
        .collect();
    for (b, s) in in_slots.iter().enumerate() {
        let Some(s) = s else { continue };
        let rivals = in_slots.iter().filter(|o| o.as_ref() == Some(s)).count();
        let candidates: Vec<usize> = (0..stored.len())
            .filter(|&a| st_slots[a].as_ref() == Some(s))
            .collect();
        if rivals == 1 && candidates.len() == 1 && !taken[candidates[0]] {
            taken[candidates[0]] = true;
            to[b] = Some(candidates[0]);
        }
    }
}
