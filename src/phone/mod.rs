//! Phone numbers: the account key (E.164) and the identity of a number written in a card
//! (ITU-T E.164 through the `phonenumber` crate, Google's libphonenumber metadata).
//!
//! Two readings, one parser ([`written`] reduces every spelling to digits first):
//! - [`normalize`] / [`check`]: a number a person types to log in or to create an
//!   account, in any common form — `+44 20 7946 0000`, `02079460000` (national, with the
//!   configured region), `442079460000` (international without `+`: iOS 18.4+ mangles `+`
//!   in user names, Kozea/Radicale#1865), `0044…`, `011…` from North America, or
//!   percent-encoded `%2B44…` in a URL. All reach the same account. A number the
//!   metadata calls valid is preferred; a merely *possible* one (right length for its
//!   country, in a range the metadata does not know yet) is accepted and reported as not
//!   allocated, because the metadata always lags the numbering plans.
//! - [`identity`]: the key under which a `TEL` value of a card is compared, for record
//!   matching and item mapping in the merge. Every written value has one: the E.164 form
//!   when the number is possible, else a canonical digit string (with the country code
//!   when one is known). Matching never asks whether a range is allocated (libphonenumber's
//!   validity); it uses the calling codes, trunk and international prefixes and the
//!   lengths of each country's numbers. Extensions and short codes are identities of
//!   their own; only numbers long enough to tell people apart are *strong*.
//!
//! Invariant: reading a key again gives the key (a property test over arbitrary
//! spellings), and every spelling of a possible number has the same key (a property
//! test over twelve countries' numbers written nationally, with `+`, the international
//! prefix, `(0)`, `tel:` and full-width digits).
//!
//! A number written without a country code is read in a *region*: the server's
//! configured region when there is one, else the country of the account's own number
//! ([`data_region`]), so a `+44` account reads `020 7946 0100` as `+442079460100`.
//!
//! Does not: look up accounts (see `storage`), or decide what a number may access.

mod written;

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, country};

/// Why a string is not a usable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a phone number")]
pub struct InvalidNumber;

/// An account number as [`check`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// `+` and digits.
    pub e164: String,
    /// Whether libphonenumber's metadata knows the number's range. `false` for a number
    /// of the right length in a range allocated after the metadata was cut (or a
    /// fictional range such as `+1 555 010 xxxx`).
    pub allocated: bool,
}

/// The identity of a number written in a card. Two values are the same number exactly
/// when their keys are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneId {
    /// `+CCNNN…` (E.164) for a possible number; otherwise the canonical digits (`+` and
    /// the country code when known), or the lower-cased text when it is not a dialable
    /// number. An extension adds `;ext=DIGITS`.
    pub key: String,
    /// Whether the key can tell a person apart: a possible number (with or without an
    /// extension), or a canonical digit string of at least [`STRONG_DIGITS`] digits.
    /// Short codes (`999`, `*121#`), stubs such as `12345` and text are not.
    pub strong: bool,
}

/// The fewest national digits that identify a person (fewer are short codes, internal
/// extensions, stubs or typing errors); a country whose longest fixed or mobile numbers
/// are shorter (the Falklands, Niue) needs only that many.
pub const STRONG_DIGITS: usize = 7;

/// Values longer than this are not memoised (a `TEL` can hold anything up to the resource
/// size; a number is never this long).
const MEMO_INPUT_MAX: usize = 64;

/// Normalises a user-typed or URL-decoded number to E.164 (`+` and digits). See
/// [`check`].
pub fn normalize(input: &str, region: Option<&str>) -> Result<String, InvalidNumber> {
    check(input, region).map(|n| n.e164)
}

/// Reads a user-typed or URL-decoded account number.
///
/// Readings, in order: an explicit international form (`+…`, or the digits after the
/// region's international prefix) alone; otherwise the national reading in `region`,
/// then the digits after `00` or `011`, then the digits as an international number
/// without `+`. The first reading the metadata calls valid wins (so `2025550123` with
/// region US is `+12025550123` while `442079460000` with region US is `+442079460000`);
/// when none is valid, the first possible one, with `allocated: false`.
///
/// Errors: letters, an extension, a service code, fewer than 4 or more than 20 digits,
/// or no possible reading → [`InvalidNumber`].
///
/// Memoised (pure; libphonenumber's validation is regex-heavy: the profile showed it as
/// a third of a multiget's CPU before).
pub fn check(input: &str, region: Option<&str>) -> Result<Normalized, InvalidNumber> {
    if input.len() > MEMO_INPUT_MAX {
        return Err(InvalidNumber);
    }
    ACCOUNT_MEMO.get_or(input, region, || check_uncached(input, region))
}

