//! HTML escaping and the layout of a whole page with its security headers.

use http::StatusCode;

use crate::dav::response::{with_body, Response};

/// HTML escaping of text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a page shows and allows.
pub struct Page<'a> {
    pub status: StatusCode,
    /// The `<h1>` and the first part of `<title>`, as text (escaped here).
    pub title: &'a str,
    /// Appended to the `<title>` (e.g. " — Visio").
    pub title_suffix: &'a str,
    /// The stylesheet (served with the response's nonce).
    pub style: &'a str,
    /// The `<main>`'s content, already HTML.
    pub body: &'a str,
    /// A script (with the response's nonce), on pages that need one.
    pub script: Option<&'a str>,
    /// Origins forms may post to besides this one (CSP `form-action`).
    pub form_action_extra: Option<&'a str>,
    /// Where the page may be linked from without a referrer leaking: see
    /// [`super::security::set_page_headers`].
    pub referrer_policy: &'a str,
    /// Whether `data:` images are allowed (CSP `img-src`).
    pub data_images: bool,
}

impl Page<'_> {
    /// The page as a response, with its security headers.
    pub fn render(&self) -> Response {
        let nonce = super::security::random_hex();
        let script = self
            .script
            .map(|s| format!("<script nonce=\"{nonce}\">{s}</script>"))
            .unwrap_or_default();
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}{}</title><style nonce=\"{nonce}\">{}</style></head>\
             <body><main><h1>{}</h1>{}</main>{script}</body></html>\n",
            escape(self.title),
            escape(self.title_suffix),
            self.style,
            escape(self.title),
            self.body,
        );
        let mut r = with_body(self.status, "text/html; charset=utf-8", html);
        super::security::set_page_headers(
            &mut r,
            &nonce,
            self.form_action_extra,
            self.referrer_policy,
            self.data_images,
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn page_carries_its_nonce_and_headers() {
        let r = Page {
            status: StatusCode::OK,
            title: "<b>",
            title_suffix: " — Test",
            style: "p{}",
            body: "<p>x</p>",
            script: Some("1"),
            form_action_extra: None,
            referrer_policy: "no-referrer",
            data_images: false,
        }
        .render();
        let csp = r
            .headers()
            .get(http::header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(
            r.headers().get(http::header::X_FRAME_OPTIONS).unwrap(),
            "DENY"
        );
    }
}
