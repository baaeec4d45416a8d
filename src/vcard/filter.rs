//! The CardDAV addressbook-query filter (RFC 6352 §10.5) as Rust types,
//! and its evaluation over one parsed vCard.
//!
//! The XML layer builds a [`CardFilter`], filling in the defaults of
//! §10.5 (`test="anyof"`) and §10.5.4 (collation `i;unicode-casemap`,
//! match-type `contains`, negate-condition `no`), so every field is
//! explicit here.
//!
//! # Semantics
//!
//! - §10.5: a filter without prop-filters matches every vCard; otherwise
//!   `anyof` needs one prop-filter to match, `allof` all of them.
//! - §10.5.1: a prop-filter matches when some property of that name
//!   exists and either the prop-filter has no text-match nor
//!   param-filter, or that *same* property satisfies its text-matches and
//!   param-filters, combined by the prop-filter's own `test` (`anyof`:
//!   one of them, `allof`: all). With is-not-defined, it matches when no
//!   property of that name exists (other conditions are then ignored).
//! - Property names compare without regard to ASCII case. A name without a
//!   group matches the property with any group or none (`EMAIL` matches
//!   `item1.EMAIL`); a name with a group (`X-ABC.TEL`) matches that group
//!   and name only.
//! - §10.5.2: a param-filter matches when the property has the parameter
//!   and its text-match (if any) matches one of its values (or the values
//!   joined by `,`); with is-not-defined, when the property lacks it.
//! - §10.5.4: negate-condition inverts one text-match for the property as
//!   a whole (see [`TextMatch::matches_any`]).
//!
//! # Text of a value
//!
//! The value as vCard text, unescaped. Structured values (N, ADR, ORG,
//! GENDER, CLIENTPIDMAP) are their components joined with `;`, and a
//! component's list with `,`, as written: `N:Doe;John,Paul;;;` has the
//! text `Doe;John,Paul;;;`, so "John" is contained in it and `equals`
//! needs the whole. The comma lists NICKNAME and CATEGORIES are also tried
//! value by value (`CATEGORIES:Friends,Family` *equals* "family").
//! Dates are written in the vCard 4 basic form (`19960415`, `--0415`,
//! `T102200Z`), numbers and enumerated values as written, inline binary
//! data (`PHOTO` as base64 or `data:` URI) as empty text.

use std::borrow::Cow;

use calcard::common::{IanaString, PartialDateTime};
use calcard::vcard::{
    VCard, VCardEntry, VCardParameterName, VCardParameterValue, VCardProperty, VCardValue,
    VCardValueType,
};

use crate::collation::match_candidates;
pub use crate::collation::{Collation, MatchType, TextMatch};

/// The `test` attribute of `filter` and `prop-filter` (RFC 6352 §10.5,
/// §10.5.1); `anyof` when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FilterTest {
    #[default]
    AnyOf,
    AllOf,
}

impl FilterTest {
    /// Parses the attribute value (`anyof` or `allof`).
    pub fn parse(value: &str) -> Option<FilterTest> {
        match value {
            "anyof" => Some(FilterTest::AnyOf),
            "allof" => Some(FilterTest::AllOf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FilterTest::AnyOf => "anyof",
            FilterTest::AllOf => "allof",
        }
    }

    /// Logical OR or AND of the results.
    fn combine(self, mut results: impl Iterator<Item = bool>) -> bool {
        match self {
            FilterTest::AnyOf => results.any(|r| r),
            FilterTest::AllOf => results.all(|r| r),
        }
    }
}

/// `CARDDAV:filter` (RFC 6352 §10.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFilter {
    pub test: FilterTest,
    pub prop_filters: Vec<CardPropFilter>,
}

/// `CARDDAV:prop-filter` (RFC 6352 §10.5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardPropFilter {
    /// A property name, optionally with a group prefix (`X-ABC.TEL`).
    pub name: String,
    pub test: FilterTest,
    pub is_not_defined: bool,
    pub text_matches: Vec<TextMatch>,
    pub param_filters: Vec<CardParamFilter>,
}

/// `CARDDAV:param-filter` (RFC 6352 §10.5.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

impl CardPropFilter {
    /// An empty prop-filter: matches when the property exists.
    pub fn new(name: impl Into<String>) -> CardPropFilter {
        CardPropFilter {
            name: name.into(),
            ..CardPropFilter::default()
        }
    }
}

impl CardParamFilter {
    /// An empty param-filter: matches when the parameter exists.
    pub fn new(name: impl Into<String>) -> CardParamFilter {
        CardParamFilter {
            name: name.into(),
            ..CardParamFilter::default()
        }
    }
}