/// The identity of a `TEL` value written in a card, read in `region` when it has no
/// country code. Never fails. Memoised like [`check`].
///
/// Readings, in order: with a `+`, after the region's international prefix (`00`; `011`
/// in North America; `00` and a carrier code in Brazil), or with a `tel:` URI's
/// `phone-context=+CC`, the number in that country alone; otherwise the national reading
/// in `region`, the digits after `00` or `011` (another country's prefix), and — for 8
/// digits or more — the digits as an international number whose `+` was lost. The first
/// *possible* reading (right length for its country) gives the E.164 key; validity is
/// never asked. Without one, the canonical digit string.
pub fn identity(value: &str, region: Option<&str>) -> PhoneId {
    if value.len() > MEMO_INPUT_MAX {
        return identity_uncached(value, region);
    }
    IDENTITY_MEMO.get_or(value, region, || identity_uncached(value, region))
}

/// The region a number without a country code is read in, in an account's own data:
/// the server's configured region, else the country of the account's number.
pub fn data_region<'a>(configured: Option<&'a str>, account_e164: &str) -> Option<&'a str> {
    configured.or_else(|| home_region(account_e164))
}

/// The region (ISO 3166-1 alpha-2) of an E.164 number: the main country of its calling
/// code (`+1` → `US`, `+44` → `GB`, `+7` → `RU`), which shares its numbering plan with
/// the code's other countries; `None` for non-geographic codes (`+800`, `+882`) and
/// strings that are no number. Asks only the calling codes, so a metadata update never
/// moves an account to another region.
pub fn home_region(e164: &str) -> Option<&'static str> {
    let digits = e164.strip_prefix('+')?;
    let (cc, _) = split_cc(digits)?;
    let id = main_meta(cc)?.id();
    is_known_region(id).then_some(id)
}

/// Whether a region code (ISO 3166-1 alpha-2, e.g. `GB`) is known to the metadata.
pub fn is_known_region(region: &str) -> bool {
    region.parse::<country::Id>().is_ok()
}

/// An account number must read back as itself: the E.164 form is read once more (and
/// refused when it is no number on its own).
fn check_uncached(input: &str, region: Option<&str>) -> Result<Normalized, InvalidNumber> {
    let first = read_account(input, region)?;
    read_account(&first.e164, None)
}

fn read_account(input: &str, region: Option<&str>) -> Result<Normalized, InvalidNumber> {
    let decoded = percent_encoding::percent_decode_str(input.trim()).decode_utf8_lossy();
    let w = written::read(&decoded);
    if w.foreign
        || w.ext.is_some()
        || w.context.is_some()
        || w.digits.contains(['*', '#'])
        || !(4..=20).contains(&w.digits.len())
    {
        return Err(InvalidNumber);
    }
    let mut first_possible = None;
    for (r, s) in readings(&w, region) {
        let Some(n) = parse_reading(r, &s) else {
            continue;
        };
        if !is_possible(&n) {
            continue;
        }
        if phonenumber::is_valid(&n) {
            return Ok(Normalized {
                e164: e164(&n),
                allocated: true,
            });
        }
        first_possible.get_or_insert_with(|| e164(&n));
    }
    first_possible
        .map(|e164| Normalized {
            e164,
            allocated: false,
        })
        .ok_or(InvalidNumber)
}

fn identity_uncached(value: &str, region: Option<&str>) -> PhoneId {
    let w = written::read(value);
    if w.foreign || w.digits.is_empty() {
        return PhoneId {
            key: value
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            strong: false,
        };
    }
    let service = w.digits.contains(['*', '#']);
    let found = (!service && w.digits.len() <= 20)
        .then(|| {
            readings(&w, region)
                .into_iter()
                .filter_map(|(r, s)| parse_reading(r, &s))
                .find(is_possible)
        })
        .flatten();
    // A canonical key is an international spelling; when that spelling is a possible
    // number (`00 0…` after a trunk digit), the key is its E.164 form, so that reading a
    // key again gives the key.
    let found = found.or_else(|| {
        let (k, _) = (!service).then(|| canonical_digits(&w, region))?;
        parse_reading(None, k.strip_prefix('+').map(|_| k.as_str())?).filter(is_possible)
    });
    let (mut key, strong) = match found {
        Some(n) => {
            let national = n.national().to_string().len();
            (e164(&n), national >= strong_digits(n.code().value()))
        }
        None if service => (w.digits.clone(), false),
        None => canonical_digits(&w, region),
    };
    if let Some(ext) = &w.ext {
        key.push_str(";ext=");
        key.push_str(ext);
    }
    PhoneId { key, strong }
}

