//! Calendar users as scheduling sees them: the addresses that identify a
//! principal (RFC 6638 §2.4.1 `calendar-user-address-set`), and the
//! principal an address in an ORGANIZER or ATTENDEE names.

use crate::app::AppState;
use crate::dav::error::DavResult;
use crate::dav::locks::path_of_uri;
use crate::dav::path::{href, DavPath};
use crate::itip::{AddressSet, CalAddress};
use crate::store::Principal;

/// Who an address names.
#[derive(Debug, Clone)]
pub enum CalendarUser {
    /// An active account of the platform.
    Local(Principal),
    /// Someone outside the platform, reachable by email (iMIP).
    External(String),
    /// Neither: a disabled account, or an address that is not an email
    /// (RFC 6638 §3.2.9 status 3.7).
    Unknown,
}

/// The path of `username`'s principal.
pub fn principal_path(username: &str) -> String {
    format!("/principals/{username}/")
}

/// The calendar user addresses of `p` (RFC 6638 §2.4.1), as the property
/// lists them: its email addresses (current ones, primary first, then
/// former ones, which still identify it), then its principal URL.
pub async fn address_list(state: &AppState, p: &Principal) -> DavResult<Vec<String>> {
    let emails = state.store.principal_emails(p.id).await?;
    let mut out: Vec<String> = emails.into_iter().map(|e| format!("mailto:{}", e.address)).collect();
    out.push(href(state.config.base_path(), &principal_path(&p.username)));
    Ok(out)
}

/// The addresses that identify `p` when matching an ORGANIZER or ATTENDEE:
/// [`address_list`], with its principal URL also in absolute form.
pub async fn address_set(state: &AppState, p: &Principal) -> DavResult<AddressSet> {
    let mut list = address_list(state, p).await?;
    let base = state.config.base_url.trim_end_matches('/');
    if let Some(origin) = base.split_once("://").map(|(scheme, rest)| (scheme, rest.split('/').next().unwrap_or(""))) {
        list.push(format!("{}://{}{}", origin.0, origin.1, href(state.config.base_path(), &principal_path(&p.username))));
    }
    Ok(list.iter().map(|a| CalAddress::new(a)).collect())
}

/// Who `address` names: a local account by one of its email addresses
/// (current or former) or by its principal URL, an external email
/// address, or nobody.
pub async fn calendar_user(state: &AppState, address: &CalAddress) -> DavResult<CalendarUser> {
    if let Some(email) = address.email() {
        return Ok(match state.store.principal_by_email(email).await? {
            Some(p) if !p.disabled => CalendarUser::Local(p),
            Some(_) => CalendarUser::Unknown,
            None if looks_like_email(email) => CalendarUser::External(email.to_string()),
            None => CalendarUser::Unknown,
        });
    }
    let path = path_of_uri(address.as_str());
    let Ok(path) = DavPath::parse(path, state.config.base_path()) else { return Ok(CalendarUser::Unknown) };
    match path.segments.as_slice() {
        [first, name] if first == "principals" => Ok(match state.store.principal_by_username(name).await? {
            Some(p) if !p.disabled => CalendarUser::Local(p),
            _ => CalendarUser::Unknown,
        }),
        _ => Ok(CalendarUser::Unknown),
    }
}

/// [`calendar_user`] for several addresses, in order: the email
/// addresses among them looked up together (one read), principal URLs one
/// by one.
pub async fn calendar_users(state: &AppState, addresses: &[CalAddress]) -> DavResult<Vec<CalendarUser>> {
    let emails: Vec<&str> = addresses.iter().filter_map(|a| a.email()).collect();
    let holders: std::collections::HashMap<String, crate::store::Principal> =
        if emails.is_empty() { Default::default() } else { state.store.principals_by_emails(&emails).await?.into_iter().collect() };
    let mut out = Vec::with_capacity(addresses.len());
    for address in addresses {
        let user = match address.email() {
            Some(email) => {
                let lowered = email.trim().to_lowercase();
                match holders.get(&lowered) {
                    Some(p) if !p.disabled => CalendarUser::Local(p.clone()),
                    Some(_) => CalendarUser::Unknown,
                    None if looks_like_email(email) => CalendarUser::External(email.to_string()),
                    None => CalendarUser::Unknown,
                }
            }
            None => calendar_user(state, address).await?,
        };
        out.push(user);
    }
    Ok(out)
}

/// A plausible mailbox (`local@domain`, no spaces or angle brackets): what
/// iMIP could be sent to.
fn looks_like_email(email: &str) -> bool {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_email;

    #[test]
    fn emails() {
        assert!(looks_like_email("a.b@ac-lyon.fr"));
        assert!(!looks_like_email("a.b@localhost"));
        assert!(!looks_like_email("@ac-lyon.fr"));
        assert!(!looks_like_email("a b@ac-lyon.fr"));
        assert!(!looks_like_email("a@b.fr>, c@d.fr"));
    }
}
