//! Text matching with the collations of RFC 4790, shared by CalDAV
//! (RFC 4791 §7.5, §9.7.5) and CardDAV (RFC 6352 §8.3, §10.5.4).
//!
//! Three collations are supported:
//!
//! - `i;octet` (RFC 4790 §9.3): byte-exact comparison.
//! - `i;ascii-casemap` (RFC 4790 §9.2): as `i;octet` after mapping the 26
//!   ASCII letters to one case; every other octet is left alone.
//! - `i;unicode-casemap` (RFC 5051 §2): as `i;octet` after preparing both
//!   strings by case mapping and compatibility decomposition (NFKD).
//!
//! Every operation (equality, substring, prefix, suffix; RFC 4790 §4.2)
//! is done on *folded* text: [`fold`] prepares a string once, and the
//! comparison is then plain `i;octet` on the folded forms. The store may
//! keep folded copies of searchable text in index columns and compare them
//! with [`PreparedNeedle::matches_folded`]; the folded form of a given
//! collation is stable and idempotent (`fold(fold(x)) == fold(x)`).
//!
//! # The `i;unicode-casemap` preparation
//!
//! RFC 5051 maps each character to its titlecase, then decomposes it
//! (NFKD). Rust's standard library has no titlecase table, so this module
//! uses `lower(upper(lower(c)))` with the full (SpecialCasing) mappings of
//! the standard library, then NFKD, applied to the NFKD form of the input
//! (so that characters produced by the decomposition, such as the `F` of
//! `ﬀ`, are case mapped too), and a final NFKD pass that restores the
//! canonical order of combining marks. Over every Unicode scalar value this
//! gives the same equivalence classes as Unicode full case folding
//! (CaseFolding.txt, status C+F), with one deliberate difference that
//! follows RFC 5051's titlecase rule: U+0131 (dotless `ı`) is equal to `i`
//! and `I`, as both have the titlecase `I`. Nothing is locale dependent
//! (no Turkish rules): `I` folds to `i`, and U+0130 (`İ`) folds to `i` +
//! U+0307. Consequences worth knowing:
//!
//! - `ß`, `ẞ` and `SS` are equal (full case folding), `ﬁ` equals `fi`, `É`
//!   equals `é`, `Å` (U+212B ANGSTROM SIGN) equals `å`.
//! - `é` is *not* equal to `e`, but as substring matching works on the
//!   decomposed form (RFC 5051 §2, "as for i;octet"), `e` *is* a
//!   substring and a prefix of `é`; accents are never ignored by equality.

use std::borrow::Cow;

use unicode_normalization::{is_nfkd_quick, IsNormalized, UnicodeNormalization};

/// A collation of the IANA collation registry (RFC 4790 §3) supported for
/// text matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collation {
    /// `i;octet` (RFC 4790 §9.3).
    Octet,
    /// `i;ascii-casemap` (RFC 4790 §9.2), the CalDAV default (RFC 4791 §7.5).
    AsciiCasemap,
    /// `i;unicode-casemap` (RFC 5051), the CardDAV default (RFC 6352 §8.3).
    UnicodeCasemap,
}

impl Collation {
    /// Parses a collation identifier. Identifiers are compared without
    /// regard to ASCII case. `"default"` (RFC 4790 §3.1) and wildcards
    /// (§3.2) are not resolved here: the default differs between CalDAV and
    /// CardDAV, so the protocol layer maps it; anything else unknown gives
    /// `None` (a `supported-collation` precondition failure for the caller).
    pub fn parse(name: &str) -> Option<Collation> {
        [
            Collation::Octet,
            Collation::AsciiCasemap,
            Collation::UnicodeCasemap,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }

    /// The registered identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Collation::Octet => "i;octet",
            Collation::AsciiCasemap => "i;ascii-casemap",
            Collation::UnicodeCasemap => "i;unicode-casemap",
        }
    }
}

/// The kind of comparison of a text-match (RFC 6352 §10.5.4 `match-type`;
/// RFC 4790 §4.2: equality, substring, prefix and suffix). CalDAV text
/// matches are always [`MatchType::Contains`] (RFC 4791 §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

impl MatchType {
    /// Parses a CardDAV `match-type` attribute value (RFC 6352 §10.5.4).
    pub fn parse(name: &str) -> Option<MatchType> {
        [
            MatchType::Equals,
            MatchType::Contains,
            MatchType::StartsWith,
            MatchType::EndsWith,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }

    /// The attribute value of RFC 6352 §10.5.4.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equals => "equals",
            MatchType::Contains => "contains",
            MatchType::StartsWith => "starts-with",
            MatchType::EndsWith => "ends-with",
        }
    }
}

