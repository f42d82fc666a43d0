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
//!   when one is known). Matching never looks at the metadata's allocation tables.
//!   Extensions and short codes are identities of their own.
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

/// The fewest national digits a number that the metadata cannot place needs to identify
/// a person (fewer are short codes, internal extensions or typing errors).
pub const STRONG_DIGITS: usize = 7;

/// Normalises a user-typed or URL-decoded number to E.164 (`+` and digits). See
/// [`check`].
pub fn normalize(input: &str, region: Option<&str>) -> Result<String, InvalidNumber> {
    check(input, region).map(|n| n.e164)
}

/// Reads a user-typed or URL-decoded account number.
///
/// Readings, in order: an explicit international form (`+…`) alone; otherwise the
/// national reading in `region`, then the digits after an international prefix (`00`,
/// `011`), then the digits as an international number without `+`. The first reading
/// the metadata calls valid wins (so `2025550123` with region US is `+12025550123` while
/// `442079460000` with region US is `+442079460000`); when none is valid, the first
/// possible one, with `allocated: false`.
///
/// Errors: letters, an extension, a service code, fewer than 4 or more than 20 digits,
/// or no possible reading → [`InvalidNumber`].
///
/// Memoised (pure; libphonenumber's validation is regex-heavy: the profile showed it as
/// a third of a multiget's CPU before); the memo is bounded and cleared when full.
pub fn check(input: &str, region: Option<&str>) -> Result<Normalized, InvalidNumber> {
    ACCOUNT_MEMO.get_or(input, region, || check_uncached(input, region))
}

/// The identity of a `TEL` value written in a card, read in `region` when it has no
/// country code. Never fails. Memoised like [`check`].
///
/// Readings, in order: with a `+` (or a `tel:` URI's `phone-context=+CC`), the number in
/// that country; otherwise the national reading in `region`, the digits after `00` or
/// `011`, and the digits as an international number whose `+` was lost. The first
/// *possible* reading (right length for its country) gives the E.164 key; validity is
/// never asked. Without one, the canonical digit string.
pub fn identity(value: &str, region: Option<&str>) -> PhoneId {
    IDENTITY_MEMO.get_or(value, region, || identity_uncached(value, region))
}

/// The region a number without a country code is read in, in an account's own data:
/// the server's configured region, else the country of the account's number.
pub fn data_region<'a>(configured: Option<&'a str>, account_e164: &str) -> Option<&'a str> {
    configured.or_else(|| home_region(account_e164))
}

/// The region (ISO 3166-1 alpha-2) of an E.164 number: the country whose ranges hold it,
/// else the main country of its calling code (`+1` → `US`); `None` for non-geographic
/// codes (`+800`, `+882`) and strings that are no number.
pub fn home_region(e164: &str) -> Option<&'static str> {
    let n = parse(None, e164)?;
    let meta = match n.country().id() {
        Some(id) => DATABASE.by_id(id.as_ref()),
        None => main_meta(n.code().value()),
    }?;
    is_known_region(meta.id()).then(|| meta.id())
}

/// Whether a region code (ISO 3166-1 alpha-2, e.g. `GB`) is known to the metadata.
pub fn is_known_region(region: &str) -> bool {
    region.parse::<country::Id>().is_ok()
}

/// Like [`identity_uncached`], an account number must read back as itself: the E.164
/// form is checked once more (and refused when it is no number on its own).
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
        let Some(n) = parse(r, &s) else { continue };
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

/// The identity is the fixed point of [`read_identity`]: a key read again gives itself.
/// One step rarely moves: libphonenumber strips a trunk or carrier prefix by the rules
/// of the region it parses in, so a number parsed in one region but belonging to another
/// (`0055 90…` read in Germany) can change once more when its `+` form is read.
fn identity_uncached(value: &str, region: Option<&str>) -> PhoneId {
    let mut id = read_identity(value, region);
    for _ in 0..3 {
        let again = read_identity(&id.key, region);
        if again == id {
            break;
        }
        id = again;
    }
    id
}

fn read_identity(value: &str, region: Option<&str>) -> PhoneId {
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
                .filter_map(|(r, s)| parse(r, &s))
                .find(is_possible)
        })
        .flatten();
    let (mut key, strong) = match found {
        Some(n) => (e164(&n), true),
        None if service => (w.digits.clone(), false),
        None => canonical_digits(&w, region),
    };
    if let Some(ext) = &w.ext {
        key.push_str(";ext=");
        key.push_str(ext);
    }
    PhoneId { key, strong }
}

/// The key of a number no reading makes possible: `+`, the country code when one is
/// known and the national digits without the trunk prefix; and whether it has enough
/// digits to identify a person.
fn canonical_digits(w: &written::Written, region: Option<&str>) -> (String, bool) {
    let d = w.digits.as_str();
    if w.plus {
        return plus_key(d);
    }
    if let Some(rest) = d.strip_prefix("00") {
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
/// Country codes are prefix-free, so the split is unique.
fn plus_key(digits: &str) -> (String, bool) {
    let cc_len = (1..=3)
        .find(|&k| {
            digits
                .get(..k)
                .and_then(|cc| cc.parse::<u16>().ok())
                .is_some_and(|cc| DATABASE.by_code(&cc).is_some())
        })
        .unwrap_or(1);
    (
        format!("+{digits}"),
        digits.len().saturating_sub(cc_len) >= STRONG_DIGITS,
    )
}

/// The metadata of the main country of a calling code written as digits.
fn main_meta(cc: u16) -> Option<&'static phonenumber::Metadata> {
    let metas = DATABASE.by_code(&cc)?;
    metas
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or(metas.first())
        .copied()
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
    let mut out = Vec::with_capacity(4);
    if let Some(r) = region.and_then(|r| r.parse::<country::Id>().ok()) {
        out.push((Some(r), d.clone()));
    }
    for idd in ["00", "011"] {
        if let Some(rest) = d.strip_prefix(idd) {
            out.push((None, format!("+{rest}")));
        }
    }
    if !d.starts_with('0') {
        out.push((None, format!("+{d}")));
    }
    out
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

/// A bounded memo of a pure function of (string, region).
struct Memo<V>(std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<MemoKey, V>>>);
type MemoKey = (String, Option<String>);

/// Enough for the numbers of a 10,000-card book (an uplink reads each several times:
/// identity, item mapping, the second pass), about 2 MB when full.
const MEMO_MAX: usize = 16_384;

impl<V: Clone> Memo<V> {
    const fn new() -> Self {
        Memo(std::sync::LazyLock::new(Default::default))
    }

    fn get_or(&self, input: &str, region: Option<&str>, f: impl FnOnce() -> V) -> V {
        let key = (input.to_string(), region.map(str::to_string));
        if let Some(hit) = self.0.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let v = f();
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= MEMO_MAX {
                m.clear();
            }
            m.insert(key, v.clone());
        }
        v
    }
}

static ACCOUNT_MEMO: Memo<Result<Normalized, InvalidNumber>> = Memo::new();
static IDENTITY_MEMO: Memo<PhoneId> = Memo::new();

#[cfg(test)]
mod tests;
