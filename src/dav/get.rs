//! GET and HEAD (RFC 7231 §4.3.1-2 with RFC 4918 §9.4): an object's exact
//! bytes with its strong ETag; for collections, an HTML listing of members.

use bytes::Bytes;
use http::{header, StatusCode};

use super::error::{DavError, DavResult};
use super::live_props::http_date;
use super::members::members;
use super::resource::{resolve, Resource};
use super::response::{quoted_etag, set_header, with_body, Response};
use super::conditional::read_precondition;
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::xml::escape_text;

pub async fn get(req: &DavRequest<'_>) -> DavResult<Response> {
    if let Some(resp) = get_object_directly(req).await? {
        return Ok(resp);
    }
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let head = req.method == http::Method::HEAD;
    let mut resp = match &resource {
        Resource::Object { meta, .. } => {
            if let Some(r) = precondition_response(req, &meta.etag)? {
                return Ok(r);
            }
            // The headers describe the bytes sent: both come from one read.
            let (meta, body) = if head {
                (meta.clone(), Bytes::new())
            } else {
                let (current, body) =
                    req.state.store.object_with_content(meta.id).await?.ok_or_else(DavError::not_found)?;
                // Replaced since it was resolved: the preconditions apply to
                // the version actually sent.
                if current.etag != meta.etag {
                    if let Some(r) = precondition_response(req, &current.etag)? {
                        return Ok(r);
                    }
                }
                (current, body)
            };
            object_response(req, &resource, &meta, body).await?
        }
        Resource::DirectoryCard(entry) => {
            let card = crate::carddav::directory::card(entry);
            if let Some(r) = precondition_response(req, &card.etag)? {
                return Ok(r);
            }
            let meta = crate::store::ObjectMeta {
                id: entry.principal,
                collection: 0,
                name: format!("{}.vcf", entry.username),
                content_type: card.content_type.to_string(),
                etag: card.etag,
                size: card.bytes.len() as i64,
                created_at: entry.modified_at,
                modified_at: entry.modified_at,
            };
            object_response(req, &resource, &meta, if head { Bytes::new() } else { card.bytes }).await?
        }
        Resource::Collection { collection, .. } if crate::caldav::is_calendar(collection) => {
            let name = display_name(req, collection).await?;
            let body = crate::caldav::export::export_calendar(req, collection, &name).await?;
            let len = body.len();
            let mut r = with_body(StatusCode::OK, "text/calendar; charset=utf-8", if head { String::new() } else { body });
            set_header(&mut r, header::CONTENT_LENGTH, &len.to_string());
            r
        }
        _ => {
            let page = listing(req, &resource).await?;
            let len = page.len();
            let mut r = with_body(StatusCode::OK, "text/html; charset=utf-8", if head { String::new() } else { page });
            set_header(&mut r, header::CONTENT_LENGTH, &len.to_string());
            r
        }
    };
    set_header(&mut resp, header::HeaderName::from_static("x-content-type-options"), "nosniff");
    Ok(resp)
}

/// GET of an object below a home in one read: the object, its collection
/// and its bytes together (the common case of every sync client). None
/// when the path does not name a stored object (the general path answers).
async fn get_object_directly(req: &DavRequest<'_>) -> DavResult<Option<Response>> {
    let path = &req.path;
    if req.method != http::Method::GET || path.trailing_slash || path.segments.len() < 4 {
        return Ok(None);
    }
    let Some(space) = super::resource::HomeSpace::parse(&path.segments[0]) else { return Ok(None) };
    let parent_path = path.parent().expect("path has a parent").collection_path();
    let name = path.last().expect("path has a last segment");
    let Some((parent, meta, body)) = req.state.store.object_at_with_content(&parent_path, name).await? else {
        return Ok(None);
    };
    let resource = Resource::Object { space, parent, meta };
    req.require(&resource, Privileges::READ)?;
    let Resource::Object { meta, .. } = &resource else { return Ok(None) };
    if let Some(r) = precondition_response(req, &meta.etag)? {
        return Ok(Some(r));
    }
    let mut resp = object_response(req, &resource, meta, body).await?;
    set_header(&mut resp, header::HeaderName::from_static("x-content-type-options"), "nosniff");
    Ok(Some(resp))
}

/// 200 with an object's bytes and the headers describing them; a vCard in
/// the version the `Accept` header asks for (RFC 6352 §5.1.1).
async fn object_response(
    req: &DavRequest<'_>,
    resource: &Resource,
    meta: &crate::store::ObjectMeta,
    body: Bytes,
) -> DavResult<Response> {
    let in_addressbook = match resource {
        Resource::Object { parent, .. } => crate::carddav::is_addressbook(parent),
        Resource::DirectoryCard(_) => true,
        _ => false,
    };
    let converted = match req.header("accept").filter(|_| in_addressbook) {
        // A large vCard is converted on the compute pool.
        Some(accept) if body.len() > 64 * 1024 => {
            let (accept, content_type, stored) = (accept.to_string(), meta.content_type.clone(), body.clone());
            req.compute(move || crate::carddav::get::negotiate(Some(&accept), &content_type, &stored)).await?
        }
        Some(accept) => crate::carddav::get::negotiate(Some(accept), &meta.content_type, &body),
        None => None,
    };
    let (content_type, body) = converted.unwrap_or_else(|| (meta.content_type.clone(), body));
    // HEAD sends no bytes but the length of those GET would send.
    let len = if req.method == http::Method::HEAD { meta.size as usize } else { body.len() };
    let mut r = with_body(StatusCode::OK, &content_type, body);
    set_header(&mut r, header::ETAG, &quoted_etag(&meta.etag));
    set_header(&mut r, header::LAST_MODIFIED, &http_date(meta.modified_at));
    set_header(&mut r, header::CONTENT_LENGTH, &len.to_string());
    if in_addressbook {
        set_header(&mut r, header::VARY, "Accept");
    }
    Ok(r)
}

/// The 304/412 answer to `If-None-Match` / `If-Match` for the version `etag`, if any.
fn precondition_response(req: &DavRequest<'_>, etag: &str) -> DavResult<Option<Response>> {
    Ok(read_precondition(req, etag)?.map(|status| {
        let mut r = super::response::empty(status);
        set_header(&mut r, header::ETAG, &quoted_etag(etag));
        r
    }))
}

/// The calendar's `displayname`, or its last path segment.
async fn display_name(req: &DavRequest<'_>, collection: &crate::store::Collection) -> DavResult<String> {
    let name = super::live_props::dead_property_text(req, collection.id, crate::xml::NS_DAV, "displayname").await?;
    Ok(name.unwrap_or_else(|| collection.name().to_string()))
}

async fn listing(req: &DavRequest<'_>, resource: &Resource) -> DavResult<String> {
    let title = escape_text(&req.path.collection_path());
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n<h1>{title}</h1>\n<ul>\n"
    );
    for (path, member) in members(req, resource).await? {
        let href = req.href(&member.store_path(&path));
        let name = escape_text(path.last().unwrap_or("/"));
        let slash = if member.is_collection() { "/" } else { "" };
        html.push_str(&format!("<li><a href=\"{}\">{name}{slash}</a></li>\n", escape_text(&href).replace('"', "&quot;")));
    }
    html.push_str("</ul>\n</body></html>\n");
    Ok(html)
}