/// Prepares `text` for comparison under `collation`: the result compared
/// byte for byte implements the collation. Borrows when nothing changes
/// (always for `i;octet`, for text without upper-case ASCII letters under
/// the case-mapping collations).
pub fn fold(collation: Collation, text: &str) -> Cow<'_, str> {
    match collation {
        Collation::Octet => Cow::Borrowed(text),
        Collation::AsciiCasemap => fold_ascii(text),
        Collation::UnicodeCasemap if text.is_ascii() => fold_ascii(text),
        Collation::UnicodeCasemap => Cow::Owned(fold_unicode(text)),
    }
}

/// RFC 4790 §9.2: only the letters A-Z / a-z are mapped (here to lower
/// case, which gives the same equalities as the RFC's upper case).
fn fold_ascii(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// RFC 5051 §2 preparation; see the module documentation for how it
/// relates to the RFC's titlecase + NFKD steps.
fn fold_unicode(text: &str) -> String {
    let mut mapped = String::with_capacity(text.len());
    for c in text.nfkd() {
        push_case_folded(c, &mut mapped);
    }
    match is_nfkd_quick(mapped.chars()) {
        IsNormalized::Yes => mapped,
        _ => mapped.nfkd().collect(),
    }
}

/// Full, locale-independent case mapping of one character to a canonical
/// case: `lower(upper(lower(c)))`. The inner `lower` makes U+1E9E (`ẞ`)
/// reach `ß` and then `ss`, as full case folding does.
fn push_case_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        for upper in lower.to_uppercase() {
            out.extend(upper.to_lowercase());
        }
    }
}

/// Whether `value` matches `needle` under `collation` and `match_type`
/// (RFC 4790 §4.2.2, §4.2.3). The caller applies negate-condition. An empty
/// needle is a substring, prefix and suffix of every value (RFC 4790
/// §4.2.3), and equal only to the empty value.
pub fn text_matches(
    collation: Collation,
    match_type: MatchType,
    value: &str,
    needle: &str,
) -> bool {
    PreparedNeedle::new(collation, match_type, needle).matches(value)
}

/// A needle folded once, to be matched against many values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedNeedle {
    collation: Collation,
    match_type: MatchType,
    folded: String,
}

impl PreparedNeedle {
    pub fn new(collation: Collation, match_type: MatchType, needle: &str) -> PreparedNeedle {
        PreparedNeedle {
            collation,
            match_type,
            folded: fold(collation, needle).into_owned(),
        }
    }

    pub fn collation(&self) -> Collation {
        self.collation
    }

    pub fn match_type(&self) -> MatchType {
        self.match_type
    }

    /// The needle as [`fold`] prepared it (for an index look-up on folded
    /// columns).
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Matches a raw value (folded here).
    pub fn matches(&self, value: &str) -> bool {
        self.matches_folded(&fold(self.collation, value))
    }

    /// Matches a value already folded with [`fold`] under this needle's
    /// collation.
    pub fn matches_folded(&self, folded_value: &str) -> bool {
        let needle = self.folded.as_str();
        match self.match_type {
            MatchType::Equals => folded_value == needle,
            MatchType::Contains => folded_value.contains(needle),
            MatchType::StartsWith => folded_value.starts_with(needle),
            MatchType::EndsWith => folded_value.ends_with(needle),
        }
    }
}

/// A text-match condition: CalDAV `text-match` (RFC 4791 §9.7.5) and
/// CardDAV `text-match` (RFC 6352 §10.5.4). The XML layer fills in the
/// protocol's defaults (CalDAV: `i;ascii-casemap`, contains; CardDAV:
/// `i;unicode-casemap`, contains), so every field is explicit here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    pub value: String,
    pub collation: Collation,
    pub match_type: MatchType,
    /// `negate-condition="yes"`.
    pub negate: bool,
}

impl TextMatch {
    /// A CalDAV text-match (substring, RFC 4791 §7.5) with the given
    /// collation.
    pub fn contains(value: impl Into<String>, collation: Collation) -> TextMatch {
        TextMatch {
            value: value.into(),
            collation,
            match_type: MatchType::Contains,
            negate: false,
        }
    }

    /// The same condition with negate-condition set.
    pub fn negated(mut self) -> TextMatch {
        self.negate = !self.negate;
        self
    }

    pub fn prepare(&self) -> PreparedNeedle {
        PreparedNeedle::new(self.collation, self.match_type, &self.value)
    }

    /// The condition over the candidate texts of one property or
    /// parameter: true when some candidate matches, inverted by
    /// negate-condition (so a negated match requires that *no* candidate
    /// matches).
    pub fn matches_any<I>(&self, candidates: I) -> bool
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let needle = self.prepare();
        let found = candidates
            .into_iter()
            .any(|text| needle.matches(text.as_ref()));
        found != self.negate
    }
}

