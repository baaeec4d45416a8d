//! The CardDAV reports (RFC 6352 §8.6 `addressbook-query`, §8.7
//! `addressbook-multiget`) and what they share: the properties a report
//! asks for, with `address-data` rendered from the stored bytes (§10.4).

mod multiget;
mod query;
pub mod request;

pub use multiget::addressbook_multiget;
pub use query::addressbook_query;

use bytes::Bytes;

use crate::dav::error::DavResult;
use crate::dav::multistatus::{Cut, ObjectData};
use crate::dav::propfind::PropfindRequest;
use crate::dav::property::{PropName, PropValue};
use crate::vcard::convert::convert;
use crate::vcard::object::{parse_stored, stored_version};
use crate::vcard::select::select;
use crate::xml::{Element, NS_CARDDAV, NS_DAV};
use request::{parse_address_data, AddressDataRequest};

/// The properties a report asks for: everything but `address-data` goes
/// through the PROPFIND machinery; `address-data` is rendered here.
pub struct ReportProps {
    pub propfind: PropfindRequest,
    pub address_data: Option<AddressDataRequest>,
}

impl ReportProps {
    /// From the `DAV:prop`, `DAV:allprop` or `DAV:propname` child of a
    /// report (RFC 6352 §10.3, §10.7).
    pub fn parse(root: &Element) -> DavResult<ReportProps> {
        let mut address_data = None;
        let propfind = if let Some(prop) = root.child(NS_DAV, "prop") {
            let mut names = Vec::new();
            for e in prop.elements() {
                if e.is(NS_CARDDAV, "address-data") {
                    address_data = Some(parse_address_data(e)?);
                } else {
                    names.push(PropName::new(&e.ns, &e.name));
                }
            }
            PropfindRequest::Prop(names)
        } else if root.child(NS_DAV, "propname").is_some() {
            PropfindRequest::PropName
        } else if root.child(NS_DAV, "allprop").is_some() {
            PropfindRequest::AllProp(Vec::new())
        } else {
            PropfindRequest::Prop(Vec::new())
        };
        Ok(ReportProps { propfind, address_data })
    }

    pub fn needs_content(&self) -> bool {
        self.address_data.is_some()
    }
}

/// The `address-data` of an object: its exact bytes (shared, not copied),
/// or the version or part asked for, at most `max_bytes`. Conversion and
/// selection are compute work (call them inside [`crate::compute`]).
pub fn address_data(
    request: Option<&AddressDataRequest>,
    content_type: &str,
    content: Option<&Bytes>,
    max_bytes: usize,
) -> Result<ObjectData, Cut> {
    let (Some(request), Some(content)) = (request, content) else {
        return Ok(if request.is_some() { ObjectData::Missing } else { ObjectData::NotAsked });
    };
    let value = if request.is_whole(crate::carddav::get::stored_version(content_type)) {
        PropValue::stored(content)
    } else if !crate::compute::charge_bytes(content.len()) {
        return Err(Cut::Budget);
    } else {
        render_address_data(request, content_type, content).map(PropValue::Text)
    };
    let data = value.map_or(ObjectData::Missing, ObjectData::Value);
    if data.size() > max_bytes {
        return Err(Cut::Bytes);
    }
    Ok(data)
}

/// The version or part of an object asked for. None when the stored bytes
/// no longer parse (they did when stored).
pub fn render_address_data(request: &AddressDataRequest, content_type: &str, content: &Bytes) -> Option<String> {
    let declared = crate::carddav::get::stored_version(content_type);
    if request.is_whole(declared) {
        return String::from_utf8(content.to_vec()).ok();
    }
    let stored_text = std::str::from_utf8(content).ok()?;
    let converted = match request.version {
        Some(wanted) if Some(wanted) != declared => {
            let card = parse_stored(content)?;
            (stored_version(&card) != wanted).then(|| convert(&card, wanted))
        }
        _ => None,
    };
    let text = converted.as_deref().unwrap_or(stored_text);
    Some(match &request.props {
        Some(props) => select(text, props),
        None => text.to_string(),
    })
}
