//! A lossless content-line model (RFC 6350 §3.2–§3.3, RFC 2425 §5.8.1 for vCard 3.0).
//!
//! A card is split into logical lines that remember their exact bytes (folds included),
//! their line ending and their offset, so that callers can keep, drop or replace whole
//! lines and write everything else back byte for byte. A logical line can further be
//! parsed into group, name, ordered parameters (quotes removed) and the raw, still
//! escaped value.
//!
//! Not done here: value unescaping beyond [`unescape_text`], RFC 6868 `^` parameter
//! escapes, quoted-printable (vCard 2.1). Invariant: nothing in this module allocates a
//! new card from a parsed model unless a caller asks for [`ContentLine::write`].

use std::borrow::Cow;

/// Longest physical line we write, in octets, without the line ending (RFC 6350 §3.2).
pub(crate) const FOLD_OCTETS: usize = 75;

/// One logical (unfolded) line as it sits in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLine<'a> {
    /// The bytes as written, folds included, without the final line ending.
    pub raw: &'a str,
    /// The line ending that followed (`"\r\n"`, `"\n"`, or `""` at the end of input).
    pub eol: &'a str,
    /// Byte offset of `raw` in the text.
    pub start: usize,
}

impl<'a> RawLine<'a> {
    /// The line with every fold (line ending + one space or tab) removed.
    pub fn unfolded(&self) -> Cow<'a, str> {
        if !self.raw.contains('\n') {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        for (i, part) in self.raw.split('\n').enumerate() {
            let part = part.strip_suffix('\r').unwrap_or(part);
            if i == 0 {
                out.push_str(part);
            } else {
                // A continuation starts with exactly one fold character.
                out.push_str(&part[1..]);
            }
        }
        Cow::Owned(out)
    }

    /// True for a line holding nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.raw.trim().is_empty()
    }
}

/// Splits a text into logical lines. A physical line that starts with a space or a tab
/// continues the previous one. Accepts CRLF and bare LF endings and keeps whichever it
/// found.
pub(crate) fn split(text: &str) -> Vec<RawLine<'_>> {
    let mut lines: Vec<RawLine<'_>> = Vec::new();
    let mut pos = 0;
    let bytes = text.as_bytes();
    while pos < text.len() {
        let (content_end, next) = match text[pos..].find('\n') {
            Some(i) => {
                let lf = pos + i;
                let end = if lf > pos && bytes[lf - 1] == b'\r' {
                    lf - 1
                } else {
                    lf
                };
                (end, lf + 1)
            }
            None => (text.len(), text.len()),
        };
        let eol = &text[content_end..next];
        let continues = matches!(bytes[pos], b' ' | b'\t')
            && lines
                .last()
                .is_some_and(|l| !l.eol.is_empty() && !l.is_blank());
        if continues {
            let last = lines.last_mut().expect("checked above");
            last.raw = &text[last.start..content_end];
            last.eol = eol;
        } else {
            lines.push(RawLine {
                raw: &text[pos..content_end],
                eol,
                start: pos,
            });
        }
        pos = next;
    }
    lines
}

/// A parameter with its values, quotes removed, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Param {
    pub name: String,
    /// Empty for a parameter written without `=` (vCard 2.1 style `TEL;CELL:`).
    pub values: Vec<String>,
}

/// A parsed logical line: `[group "."] name *(";" param) ":" value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentLine {
    pub group: Option<String>,
    /// The name as written (compare with [`ContentLine::is`]).
    pub name: String,
    pub params: Vec<Param>,
    /// The raw value, still escaped.
    pub value: String,
}