/// The texts a text-match is tried against for a property or parameter
/// holding `values`: no value gives the empty text; one value gives itself;
/// several give their `separator`-joined text (the value as written in the
/// iCalendar or vCard text, unescaped) and, when `list_valued` (a
/// comma-separated list such as CATEGORIES), each value on its own too.
/// Structured values (N, ADR, GEO, REQUEST-STATUS) are only matched as a
/// whole.
pub(crate) fn match_candidates<'a>(
    mut values: Vec<Cow<'a, str>>,
    separator: &str,
    list_valued: bool,
) -> Vec<Cow<'a, str>> {
    if values.len() <= 1 {
        if values.is_empty() {
            values.push(Cow::Borrowed(""));
        }
        return values;
    }
    let joined = Cow::Owned(values.join(separator));
    if list_valued {
        values.push(joined);
        values
    } else {
        vec![joined]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Collation::{AsciiCasemap, Octet, UnicodeCasemap};
    use MatchType::{Contains, EndsWith, Equals, StartsWith};

    #[test]
    fn parses_and_names_collations() {
        for c in [Octet, AsciiCasemap, UnicodeCasemap] {
            assert_eq!(Collation::parse(c.as_str()), Some(c));
        }
        assert_eq!(Collation::parse("I;ASCII-CASEMAP"), Some(AsciiCasemap));
        assert_eq!(Collation::parse("default"), None);
        assert_eq!(Collation::parse("i;*"), None);
        assert_eq!(Collation::parse("i;basic"), None);
        assert_eq!(Collation::parse(""), None);
    }

    #[test]
    fn parses_and_names_match_types() {
        for m in [Equals, Contains, StartsWith, EndsWith] {
            assert_eq!(MatchType::parse(m.as_str()), Some(m));
        }
        assert_eq!(MatchType::parse("prefix"), None);
    }

    #[test]
    fn octet_is_byte_exact() {
        assert!(text_matches(Octet, Equals, "Abc", "Abc"));
        assert!(!text_matches(Octet, Equals, "Abc", "abc"));
        assert!(!text_matches(Octet, Contains, "CANCELLED", "cancel"));
        assert!(text_matches(Octet, Contains, "CANCELLED", "CANCEL"));
        // é precomposed (U+00E9) vs decomposed: different octets.
        assert!(!text_matches(Octet, Equals, "\u{e9}", "e\u{301}"));
        assert_eq!(fold(Octet, "ÉA"), "ÉA");
    }

    #[test]
    fn ascii_casemap_folds_only_ascii_letters() {
        assert!(text_matches(
            AsciiCasemap,
            Equals,
            "NEEDS-ACTION",
            "needs-action"
        ));
        assert!(text_matches(
            AsciiCasemap,
            Contains,
            "mailto:Lisa@Example.com",
            "LISA@"
        ));
        assert!(!text_matches(AsciiCasemap, Equals, "É", "é"));
        assert!(text_matches(AsciiCasemap, Equals, "Éa", "ÉA"));
        assert!(!text_matches(AsciiCasemap, Equals, "straße", "STRASSE"));
        // The Kelvin sign is not an ASCII letter.
        assert!(!text_matches(AsciiCasemap, Equals, "\u{212a}", "k"));
        assert!(matches!(
            fold(AsciiCasemap, "already lower é"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn unicode_casemap_examples() {
        let eq = |a: &str, b: &str| text_matches(UnicodeCasemap, Equals, a, b);
        assert!(eq("É", "é"));
        assert!(
            eq("\u{e9}", "e\u{301}"),
            "NFKD makes composed and decomposed equal"
        );
        assert!(eq("ﬁle", "FILE"), "compatibility ligature");
        assert!(eq("straße", "STRASSE"), "ß folds to ss");
        assert!(eq("STRAẞE", "strasse"), "capital sharp s");
        assert!(eq("ΣΊΣΥΦΟΣ", "σίσυφος"));
        assert!(eq("σίσυφοσ", "σίσυφος"), "final sigma");
        assert!(eq("\u{212a}elvin", "kelvin"), "Kelvin sign");
        assert!(eq("Ǆ", "ǆ"));
        assert!(eq("Ｆｕｌｌ", "full"), "full-width forms");
        assert!(!eq("é", "e"), "accents are not ignored by equality");
        assert!(!eq("a", "b"));
        assert!(!eq("", "a"));
        assert!(eq("", ""));
    }

    #[test]
    fn unicode_casemap_substrings_work_on_decomposed_text() {
        // RFC 5051 §2: substring is i;octet on the prepared strings, so a
        // base letter is a substring of its accented form.
        assert!(text_matches(UnicodeCasemap, Contains, "café", "CAFE"));
        assert!(text_matches(UnicodeCasemap, StartsWith, "Émile", "e"));
        assert!(!text_matches(UnicodeCasemap, EndsWith, "café", "e"));
        assert!(text_matches(UnicodeCasemap, EndsWith, "CAFÉ", "é"));
        assert!(text_matches(
            UnicodeCasemap,
            Contains,
            "Die Straße",
            "STRASS"
        ));
        assert!(text_matches(UnicodeCasemap, Contains, "Ｍüller", "mül"));
    }

    #[test]
    fn turkish_i_is_not_special_cased() {
        let eq = |a: &str, b: &str| text_matches(UnicodeCasemap, Equals, a, b);
        // No locale rules: I folds to i, not to dotless ı.
        assert_eq!(fold(UnicodeCasemap, "I"), "i");
        assert_eq!(fold(UnicodeCasemap, "İ"), "i\u{307}");
        assert!(!eq("İ", "i"));
        assert!(!text_matches(
            UnicodeCasemap,
            Contains,
            "İstanbul",
            "istanbul"
        ));
        assert!(text_matches(UnicodeCasemap, StartsWith, "İstanbul", "i"));
        // RFC 5051 titlecase: ı, i and I all have the titlecase I.
        assert!(eq("ı", "I"));
        assert!(eq("ı", "i"));
        assert!(!text_matches(AsciiCasemap, Equals, "ı", "i"));
    }

    #[test]
    fn empty_needle() {
        for c in [Octet, AsciiCasemap, UnicodeCasemap] {
            assert!(text_matches(c, Contains, "anything", ""));
            assert!(text_matches(c, Contains, "", ""));
            assert!(text_matches(c, StartsWith, "anything", ""));
            assert!(text_matches(c, EndsWith, "anything", ""));
            assert!(!text_matches(c, Equals, "anything", ""));
            assert!(text_matches(c, Equals, "", ""));
        }
    }

    #[test]
    fn match_types() {
        let m = |t, v: &str, n: &str| text_matches(UnicodeCasemap, t, v, n);
        assert!(m(Equals, "Daboo", "DABOO"));
        assert!(!m(Equals, "Cyrus Daboo", "daboo"));
        assert!(m(Contains, "Cyrus Daboo", "daboo"));
        assert!(m(StartsWith, "Cyrus Daboo", "CYRUS"));
        assert!(!m(StartsWith, "Cyrus Daboo", "daboo"));
        assert!(m(EndsWith, "Cyrus Daboo", "DABOO"));
        assert!(!m(EndsWith, "Cyrus Daboo", "cyrus"));
        assert!(!m(Contains, "abc", "abcd"));
    }

    #[test]
    fn prepared_needle_matches_folded_index_text() {
        let needle = PreparedNeedle::new(UnicodeCasemap, Contains, "STRASSE");
        assert_eq!(needle.folded(), "strasse");
        assert_eq!(needle.collation(), UnicodeCasemap);
        assert_eq!(needle.match_type(), Contains);
        let indexed = fold(UnicodeCasemap, "Hauptstraße 1").into_owned();
        assert!(needle.matches_folded(&indexed));
        assert!(needle.matches("HAUPTSTRASSE"));
    }

    #[test]
    fn text_match_negation_over_candidates() {
        let tm = TextMatch::contains("work", AsciiCasemap);
        assert!(tm.matches_any(["Home", "WORK"]));
        assert!(!tm.matches_any(["Home"]));
        assert!(!tm.matches_any(Vec::<String>::new()));
        let neg = tm.clone().negated();
        assert!(neg.negate);
        assert!(!neg.matches_any(["Home", "WORK"]));
        assert!(neg.matches_any(["Home"]));
        assert!(neg.matches_any(Vec::<String>::new()));
    }

    #[test]
    fn candidates_of_multiple_values() {
        let v = |xs: &[&'static str]| xs.iter().map(|s| Cow::Borrowed(*s)).collect::<Vec<_>>();
        assert_eq!(match_candidates(v(&[]), ",", true), v(&[""]));
        assert_eq!(match_candidates(v(&["a"]), ",", true), v(&["a"]));
        assert_eq!(
            match_candidates(v(&["a", "b"]), ",", true),
            v(&["a", "b", "a,b"])
        );
        assert_eq!(match_candidates(v(&["a", "b"]), ";", false), v(&["a;b"]));
    }

    /// The fold is idempotent and never panics, for every scalar value (and
    /// for strings mixing combining marks).
    #[test]
    fn unicode_fold_is_idempotent_everywhere() {
        let mut text = String::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            text.clear();
            text.push(c);
            let once = fold(UnicodeCasemap, &text).into_owned();
            assert_eq!(fold(UnicodeCasemap, &once), once, "U+{:04X}", c as u32);
        }
        let mixed = "A\u{345}\u{301}ΐǰ\u{1e9e}\u{301}ﬃİ";
        let once = fold(UnicodeCasemap, mixed).into_owned();
        assert_eq!(fold(UnicodeCasemap, &once), once);
    }
}
