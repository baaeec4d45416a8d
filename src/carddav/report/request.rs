//! Parsing the XML of the CardDAV reports: `address-data` (RFC 6352
//! §10.4), the filter (§10.5) and `limit` (§10.6). Defaults are filled in
//! here, so [`crate::vcard::filter`] sees every field explicitly.


use crate::collation::{Collation, MatchType, TextMatch};
use crate::dav::error::{DavError, DavResult};
use crate::vcard::filter::{CardFilter, CardParamFilter, CardPropFilter, FilterTest};
use crate::vcard::select::PropSelection;
use crate::vcard::VCardVersion;
use crate::xml::{Element, NS_CARDDAV};

/// What an `address-data` element of a report asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressDataRequest {
    /// The version to serve; None: as stored.
    pub version: Option<VCardVersion>,
    /// Only these properties (§10.4.2); None: all (§10.4.1 `allprop`).
    pub props: Option<Vec<PropSelection>>,
}

impl AddressDataRequest {
    /// Whether the stored bytes answer it unchanged for a vCard of `stored`.
    pub fn is_whole(&self, stored: Option<VCardVersion>) -> bool {
        self.props.is_none() && (self.version.is_none() || self.version == stored)
    }
}

fn bad(why: impl Into<String>) -> DavError {
    DavError::bad_request(why.into())
}

/// §10.4. The DTD's default `version` is 3.0, but a client that names no
/// version (most do not) is served the vCard as it stored it, which is
/// what it sent; an explicit `version` converts.
pub fn parse_address_data(e: &Element) -> DavResult<AddressDataRequest> {
    let content_type = e.attr("", "content-type").unwrap_or("text/vcard");
    let version = match e.attr("", "version") {
        None => None,
        Some(v) => Some(crate::vcard::parse_version(v).ok_or_else(unsupported_data)?),
    };
    if !crate::vcard::is_vcard_media_type(content_type) {
        return Err(unsupported_data());
    }
    let mut props = None;
    for child in e.elements().filter(|c| c.ns == NS_CARDDAV) {
        match child.name.as_str() {
            "allprop" => props = None,
            "prop" => props.get_or_insert_with(Vec::new).push(PropSelection {
                name: child.attr("", "name").ok_or_else(|| bad("address-data prop needs a name"))?.to_string(),
                novalue: child.attr("", "novalue") == Some("yes"),
            }),
            _ => {}
        }
    }
    Ok(AddressDataRequest { version, props })
}

fn unsupported_data() -> DavError {
    DavError::forbidden_by(crate::carddav::preconditions::SUPPORTED_ADDRESS_DATA)
}

fn parse_test(e: &Element) -> DavResult<FilterTest> {
    match e.attr("", "test") {
        None => Ok(FilterTest::AnyOf),
        Some(t) => FilterTest::parse(t).ok_or_else(|| bad(format!("invalid test {t:?}"))),
    }
}

/// §10.5: `filter` with its `prop-filter`s.
pub fn parse_filter(filter: &Element) -> DavResult<CardFilter> {
    let prop_filters = filter
        .elements()
        .filter(|e| e.is(NS_CARDDAV, "prop-filter"))
        .map(parse_prop_filter)
        .collect::<DavResult<Vec<_>>>()?;
    Ok(CardFilter { test: parse_test(filter)?, prop_filters })
}

fn name_of(e: &Element) -> DavResult<String> {
    match e.attr("", "name") {
        Some(n) if !n.trim().is_empty() => Ok(n.trim().to_string()),
        _ => Err(bad(format!("{} needs a name", e.name))),
    }
}

/// §10.5.1.
fn parse_prop_filter(e: &Element) -> DavResult<CardPropFilter> {
    let mut pf = CardPropFilter::new(name_of(e)?);
    pf.test = parse_test(e)?;
    for child in e.elements().filter(|c| c.ns == NS_CARDDAV) {
        match child.name.as_str() {
            "is-not-defined" => pf.is_not_defined = true,
            "text-match" => pf.text_matches.push(parse_text_match(child)?),
            "param-filter" => pf.param_filters.push(parse_param_filter(child)?),
            _ => {}
        }
    }
    Ok(pf)
}

/// §10.5.2.
fn parse_param_filter(e: &Element) -> DavResult<CardParamFilter> {
    let mut pf = CardParamFilter::new(name_of(e)?);
    for child in e.elements().filter(|c| c.ns == NS_CARDDAV) {
        match child.name.as_str() {
            "is-not-defined" => pf.is_not_defined = true,
            "text-match" => pf.text_match = Some(parse_text_match(child)?),
            _ => {}
        }
    }
    Ok(pf)
}

/// §10.5.4: collation `i;unicode-casemap`, match-type `contains` and
/// negate-condition `no` by default; an unknown collation is the
/// `supported-collation` precondition (§8.3).
fn parse_text_match(e: &Element) -> DavResult<TextMatch> {
    let collation = match e.attr("", "collation") {
        None => Collation::UnicodeCasemap,
        Some(c) => Collation::parse(c)
            .ok_or_else(|| DavError::forbidden_by(crate::carddav::preconditions::SUPPORTED_COLLATION))?,
    };
    let match_type = match e.attr("", "match-type") {
        None => MatchType::Contains,
        Some(m) => MatchType::parse(m).ok_or_else(|| bad(format!("invalid match-type {m:?}")))?,
    };
    let negate = match e.attr("", "negate-condition") {
        None | Some("no") => false,
        Some("yes") => true,
        Some(v) => return Err(bad(format!("invalid negate-condition {v:?}"))),
    };
    Ok(TextMatch { value: e.text(), collation, match_type, negate })
}