/// The national digits a possible number of calling code `cc` needs to be strong.
fn strong_digits(cc: u16) -> usize {
    let longest = DATABASE
        .by_code(&cc)
        .into_iter()
        .flatten()
        .flat_map(|m| {
            let d = m.descriptors();
            [d.fixed_line(), d.mobile()]
        })
        .flatten()
        .flat_map(|t| t.possible_length().iter().copied())
        .max()
        .unwrap_or(STRONG_DIGITS as u16);
    STRONG_DIGITS.min(longest as usize)
}

/// The key of a number no reading makes possible: `+`, the country code when one is
/// known and the national digits without the trunk prefix; and whether it has enough
/// digits to identify a person.
fn canonical_digits(w: &written::Written, region: Option<&str>) -> (String, bool) {
    let d = w.digits.as_str();
    if w.plus {
        return plus_key(d);
    }
    if let Some(rest) = after_idd(d, region) {
        return plus_key(rest);
    }
    let meta = match &w.context {
        Some(cc) => cc.parse().ok().and_then(main_meta),
        None => region.and_then(|r| DATABASE.by_id(r)),
    };
    if let Some(meta) = meta {
        let national = meta
            .national_prefix()
            .and_then(|p| d.strip_prefix(p))
            .filter(|rest| !rest.is_empty())
            .unwrap_or(d);
        return plus_key(&format!("{}{national}", meta.country_code()));
    }
    if let Some(cc) = &w.context {
        return plus_key(&format!("{cc}{d}"));
    }
    (d.to_string(), d.len() >= STRONG_DIGITS)
}

/// `+` and `digits` (country code and national number), and whether the national part
/// (after a known country code, else after one digit) has [`STRONG_DIGITS`] digits.
fn plus_key(digits: &str) -> (String, bool) {
    let cc_len = split_cc(digits).map_or(1, |(_, national)| digits.len() - national.len());
    (
        format!("+{digits}"),
        digits.len().saturating_sub(cc_len) >= STRONG_DIGITS,
    )
}

/// The calling code a digit string starts with, and the rest. Calling codes are
/// prefix-free, so the split is unique.
fn split_cc(digits: &str) -> Option<(u16, &str)> {
    (1..=3).find_map(|k| {
        let cc = digits.get(..k)?.parse::<u16>().ok()?;
        DATABASE.by_code(&cc)?;
        Some((cc, &digits[k..]))
    })
}

/// The metadata of the main country of a calling code.
fn main_meta(cc: u16) -> Option<&'static phonenumber::Metadata> {
    let metas = DATABASE.by_code(&cc)?;
    metas
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or(metas.first())
        .copied()
}

/// The digits after the international prefix `d` starts with: the region's own (`00` in
/// most of the world, `011` in North America, `00` and a carrier code in Brazil), or
/// `00`/`011` when no region is known. `None` when `d` does not start with one (in
/// Britain `0113…` is Leeds, in India `011…` is Delhi).
fn after_idd<'a>(d: &'a str, region: Option<&str>) -> Option<&'a str> {
    let rest = match region.and_then(|r| DATABASE.by_id(r)) {
        Some(meta) => {
            let m = meta.international_prefix()?.find(d)?;
            d.get(m.end()..).filter(|_| m.start() == 0)?
        }
        None => d.strip_prefix("00").or_else(|| d.strip_prefix("011"))?,
    };
    (!rest.is_empty() && !rest.starts_with('0')).then_some(rest)
}

/// The strings to try, each with the region to parse it in, in order of preference.
fn readings(w: &written::Written, region: Option<&str>) -> Vec<(Option<country::Id>, String)> {
    let d = &w.digits;
    if w.plus {
        return vec![(None, format!("+{d}"))];
    }
    if let Some(cc) = &w.context {
        // RFC 3966 §5.1.5: a local number is read in the country its context names.
        return match cc
            .parse()
            .ok()
            .and_then(main_meta)
            .and_then(|m| m.id().parse().ok())
        {
            Some(r) => vec![(Some(r), d.clone())],
            None => vec![(None, format!("+{cc}{d}"))],
        };
    }
    // After an international prefix the number is in the country it names, read by that
    // country's rules (libphonenumber would strip the trunk prefix by the region's:
    // `0039 06…` would lose Rome's 0, `011 49 171…` become a Stuttgart landline).
    if let Some(rest) = after_idd(d, region) {
        return vec![(None, format!("+{rest}"))];
    }
    let mut out = Vec::with_capacity(4);
    if let Some(r) = region.and_then(|r| r.parse::<country::Id>().ok()) {
        out.push((Some(r), d.clone()));
    }
    // Another country's international prefix (a number copied from abroad).
    for idd in ["00", "011"] {
        if let Some(rest) = d.strip_prefix(idd).filter(|r| !r.is_empty()) {
            out.push((None, format!("+{rest}")));
        }
    }
    // A `+` lost on export or by iOS (Kozea/Radicale#1865); short local numbers are
    // never read as foreign.
    if !d.starts_with('0') && d.len() >= 8 {
        out.push((None, format!("+{d}")));
    }
    out
}