/// Substrings the folded search text of a vCard (see
/// [`crate::vcard::object::search_text`]) must contain for `filter` to
/// possibly match: `(needles, all)` — all of them when `all`, otherwise at
/// least one. None when the filter gives no such condition (no prop-filter,
/// `is-not-defined`, negated or empty text-matches, param-filters alone):
/// then every vCard is a candidate. Every match type implies a substring,
/// and `i;unicode-casemap` folding equates at least what the other
/// collations equate, so the condition never excludes a match.
pub fn index_needles(filter: &CardFilter) -> Option<(Vec<String>, bool)> {
    match filter.test {
        // Any prop-filter may match: each must require one of its needles.
        FilterTest::AnyOf => {
            let mut all = Vec::new();
            for pf in &filter.prop_filters {
                all.extend(prop_filter_needles(pf)?);
            }
            (!all.is_empty()).then_some((all, false))
        }
        // Every prop-filter must match: those requiring one needle each
        // give a conjunction.
        FilterTest::AllOf => {
            let all: Vec<String> = filter
                .prop_filters
                .iter()
                .filter_map(prop_filter_needles)
                .filter(|n| n.len() == 1)
                .flatten()
                .collect();
            (!all.is_empty()).then_some((all, true))
        }
    }
}

/// Needles one of which a property matching `pf` must contain.
fn prop_filter_needles(pf: &CardPropFilter) -> Option<Vec<String>> {
    if pf.is_not_defined {
        return None;
    }
    let needle = |tm: &TextMatch| -> Option<String> {
        if tm.negate || tm.value.is_empty() || tm.value.chars().any(char::is_control) {
            return None;
        }
        Some(crate::collation::fold(Collation::UnicodeCasemap, &tm.value).into_owned())
    };
    match pf.test {
        // With param-filters, or without text-matches, the property can
        // match on something the search text does not hold.
        FilterTest::AnyOf if pf.param_filters.is_empty() && !pf.text_matches.is_empty() => {
            pf.text_matches.iter().map(needle).collect()
        }
        FilterTest::AnyOf => None,
        FilterTest::AllOf => pf.text_matches.iter().find_map(needle).map(|n| vec![n]),
    }
}

/// `filter` decided on a vCard's search text alone (see
/// [`crate::vcard::object::search_text`]), when that is exact; None when
/// the vCard must be parsed. The search text holds each property's value
/// folded with `i;unicode-casemap`, so a prop-filter is decided when it
/// names an ungrouped, single-valued property and has only non-negated,
/// non-empty `i;unicode-casemap` text-matches: a property with no line is
/// absent, empty or binary, which none of those text-matches can match.
pub fn decide_on_search_text(filter: &CardFilter, text: &str) -> Option<bool> {
    let mut results = Vec::with_capacity(filter.prop_filters.len());
    for pf in &filter.prop_filters {
        results.push(decide_prop_filter(pf, text)?);
    }
    Some(filter.prop_filters.is_empty() || filter.test.combine(results.into_iter()))
}

fn decide_prop_filter(pf: &CardPropFilter, text: &str) -> Option<bool> {
    let list_valued = ["NICKNAME", "CATEGORIES"].iter().any(|n| pf.name.eq_ignore_ascii_case(n));
    let decidable = !pf.is_not_defined
        && pf.param_filters.is_empty()
        && !pf.text_matches.is_empty()
        && !pf.name.contains('.')
        && !list_valued
        && pf.text_matches.iter().all(|tm| {
            !tm.negate && tm.collation == Collation::UnicodeCasemap && !tm.value.is_empty() && !tm.value.chars().any(char::is_control)
        });
    if !decidable {
        return None;
    }
    let needles: Vec<crate::collation::PreparedNeedle> = pf.text_matches.iter().map(TextMatch::prepare).collect();
    let mut found = false;
    for line in text.lines() {
        let (marked, line) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let Some((name, value)) = line.split_once(':') else { continue };
        if !name.eq_ignore_ascii_case(&pf.name) {
            continue;
        }
        if marked {
            return None;
        }
        found |= pf.test.combine(needles.iter().map(|n| n.matches_folded(value)));
    }
    Some(found)
}

/// Does `card` match `filter` (RFC 6352 §10.5)?
pub fn card_matches(card: &VCard, filter: &CardFilter) -> bool {
    filter.prop_filters.is_empty()
        || filter
            .test
            .combine(filter.prop_filters.iter().map(|pf| prop_filter(card, pf)))
}

