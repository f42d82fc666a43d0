//! A phone number as a person or a phone wrote it, reduced to what identifies it: the
//! digits, whether an international prefix was written, an extension, the country of a
//! `tel:` URI's `phone-context`.
//!
//! Understands the spellings that phone books and exports really contain: `+` (also
//! full-width `＋`), spaces of every width (no-break, narrow, thin, ideographic), dots,
//! dashes (ASCII, Unicode hyphens and dashes, the minus sign), slashes, brackets, the
//! `(0)` trunk digit after a country code, bidirectional marks that iOS wraps numbers
//! in, digits of other scripts (full-width, Arabic-Indic, Devanagari, …), `tel:` URIs
//! with `;ext=` and `;phone-context=` (RFC 3966, vCard 4.0 `VALUE=uri`), and extensions
//! written `x123`, `ext. 123`, `extension 123`, `,123` (a pause) or `;123` (a wait).
//!
//! Does not: decide which country a number belongs to (see the parent module).

/// What [`read`] makes of a written number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Written {
    /// A `+` was written before the digits.
    pub plus: bool,
    /// ASCII digits, and the `*` and `#` of service codes, in order.
    pub digits: String,
    /// The extension's digits, when one was written.
    pub ext: Option<String>,
    /// The country code of a `phone-context=+CC…` parameter.
    pub context: Option<String>,
    /// Something that is neither a digit, a separator nor an extension marker (letters
    /// of a vanity number, stray text): the string is not a dialable number.
    pub foreign: bool,
}

/// The value of a decimal digit of any script, `None` for anything else.
fn digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    // Zero of each Unicode block of ten decimal digits a phone book may hold.
    const ZEROS: [u32; 9] = [
        0xFF10, // full-width
        0x0660, // Arabic-Indic
        0x06F0, // Extended Arabic-Indic (Persian, Urdu)
        0x0966, // Devanagari
        0x09E6, // Bengali
        0x0BE6, // Tamil
        0x0E50, // Thai
        0x1040, // Myanmar
        0x0AE6, // Gujarati
    ];
    let u = c as u32;
    ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&u))
        .and_then(|&z| char::from_digit(u - z, 10))
}

/// Characters people put between digits, and invisible formatting marks.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.'
                | '/'
                | '('
                | ')'
                | '['
                | ']'
                | '\u{2010}'..='\u{2015}' // hyphens and dashes
                | '\u{2212}' // minus sign
                | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
                | '\u{202A}'..='\u{202E}' // bidirectional embeddings (iOS)
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FF08}' // full-width ( ) - . /
                | '\u{FF09}'
                | '\u{FF0D}'
                | '\u{FF0E}'
                | '\u{FF0F}'
                | '\u{00AD}' // soft hyphen
                | '\u{30FC}' // katakana prolonged sound mark, used as a dash in Japan
                | '\u{301C}' // wave dash
                | '\u{FF5E}' // full-width tilde
                | '~'
        )
}

