//! vCard domain code (RFC 6350 vCard 4.0, RFC 2426 vCard 3.0): pure, no I/O, no DAV.
//!
//! - [`ingest`]: what a PUT body must pass before it is stored: charset to UTF-8, control
//!   characters removed, exactly one well-formed `VCARD` (parsed with calcard), a `UID`
//!   added when missing. The bytes are kept as sent unless one of those repairs was needed.
//! - [`convert`]: 3.0 ↔ 4.0 for clients that ask for a version (RFC 6352 §5.1.1).
//! - [`select_props`]: the `CARDDAV:address-data` property subset (RFC 6352 §10.4.2).
//! - [`filter`]: the `addressbook-query` filter model and its evaluation (RFC 6352 §10.5).
//!
//! Underneath, `lines` is a lossless content-line model (group, name, ordered
//! parameters, raw value, exact bytes) and `conversion` repairs calcard's conversion output.
//! calcard parses for validation and conversion only: a stored card is never rewritten
//! by it. vCard 2.1 is refused.
//!
//! Invariant: never touches the database or the network, never logs card contents above
//! trace level (error messages name lines and properties, never values).

mod conversion;
pub mod filter;
mod lines;
pub mod merge;
pub mod split;
#[cfg(test)]
mod tests;
pub mod uid;

use std::borrow::Cow;

/// A vCard version we store and serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V3,
    V4,
}

impl Version {
    /// The `VERSION` value: `"3.0"` or `"4.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3 => "3.0",
            Version::V4 => "4.0",
        }
    }
    /// Reads a `VERSION` value (surrounding whitespace ignored); `None` for any other.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "3.0" => Some(Version::V3),
            "4.0" => Some(Version::V4),
            _ => None,
        }
    }
}

/// A card accepted for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The bytes to store: the input unchanged, or repaired (see `repaired`).
    pub bytes: Vec<u8>,
    /// The card's UID (the one it carried, or the one added).
    pub uid: String,
    pub version: Version,
    /// True when `bytes` differ from the input (charset converted, control characters
    /// removed, UID added): the PUT response must then carry no ETag.
    pub repaired: bool,
    /// True when the card came without a (non-empty) `UID` and `uid` was made up here.
    pub uid_added: bool,
}

/// Why a body is not an acceptable vCard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VcardError {
    /// The declared charset is unknown or the bytes are not valid in it, or there is no
    /// charset and the bytes are not UTF-8 (→ `CARDDAV:supported-address-data`).
    #[error("unsupported charset: {0}")]
    Charset(String),
    /// Not exactly one parseable VCARD with a supported VERSION (→ `CARDDAV:valid-address-data`).
    #[error("invalid vCard: {0}")]
    Invalid(String),
}

/// Validates and repairs a body for storage. `charset` is the Content-Type `charset`
/// parameter, if any.
///
/// 1. Charset: a declared charset other than UTF-8 is converted with `encoding_rs`; an
///    unknown label or bytes malformed in it → [`VcardError::Charset`]. Without a charset
///    the body must be UTF-8 (no guessing). A leading BOM is dropped.
/// 2. C0 control characters other than TAB, CR and LF, and DEL, are removed (iOS
///    re-requests a multiget forever otherwise, sabre-io/Baikal#1029). They are single
///    ASCII bytes, so removing them never cuts a UTF-8 sequence nor touches a fold. Bare
///    LF line endings are accepted and kept.
/// 3. Exactly one `BEGIN:VCARD` … `END:VCARD` with nothing but whitespace around it,
///    every line a content line, parseable by calcard, `VERSION` 3.0 or 4.0 (vCard 2.1
///    is refused for now: it needs quoted-printable and charset handling per property).
///    4.0 requires `FN` (RFC 6350 §6.2.1). RFC 2426 requires both `FN` and `N` for 3.0;
///    we are lenient and accept either.
/// 4. `UID`: the value, trimmed (a `urn:uuid:` value is kept as it is). Without one, a
///    `UID:<new_uid()>` line is inserted right before `END:VCARD` with the card's own line
///    ending; an empty `UID` line is replaced the same way. More than one `UID` line (even
///    with the same value) → invalid: a card has one identity (RFC 6350 §6.7.6).
///
/// The card is never re-serialised here: `bytes` is the input with only those repairs
/// applied, and `repaired` says whether it differs from the input at all.
pub fn ingest(body: &[u8], charset: Option<&str>) -> Result<Ingested, VcardError> {
    let decoded = decode(body, charset)?;
    let without_bom = decoded.strip_prefix('\u{feff}').unwrap_or(&decoded);
    let text = strip_controls(without_bom);
    let card = Card::parse(&text)?;

    let has = |name: &str| card.props().any(|(_, l)| l.is(name));
    match card.version {
        Version::V4 if !has("FN") => {
            return Err(VcardError::Invalid("vCard 4.0 without FN".into()));
        }
        Version::V3 if !has("FN") && !has("N") => {
            return Err(VcardError::Invalid("vCard 3.0 without FN or N".into()));
        }
        _ => {}
    }

    let uid_lines: Vec<_> = card.props().filter(|(_, l)| l.is("UID")).collect();
    if uid_lines.len() > 1 {
        return Err(VcardError::Invalid("more than one UID".into()));
    }
    let uids: Vec<&str> = uid_lines
        .iter()
        .map(|(_, l)| l.value.trim())
        .filter(|v| !v.is_empty())
        .collect();

    let (bytes, uid) = match uids.first() {
        Some(uid) => (text.as_bytes().to_vec(), (*uid).to_string()),
        None => {
            let uid = new_uid();
            let line = format!("UID:{uid}");
            let mut out = String::with_capacity(text.len() + line.len() + 2);
            match uid_lines.first() {
                // An empty UID line: replace it in place.
                Some((raw, _)) => {
                    out.push_str(&text[..raw.start]);
                    out.push_str(&line);
                    out.push_str(&text[raw.start + raw.raw.len()..]);
                }
                None => {
                    let end = card.lines[card.end];
                    let eol = card.lines[..card.end]
                        .iter()
                        .rev()
                        .map(|l| l.eol)
                        .find(|e| !e.is_empty())
                        .unwrap_or("\r\n");
                    out.push_str(&text[..end.start]);
                    out.push_str(&line);
                    out.push_str(eol);
                    out.push_str(&text[end.start..]);
                }
            }
            (out.into_bytes(), uid)
        }
    };
    let repaired = bytes != body;
    Ok(Ingested {
        bytes,
        uid,
        version: card.version,
        repaired,
        uid_added: uids.is_empty(),
    })
}

