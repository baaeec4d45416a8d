//! The Apple configuration profile (`.mobileconfig`): a property list with
//! one CalDAV and one CardDAV account payload (`com.apple.caldav.account`,
//! `com.apple.carddav.account`), as iOS and macOS install them.
//!
//! The profile holds no password: iOS and macOS ask for it while
//! installing the profile, and the page says to type an app password
//! there. (A password inside would sit in the Downloads folder and in any
//! copy of the file; the profile is not signed.) Every download gets new
//! `PayloadUUID`s; the `PayloadIdentifier`s are stable per server and
//! account, so installing it again replaces the earlier one.

use crate::web::html::escape;

/// What the profile describes.
pub struct ProfileAccount<'a> {
    /// The public base URL (`https://agenda.example.fr`, maybe with a path).
    pub base_url: &'a str,
    pub username: &'a str,
    /// What the device shows as the account's name.
    pub description: &'a str,
}

fn string(key: &str, value: &str) -> String {
    format!(
        "<key>{}</key><string>{}</string>",
        escape(key),
        escape(value)
    )
}

fn integer(key: &str, value: u16) -> String {
    format!("<key>{}</key><integer>{value}</integer>", escape(key))
}

fn boolean(key: &str, value: bool) -> String {
    format!(
        "<key>{}</key><{}/>",
        escape(key),
        if value { "true" } else { "false" }
    )
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// The profile, as XML property list text.
pub fn mobileconfig(a: &ProfileAccount<'_>) -> Option<String> {
    let url = url::Url::parse(a.base_url).ok()?;
    let host = url.host_str()?.to_string();
    let ssl = url.scheme() == "https";
    let port = url.port_or_known_default()?;
    let base = a.base_url.trim_end_matches('/');
    let principal = format!(
        "{base}/principals/{}/",
        percent_encoding::utf8_percent_encode(a.username, percent_encoding::NON_ALPHANUMERIC)
    );
    // Reverse-DNS identifiers, stable per server and account.
    let reverse: Vec<&str> = host.split('.').rev().collect();
    let ident = format!(
        "{}.almanach.{}",
        reverse.join("."),
        a.username
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")
    );
    let account = |kind: &str, prefix: &str| {
        [
            string("PayloadType", &format!("com.apple.{kind}.account")),
            integer("PayloadVersion", 1),
            string("PayloadIdentifier", &format!("{ident}.{kind}")),
            string("PayloadUUID", &uuid()),
            string(
                "PayloadDisplayName",
                &format!(
                    "{} ({})",
                    a.description,
                    if kind == "caldav" {
                        "calendriers"
                    } else {
                        "contacts"
                    }
                ),
            ),
            string(&format!("{prefix}AccountDescription"), a.description),
            string(&format!("{prefix}HostName"), &host),
            integer(&format!("{prefix}Port"), port),
            boolean(&format!("{prefix}UseSSL"), ssl),
            string(&format!("{prefix}Username"), a.username),
            string(&format!("{prefix}PrincipalURL"), &principal),
        ]
        .concat()
    };
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\"><dict>\
         <key>PayloadContent</key><array><dict>{}</dict><dict>{}</dict></array>\
         {}{}{}{}{}{}{}\
         </dict></plist>\n",
        account("caldav", "CalDAV"),
        account("carddav", "CardDAV"),
        string("PayloadType", "Configuration"),
        integer("PayloadVersion", 1),
        string("PayloadIdentifier", &ident),
        string("PayloadUUID", &uuid()),
        string("PayloadDisplayName", a.description),
        string("PayloadDescription", "Calendriers et contacts de votre compte (le mot de passe est demandé à l'installation : tapez un mot de passe d'application)."),
        boolean("PayloadRemovalDisallowed", false),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_and_identifiers() {
        let p = mobileconfig(&ProfileAccount {
            base_url: "https://agenda.ac-lyon.fr",
            username: "jdupont",
            description: "Agenda <&>",
        })
        .unwrap();
        assert!(
            p.contains("<string>com.apple.caldav.account</string>")
                && p.contains("<string>com.apple.carddav.account</string>")
        );
        assert!(p.contains("<key>CalDAVHostName</key><string>agenda.ac-lyon.fr</string>"));
        assert!(p.contains("<key>CardDAVPort</key><integer>443</integer>"));
        assert!(p.contains("<string>https://agenda.ac-lyon.fr/principals/jdupont/</string>"));
        assert!(p.contains("fr.ac-lyon.agenda.almanach.jdupont.caldav"));
        assert!(p.contains("Agenda &lt;&amp;&gt;"));
        assert_eq!(p.matches("<key>PayloadUUID</key>").count(), 3);
        assert!(!p.contains("Password"));
    }
}