/// §10.5.1.
fn prop_filter(card: &VCard, filter: &CardPropFilter) -> bool {
    let (group, name) = split_group(&filter.name);
    let mut named = card
        .entries
        .iter()
        .filter(|entry| entry_is_named(entry, group, name));
    if filter.is_not_defined {
        return named.next().is_none();
    }
    named.any(|entry| property_matches(entry, filter))
}

/// Splits `group.NAME` (RFC 6350 §3.3: a group has no dot).
fn split_group(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('.') {
        Some((group, name)) => (Some(group), name),
        None => (None, name),
    }
}

fn entry_is_named(entry: &VCardEntry, group: Option<&str>, name: &str) -> bool {
    entry.name.as_str().eq_ignore_ascii_case(name)
        && group.is_none_or(|g| {
            entry
                .group
                .as_deref()
                .is_some_and(|eg| eg.eq_ignore_ascii_case(g))
        })
}

/// The text-matches and param-filters of `filter` on one property.
fn property_matches(entry: &VCardEntry, filter: &CardPropFilter) -> bool {
    if filter.text_matches.is_empty() && filter.param_filters.is_empty() {
        return true;
    }
    let texts = if filter.text_matches.is_empty() {
        Vec::new()
    } else {
        entry_texts(entry)
    };
    let text_results = filter.text_matches.iter().map(|tm| tm.matches_any(&texts));
    let param_results = filter
        .param_filters
        .iter()
        .map(|pf| param_filter(entry, pf));
    filter.test.combine(text_results.chain(param_results))
}

/// §10.5.2 on one property.
fn param_filter(entry: &VCardEntry, filter: &CardParamFilter) -> bool {
    let values: Vec<Cow<'_, str>> = entry
        .params
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case(&filter.name))
        .map(|p| param_text(&p.value))
        .collect();
    if filter.is_not_defined {
        return values.is_empty();
    }
    !values.is_empty()
        && filter
            .text_match
            .as_ref()
            .is_none_or(|tm| tm.matches_any(match_candidates(values, ",", true)))
}

/// The texts a text-match is tried on for a property (see the module
/// documentation).
pub fn entry_texts(entry: &VCardEntry) -> Vec<Cow<'_, str>> {
    let declared = declared_value_type(entry);
    let values = entry
        .values
        .iter()
        .map(|v| value_text(v, declared))
        .collect();
    let (separator, list_valued) = value_separator(&entry.name);
    match_candidates(values, separator, list_valued)
}

/// How several values of a property are written (RFC 6350 §3.3).
fn value_separator(name: &VCardProperty) -> (&'static str, bool) {
    match name {
        VCardProperty::Nickname | VCardProperty::Categories => (",", true),
        _ => (";", false),
    }
}

fn declared_value_type(entry: &VCardEntry) -> Option<VCardValueType> {
    entry.params.iter().find_map(|p| match (&p.name, &p.value) {
        (VCardParameterName::Value, VCardParameterValue::ValueType(t)) => Some(*t),
        _ => None,
    })
}

/// One value (or structured component) as vCard text, unescaped.
fn value_text(value: &VCardValue, declared: Option<VCardValueType>) -> Cow<'_, str> {
    match value {
        VCardValue::Text(text) => Cow::Borrowed(text),
        VCardValue::Component(parts) => Cow::Owned(parts.join(",")),
        VCardValue::Integer(i) => Cow::Owned(i.to_string()),
        VCardValue::Float(f) => Cow::Owned(f.to_string()),
        VCardValue::Boolean(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        VCardValue::PartialDateTime(dt) => Cow::Owned(date_time_text(dt, declared)),
        VCardValue::Binary(_) => Cow::Borrowed(""),
        VCardValue::Sex(v) => Cow::Borrowed(v.as_str()),
        VCardValue::GramGender(v) => Cow::Borrowed(v.as_str()),
        VCardValue::Kind(v) => Cow::Borrowed(v.as_str()),
    }
}

