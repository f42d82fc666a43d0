//! Phone numbers as account keys: normalisation to E.164 (ITU-T E.164 via the
//! `phonenumber` crate, Google's libphonenumber metadata).
//!
//! A person may type their number in any common form: `+44 20 7946 0000`, `02079460000`
//! (national, with the configured default region), `442079460000` (international without
//! `+`: iOS 18.4+ mangles `+` in user names, Kozea/Radicale#1865), `0044…`, or
//! percent-encoded `%2B44…` in a URL. All reach the same account.
//!
//! Does not: look up accounts (see `storage`), or decide what a number may access.

use phonenumber::{Mode, country};

/// Why a string is not a usable phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid phone number")]
pub struct InvalidNumber;

/// Normalises a user-typed or URL-decoded number to E.164 (`+` and digits).
///
/// Order of attempts: an explicit international form (`+…` or `00…`) is parsed without a
/// region; otherwise the national reading with `region` is tried first, then the digits
/// as an international number without `+`. The first reading that libphonenumber's
/// metadata calls valid wins, so `2025550123` with region US is `+12025550123` while
/// `442079460000` with region US is `+442079460000`.
///
/// Results are memoised (the function is pure and libphonenumber's validation is
/// regex-heavy: the profile showed it as a third of a multiget's CPU before); the memo is
/// bounded and simply cleared when full.
pub fn normalize(input: &str, region: Option<&str>) -> Result<String, InvalidNumber> {
    let key = (input.to_string(), region.map(str::to_string));
    if let Some(hit) = MEMO.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return hit;
    }
    let result = normalize_uncached(input, region);
    if let Ok(mut m) = MEMO.lock() {
        if m.len() >= MEMO_MAX {
            m.clear();
        }
        m.insert(key, result.clone());
    }
    result
}

type MemoKey = (String, Option<String>);
/// Enough for the numbers of a 10,000-card book (an uplink normalises each several
/// times: identity, item mapping, the second pass), about 2 MB when full.
const MEMO_MAX: usize = 16_384;
static MEMO: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<MemoKey, Result<String, InvalidNumber>>>,
> = std::sync::LazyLock::new(Default::default);

fn normalize_uncached(input: &str, region: Option<&str>) -> Result<String, InvalidNumber> {
    let decoded = percent_encoding::percent_decode_str(input.trim()).decode_utf8_lossy();
    // Keep digits and a leading plus; drop the separators people type.
    let mut cleaned = String::with_capacity(decoded.len());
    for (i, c) in decoded.trim().chars().enumerate() {
        match c {
            '0'..='9' => cleaned.push(c),
            '+' if i == 0 => cleaned.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return Err(InvalidNumber),
        }
    }
    if cleaned.len() < 4 || cleaned.len() > 20 {
        return Err(InvalidNumber);
    }
    if let Some(rest) = cleaned.strip_prefix("00") {
        cleaned = format!("+{rest}");
    }
    if cleaned.starts_with('+') {
        return parse_valid(None, &cleaned).ok_or(InvalidNumber);
    }
    let region = region.and_then(|r| r.parse::<country::Id>().ok());
    if let Some(id) = region
        && let Some(n) = parse_valid(Some(id), &cleaned)
    {
        return Ok(n);
    }
    parse_valid(None, &format!("+{cleaned}")).ok_or(InvalidNumber)
}

fn parse_valid(region: Option<country::Id>, s: &str) -> Option<String> {
    let n = phonenumber::parse(region, s).ok()?;
    if !phonenumber::is_valid(&n) {
        return None;
    }
    Some(n.format().mode(Mode::E164).to_string())
}

/// Whether a region code (ISO 3166-1 alpha-2, e.g. `GB`) is known to the metadata.
pub fn is_known_region(region: &str) -> bool {
    region.parse::<country::Id>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONDON: &str = "+442079460000";

    #[test]
    fn international_form_with_spaces_normalises() {
        assert_eq!(normalize("+44 20 7946 0000", Some("US")).unwrap(), LONDON);
    }

    #[test]
    fn national_form_uses_default_region() {
        assert_eq!(normalize("020 7946 0000", Some("GB")).unwrap(), LONDON);
        assert_eq!(normalize("02079460000", Some("GB")).unwrap(), LONDON);
    }

    #[test]
    fn digits_without_plus_are_read_as_international() {
        assert_eq!(normalize("442079460000", Some("GB")).unwrap(), LONDON);
        assert_eq!(normalize("442079460000", Some("US")).unwrap(), LONDON);
        assert_eq!(normalize("442079460000", None).unwrap(), LONDON);
    }

    #[test]
    fn double_zero_prefix_is_international() {
        assert_eq!(normalize("0044 20 7946 0000", Some("US")).unwrap(), LONDON);
    }

    #[test]
    fn percent_encoded_plus_is_decoded() {
        assert_eq!(normalize("%2B442079460000", None).unwrap(), LONDON);
    }

    #[test]
    fn national_reading_wins_when_valid() {
        assert_eq!(
            normalize("(202) 555-0123", Some("US")).unwrap(),
            "+12025550123"
        );
    }

    #[test]
    fn letters_and_garbage_are_refused() {
        assert_eq!(normalize("alice", Some("GB")), Err(InvalidNumber));
        assert_eq!(
            normalize("+44 20 7946 000x", Some("GB")),
            Err(InvalidNumber)
        );
        assert_eq!(normalize("", Some("GB")), Err(InvalidNumber));
        assert_eq!(normalize("12", Some("GB")), Err(InvalidNumber));
    }

    #[test]
    fn uk_mobile_numbers_used_in_tests_are_valid() {
        assert_eq!(normalize("+44 7911 100004", None).unwrap(), "+447911100004");
        assert_eq!(normalize("+44 7911 150004", None).unwrap(), "+447911150004");
    }

    #[test]
    fn ofcom_drama_mobile_range_is_not_a_valid_number() {
        // libphonenumber's metadata excludes 07700 900xxx; cards carrying such numbers
        // have no phone identity for matching.
        assert_eq!(normalize("+44 7700 900004", None), Err(InvalidNumber));
    }

    #[test]
    fn invalid_number_is_refused() {
        assert_eq!(normalize("+44 1", None), Err(InvalidNumber));
    }
}
