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
use crate::dav::collection_type::QName;
use crate::dav::property::PropValue;
use crate::dav::DavRequest;
use crate::vcard::convert::convert;
use crate::vcard::object::{parse_stored, stored_version};
use crate::vcard::select::select;
use crate::xml::{Element, NS_CARDDAV};
use request::{parse_address_data, AddressDataRequest};

/// The `address-data` element (RFC 6352 §10.4).
pub const ADDRESS_DATA: QName = (NS_CARDDAV, "address-data");

/// The properties a CardDAV report asks for, `address-data` parsed here
/// (§10.4, §10.7).
pub type ReportProps<'r> = crate::dav::report::ReportProps<'r, AddressDataRequest>;

/// [`ReportProps`] of a report's `root`.
pub fn report_props<'r>(req: &DavRequest<'r>, root: &Element) -> DavResult<ReportProps<'r>> {
    ReportProps::parse(&req.state.registry, root, ADDRESS_DATA, parse_address_data)
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