/// A date, time, date-and-or-time, timestamp or UTC offset in the RFC 6350
/// §4.3 basic form, of the declared VALUE type or else as a
/// date-and-or-time (which shows whichever parts the value has).
fn date_time_text(dt: &PartialDateTime, declared: Option<VCardValueType>) -> String {
    use VCardValueType as T;
    let format = match declared {
        Some(
            t @ (T::Date | T::DateTime | T::DateAndOrTime | T::Time | T::Timestamp | T::UtcOffset),
        ) => t,
        _ => T::DateAndOrTime,
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = dt.format_as_vcard(&mut out, &format);
    out
}

/// A parameter value as written, unquoted.
fn param_text(value: &VCardParameterValue) -> Cow<'_, str> {
    use VCardParameterValue as V;
    match value {
        V::Text(text) => Cow::Borrowed(text),
        V::Integer(i) => Cow::Owned(i.to_string()),
        V::Timestamp(t) => Cow::Owned(timestamp_text(*t)),
        V::Bool(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        V::ValueType(v) => Cow::Borrowed(v.as_str()),
        V::Type(v) => Cow::Borrowed(v.as_str()),
        V::Calscale(v) => Cow::Borrowed(v.as_str()),
        V::Level(v) => Cow::Borrowed(v.as_str()),
        V::Phonetic(v) => Cow::Borrowed(v.as_str()),
        V::Jscomps(_) => Cow::Owned(value.clone().into_text().into_owned()),
        V::Null => Cow::Borrowed(""),
    }
}

/// A timestamp parameter (RFC 9554 CREATED) as `YYYYMMDDTHHMMSSZ`.
fn timestamp_text(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |t| t.format("%Y%m%dT%H%M%SZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use Collation::{AsciiCasemap, Octet, UnicodeCasemap};

    fn parse(text: &str) -> VCard {
        let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        match VCard::parse(text) {
            Ok(card) => card,
            Err(err) => panic!("fixture does not parse: {err:?}"),
        }
    }

    /// RFC 6352 §8.6.4's v102 and v104 (the §8.6.3 copy of v102 has FN
    /// "Cyrus Daboo"; see `v102_as_in_8_6_3`).
    const V102: &str = "BEGIN:VCARD
VERSION:3.0
NICKNAME:me
UID:34222-232@example.com
FN:David Boo
EMAIL:daboo@example.com
END:VCARD
";
    const V104: &str = "BEGIN:VCARD
VERSION:3.0
NICKNAME:oliver
UID:34222-23222@example.com
FN:Oliver Daboo
EMAIL:oliver@example.com
END:VCARD
";
    const BERNARD: &str = "BEGIN:VCARD
VERSION:3.0
N:Desruisseaux;Bernard;;;
FN:Bernard Desruisseaux
EMAIL;TYPE=INTERNET,WORK:bernard@example.com
END:VCARD
";

    /// A vCard 4 with groups, structured values, lists and parameters.
    const JOHN_V4: &str = "BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
FN;LANGUAGE=fr:José Müller-Straße
N:Müller-Straße;José;Q.,Quentin;Dr.;
NICKNAME:Jo,Pepe
KIND:individual
BDAY:--0415
ANNIVERSARY:19960415
GENDER:M;Fellow
ORG:ABC\\, Inc.;North American Division;Marketing
ADR;TYPE=home;LABEL=\"123 Main St\":;;123 Main St,Apt 4;Springfield;IL;62701;USA
TEL;VALUE=uri;TYPE=\"voice,home\";PREF=1:tel:+1-555-555-5555
TEL;VALUE=uri:tel:+1-555-555-0000
item1.EMAIL;TYPE=work:john@example.com
item2.EMAIL:jm@home.example.org
X-ABC.TEL:+1-555-111-2222
X-ABC-1.TEL:+1-555-333-4444
CATEGORIES:Friends,Family
X-SOCIALPROFILE;TYPE=twitter:https://twitter.com/jose
PHOTO:data:image/png;base64,iVBORw0KGgo=
END:VCARD
";

    fn tm(text: &str, collation: Collation, match_type: MatchType) -> TextMatch {
        TextMatch {
            value: text.into(),
            collation,
            match_type,
            negate: false,
        }
    }

    /// The CardDAV defaults: i;unicode-casemap, contains.
    fn contains(text: &str) -> TextMatch {
        tm(text, UnicodeCasemap, MatchType::Contains)
    }

    fn equals(text: &str) -> TextMatch {
        tm(text, UnicodeCasemap, MatchType::Equals)
    }

    fn text_prop(name: &str, text_match: TextMatch) -> CardPropFilter {
        CardPropFilter {
            text_matches: vec![text_match],
            ..CardPropFilter::new(name)
        }
    }

    fn any(prop_filters: Vec<CardPropFilter>) -> CardFilter {
        CardFilter {
            test: FilterTest::AnyOf,
            prop_filters,
        }
    }

    fn all(prop_filters: Vec<CardPropFilter>) -> CardFilter {
        CardFilter {
            test: FilterTest::AllOf,
            prop_filters,
        }
    }

    fn with_params(name: &str, test: FilterTest, params: Vec<CardParamFilter>) -> CardPropFilter {
        CardPropFilter {
            test,
            param_filters: params,
            ..CardPropFilter::new(name)
        }
    }

    fn param(name: &str, text_match: Option<TextMatch>) -> CardParamFilter {
        CardParamFilter {
            text_match,
            ..CardParamFilter::new(name)
        }
    }

    /// Which of the §8.6 cards (v102, v104, bernard) match.
    fn matching(filter: &CardFilter) -> Vec<&'static str> {
        [("v102", V102), ("v104", V104), ("bernard", BERNARD)]
            .into_iter()
            .filter(|(_, text)| card_matches(&parse(text), filter))
            .map(|(name, _)| name)
            .collect()
    }

    fn john(filter: &CardFilter) -> bool {
        card_matches(&parse(JOHN_V4), filter)
    }

    #[test]
    fn parses_and_names_filter_tests() {
        assert_eq!(FilterTest::default(), FilterTest::AnyOf);
        for t in [FilterTest::AnyOf, FilterTest::AllOf] {
            assert_eq!(FilterTest::parse(t.as_str()), Some(t));
        }
        assert_eq!(FilterTest::parse("oneof"), None);
    }

    #[test]
    fn rfc6352_8_6_3_nickname_equals() {
        let filter = any(vec![text_prop("NICKNAME", equals("me"))]);
        assert_eq!(matching(&filter), ["v102"]);
        assert_eq!(
            matching(&any(vec![text_prop("nickname", equals("ME"))])),
            ["v102"]
        );
        assert!(matching(&any(vec![text_prop("NICKNAME", equals("m"))])).is_empty());
    }

    #[test]
    fn rfc6352_8_6_4_full_name_or_email() {
        let filters = || {
            vec![
                text_prop("FN", contains("daboo")),
                text_prop("EMAIL", contains("daboo")),
            ]
        };
        assert_eq!(matching(&any(filters())), ["v102", "v104"]);
        assert!(matching(&all(filters())).is_empty());
        let v102_as_in_8_6_3 = V102.replace("FN:David Boo", "FN:Cyrus Daboo");
        assert!(card_matches(&parse(&v102_as_in_8_6_3), &all(filters())));
    }

    #[test]
    fn rfc6352_8_6_5_full_name_contains() {
        let filter = any(vec![text_prop("FN", contains("DABOO"))]);
        assert_eq!(matching(&filter), ["v104"]);
    }

    #[test]
    fn empty_filter_matches_every_card() {
        assert_eq!(matching(&CardFilter::default()).len(), 3);
        assert_eq!(matching(&all(vec![])).len(), 3);
        assert!(card_matches(&VCard::default(), &CardFilter::default()));
    }

    #[test]
    fn empty_prop_filter_tests_existence() {
        assert_eq!(matching(&any(vec![CardPropFilter::new("N")])), ["bernard"]);
        assert_eq!(matching(&any(vec![CardPropFilter::new("email")])).len(), 3);
        assert!(!card_matches(
            &VCard::default(),
            &any(vec![CardPropFilter::new("FN")])
        ));
    }

    #[test]
    fn prop_is_not_defined() {
        let no_n = CardPropFilter {
            is_not_defined: true,
            ..CardPropFilter::new("N")
        };
        assert_eq!(matching(&any(vec![no_n.clone()])), ["v102", "v104"]);
        // is-not-defined ignores other (DTD-forbidden) conditions.
        let odd = CardPropFilter {
            text_matches: vec![contains("x")],
            ..no_n
        };
        assert_eq!(matching(&any(vec![odd])), ["v102", "v104"]);
        assert!(card_matches(
            &VCard::default(),
            &all(vec![CardPropFilter {
                is_not_defined: true,
                ..CardPropFilter::new("FN")
            }])
        ));
    }

    #[test]
    fn group_prefixes() {
        let has = |name: &str| john(&any(vec![CardPropFilter::new(name)]));
        assert!(has("EMAIL"));
        assert!(has("item1.EMAIL"));
        assert!(has("ITEM2.email"));
        assert!(!has("item3.EMAIL"));
        let tel = |name: &str, text: &str| john(&any(vec![text_prop(name, contains(text))]));
        // §10.5.1: TEL matches TEL, X-ABC.TEL and X-ABC-1.TEL ...
        assert!(tel("TEL", "555-5555"));
        assert!(tel("TEL", "111-2222"));
        assert!(tel("TEL", "333-4444"));
        // ... and X-ABC.TEL only X-ABC.TEL.
        assert!(tel("X-ABC.TEL", "111-2222"));
        assert!(!tel("X-ABC.TEL", "333-4444"));
        assert!(!tel("X-ABC.TEL", "555-5555"));
        assert!(tel("item1.EMAIL", "john@"));
        assert!(!tel("item1.EMAIL", "jm@"));
    }

    #[test]
    fn structured_values_are_joined_with_semicolons() {
        let n = |m: TextMatch| john(&any(vec![text_prop("N", m)]));
        assert!(n(equals("müller-strasse;josé;q.,quentin;dr.;")));
        assert!(n(contains("MÜLLER-STRASSE;JOSÉ")));
        assert!(n(contains("quentin")));
        assert!(n(tm("Müller-Straße;", Octet, MatchType::StartsWith)));
        assert!(n(tm("dr.;", UnicodeCasemap, MatchType::EndsWith)));
        assert!(!n(equals("josé")), "a component alone does not equal N");
        let adr = |m: TextMatch| john(&any(vec![text_prop("ADR", m)]));
        assert!(adr(equals(";;123 Main St,Apt 4;Springfield;IL;62701;USA")));
        assert!(adr(contains("springfield;il")));
        let org = |m: TextMatch| john(&any(vec![text_prop("ORG", m)]));
        assert!(org(tm(
            "ABC, Inc.;North",
            AsciiCasemap,
            MatchType::StartsWith
        )));
        assert!(john(&any(vec![text_prop("GENDER", equals("m;fellow"))])));
        let bernard = parse(BERNARD);
        assert!(card_matches(
            &bernard,
            &any(vec![text_prop("N", equals("Desruisseaux;Bernard;;;"))])
        ));
    }

    #[test]
    fn list_values_match_one_by_one() {
        let cat = |m: TextMatch| john(&any(vec![text_prop("CATEGORIES", m)]));
        assert!(cat(equals("family")));
        assert!(cat(equals("FRIENDS,FAMILY")));
        assert!(cat(tm("fam", UnicodeCasemap, MatchType::StartsWith)));
        assert!(!cat(equals("friends,")));
        assert!(!cat(equals("family").negated()));
        assert!(cat(equals("colleagues").negated()));
        assert!(john(&any(vec![text_prop("NICKNAME", equals("pepe"))])));
    }

    #[test]
    fn unicode_and_ascii_collations() {
        let fn_ = |m: TextMatch| john(&any(vec![text_prop("FN", m)]));
        assert!(fn_(contains("JOSÉ")));
        assert!(fn_(contains("strasse")));
        assert!(fn_(equals("josé müller-strasse")));
        assert!(fn_(contains("jose")), "substring on the decomposed form");
        assert!(
            !fn_(equals("jose muller-strasse")),
            "accents count for equality"
        );
        assert!(!fn_(tm("JOSÉ", AsciiCasemap, MatchType::Contains)));
        assert!(fn_(tm("JOSé", AsciiCasemap, MatchType::Contains)));
        assert!(!fn_(tm("josé", Octet, MatchType::Contains)));
        assert!(fn_(tm("José", Octet, MatchType::Contains)));
    }

    #[test]
    fn negate_condition() {
        let email = |m: TextMatch| matching(&any(vec![text_prop("EMAIL", m)]));
        assert!(email(contains("example.com").negated()).is_empty());
        assert_eq!(email(contains("daboo").negated()), ["v104", "bernard"]);
        // john has an EMAIL outside example.com.
        assert!(john(&any(vec![text_prop(
            "EMAIL",
            contains("@example.com").negated()
        )])));
        // A negated text-match still needs the property.
        assert!(!card_matches(
            &VCard::default(),
            &any(vec![text_prop("EMAIL", contains("x").negated())])
        ));
    }

    #[test]
    fn prop_filter_test_combines_text_and_param_conditions() {
        let work_email = |test| {
            any(vec![CardPropFilter {
                test,
                text_matches: vec![contains("home.example.org")],
                param_filters: vec![param("TYPE", Some(equals("work")))],
                ..CardPropFilter::new("EMAIL")
            }])
        };
        // anyof: item1 has TYPE=work (or item2 has the domain).
        assert!(john(&work_email(FilterTest::AnyOf)));
        // allof: no single EMAIL has both.
        assert!(!john(&work_email(FilterTest::AllOf)));
        let both = |text: &str| {
            any(vec![CardPropFilter {
                test: FilterTest::AllOf,
                text_matches: vec![contains(text), contains("example")],
                param_filters: vec![param("type", Some(equals("WORK")))],
                ..CardPropFilter::new("EMAIL")
            }])
        };
        assert!(john(&both("john@")));
        assert!(!john(&both("jm@")));
    }

    #[test]
    fn param_filters() {
        let tel = |test, params| john(&any(vec![with_params("TEL", test, params)]));
        assert!(tel(
            FilterTest::AnyOf,
            vec![param("PREF", Some(equals("1")))]
        ));
        assert!(tel(
            FilterTest::AnyOf,
            vec![param("type", Some(equals("voice")))]
        ));
        assert!(tel(
            FilterTest::AnyOf,
            vec![param("TYPE", Some(equals("voice,home")))]
        ));
        assert!(tel(
            FilterTest::AnyOf,
            vec![param("VALUE", Some(equals("uri")))]
        ));
        assert!(!tel(
            FilterTest::AnyOf,
            vec![param("TYPE", Some(equals("cell")))]
        ));
        let untyped = CardParamFilter {
            is_not_defined: true,
            ..CardParamFilter::new("TYPE")
        };
        // TEL;VALUE=uri:...0000 and X-ABC.TEL have no TYPE.
        assert!(tel(FilterTest::AllOf, vec![untyped.clone()]));
        assert!(!john(&any(vec![with_params(
            "EMAIL",
            FilterTest::AllOf,
            vec![
                param("TYPE", None),
                CardParamFilter {
                    is_not_defined: true,
                    ..CardParamFilter::new("type")
                },
            ]
        )])));
        assert!(john(&any(vec![with_params(
            "ADR",
            FilterTest::AnyOf,
            vec![param("LABEL", Some(contains("main st")))]
        )])));
        assert!(john(&any(vec![with_params(
            "X-SOCIALPROFILE",
            FilterTest::AnyOf,
            vec![param("TYPE", Some(equals("TWITTER")))]
        )])));
        let bernard = parse(BERNARD);
        let v3_type = |text: &str| {
            card_matches(
                &bernard,
                &any(vec![with_params(
                    "EMAIL",
                    FilterTest::AnyOf,
                    vec![param("TYPE", Some(equals(text)))],
                )]),
            )
        };
        assert!(v3_type("work"));
        assert!(v3_type("internet"));
        assert!(!v3_type("home"));
    }

    #[test]
    fn non_text_values() {
        let has = |name: &str, m: TextMatch| john(&any(vec![text_prop(name, m)]));
        assert!(has("BDAY", equals("--0415")));
        assert!(has("ANNIVERSARY", equals("19960415")));
        assert!(has("KIND", equals("individual")));
        assert!(has("UID", tm("urn:uuid:", Octet, MatchType::StartsWith)));
        assert!(has("TEL", equals("tel:+1-555-555-0000")));
        assert!(has("X-SOCIALPROFILE", contains("twitter.com/jose")));
        assert!(has("PHOTO", equals("")), "inline binary has empty text");
        assert!(!has("PHOTO", contains("iVBOR")));
        let v3 = parse("BEGIN:VCARD\nVERSION:3.0\nFN:X\nBDAY:1996-04-15\nREV:1995-10-31T22:27:10Z\nEND:VCARD\n");
        assert!(card_matches(
            &v3,
            &any(vec![text_prop("BDAY", equals("19960415"))])
        ));
        assert!(card_matches(
            &v3,
            &any(vec![text_prop("REV", contains("19951031T222710"))])
        ));
    }

    #[test]
    fn empty_values_and_odd_cards() {
        let card = parse("BEGIN:VCARD\nVERSION:3.0\nEMAIL:\nN:;;;;\nTEL;TYPE:\nEND:VCARD\n");
        let has = |name: &str, m: TextMatch| card_matches(&card, &any(vec![text_prop(name, m)]));
        assert!(has("EMAIL", equals("")));
        assert!(!has("EMAIL", contains("@")));
        assert!(has("N", equals(";;;;")));
        assert!(has("email", contains("")));
        let dotted = |name: &str| card_matches(&card, &any(vec![CardPropFilter::new(name)]));
        assert!(!dotted("."));
        assert!(!dotted("a.b.EMAIL"));
        assert!(!dotted(""));
    }

    #[test]
    fn timestamps_in_parameters() {
        assert_eq!(timestamp_text(0), "19700101T000000Z");
        assert_eq!(timestamp_text(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn x_properties_and_case_insensitive_names() {
        let card = parse(
            "BEGIN:VCARD\nVERSION:4.0\nFN:A\nx-custom-Thing;X-Param=Val:Some Value\nEND:VCARD\n",
        );
        let filter = |name: &str, pname: &str| {
            any(vec![CardPropFilter {
                test: FilterTest::AllOf,
                text_matches: vec![equals("SOME VALUE")],
                param_filters: vec![param(pname, Some(equals("val")))],
                ..CardPropFilter::new(name)
            }])
        };
        assert!(card_matches(&card, &filter("X-CUSTOM-THING", "x-param")));
        assert!(card_matches(&card, &filter("x-custom-thing", "X-PARAM")));
        assert!(!card_matches(&card, &filter("X-CUSTOM", "X-PARAM")));
    }

    #[test]
    fn index_needles_never_exclude_a_match() {
        let tm = |v: &str| TextMatch { value: v.into(), collation: UnicodeCasemap, match_type: MatchType::Equals, negate: false };
        let mut fn_filter = CardPropFilter::new("FN");
        fn_filter.text_matches.push(tm("Dubois"));
        let mut email = CardPropFilter::new("EMAIL");
        email.text_matches.push(tm("@AC-LYON.fr"));
        let any = CardFilter { test: FilterTest::AnyOf, prop_filters: vec![fn_filter.clone(), email.clone()] };
        assert_eq!(index_needles(&any), Some((vec!["dubois".into(), "@ac-lyon.fr".into()], false)));
        let all = CardFilter { test: FilterTest::AllOf, prop_filters: vec![fn_filter.clone(), email.clone()] };
        assert_eq!(index_needles(&all).map(|n| n.1), Some(true));
        // A negated or undefined-property filter in an anyof gives nothing.
        let mut negated = CardPropFilter::new("NICKNAME");
        negated.text_matches.push(tm("me").negated());
        let any = CardFilter { test: FilterTest::AnyOf, prop_filters: vec![fn_filter.clone(), negated.clone()] };
        assert_eq!(index_needles(&any), None);
        // In an allof, the other prop-filters still narrow.
        let all = CardFilter { test: FilterTest::AllOf, prop_filters: vec![fn_filter, negated] };
        assert_eq!(index_needles(&all), Some((vec!["dubois".into()], true)));
        assert_eq!(index_needles(&CardFilter { test: FilterTest::AnyOf, prop_filters: vec![] }), None);
    }

    #[test]
    fn decides_on_the_search_text_exactly() {
        use crate::vcard::object::{parse_address_object, search_text};
        let card = |extra: &str| {
            let text = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\n{extra}END:VCARD\r\n");
            parse_address_object(text.as_bytes()).unwrap().card
        };
        let cards = [
            card("FN:Jean Dubois\r\nEMAIL:jean@ac-lyon.fr\r\nEMAIL:jd@example.org\r\nN:Dubois;Jean;;;\r\n"),
            card("FN:HÉLÈNE DUBOIS-LEGRAND\r\nNOTE:ligne 1\\nligne 2\r\n"),
            card("FN:\r\nORG:Rectorat\r\n"),
            card("NICKNAME:JD,Jeannot\r\nCATEGORIES:Amis,Travail\r\n"),
        ];
        let tm = |v: &str, m: MatchType| TextMatch { value: v.into(), collation: UnicodeCasemap, match_type: m, negate: false };
        let pf = |name: &str, tms: Vec<TextMatch>| {
            let mut pf = CardPropFilter::new(name);
            pf.text_matches = tms;
            pf
        };
        let filters = [
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf("FN", vec![tm("dubois", MatchType::Contains)])] },
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf("fn", vec![tm("jean dubois", MatchType::Equals)])] },
            CardFilter { test: FilterTest::AllOf, prop_filters: vec![pf("EMAIL", vec![tm("@example.org", MatchType::EndsWith)]), pf("N", vec![tm("dubois;", MatchType::StartsWith)])] },
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf("ORG", vec![tm("RECTORAT", MatchType::Equals)]), pf("FN", vec![tm("hélène", MatchType::StartsWith)])] },
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf("NOTE", vec![tm("ligne", MatchType::Contains)])] },
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf("NICKNAME", vec![tm("jeannot", MatchType::Equals)])] },
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![pf("FN", vec![tm("x", MatchType::Contains).negated()])] },
            CardFilter { test: FilterTest::AnyOf, prop_filters: vec![] },
        ];
        for f in &filters {
            for c in &cards {
                if let Some(decided) = decide_on_search_text(f, &search_text(c)) {
                    assert_eq!(decided, card_matches(c, f), "{f:?} on {}", search_text(c));
                }
            }
        }
        // What can be decided is.
        assert_eq!(decide_on_search_text(&filters[0], &search_text(&cards[0])), Some(true));
        assert_eq!(decide_on_search_text(&filters[0], &search_text(&cards[2])), Some(false));
        assert_eq!(decide_on_search_text(&filters[2], &search_text(&cards[0])), Some(true));
        // List-valued properties, negations and multi-line values are parsed.
        assert_eq!(decide_on_search_text(&filters[5], &search_text(&cards[3])), None);
        assert_eq!(decide_on_search_text(&filters[6], &search_text(&cards[0])), None);
    }
}
