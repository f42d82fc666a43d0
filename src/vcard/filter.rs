//! The `addressbook-query` filter (RFC 6352 §10.5) and its evaluation against a card.
//!
//! Text is folded in Rust (never SQL `LIKE`, which folds only ASCII): `i;unicode-casemap`
//! uses Unicode case folding, `i;ascii-casemap` folds ASCII only, `i;octet` compares bytes.
//!
//! Evaluation runs on our content-line model after the same structural checks and calcard
//! parse as [`super::ingest`]; a text-match sees the unescaped value (`\,` `\;` `\\` `\n`),
//! so a structured value such as `N` or `ADR` is matched as its whole text, components
//! still separated by `;`. Property and parameter names are matched ASCII
//! case-insensitively, ignoring any group (`item1.EMAIL` is an `EMAIL`).

use std::borrow::Cow;

use super::Card;
use super::lines::{ContentLine, unescape_text};

/// How sibling tests combine (`test="anyof"` is the default, RFC 6352 §10.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Test {
    #[default]
    AnyOf,
    AllOf,
}

/// RFC 4790 collations supported by `text-match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Collation {
    AsciiCasemap,
    /// Default for CardDAV (RFC 6352 §8.3).
    #[default]
    UnicodeCasemap,
    Octet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchType {
    Equals,
    #[default]
    Contains,
    StartsWith,
    EndsWith,
}

/// `<C:text-match>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextMatch {
    pub text: String,
    pub collation: Collation,
    pub match_type: MatchType,
    /// `negate-condition="yes"`.
    pub negate: bool,
}

/// `<C:param-filter name="TYPE">`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParamFilter {
    /// Upper-case parameter name.
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

/// `<C:prop-filter name="EMAIL" test="anyof">`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropFilter {
    /// Upper-case property name, without group.
    pub name: String,
    pub test: Test,
    pub is_not_defined: bool,
    pub text_matches: Vec<TextMatch>,
    pub param_filters: Vec<ParamFilter>,
}

/// `<C:filter test="anyof">`; no prop-filters matches every card.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub test: Test,
    pub prop_filters: Vec<PropFilter>,
}

impl Filter {
    /// Whether the stored card (raw bytes) matches. A card that does not parse never
    /// matches.
    ///
    /// RFC 6352 §10.5: the filter's `test` combines its prop-filters (`anyof`: at least
    /// one, `allof`: all; no prop-filter matches every card). A prop-filter's conditions
    /// are evaluated per property instance: it matches when one instance (in any group)
    /// satisfies its text-matches and param-filters combined per its own `test`.
    pub fn matches(&self, card: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(card) else {
            return false;
        };
        let Ok(card) = Card::parse(text) else {
            return false;
        };
        if self.prop_filters.is_empty() {
            return true;
        }
        let props: Vec<&ContentLine> = card.props().map(|(_, l)| l).collect();
        combine(
            self.test,
            self.prop_filters.iter().map(|f| f.matches(&props)),
        )
    }
}

impl PropFilter {
    /// RFC 6352 §10.5.1. With `is-not-defined`: the card has no such property. Otherwise
    /// the card has the property (in any group) and, when the filter has text-matches or
    /// param-filters, at least one instance of it satisfies them combined per `test`
    /// (conditions are evaluated per property instance, so `allof` means one `EMAIL`
    /// satisfying all of them, not one `EMAIL` each).
    fn matches(&self, props: &[&ContentLine]) -> bool {
        let mut instances = props.iter().filter(|l| l.is(&self.name)).peekable();
        if self.is_not_defined {
            return instances.peek().is_none();
        }
        if self.text_matches.is_empty() && self.param_filters.is_empty() {
            return instances.peek().is_some();
        }
        instances.any(|line| {
            let value = unescape_text(&line.value);
            let texts = self.text_matches.iter().map(|t| t.matches(&value));
            let params = self.param_filters.iter().map(|p| p.matches(line));
            combine(self.test, texts.chain(params))
        })
    }
}

impl ParamFilter {
    /// RFC 6352 §10.5.2 on one property instance. With `is-not-defined`: the parameter is
    /// absent. With a text-match: the parameter is present and one of its values matches
    /// (`TYPE=work,cell`, `TYPE="work,cell"` and `type=work;type=cell` all give two
    /// values); a negated text-match then means that none does. Neither: present.
    fn matches(&self, line: &ContentLine) -> bool {
        if self.is_not_defined {
            return !line.has_param(&self.name);
        }
        if !line.has_param(&self.name) {
            return false;
        }
        let Some(text_match) = &self.text_match else {
            return true;
        };
        let split_commas = self.name.eq_ignore_ascii_case("TYPE");
        let any = line.param_values(&self.name).any(|v| {
            if split_commas {
                v.split(',').any(|v| text_match.hit(v))
            } else {
                text_match.hit(v)
            }
        });
        any != text_match.negate
    }
}

impl TextMatch {
    /// RFC 6352 §10.5.4 against one (unescaped) value, negation applied.
    fn matches(&self, value: &str) -> bool {
        self.hit(value) != self.negate
    }

    /// The match before negation.
    fn hit(&self, value: &str) -> bool {
        let (value, text) = match self.collation {
            Collation::Octet => (Cow::Borrowed(value), Cow::Borrowed(self.text.as_str())),
            Collation::AsciiCasemap => (
                Cow::Owned(value.to_ascii_lowercase()),
                Cow::Owned(self.text.to_ascii_lowercase()),
            ),
            Collation::UnicodeCasemap => (fold_case(value), fold_case(&self.text)),
        };
        match self.match_type {
            MatchType::Equals => value == text,
            MatchType::Contains => value.contains(text.as_ref()),
            MatchType::StartsWith => value.starts_with(text.as_ref()),
            MatchType::EndsWith => value.ends_with(text.as_ref()),
        }
    }
}

/// `anyof`: one is true; `allof`: all are (vacuously true when there are none).
fn combine(test: Test, mut results: impl Iterator<Item = bool>) -> bool {
    match test {
        Test::AnyOf => results.any(|r| r),
        Test::AllOf => results.all(|r| r),
    }
}

/// Approximates Unicode simple case folding (RFC 4790 `i;unicode-casemap` folds further:
/// titlecase and NFKD, which we do not do): per-character lower-casing, plus the two
/// letters whose simple fold differs from their lower case. Full foldings such as
/// "ß" → "ss" are not applied, so "STRASSE" does not match "straße".
fn fold_case(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'ς' => out.push('σ'),
            'ſ' => out.push('s'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    Cow::Owned(out)
}
