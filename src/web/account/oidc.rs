//! OpenID Connect login (not configured yet in this build step).

use http::Request;
use hyper::body::Incoming;

use super::Failure;
use crate::app::AppState;
use crate::dav::response::Response;

pub async fn start(_state: &AppState) -> Result<Response, Failure> {
    Err(Failure::NotFound)
}

pub async fn callback(_state: &AppState, _req: &Request<Incoming>) -> Result<Response, Failure> {
    Err(Failure::NotFound)
}
