//! vCard 3.0 ↔ 4.0 conversion (RFC 6350 Appendix A, RFC 2426), for clients that ask for
//! a version (RFC 6352 §5.1.1).
//!
//! calcard converts (date forms, `ENCODING=b` ↔ `data:` URIs); this module then repairs
//! its output line by line on our content-line model and refolds it:
//! - 4.0: a `data:` URI is written with an escaped comma (`base64\,`), which breaks the
//!   photo in every client (Kozea/Radicale#1863): unescaped. A 3.0 media `TYPE`
//!   (`TYPE=JPEG`) left on a 4.0 `PHOTO`/`LOGO`/`SOUND`/`KEY` is dropped (4.0 `TYPE`
//!   means work/home). `TYPE=pref` becomes `PREF=1`. Apple group cards
//!   (`X-ADDRESSBOOKSERVER-KIND`/`-MEMBER`) become `KIND`/`MEMBER`.
//! - 3.0: the `CHARSET=UTF-8` calcard adds to non-ASCII properties is dropped (3.0 is
//!   UTF-8 by its MIME type; RFC 2426 has no such parameter); 4.0-only parameters are
//!   dropped (iOS misreads them, stalwartlabs/stalwart#3265) and `PREF=1` becomes
//!   `TYPE=pref`; `KIND`/`MEMBER` become Apple's `X-ADDRESSBOOKSERVER-KIND`/`-MEMBER`;
//!   a `tel:` URI becomes a plain number and `TEL;VALUE=TEXT` plain `TEL`; a URI `PHOTO`
//!   gets `VALUE=uri`.
//! - both: lines are folded at 75 octets, never inside a UTF-8 sequence
//!   (sabre-io/dav#421), with CRLF endings.
//!
//! Not done: other 4.0-only properties (`GENDER`, `ANNIVERSARY`, …) are kept as they are
//! going to 3.0 (3.0 readers ignore unknown properties); the `LABEL` parameter is not
//! turned back into a 3.0 `LABEL` property.

use super::lines::{self, ContentLine, Param};
use super::{VcardError, Version};

/// Parameters that exist only in vCard 4.0 and its extensions: RFC 6350 §5 (ALTID, PID,
/// PREF, MEDIATYPE, CALSCALE, SORT-AS, GEO, TZ), RFC 6715 §3 (INDEX, LEVEL), RFC 7095
/// (GROUP), RFC 8605 §3.1 (CC), RFC 9554 §4 (AUTHOR … USERNAME), RFC 9555 §3.3 (JSPTR,
/// JSCOMPS). `LANGUAGE`, `VALUE` and `TYPE` exist in 3.0 too.
const V4_ONLY_PARAMS: &[&str] = &[
    "ALTID",
    "PID",
    "PREF",
    "MEDIATYPE",
    "CALSCALE",
    "SORT-AS",
    "GEO",
    "TZ",
    "INDEX",
    "LEVEL",
    "GROUP",
    "CC",
    "AUTHOR",
    "AUTHOR-NAME",
    "CREATED",
    "DERIVED",
    "LABEL",
    "PHONETIC",
    "PROP-ID",
    "SCRIPT",
    "SERVICE-TYPE",
    "USERNAME",
    "JSPTR",
    "JSCOMPS",
];

/// Properties whose value may be inline binary data.
const BINARY_PROPS: &[&str] = &["PHOTO", "LOGO", "SOUND", "KEY"];

const APPLE_KIND: &str = "X-ADDRESSBOOKSERVER-KIND";
const APPLE_MEMBER: &str = "X-ADDRESSBOOKSERVER-MEMBER";

/// Converts a UTF-8 card whose version differs from `target`.
pub(super) fn convert(text: &str, target: Version) -> Result<String, VcardError> {
    let card = match calcard::Parser::new(text).entry() {
        calcard::Entry::VCard(card) => card,
        _ => {
            return Err(VcardError::Invalid(
                "calcard does not parse the card".into(),
            ));
        }
    };
    let version = match target {
        Version::V3 => calcard::vcard::VCardVersion::V3_0,
        Version::V4 => calcard::vcard::VCardVersion::V4_0,
    };
    let mut written = String::with_capacity(text.len() + text.len() / 8);
    card.write_to(&mut written, version)
        .map_err(|_| VcardError::Invalid("calcard cannot write the card".into()))?;

    let mut parsed: Vec<Result<ContentLine, String>> = lines::split(&written)
        .iter()
        .filter(|l| !l.is_blank())
        .map(|l| {
            let unfolded = l.unfolded();
            ContentLine::parse(&unfolded).ok_or_else(|| unfolded.into_owned())
        })
        .collect();

    let has = |lines: &[Result<ContentLine, String>], name: &str| {
        lines.iter().flatten().any(|l| l.is(name))
    };
    let map_apple_groups = match target {
        Version::V3 => !has(&parsed, APPLE_KIND),
        Version::V4 => !has(&parsed, "KIND"),
    };

    let mut out = String::with_capacity(written.len());
    for line in &mut parsed {
        match line {
            Ok(line) => {
                match target {
                    Version::V3 => to_v3(line, map_apple_groups),
                    Version::V4 => to_v4(line, map_apple_groups),
                }
                lines::fold_into(&mut out, &line.write(), "\r\n");
            }
            Err(unparsed) => lines::fold_into(&mut out, unparsed, "\r\n"),
        }
    }
    Ok(out)
}

