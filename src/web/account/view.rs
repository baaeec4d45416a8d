//! The account page's HTML, in French: the login form and, once logged in,
//! the account's settings. Every text from the store or the user is
//! escaped here ([`escape`]); every form carries its anti-forgery token.

use crate::store::{AccountCounts, AppPassword, Principal, VisioPolicy};
use crate::web::html::escape;

/// The page's stylesheet.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f5f5fe;color:#161616}\
main{max-width:46rem;margin:2rem auto;padding:2rem;background:#fff;border-top:4px solid #000091}\
h1{font-size:1.6rem;margin-top:0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}\
h3{font-size:1.05rem;margin-bottom:.25rem}dl{margin:0 0 1rem}dt{font-weight:bold;margin-top:.5rem}dd{margin:0}\
label{display:block;font-weight:bold;margin:.5rem 0 .25rem}label.check{font-weight:normal}\
input[type=text],input[type=password],select{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}\
button{margin-top:.75rem;padding:.5rem 1rem;font-size:1rem;background:#000091;color:#fff;border:0;cursor:pointer}\
button.secondary{background:#fff;color:#000091;border:1px solid #000091}form.inline{display:inline;margin:0}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem;border-bottom:1px solid #eee}\
code{background:#eef;padding:.1rem .3rem;font-size:1.05rem}.secret{font-size:1.3rem;letter-spacing:.05rem}\
.error{color:#ce0500}.notice{color:#18753c}.qr{width:12rem;height:12rem}nav{text-align:right}";

/// A hidden anti-forgery field.
fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

fn message(error: Option<&str>, notice: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(e) = error {
        s.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    if let Some(n) = notice {
        s.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{}</p>",
            escape(n)
        ));
    }
    s
}

/// The login form (and the OpenID Connect button when configured).
pub fn login(
    action: &str,
    oidc: Option<(&str, &str)>,
    csrf: &str,
    username: &str,
    error: Option<&str>,
) -> String {
    let mut s = message(error, None);
    s.push_str(
        "<p>Connectez-vous pour obtenir les réglages de vos appareils (téléphone, ordinateur) \
         et leur créer des mots de passe d'application.</p>",
    );
    if let Some((oidc_action, label)) = oidc {
        s.push_str(&format!(
            "<form method=\"post\" action=\"{}\" id=\"oidc\">{}<button type=\"submit\">Se connecter avec {}</button></form>\
             <p>ou avec le mot de passe du compte :</p>",
            escape(oidc_action),
            csrf_field(csrf),
            escape(label)
        ));
    }
    s.push_str(&format!(
        "<form method=\"post\" action=\"{}\" id=\"login\">{}\
         <label for=\"username\">Identifiant</label><input type=\"text\" id=\"username\" name=\"username\" required \
         autocomplete=\"username\" autocapitalize=\"none\" value=\"{}\">\
         <label for=\"password\">Mot de passe</label><input type=\"password\" id=\"password\" name=\"password\" required \
         autocomplete=\"current-password\"><button type=\"submit\">Se connecter</button></form>",
        escape(action),
        csrf_field(csrf),
        escape(username)
    ));
    s
}

/// A page with only a message (errors, refusals) and a link back.
pub fn notice_page(text: &str, back: &str) -> String {
    format!(
        "<p>{}</p><p><a href=\"{}\">Retour à la page du compte</a></p>",
        escape(text),
        escape(back)
    )
}

/// Everything the logged-in page needs.
pub struct Dashboard<'a> {
    /// The account page's own path (`BASE/account/`), forms post below it.
    pub page: &'a str,
    /// The server's address as clients are given it (`https://host/`).
    pub server: &'a str,
    /// The host alone (iOS asks for a server, not a URL).
    pub host: &'a str,
    pub user: &'a Principal,
    pub csrf: &'a str,
    pub app_passwords: &'a [AppPassword],
    /// An app password just created: its name and the password, shown once.
    pub created: Option<(&'a str, &'a str)>,
    /// A QR code (SVG) of the account page's URL, as a data: URL.
    pub qr: Option<&'a str>,
    /// The visio policy the account chose, and the one it gets without a
    /// choice (its académie's or the server's); None when visio is off.
    pub visio: Option<(Option<VisioPolicy>, VisioPolicy)>,
    /// Administrators only.
    pub counts: Option<&'a AccountCounts>,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

fn policy_label(p: VisioPolicy) -> &'static str {
    match p {
        VisioPolicy::Auto => "une salle pour chaque réunion avec au moins un invité",
        VisioPolicy::Keyword => "une salle seulement quand le titre ou le lieu contient le mot-clé",
        VisioPolicy::Off => "jamais de salle",
    }
}

/// A date in the page's language and zone.
fn when(ms: i64) -> String {
    crate::visio::page::french_date(ms, Some("Europe/Paris")).unwrap_or_else(|| "?".into())
}

pub fn dashboard(d: &Dashboard<'_>) -> String {
    let user = &d.user.username;
    let server = escape(d.server);
    let u = escape(user);
    let action = |rest: &str| escape(&format!("{}{rest}", d.page));
    let csrf = csrf_field(d.csrf);
    let mut s = format!(
        "<nav><form method=\"post\" action=\"{}\" class=\"inline\" id=\"logout\">{csrf}\
         <button type=\"submit\" class=\"secondary\">Se déconnecter</button></form></nav>",
        action("logout")
    );
    s.push_str(&message(d.error, d.notice));
    let name = d.user.display_name.as_deref().unwrap_or(user);
    s.push_str(&format!(
        "<h2>Votre compte</h2><dl><dt>Nom</dt><dd id=\"display-name\">{}</dd>\
         <dt>Adresse du serveur</dt><dd><code id=\"server\">{server}</code></dd>\
         <dt>Nom d'utilisateur</dt><dd><code id=\"username\">{u}</code></dd></dl>",
        escape(name)
    ));

    // App passwords.
    s.push_str(
        "<h2>Mots de passe d'application</h2><p>Créez un mot de passe par appareil (téléphone, ordinateur, logiciel) \
         et tapez-le à la place du mot de passe du compte. Vous pourrez le révoquer sans toucher aux autres appareils.</p>",
    );
    if let Some((name, password)) = d.created {
        s.push_str(&format!(
            "<div id=\"created\" role=\"status\"><p class=\"notice\">Mot de passe créé pour « {} ». Notez-le maintenant : \
             il ne sera plus jamais affiché.</p><p><code class=\"secret\" id=\"new-app-password\">{}</code></p></div>",
            escape(name),
            escape(password)
        ));
    }
    s.push_str(&format!(
        "<form method=\"post\" action=\"{}\" id=\"create-app-password\">{csrf}\
         <label for=\"app-name\">Nom de l'appareil</label><input type=\"text\" id=\"app-name\" name=\"name\" required \
         maxlength=\"{}\" placeholder=\"Téléphone, ordinateur du bureau…\"><button type=\"submit\">Créer un mot de passe</button></form>",
        action("app-passwords"),
        super::MAX_APP_NAME
    ));
    if d.app_passwords.is_empty() {
        s.push_str("<p id=\"no-app-passwords\">Aucun mot de passe d'application.</p>");
    } else {
        s.push_str("<table id=\"app-passwords\"><thead><tr><th>Appareil</th><th>Créé</th><th>Dernière utilisation</th><th></th></tr></thead><tbody>");
        for a in d.app_passwords {
            s.push_str(&format!(
                "<tr data-id=\"{}\"><td class=\"name\">{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"{}\" class=\"inline\">{csrf}\
                 <input type=\"hidden\" name=\"id\" value=\"{}\"><button type=\"submit\" class=\"secondary revoke\">Révoquer</button></form></td></tr>",
                a.id,
                escape(&a.name),
                escape(&when(a.created_at)),
                a.last_used_at.map(|t| escape(&when(t))).unwrap_or_else(|| "jamais".into()),
                action("app-passwords/revoke"),
                a.id
            ));
        }
        s.push_str("</tbody></table>");
    }

    // Clients.
    s.push_str(&format!(
        "<h2>Configurer vos appareils</h2><p>Partout : adresse du serveur <code>{server}</code>, nom d'utilisateur \
         <code>{u}</code>, et un mot de passe d'application.</p>"
    ));
    let principal = escape(&format!("{}principals/{user}/", d.server));
    let calendar = escape(&format!("{}calendars/{user}/default/", d.server));
    let host = escape(d.host);
    let blocks = [
        (
            "ios",
            "iPhone, iPad et Mac",
            format!(
                "<p>Le plus simple : installez le <a href=\"{}\" id=\"profile\">profil de configuration</a> (calendriers et contacts) \
                 et tapez un mot de passe d'application quand il est demandé.</p><p>À la main : <em>Réglages → Calendrier → Comptes → \
                 Ajouter un compte → Autre → Ajouter un compte CalDAV</em>, serveur <code>{host}</code>, nom d'utilisateur \
                 <code>{u}</code>, mot de passe d'application ; de même pour les contacts (<em>Ajouter un compte CardDAV</em>).</p>",
                action("almanach.mobileconfig")
            ),
        ),
        (
            "davx5",
            "Android (DAVx⁵)",
            format!(
                "<p><em>Ajouter un compte → Connexion avec une URL et un nom d'utilisateur</em>, URL de base <code>{server}</code>, \
                 nom d'utilisateur <code>{u}</code>, mot de passe d'application ; cochez les agendas et carnets d'adresses à synchroniser.</p>"
            ),
        ),
        (
            "thunderbird",
            "Thunderbird",
            format!(
                "<p><em>Nouvel agenda → Sur le réseau</em>, nom d'utilisateur <code>{u}</code>, adresse <code>{server}</code> : \
                 Thunderbird trouve vos agendas. Contacts : <em>Nouveau carnet d'adresses → Ajouter un carnet d'adresses CardDAV</em>, \
                 même adresse.</p>"
            ),
        ),
        (
            "outlook",
            "Outlook (CalDAV Synchronizer)",
            format!(
                "<p>Nouveau profil <em>Generic CalDAV/CardDAV</em>, DAV URL <code>{calendar}</code>, nom d'utilisateur <code>{u}</code>, \
                 mot de passe d'application, puis <em>Test or discover settings</em>.</p>"
            ),
        ),
        (
            "evolution",
            "Evolution (GNOME)",
            format!(
                "<p><em>Nouveau → Agenda → Type : CalDAV</em>, URL <code>{server}</code>, nom d'utilisateur <code>{u}</code>, \
                 puis <em>Trouver les agendas</em> ; carnet d'adresses : type CardDAV, même URL. Adresse du compte (principal) : \
                 <code>{principal}</code>.</p>"
            ),
        ),
    ];
    for (id, title, text) in blocks {
        s.push_str(&format!(
            "<section id=\"client-{id}\"><h3>{}</h3>{text}</section>",
            escape(title)
        ));
    }
    if let Some(qr) = d.qr {
        s.push_str(&format!(
            "<h3>Sur un téléphone</h3><p>Scannez ce code pour ouvrir cette page sur le téléphone et y installer le profil \
             ou copier les réglages.</p><img class=\"qr\" id=\"qr\" alt=\"Code QR de l'adresse de cette page\" src=\"{}\">",
            escape(qr)
        ));
    }

    // Visio.
    if let Some((chosen, default)) = d.visio {
        s.push_str(&format!(
            "<h2>Visio</h2><form method=\"post\" action=\"{}\" id=\"visio\">{csrf}<label for=\"policy\">Salles de visio dans vos invitations</label>\
             <select id=\"policy\" name=\"policy\">",
            action("visio")
        ));
        let options = [
            (
                "default",
                format!("Par défaut ({})", policy_label(default)),
                chosen.is_none(),
            ),
            (
                "auto",
                format!("Automatique : {}", policy_label(VisioPolicy::Auto)),
                chosen == Some(VisioPolicy::Auto),
            ),
            (
                "keyword",
                format!("Mot-clé : {}", policy_label(VisioPolicy::Keyword)),
                chosen == Some(VisioPolicy::Keyword),
            ),
            (
                "off",
                format!("Jamais : {}", policy_label(VisioPolicy::Off)),
                chosen == Some(VisioPolicy::Off),
            ),
        ];
        for (value, label, selected) in options {
            s.push_str(&format!(
                "<option value=\"{value}\"{}>{}</option>",
                if selected { " selected" } else { "" },
                escape(&label)
            ));
        }
        s.push_str("</select><button type=\"submit\">Enregistrer</button></form>");
    }

    // Password.
    s.push_str(&format!(
        "<h2>Mot de passe du compte</h2><form method=\"post\" action=\"{}\" id=\"password-form\">{csrf}\
         <label for=\"current\">Mot de passe actuel</label><input type=\"password\" id=\"current\" name=\"current\" required autocomplete=\"current-password\">\
         <label for=\"new\">Nouveau mot de passe ({} caractères au moins)</label><input type=\"password\" id=\"new\" name=\"new\" required \
         minlength=\"{}\" autocomplete=\"new-password\">\
         <label for=\"confirm\">Nouveau mot de passe, à nouveau</label><input type=\"password\" id=\"confirm\" name=\"confirm\" required autocomplete=\"new-password\">\
         <label class=\"check\"><input type=\"checkbox\" name=\"revoke_app_passwords\" value=\"1\" checked> Révoquer aussi tous les mots de passe d'application</label>\
         <button type=\"submit\">Changer le mot de passe</button></form>",
        action("password"),
        super::MIN_PASSWORD_CHARS,
        super::MIN_PASSWORD_CHARS
    ));

    if let Some(c) = d.counts {
        s.push_str("<h2>Administration</h2><table id=\"counts\"><thead><tr><th>Académie</th><th>Comptes actifs</th></tr></thead><tbody>");
        for (academie, n) in &c.per_academie {
            s.push_str(&format!(
                "<tr><td>{}</td><td>{n}</td></tr>",
                escape(academie.as_deref().unwrap_or("(nationaux)"))
            ));
        }
        s.push_str(&format!(
            "</tbody></table><p>Espace utilisé (tous les comptes) : <span id=\"storage\">{}</span></p>",
            escape(&human_bytes(c.storage_bytes))
        ));
    }
    s
}

/// "1,5 Mo" and the like.
fn human_bytes(n: i64) -> String {
    let units = ["octets", "Ko", "Mo", "Go", "To"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} octets")
    } else {
        format!("{:.1} {}", v, units[i]).replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_in_french() {
        assert_eq!(human_bytes(12), "12 octets");
        assert_eq!(human_bytes(1536), "1,5 Ko");
    }
}