/// The version a stored card declares (`VERSION:`), if it is one we know. A cheap line
/// scan, no parse.
pub fn version_of(body: &[u8]) -> Option<Version> {
    body.split(|&b| b == b'\n').find_map(|line| {
        let prefix = line.get(..8)?;
        if !prefix.eq_ignore_ascii_case(b"VERSION:") {
            return None;
        }
        Version::parse(std::str::from_utf8(&line[8..]).ok()?)
    })
}

/// Converts a stored card to `target`. Returns the input unchanged when it already is of
/// that version. 4.0-only parameters are dropped going to 3.0; `PHOTO` survives both ways
/// (`ENCODING=b;TYPE=JPEG` ↔ `data:image/jpeg;base64,`).
///
/// calcard does the conversion (dates, binary ↔ `data:` URIs); [`convert`] then repairs
/// what calcard writes (see the `conversion` module) and folds every line at 75 octets on
/// character boundaries with CRLF endings. Groups, `X-` properties and non-ASCII text
/// survive; parameter spelling may change (calcard merges repeated `TYPE`s into one list
/// and upper-cases known values).
pub fn convert(body: &[u8], target: Version) -> Result<Vec<u8>, VcardError> {
    let from = version_of(body).ok_or_else(|| VcardError::Invalid("no known VERSION".into()))?;
    if from == target {
        return Ok(body.to_vec());
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| VcardError::Charset("stored card is not UTF-8".into()))?;
    conversion::convert(text, target).map(String::into_bytes)
}

/// Keeps only the named properties (upper-case names) plus the ones a vCard must have
/// (`BEGIN`, `END`, `VERSION`, `UID`, `FN`, and for 3.0 `N`). Grouped properties keep
/// their group.
///
/// A line filter: every kept line is copied byte for byte (folds and line endings
/// included). Apple's companion lines (`itemN.X-ABLabel`, `itemN.X-ABADR`, any `X-AB…`
/// in a group) are kept when another kept line has the same group. Names are compared
/// ASCII case-insensitively. A body that is not UTF-8 is returned unchanged.
pub fn select_props(body: &[u8], names: &[String]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(body) else {
        return body.to_vec();
    };
    let mut always: Vec<&str> = vec!["BEGIN", "END", "VERSION", "UID", "FN"];
    if version_of(body) == Some(Version::V3) {
        always.push("N");
    }
    let wanted = |name: &str| {
        always.iter().any(|n| n.eq_ignore_ascii_case(name))
            || names.iter().any(|n| n.eq_ignore_ascii_case(name))
    };

    let lines: Vec<_> = lines::split(text)
        .into_iter()
        .map(|raw| {
            let parsed = lines::ContentLine::parse(&raw.unfolded());
            (raw, parsed)
        })
        .collect();
    let kept_groups: Vec<&str> = lines
        .iter()
        .filter_map(|(_, l)| l.as_ref())
        .filter(|l| wanted(&l.name))
        .filter_map(|l| l.group.as_deref())
        .collect();
    let keep = |l: &lines::ContentLine| {
        wanted(&l.name)
            || (l.name.len() > 4
                && l.name[..4].eq_ignore_ascii_case("X-AB")
                && l.group
                    .as_deref()
                    .is_some_and(|g| kept_groups.iter().any(|k| k.eq_ignore_ascii_case(g))))
    };

    let mut out = Vec::with_capacity(body.len());
    for (raw, parsed) in &lines {
        if parsed.as_ref().is_some_and(keep) {
            out.extend_from_slice(raw.raw.as_bytes());
            out.extend_from_slice(raw.eol.as_bytes());
        }
    }
    out
}