/// Parses one reading. A national reading whose leading digits equal the region's
/// calling code is taken as written when that is a possible number (an Indian mobile
/// `91234 56789` is not `+91 23456789`); libphonenumber strips the code only when the
/// rest is no number, this crate always does.
///
/// The result is read again in its `+` form until that gives the same number (while it
/// is possible): the E.164 key must read back as itself, and a national reading can keep
/// a digit its `+` form drops (`000 1…` in Germany keeps leading zeros that `+49 0…`
/// loses, one per reading, as trunk digits).
fn parse_reading(region: Option<country::Id>, s: &str) -> Option<PhoneNumber> {
    let mut n = parse(region, s)?;
    if region.is_some() && n.code().source() == country::Source::Number {
        let whole = parse(None, &format!("+{}{s}", n.code().value()));
        if let Some(w) = whole.filter(is_possible) {
            n = w;
        }
    }
    // Each reading of a `+` form strips at most one trunk digit (`+49 000 1…`), so this
    // ends within as many steps as the number has leading zeros.
    for _ in 0..8 {
        let key = e164(&n);
        match parse(None, &key) {
            Some(again) if is_possible(&again) && e164(&again) != key => n = again,
            _ => break,
        }
    }
    Some(n)
}

fn parse(region: Option<country::Id>, s: &str) -> Option<PhoneNumber> {
    phonenumber::parse(region, s).ok()
}

/// A number of a length its country's numbers have (libphonenumber's `isPossibleNumber`
/// for an unknown type: the lengths of every number type of the country; local-only
/// lengths such as a US number without its area code do not count). Says nothing about
/// whether the range is allocated.
fn is_possible(n: &PhoneNumber) -> bool {
    let len = n.national().to_string().len() as u16;
    DATABASE.by_code(&n.code().value()).is_some_and(|metas| {
        metas.iter().any(|m| {
            let d = m.descriptors();
            [
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .chain([d.general()])
            .any(|t| t.possible_length().contains(&len))
        })
    })
}

fn e164(n: &PhoneNumber) -> String {
    n.format().mode(Mode::E164).to_string()
}

/// A bounded memo of a pure function of (string, region): two generations of at most
/// [`MEMO_MAX`] entries; when the young one is full it becomes the old one, and a hit in
/// the old one is copied back, so what a long upload uses again stays in.
struct Memo<V>(std::sync::LazyLock<std::sync::Mutex<Generations<V>>>);

struct Generations<V> {
    young: HashMap<MemoKey, V>,
    old: HashMap<MemoKey, V>,
}

impl<V> Default for Generations<V> {
    fn default() -> Self {
        Generations {
            young: HashMap::new(),
            old: HashMap::new(),
        }
    }
}

type MemoKey = (String, Option<String>);

/// Entries per generation. Keys are at most [`MEMO_INPUT_MAX`] bytes, so a full memo
/// holds at most about 2 × 16,384 × 200 bytes ≈ 6.5 MB; a 10,000-card upload reads
/// about 30,000 distinct numbers (its own and the stored cards').
const MEMO_MAX: usize = 16_384;

use std::collections::HashMap;

impl<V: Clone> Memo<V> {
    const fn new() -> Self {
        Memo(std::sync::LazyLock::new(Default::default))
    }

    fn get_or(&self, input: &str, region: Option<&str>, f: impl FnOnce() -> V) -> V {
        let key = (input.to_string(), region.map(str::to_string));
        if let Ok(mut g) = self.0.lock() {
            if let Some(hit) = g.young.get(&key) {
                return hit.clone();
            }
            if let Some(hit) = g.old.remove(&key) {
                g.young.insert(key, hit.clone());
                return hit;
            }
        }
        let v = f();
        if let Ok(mut g) = self.0.lock() {
            if g.young.len() >= MEMO_MAX {
                g.old = std::mem::take(&mut g.young);
            }
            g.young.insert(key, v.clone());
        }
        v
    }
}

static ACCOUNT_MEMO: Memo<Result<Normalized, InvalidNumber>> = Memo::new();
static IDENTITY_MEMO: Memo<PhoneId> = Memo::new();

#[cfg(test)]
mod tests;
