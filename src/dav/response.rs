//! Response helpers shared by the handlers.

use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use http_body_util::Full;

pub type Body = Full<Bytes>;
pub type Response = http::Response<Body>;

pub const XML_CONTENT_TYPE: &str = "application/xml; charset=utf-8";

pub fn empty(status: StatusCode) -> Response {
    let mut r = http::Response::new(Body::default());
    *r.status_mut() = status;
    r
}

pub fn with_body(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response {
    let mut r = http::Response::new(Body::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

pub fn xml_response(status: StatusCode, xml: String) -> Response {
    with_body(status, XML_CONTENT_TYPE, xml)
}

pub fn text(status: StatusCode, msg: &str) -> Response {
    with_body(status, "text/plain; charset=utf-8", msg.to_string())
}

/// `207 Multi-Status` with an XML body.
pub fn multistatus(xml: String) -> Response {
    xml_response(StatusCode::MULTI_STATUS, xml)
}

pub fn set_header(r: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// Quote an entity tag for the ETag header.
pub fn quoted_etag(etag: &str) -> String {
    format!("\"{etag}\"")
}