/// Decodes the body to UTF-8 text per the declared charset (see [`ingest`]).
fn decode<'a>(body: &'a [u8], charset: Option<&str>) -> Result<Cow<'a, str>, VcardError> {
    let label = charset
        .map(|c| c.trim().trim_matches('"'))
        .filter(|c| !c.is_empty());
    let Some(label) = label else {
        return std::str::from_utf8(body).map(Cow::Borrowed).map_err(|e| {
            VcardError::Charset(format!(
                "body is not UTF-8 (invalid byte at offset {}) and declares no charset",
                e.valid_up_to()
            ))
        });
    };
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes())
        .filter(|e| *e != encoding_rs::REPLACEMENT)
        .ok_or_else(|| VcardError::Charset(format!("unknown charset {label:?}")))?;
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .ok_or_else(|| VcardError::Charset(format!("body is not valid {}", encoding.name())))
}

/// Removes C0 controls other than TAB, CR and LF, and DEL.
fn strip_controls(text: &str) -> Cow<'_, str> {
    let bad = |c: char| (c.is_ascii_control() && !matches!(c, '\t' | '\r' | '\n')) || c == '\x7f';
    if text.contains(bad) {
        Cow::Owned(text.chars().filter(|&c| !bad(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// A card that passed the structural checks: its logical lines, the parsed content
/// lines between `BEGIN` and `END`, and its version.
pub(crate) struct Card<'a> {
    pub lines: Vec<lines::RawLine<'a>>,
    /// Index in `lines` of `END:VCARD`.
    pub end: usize,
    /// `(index in lines, parsed)` for every non-blank line strictly inside the card.
    pub parsed: Vec<(usize, lines::ContentLine)>,
    pub version: Version,
}

impl<'a> Card<'a> {
    /// Structural validation (see [`ingest`], step 3), then a calcard parse.
    pub fn parse(text: &'a str) -> Result<Self, VcardError> {
        let invalid = |m: &str| VcardError::Invalid(m.to_string());
        let lines = lines::split(text);
        let first = lines
            .iter()
            .position(|l| !l.is_blank())
            .ok_or_else(|| invalid("empty body"))?;
        let end = lines
            .iter()
            .rposition(|l| !l.is_blank())
            .ok_or_else(|| invalid("empty body"))?;
        let is = |i: usize, what: &str| lines[i].unfolded().trim_end().eq_ignore_ascii_case(what);
        if !is(first, "BEGIN:VCARD") {
            return Err(invalid("body does not start with BEGIN:VCARD"));
        }
        if end == first || !is(end, "END:VCARD") {
            return Err(invalid("body does not end with END:VCARD"));
        }

        let mut parsed = Vec::with_capacity(end - first);
        let mut version = None;
        for (i, raw) in lines.iter().enumerate().take(end).skip(first + 1) {
            if raw.is_blank() {
                continue;
            }
            let line = lines::ContentLine::parse(&raw.unfolded()).ok_or_else(|| {
                VcardError::Invalid(format!("line {} is not a content line", i + 1))
            })?;
            if line.is("BEGIN") || line.is("END") {
                return Err(invalid("more than one component in the body"));
            }
            if line.is("VERSION") {
                if version.is_some() {
                    return Err(invalid("more than one VERSION"));
                }
                version = Some(match Version::parse(&line.value) {
                    Some(v) => v,
                    None if line.value.trim() == "2.1" => {
                        return Err(invalid("vCard 2.1 is not supported"));
                    }
                    None => return Err(invalid("unsupported VERSION")),
                });
            }
            parsed.push((i, line));
        }
        let version = version.ok_or_else(|| invalid("no VERSION"))?;

        let mut parser = calcard::Parser::new(text);
        match parser.entry() {
            calcard::Entry::VCard(_) => {}
            _ => return Err(invalid("calcard does not parse the card")),
        }
        if !matches!(parser.entry(), calcard::Entry::Eof) {
            return Err(invalid("more than one component in the body"));
        }
        Ok(Card {
            lines,
            end,
            parsed,
            version,
        })
    }

    /// The content lines inside the card with their raw form.
    pub fn props(&self) -> impl Iterator<Item = (lines::RawLine<'a>, &lines::ContentLine)> + '_ {
        self.parsed.iter().map(|(i, l)| (self.lines[*i], l))
    }
}

/// A fresh UID for a card that has none (a UUID v4, lower-case).
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}