fn is_name_char(c: char) -> bool {
    // RFC 6350 allows ALPHA / DIGIT / "-"; "_" is tolerated because some exporters use it.
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl ContentLine {
    /// Parses an unfolded line; `None` when it is not a content line.
    pub fn parse(line: &str) -> Option<Self> {
        let head_end = line.find([';', ':'])?;
        let head = &line[..head_end];
        let (group, name) = match head.split_once('.') {
            Some((g, n)) => (Some(g), n),
            None => (None, head),
        };
        if name.is_empty() || !name.chars().all(is_name_char) {
            return None;
        }
        if let Some(g) = group
            && (g.is_empty() || !g.chars().all(is_name_char))
        {
            return None;
        }

        let mut params = Vec::new();
        let mut rest = &line[head_end..];
        while let Some(after) = rest.strip_prefix(';') {
            let name_end = after.find(['=', ';', ':'])?;
            let pname = after[..name_end].trim();
            let mut values = Vec::new();
            rest = &after[name_end..];
            if let Some(mut v) = rest.strip_prefix('=') {
                loop {
                    if let Some(q) = v.strip_prefix('"') {
                        let close = q.find('"')?;
                        values.push(q[..close].to_string());
                        v = &q[close + 1..];
                    } else {
                        let end = v.find([',', ';', ':']).unwrap_or(v.len());
                        values.push(v[..end].to_string());
                        v = &v[end..];
                    }
                    match v.strip_prefix(',') {
                        Some(next) => v = next,
                        None => break,
                    }
                }
                rest = v;
            }
            params.push(Param {
                name: pname.to_string(),
                values,
            });
        }
        let value = rest.strip_prefix(':')?;
        Some(ContentLine {
            group: group.map(str::to_string),
            name: name.to_string(),
            params,
            value: value.to_string(),
        })
    }

    /// Whether the property name (group ignored) is `name`, ASCII case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// Every value of every parameter called `name` (repeated parameters included).
    pub fn param_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.params
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name))
            .flat_map(|p| p.values.iter().map(String::as_str))
    }

    /// Whether a parameter called `name` is present.
    pub fn has_param(&self, name: &str) -> bool {
        self.params
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Removes every parameter called `name`.
    pub fn remove_param(&mut self, name: &str) {
        self.params.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    /// The unfolded line, parameters quoted where their value needs it.
    pub fn write(&self) -> String {
        let mut out = String::with_capacity(self.value.len() + 32);
        if let Some(g) = &self.group {
            out.push_str(g);
            out.push('.');
        }
        out.push_str(&self.name);
        for p in &self.params {
            out.push(';');
            out.push_str(&p.name);
            if !p.values.is_empty() {
                out.push('=');
                for (i, v) in p.values.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    if v.contains([':', ';', ',']) {
                        out.push('"');
                        out.push_str(v);
                        out.push('"');
                    } else {
                        out.push_str(v);
                    }
                }
            }
        }
        out.push(':');
        out.push_str(&self.value);
        out
    }
}

/// Appends `line` folded to [`FOLD_OCTETS`]-octet physical lines, each continuation
/// starting with one space, never cutting a UTF-8 sequence (sabre-io/dav#421), then `eol`.
pub(crate) fn fold_into(out: &mut String, line: &str, eol: &str) {
    let mut rest = line;
    let mut limit = FOLD_OCTETS;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str(eol);
        out.push(' ');
        rest = &rest[cut..];
        // The leading space counts towards the continuation line's octets.
        limit = FOLD_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str(eol);
}

/// Unescapes a text value (RFC 6350 §3.4): `\n`/`\N` → newline, `\\` `\,` `\;` → the
/// character. Component separators (unescaped `;` and `,`) are kept as they are.
pub(crate) fn unescape_text(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_folds_and_line_endings() {
        let text = "A:1\r\nNOTE:ab\r\n cd\r\nB:2\nC:3";
        let lines = split(text);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1].raw, "NOTE:ab\r\n cd");
        assert_eq!(lines[1].unfolded(), "NOTE:abcd");
        assert_eq!(lines[1].eol, "\r\n");
        assert_eq!(lines[2].eol, "\n");
        assert_eq!(lines[3].eol, "");
        let rebuilt: String = lines
            .iter()
            .map(|l| format!("{}{}", l.raw, l.eol))
            .collect();
        assert_eq!(rebuilt, text);
    }

    #[test]
    fn parse_reads_group_repeated_and_quoted_params() {
        let l = ContentLine::parse("item1.EMAIL;type=INTERNET;type=HOME;X-P=\"a:b;c\":x@y")
            .expect("parses");
        assert_eq!(l.group.as_deref(), Some("item1"));
        assert!(l.is("email"));
        assert_eq!(
            l.param_values("TYPE").collect::<Vec<_>>(),
            ["INTERNET", "HOME"]
        );
        assert_eq!(l.param_values("x-p").collect::<Vec<_>>(), ["a:b;c"]);
        assert_eq!(l.value, "x@y");
    }

    #[test]
    fn parse_refuses_a_line_without_colon() {
        assert_eq!(ContentLine::parse("this is not a property"), None);
    }

    #[test]
    fn fold_never_cuts_a_utf8_sequence() {
        let line = format!("NOTE:{}", "日本語".repeat(30));
        let mut out = String::new();
        fold_into(&mut out, &line, "\r\n");
        for physical in out.split("\r\n").filter(|p| !p.is_empty()) {
            assert!(physical.len() <= FOLD_OCTETS);
        }
        assert_eq!(split(&out)[0].unfolded(), line);
    }

    #[test]
    fn unescape_text_handles_every_escape() {
        assert_eq!(unescape_text(r"a\,b\;c\\d\ne"), "a,b;c\\d\ne");
    }
}
