//! GET and HEAD (RFC 7231 §4.3.1-2 with RFC 4918 §9.4): an object's exact
//! bytes with its strong ETag (or the representation its collection type
//! negotiates); for a collection, what its type answers (a whole calendar)
//! or an HTML listing of members; for a generated resource, its mount's
//! answer.

use bytes::Bytes;
use http::{header, StatusCode};

use super::conditional::read_precondition;
use super::error::{DavError, DavResult};
use super::live_props::http_date;
use super::members::members;
use super::resource::{resolve, Resource};
use super::response::{quoted_etag, set_header, with_body, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{Collection, ObjectMeta};
use crate::xml::escape_text;

/// Representations larger than this are converted on the compute pool.
const INLINE_CONVERSION_BYTES: usize = 64 * 1024;

pub async fn get(req: &DavRequest<'_>) -> DavResult<Response> {
    if let Some(resp) = get_object_directly(req).await? {
        return Ok(resp);
    }
    let resource = resolve(req.state, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let head = req.method == http::Method::HEAD;
    let mut resp = match &resource {
        Resource::Object { parent, meta, .. } => {
            if let Some(r) = precondition_response(req, &meta.etag)? {
                return Ok(r);
            }
            // The headers describe the bytes sent: both come from one read.
            // HEAD needs the bytes too when the representation depends on
            // `Accept` (RFC 9110 §9.3.2: the headers GET would send).
            let negotiated = req.state.registry.collection_type(parent.kind).is_some_and(|t| t.varies_on_accept());
            let (meta, body) = if head && !negotiated {
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
            object_response(req, parent, &meta, body).await?
        }
        Resource::Mounted(node) => match req.state.registry.mount(node.mount()) {
            Some(mount) => mount.get(req, node.as_ref()).await?,
            None => return Err(DavError::not_found()),
        },
        Resource::Collection { collection, .. } => match collection_answer(req, collection).await {
            Some(answer) => answer?,
            None => listing_response(req, &resource, head).await?,
        },
        _ => listing_response(req, &resource, head).await?,
    };
    set_header(&mut resp, header::HeaderName::from_static("x-content-type-options"), "nosniff");
    Ok(resp)
}

/// What the type of `collection` answers to GET of it, if it has a type
/// that does (a calendar: the whole calendar as one `.ics`).
async fn collection_answer(req: &DavRequest<'_>, collection: &Collection) -> Option<DavResult<Response>> {
    req.state.registry.collection_type(collection.kind)?.get_collection(req, collection).await
}

async fn listing_response(req: &DavRequest<'_>, resource: &Resource, head: bool) -> DavResult<Response> {
    let page = listing(req, resource).await?;
    let len = page.len();
    let mut r = with_body(StatusCode::OK, "text/html; charset=utf-8", if head { String::new() } else { page });
    set_header(&mut r, header::CONTENT_LENGTH, &len.to_string());
    Ok(r)
}

/// GET of an object below a home in one read: the object, its collection
/// and its bytes together (the common case of every sync client). None
/// when the path does not name a stored object (the general path answers).
async fn get_object_directly(req: &DavRequest<'_>) -> DavResult<Option<Response>> {
    let path = &req.path;
    if req.method != http::Method::GET || path.trailing_slash || path.segments.len() < 4 {
        return Ok(None);
    }
    let Some(home) = req.state.registry.home(&path.segments[0]) else { return Ok(None) };
    let parent_path = path.parent().expect("path has a parent").collection_path();
    let name = path.last().expect("path has a last segment");
    let Some((parent, meta, body)) = req.state.store.object_at_with_content(&parent_path, name).await? else {
        return Ok(None);
    };
    let resource = Resource::Object { space: home.space, parent, meta };
    req.require(&resource, Privileges::READ)?;
    let Resource::Object { parent, meta, .. } = &resource else { return Ok(None) };
    if let Some(r) = precondition_response(req, &meta.etag)? {
        return Ok(Some(r));
    }
    let mut resp = object_response(req, parent, meta, body).await?;
    set_header(&mut resp, header::HeaderName::from_static("x-content-type-options"), "nosniff");
    Ok(Some(resp))
}

/// 200 with an object's bytes and the headers describing them — or the
/// representation its collection's type negotiates (a vCard in the
/// version `Accept` asks for, RFC 6352 §5.1.1).
async fn object_response(req: &DavRequest<'_>, parent: &Collection, meta: &ObjectMeta, body: Bytes) -> DavResult<Response> {
    let member_type = req.state.registry.collection_type_arc(parent.kind).filter(|t| t.varies_on_accept());
    let accept = req.header("accept").map(str::to_string);
    let converted = match (&member_type, accept) {
        (Some(t), Some(accept)) if body.len() > INLINE_CONVERSION_BYTES => {
            let (t, meta, stored) = (t.clone(), meta.clone(), body.clone());
            req.compute(move || t.represent(Some(&accept), &meta, &stored)).await?
        }
        (Some(t), accept) => t.represent(accept.as_deref(), meta, &body),
        (None, _) => None,
    };
    let (content_type, body) = converted.unwrap_or_else(|| (meta.content_type.clone(), body));
    // HEAD sends no bytes but the length of those GET would send.
    let head = req.method == http::Method::HEAD;
    let len = if head && body.is_empty() { meta.size as usize } else { body.len() };
    let mut r = with_body(StatusCode::OK, &content_type, if head { Bytes::new() } else { body });
    set_header(&mut r, header::ETAG, &quoted_etag(&meta.etag));
    set_header(&mut r, header::LAST_MODIFIED, &http_date(meta.modified_at));
    set_header(&mut r, header::CONTENT_LENGTH, &len.to_string());
    super::put::member_headers(req, parent.kind, meta, &mut r);
    if member_type.is_some() {
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

async fn listing(req: &DavRequest<'_>, resource: &Resource) -> DavResult<String> {
    let title = escape_text(&req.path.collection_path());
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n<h1>{title}</h1>\n<ul>\n"
    );
    for (path, member) in members(req, &req.path, resource).await? {
        let href = req.href(&member.addressed_path(&path));
        let name = escape_text(path.last().unwrap_or("/"));
        let slash = if member.is_collection() { "/" } else { "" };
        html.push_str(&format!("<li><a href=\"{}\">{name}{slash}</a></li>\n", escape_text(&href).replace('"', "&quot;")));
    }
    html.push_str("</ul>\n</body></html>\n");
    Ok(html)
}
