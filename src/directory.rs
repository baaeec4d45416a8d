//! The directory of principals and académies: account management used by the
//! command line and by the server's first start. Validation lives here; the
//! store only persists.

pub mod import;

use crate::auth::password;
use crate::store::{Academie, NewPrincipal, Principal, PrincipalKind, SharedStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("invalid username {0:?}: use 1-64 characters among a-z, 0-9, '.', '_', '-', '@'")]
    InvalidUsername(String),
    #[error("invalid académie slug {0:?}: use 1-64 characters among a-z, 0-9, '-'")]
    InvalidSlug(String),
    #[error("invalid email address {0:?}")]
    InvalidEmail(String),
    #[error("the password must not be empty")]
    EmptyPassword,
    #[error("no such user {0:?}")]
    UnknownUser(String),
    #[error("no such académie {0:?}")]
    UnknownAcademie(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        DirectoryError::Store(e)
    }
}

/// Usernames appear as one URL path segment (`/principals/NAME/`), so they are
/// restricted to characters that need no escaping.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c))
        && !name.starts_with('.')
}

fn valid_slug(slug: &str) -> bool {
    (1..=64).contains(&slug.len()) && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub fn valid_email(addr: &str) -> bool {
    match addr.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !addr.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        }
        None => false,
    }
}

pub struct NewUser {
    pub username: String,
    pub password: String,
    pub emails: Vec<String>,
    pub display_name: Option<String>,
    pub academie: Option<String>,
    pub is_admin: bool,
    /// Directory fields (vCard N, TITLE, TEL).
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
}

pub async fn add_user(store: &SharedStore, user: NewUser) -> Result<Principal, DirectoryError> {
    if !valid_username(&user.username) {
        return Err(DirectoryError::InvalidUsername(user.username));
    }
    if user.password.is_empty() {
        return Err(DirectoryError::EmptyPassword);
    }
    if let Some(bad) = user.emails.iter().find(|e| !valid_email(e)) {
        return Err(DirectoryError::InvalidEmail(bad.clone()));
    }
    if let Some(slug) = &user.academie {
        if store.academie(slug).await?.is_none() {
            return Err(DirectoryError::UnknownAcademie(slug.clone()));
        }
    }
    let hash = {
        let pw = user.password.clone();
        tokio::task::spawn_blocking(move || password::hash_password(&pw)).await.expect("hashing task")
    };
    let username = user.username.clone();
    store
        .create_principal(NewPrincipal {
            username: user.username,
            kind: Some(PrincipalKind::User),
            display_name: user.display_name,
            academie: user.academie,
            password_hash: Some(hash),
            emails: user.emails,
            is_admin: user.is_admin,
            given_name: user.given_name,
            family_name: user.family_name,
            title: user.title,
            phone: user.phone,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => DirectoryError::Exists(format!("user {username:?} or one of its email addresses")),
            other => other.into(),
        })
}

async fn existing(store: &SharedStore, username: &str) -> Result<Principal, DirectoryError> {
    store
        .principal_by_username(username)
        .await?
        .ok_or_else(|| DirectoryError::UnknownUser(username.to_string()))
}

pub async fn set_password(store: &SharedStore, username: &str, new_password: &str) -> Result<(), DirectoryError> {
    if new_password.is_empty() {
        return Err(DirectoryError::EmptyPassword);
    }
    let p = existing(store, username).await?;
    let pw = new_password.to_string();
    let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw)).await.expect("hashing task");
    store.set_password_hash(p.id, &hash).await?;
    // A reset answers a lost or stolen password: the account page's
    // sessions end with it (app passwords are revoked on the page, or
    // there by the agent).
    store.delete_sessions_of(p.id, None).await?;
    Ok(())
}

pub async fn set_disabled(store: &SharedStore, username: &str, disabled: bool) -> Result<(), DirectoryError> {
    let p = existing(store, username).await?;
    Ok(store.set_disabled(p.id, disabled).await?)
}

pub async fn delete_user(store: &SharedStore, username: &str) -> Result<(), DirectoryError> {
    let p = existing(store, username).await?;
    Ok(store.delete_principal(p.id).await?)
}

pub async fn add_academie(
    store: &SharedStore,
    slug: &str,
    name: &str,
    region: Option<&str>,
) -> Result<Academie, DirectoryError> {
    if !valid_slug(slug) {
        return Err(DirectoryError::InvalidSlug(slug.into()));
    }
    if let Some(r) = region.filter(|r| !valid_slug(r)) {
        return Err(DirectoryError::InvalidSlug(r.into()));
    }
    store.create_academie(slug, name, region).await.map_err(|e| match e {
        StoreError::AlreadyExists => DirectoryError::Exists(format!("académie {slug:?}")),
        other => other.into(),
    })
}

/// On a store with no principal at all, create the administrator account
/// `admin` with a random password and return the password (to print once).
pub async fn bootstrap_admin(store: &SharedStore) -> Result<Option<(String, String)>, DirectoryError> {
    if store.count_principals().await? > 0 {
        return Ok(None);
    }
    let password = password::random_password();
    let created = add_user(
        store,
        NewUser {
            username: "admin".into(),
            password: password.clone(),
            emails: vec![],
            display_name: Some("Administrator".into()),
            academie: None,
            is_admin: true,
            given_name: None,
            family_name: None,
            title: None,
            phone: None,
        },
    )
    .await;
    match created {
        Ok(_) => Ok(Some(("admin".into(), password))),
        // Another server process starting on the same empty database won.
        Err(DirectoryError::Exists(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("jean.dupont@ac-lyon"));
        assert!(!valid_username("Jean"));
        assert!(!valid_username("a/b"));
        assert!(!valid_username(".."));
        assert!(!valid_username(""));
        assert!(valid_email("a@b.fr"));
        assert!(!valid_email("ab.fr"));
    }
}