/// Strips `prefix` from the start of `s`, ignoring ASCII case.
fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The digits of an extension: `s` after its marker, which must hold digits (and
/// separators) only.
fn ext_digits(s: &str) -> Option<String> {
    let s = s.trim_start_matches(|c: char| c == '.' || c == ':' || c == '=' || is_separator(c));
    let mut out = String::new();
    for c in s.chars() {
        match digit(c) {
            Some(d) => out.push(d),
            None if is_separator(c) => {}
            None => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// An extension written after the number in words: `x123`, `ext 123`, `ext. 123`,
/// `extn 123`, `extension 123` (any case). `s` starts at the first letter.
fn word_extension(s: &str) -> Option<String> {
    for marker in ["extension", "extn", "ext", "x"] {
        if let Some(rest) = strip_ci(s, marker)
            && let Some(e) = ext_digits(rest)
        {
            return Some(e);
        }
    }
    None
}

/// Reads a written number. Never fails: what cannot be a number is marked `foreign`.
pub(super) fn read(raw: &str) -> Written {
    let mut w = Written::default();
    let s = raw.trim();
    let s = strip_ci(s, "tel:").unwrap_or(s);
    // `;` starts RFC 3966 parameters (or an Android "wait"), `,` a pause before an
    // extension.
    let (main, tail) = match s.find([';', ',']) {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    if let Some(tail) = tail {
        read_tail(tail, &mut w);
    }
    let chars: Vec<char> = main.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(d) = digit(c) {
            w.digits.push(d);
        } else if c == '+' || c == '\u{FF0B}' {
            if w.plus || !w.digits.is_empty() {
                w.foreign = true;
            }
            w.plus = true;
        } else if c == '('
            && chars.get(i + 1).and_then(|&c| digit(c)) == Some('0')
            && chars.get(i + 2) == Some(&')')
        {
            // `+44 (0)20 …`: the trunk digit is dialled only inside the country, so it is
            // dropped after an international prefix and kept in a national number.
            if !(w.plus || w.digits.starts_with("00") || w.digits.starts_with("011")) {
                w.digits.push('0');
            }
            i += 3;
            continue;
        } else if c == '*' || c == '#' {
            w.digits.push(c);
        } else if is_separator(c) {
        } else if c.is_alphabetic() && !w.digits.is_empty() && w.ext.is_none() {
            let rest: String = chars[i..].iter().collect();
            match word_extension(&rest) {
                Some(e) => w.ext = Some(e),
                None => w.foreign = true,
            }
            break;
        } else {
            w.foreign = true;
        }
        i += 1;
    }
    w
}

/// Reads what follows the number: `;ext=…`, `;phone-context=…`, other RFC 3966
/// parameters (ignored), or digits after `;`/`,` (a dialling pause before an extension).
fn read_tail(tail: &str, w: &mut Written) {
    for part in tail
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if let Some((name, value)) = part.split_once('=') {
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("ext") {
                match ext_digits(value) {
                    Some(e) => w.ext = Some(e),
                    None => w.foreign = true,
                }
            } else if name.eq_ignore_ascii_case("phone-context")
                && let Some(cc) = value.strip_prefix('+')
            {
                let cc: String = cc.chars().filter_map(digit).collect();
                // A calling code has one to three digits.
                if (1..=3).contains(&cc.len()) {
                    w.context = Some(cc);
                }
            }
            // isub= and other URI parameters are not part of the number's identity.
        } else if w.ext.is_none() {
            // `…,123` (a pause), `…;123` (a wait), `…, ext. 123`, `…, x123`.
            let first_letter = part.find(char::is_alphabetic);
            let e = match first_letter {
                Some(0) => word_extension(part),
                Some(_) => None,
                None => ext_digits(part),
            };
            match e {
                Some(e) => w.ext = Some(e),
                None => w.foreign = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> String {
        read(s).digits
    }

    #[test]
    fn separators_of_every_kind_are_dropped() {
        assert_eq!(digits("+44 20 7946-0100"), "442079460100");
        assert_eq!(
            digits("+44\u{a0}20\u{202f}7946\u{2009}0100"),
            "442079460100"
        );
        assert_eq!(digits("(020) 7946.0100"), "02079460100");
        assert_eq!(digits("\u{202a}+44 20 7946 0100\u{202c}"), "442079460100");
        assert_eq!(digits("020\u{2013}7946\u{2011}0100"), "02079460100");
    }

    #[test]
    fn digits_of_other_scripts_are_read() {
        assert_eq!(digits("０２０ ７９４６ ０１００"), "02079460100");
        assert_eq!(digits("٠٢٠٧٩٤٦٠١٠٠"), "02079460100");
        assert!(read("＋４４").plus);
    }

    #[test]
    fn trunk_digit_in_brackets_is_dropped_only_after_a_country_code() {
        assert_eq!(digits("+44 (0)20 7946 0100"), "442079460100");
        assert_eq!(digits("0044 (0) 20 7946 0100"), "00442079460100");
        assert_eq!(digits("(0)20 7946 0100"), "02079460100");
    }

    #[test]
    fn extensions_in_every_spelling() {
        for s in [
            "+44 20 7946 0100 x123",
            "+44 20 7946 0100x123",
            "+44 20 7946 0100 ext. 123",
            "+44 20 7946 0100 Ext 123",
            "+44 20 7946 0100 extension 123",
            "+44 20 7946 0100,123",
            "+44 20 7946 0100;123",
            "tel:+44-20-7946-0100;ext=123",
            "tel:+44-20-7946-0100;ext = 123",
            "+44 20 7946 0100, ext. 123",
            "+44 20 7946 0100, x123",
        ] {
            let w = read(s);
            assert_eq!(w.ext.as_deref(), Some("123"), "{s}");
            assert_eq!(w.digits, "442079460100", "{s}");
            assert!(!w.foreign, "{s}");
        }
    }

    #[test]
    fn tel_uri_phone_context_gives_the_country() {
        let w = read("tel:020-7946-0100;phone-context=+44");
        assert_eq!(w.context.as_deref(), Some("44"));
        assert_eq!(w.digits, "02079460100");
    }

    #[test]
    fn letters_make_a_string_foreign() {
        assert!(read("1-800-FLOWERS").foreign);
        assert!(read("n/a").foreign);
        assert!(read("+44 20 7946 0100 abc").foreign);
        assert!(read("+44 +20").foreign);
    }

    #[test]
    fn service_codes_keep_star_and_hash() {
        assert_eq!(digits("*121#"), "*121#");
    }
}
