//! REPORT (RFC 3253 §3.6): one dispatch on the report's root element.
//! `sync-collection` (RFC 6578) belongs to the WebDAV core; the CalDAV
//! reports to [`crate::caldav::report`], the CardDAV ones to
//! [`crate::carddav::report`]. Anything else, or a report on a
//! resource that does not support it, is refused with the
//! `DAV:supported-report` precondition.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult};
use super::multistatus::{MultiStatus, ObjectData};
use super::path::DavPath;
use super::propfind::{properties_of, PropfindRequest};
use super::property::{PropName, PropValue};
use super::resource::{resolve, HomeSpace, Resource};
use super::response::Response;
use super::{principal_search, sync, DavRequest};
use crate::auth::acl::Privileges;
use crate::caldav;
use crate::carddav;
use crate::store::{Collection, ObjectMeta};
use crate::xml::{self, NS_CALDAV, NS_CARDDAV, NS_DAV};

pub async fn report(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let root = xml::parse(&req.body, xml::XmlLimits::default())?;
    let supported = supported_reports(&resource);
    if !supported.iter().any(|(ns, name)| root.is(ns, name)) {
        return Err(DavError::condition(StatusCode::FORBIDDEN, conditions::SUPPORTED_REPORT));
    }
    match (root.ns.as_str(), root.name.as_str()) {
        (NS_DAV, "sync-collection") => sync::sync_collection(req, &resource, &root).await,
        (NS_DAV, "principal-property-search") => principal_search::principal_property_search(req, &root).await,
        (NS_DAV, "principal-search-property-set") => Ok(principal_search::principal_search_property_set()),
        (NS_CALDAV, "calendar-query") => caldav::report::calendar_query(req, &resource, &root).await,
        (NS_CALDAV, "calendar-multiget") => caldav::report::calendar_multiget(req, &resource, &root).await,
        (NS_CALDAV, "free-busy-query") => caldav::report::free_busy_query(req, &resource, &root).await,
        (NS_CARDDAV, "addressbook-query") if matches!(resource, Resource::Directory) => {
            carddav::directory::query(req, &root).await
        }
        (NS_CARDDAV, "addressbook-multiget") if matches!(resource, Resource::Directory | Resource::DirectoryCard(_)) => {
            carddav::directory::multiget(req, &root).await
        }
        (NS_CARDDAV, "addressbook-query") => carddav::report::addressbook_query(req, &resource, &root).await,
        (NS_CARDDAV, "addressbook-multiget") => carddav::report::addressbook_multiget(req, &resource, &root).await,
        _ => Err(DavError::condition(StatusCode::FORBIDDEN, conditions::SUPPORTED_REPORT)),
    }
}

/// Append the `response` of one object of a report: the properties asked
/// for (through the PROPFIND machinery) and its generated data in
/// `data_name` (`calendar-data`, `address-data`).
#[allow(clippy::too_many_arguments)]
pub async fn object_response(
    req: &DavRequest<'_>,
    ms: &mut MultiStatus,
    space: HomeSpace,
    collection: &Collection,
    meta: ObjectMeta,
    data_name: (&'static str, &'static str),
    data: ObjectData,
    propfind: &PropfindRequest,
) -> DavResult<()> {
    let store_path = format!("{}{}", collection.path, meta.name);
    let path = DavPath::from_store_path(&store_path);
    let resource = Resource::Object { space, parent: collection.clone(), meta };
    let mut groups = properties_of(req, &path, &resource, propfind).await?;
    let name = PropName::new(data_name.0, data_name.1);
    match data {
        ObjectData::NotAsked => {}
        ObjectData::Missing => groups[1].props.push((name, PropValue::Empty)),
        ObjectData::Value(v) => groups[0].props.push((name, v)),
    }
    ms.propstat_response(&req.href(&store_path), &groups);
    Ok(())
}

/// The reports a resource supports (RFC 3253 §3.1.5 `supported-report-set`).
pub fn supported_reports(resource: &Resource) -> Vec<(&'static str, &'static str)> {
    const SYNC: (&str, &str) = (NS_DAV, "sync-collection");
    const QUERY: (&str, &str) = (NS_CALDAV, "calendar-query");
    const MULTIGET: (&str, &str) = (NS_CALDAV, "calendar-multiget");
    const FREE_BUSY: (&str, &str) = (NS_CALDAV, "free-busy-query");
    const PRINCIPAL_SEARCH: (&str, &str) = (NS_DAV, "principal-property-search");
    const SEARCH_SET: (&str, &str) = (NS_DAV, "principal-search-property-set");
    const CARD_QUERY: (&str, &str) = (NS_CARDDAV, "addressbook-query");
    const CARD_MULTIGET: (&str, &str) = (NS_CARDDAV, "addressbook-multiget");
    match resource {
        Resource::Root | Resource::PrincipalCollection | Resource::Principal(_) => vec![PRINCIPAL_SEARCH, SEARCH_SET],
        // Searched and fetched, never synchronized whole.
        Resource::Directory => vec![CARD_QUERY, CARD_MULTIGET],
        Resource::DirectoryCard(_) => vec![CARD_MULTIGET],
        Resource::Collection { collection, .. } if caldav::is_calendar(collection) => {
            vec![QUERY, MULTIGET, FREE_BUSY, SYNC]
        }
        Resource::Collection { space: super::resource::HomeSpace::Calendars, .. } => vec![MULTIGET, SYNC],
        Resource::Collection { collection, .. } if carddav::is_addressbook(collection) => {
            vec![CARD_QUERY, CARD_MULTIGET, SYNC]
        }
        Resource::Collection { space: super::resource::HomeSpace::AddressBooks, .. } => {
            vec![CARD_QUERY, CARD_MULTIGET, SYNC]
        }
        Resource::Collection { .. } => vec![SYNC],
        Resource::Object { parent, .. } if caldav::is_calendar(parent) => vec![QUERY, MULTIGET],
        Resource::Object { parent, .. } if carddav::is_addressbook(parent) => vec![CARD_QUERY, CARD_MULTIGET],
        _ => vec![],
    }
}
