//! The security of server-rendered pages: response headers, cookies, and
//! the refusal of cross-site posts (CSRF).
//!
//! A post is accepted only when it comes from one of this server's pages:
//! `Sec-Fetch-Site` (when the browser sends it) is `same-origin` or `none`,
//! `Origin` (when sent) is the base URL's, and the form carries a token
//! that a cross-site page can neither read nor set — equal to a
//! `SameSite=Strict` cookie's (double submit, the visio page and the login
//! form) or to the one stored with the session (the account page).

use http::{header, HeaderMap};
use rand::RngCore;

use crate::dav::response::{set_header, Response};

/// 128 random bits from the operating system, as 32 hex digits.
pub fn random_hex() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Comparison whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The origin (scheme://host[:port]) of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization()).filter(|o| o != "null")
}

/// The headers of every page: a CSP allowing only the response's nonce'd
/// style and script (no `unsafe-inline`), images from `data:` when
/// asked (the QR code), forms posting here (and to `form_action_extra`), no framing;
/// `X-Frame-Options` for browsers without `frame-ancestors`, `nosniff`,
/// `referrer` (`same-origin` where a form posts back: `no-referrer` would
/// make the post's `Origin` "null"), never cached.
pub fn set_page_headers(
    r: &mut Response,
    nonce: &str,
    form_action_extra: Option<&str>,
    referrer: &str,
    data_images: bool,
) {
    let extra = form_action_extra
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let images = if data_images { " img-src data:;" } else { "" };
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}';{images} connect-src 'self'; \
         form-action 'self'{extra}; frame-ancestors 'none'; base-uri 'none'"
    );
    set_header(r, header::CONTENT_SECURITY_POLICY, &csp);
    set_header(r, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_header(r, header::REFERRER_POLICY, referrer);
    set_header(r, header::CACHE_CONTROL, "no-store");
    set_header(r, header::X_FRAME_OPTIONS, "DENY");
}

/// The value of cookie `name` in a request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Strict`, limited to `path`,
/// `Secure` when the base URL is https; `max_age` None for a cookie that
/// ends with the browser session, Some(0) to delete it.
pub fn cookie_header(
    base_url: &str,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
) -> String {
    let secure = if base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict{secure}{age}")
}

/// Append a `Set-Cookie` to a response.
pub fn add_cookie(r: &mut Response, value: &str) {
    if let Ok(v) = http::HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether a post comes from this site, by the browser's own headers:
/// `Sec-Fetch-Site` same-origin (or none: typed by the user) and `Origin`
/// this server's, when sent. The form's token is checked by the caller.
pub fn same_site_post(base_url: &str, headers: &HeaderMap) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| !matches!(s, "same-origin" | "none")) {
        return false;
    }
    if let Some(origin) = header("origin") {
        if Some(origin.to_string()) != origin_of(base_url) {
            return false;
        }
    }
    true
}

/// [`same_site_post`], and the form's token equal to the cookie `cookie_name`
/// (a 32-hex-digit token set by the page with the form).
pub fn double_submit_ok(
    base_url: &str,
    headers: &HeaderMap,
    cookie_name: &str,
    form_token: Option<&str>,
) -> bool {
    if !same_site_post(base_url, headers) {
        return false;
    }
    match (cookie(headers, cookie_name), form_token) {
        (Some(c), Some(f)) => c.len() == 32 && constant_time_eq(c.as_bytes(), f.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_posts() {
        assert_eq!(
            origin_of("https://visio.example.fr/bigbluebutton/").as_deref(),
            Some("https://visio.example.fr")
        );
        let mut h = HeaderMap::new();
        h.insert("origin", "https://agenda.example.fr".parse().unwrap());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_site_post("https://agenda.example.fr/x", &h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_site_post("https://agenda.example.fr", &h));
        h.remove("sec-fetch-site");
        h.insert("origin", "https://evil.example".parse().unwrap());
        assert!(!same_site_post("https://agenda.example.fr", &h));
        let t = random_hex();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("a=b; tok={t}").parse().unwrap());
        assert!(double_submit_ok(
            "https://agenda.example.fr",
            &h,
            "tok",
            Some(&t)
        ));
        assert!(!double_submit_ok(
            "https://agenda.example.fr",
            &h,
            "tok",
            Some(&random_hex())
        ));
        assert!(!double_submit_ok(
            "https://agenda.example.fr",
            &h,
            "tok",
            None
        ));
        assert_eq!(
            cookie_header("https://a.fr", "s", "v", "/account", None),
            "s=v; Path=/account; HttpOnly; SameSite=Strict; Secure"
        );
    }
}