fn is_any(line: &ContentLine, names: &[&str]) -> bool {
    names.iter().any(|n| line.is(n))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Keeps only the `TYPE` values for which `keep` holds (dropping emptied `TYPE`
/// parameters); returns whether any value was removed.
fn take_type_value(line: &mut ContentLine, keep: impl Fn(&str) -> bool) -> bool {
    let mut found = false;
    for p in line
        .params
        .iter_mut()
        .filter(|p| p.name.eq_ignore_ascii_case("TYPE"))
    {
        let before = p.values.len();
        p.values.retain(|v| keep(v));
        found |= p.values.len() != before;
    }
    line.params
        .retain(|p| !(p.name.eq_ignore_ascii_case("TYPE") && p.values.is_empty()));
    found
}

fn to_v3(line: &mut ContentLine, map_apple_groups: bool) {
    line.remove_param("CHARSET");
    let preferred = line.param_values("PREF").any(|v| v.trim() == "1");
    for name in V4_ONLY_PARAMS {
        line.remove_param(name);
    }
    if preferred
        && !line
            .param_values("TYPE")
            .any(|v| v.eq_ignore_ascii_case("pref"))
    {
        match line
            .params
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case("TYPE"))
        {
            Some(types) => types.values.push("pref".into()),
            None => line.params.push(Param {
                name: "TYPE".into(),
                values: vec!["pref".into()],
            }),
        }
    }

    if map_apple_groups && line.is("KIND") && line.value.eq_ignore_ascii_case("group") {
        line.name = APPLE_KIND.into();
        line.value = line.value.to_ascii_lowercase();
    } else if map_apple_groups && line.is("MEMBER") {
        line.name = APPLE_MEMBER.into();
    }

    let is_uri = line
        .param_values("VALUE")
        .any(|v| v.eq_ignore_ascii_case("uri"));
    if line.is("TEL") && is_uri && starts_with_ignore_case(&line.value, "tel:") {
        // 3.0 TEL is text; iOS would show the scheme as part of the number.
        line.value = line.value[4..].to_string();
        line.remove_param("VALUE");
    }
    if line.is("TEL")
        && line
            .param_values("VALUE")
            .all(|v| v.eq_ignore_ascii_case("text"))
    {
        // Thunderbird writes `TEL;VALUE=TEXT` in 4.0; 3.0 TEL has no VALUE=text.
        line.remove_param("VALUE");
    }
    if is_any(line, BINARY_PROPS)
        && !line.has_param("ENCODING")
        && !line.has_param("VALUE")
        && line.value.contains(':')
    {
        line.params.push(Param {
            name: "VALUE".into(),
            values: vec!["uri".into()],
        });
    }
}

fn to_v4(line: &mut ContentLine, map_apple_groups: bool) {
    line.remove_param("CHARSET");
    line.remove_param("ENCODING");

    if is_any(line, BINARY_PROPS) && starts_with_ignore_case(&line.value, "data:") {
        // calcard escapes the comma of `;base64,`; a data URI has no escapes at all.
        line.value = line.value.replace("\\,", ",");
        // A 3.0 media-type TYPE (JPEG, PNG, GIF…) is now in the data URI.
        take_type_value(line, |v| {
            ["work", "home", "pref"]
                .iter()
                .any(|k| v.eq_ignore_ascii_case(k))
        });
    }

    if take_type_value(line, |v| !v.eq_ignore_ascii_case("pref")) && !line.has_param("PREF") {
        line.params.push(Param {
            name: "PREF".into(),
            values: vec!["1".into()],
        });
    }

    if map_apple_groups && line.is(APPLE_KIND) {
        line.name = "KIND".into();
        line.value = line.value.to_ascii_lowercase();
    } else if map_apple_groups && line.is(APPLE_MEMBER) {
        line.name = "MEMBER".into();
    }
}
