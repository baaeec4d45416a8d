//! The national directory as a CardDAV directory gateway
//! (draft-daboo-carddav-directory-gateway) over real HTTP on both stores:
//! discovery, read-only, refusal to be listed or synchronized, searches by
//! name and email (prefix, substring, case, accents per i;unicode-casemap),
//! the result cap, single cards by GET and multiget.

use almanach::store::AccountRecord;

use crate::caldav::{names, responses};
use crate::carddav::report;
use crate::harness::{spawn_with, TestServer};
use crate::{both_stores, each_store};

const DIR: &str = "/directory/";

async fn load_agents(srv: &TestServer) {
    let agent = |username: &str, given: &str, family: &str, email: &str, academie: &str, title: &str| AccountRecord {
        username: username.into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        display_name: None,
        emails: vec![email.into()],
        academie: Some(academie.into()),
        title: Some(title.into()),
        phone: Some("+33 4 72 80 60 00".into()),
    };
    let batch = [
        agent("emartin", "Élodie", "Martin", "elodie.martin@ac-lyon.fr", "lyon", "Professeure de lettres"),
        agent("jdubois", "Jean", "Dubois", "jean.dubois@ac-lyon.fr", "lyon", "Principal adjoint"),
        agent("hdubois", "Hélène", "Dubois-Legrand", "helene.dubois-legrand@ac-creteil.fr", "creteil", "Inspectrice"),
        agent("pdurand", "Pierre", "Durand", "pierre.durand@ac-creteil.fr", "creteil", "CPE"),
    ];
    for outcome in srv.store.import_accounts(&batch).await.unwrap() {
        assert!(!matches!(outcome, almanach::store::ImportOutcome::Rejected(_)), "{outcome:?}");
    }
}

fn search(filter: &str, extra: &str) -> String {
    format!(
        r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data><C:prop name="FN"/><C:prop name="EMAIL"/><C:prop name="ORG"/></C:address-data></D:prop>{filter}{extra}</C:addressbook-query>"#
    )
}

fn tm(prop: &str, match_type: &str, text: &str) -> String {
    format!(r#"<C:filter><C:prop-filter name="{prop}"><C:text-match match-type="{match_type}">{text}</C:text-match></C:prop-filter></C:filter>"#)
}

async fn found(srv: &TestServer, filter: &str) -> Vec<String> {
    let r = report(srv, DIR, "1", &search(filter, "")).await;
    assert_eq!(r.status, 207, "{filter}: {}", r.text());
    names(&r.text(), DIR)
}

async fn gateway_discovery_and_read_only(srv: TestServer) {
    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:directory-gateway/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").body(pf).send().await;
    assert!(r.text().contains("<CR:directory-gateway><D:href>/directory/</D:href></CR:directory-gateway>"), "{}", r.text());
    // Not in allprop (draft §3).
    let all = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").send().await.text();
    assert!(!all.contains("directory-gateway"), "{all}");

    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:resourcetype/><D:displayname/><C:addressbook-description/><C:supported-address-data/><D:supported-report-set/><D:current-user-privilege-set/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", DIR, "carol").header("depth", "0").body(pf).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains("<D:resourcetype><D:collection/><CR:addressbook/><CR:directory/></D:resourcetype>"), "{t}");
    assert!(t.contains("<D:displayname>Annuaire national</D:displayname>"), "{t}");
    assert!(t.contains("<CR:addressbook-query/>") && t.contains("<CR:addressbook-multiget/>") && !t.contains("sync-collection"), "{t}");
    assert!(t.contains("<D:privilege><D:read/></D:privilege>") && !t.contains("<D:write/>"), "{t}");

    // Never listed whole, never synchronized.
    let r = srv.as_user("PROPFIND", DIR, "alice").header("depth", "1").body(pf).send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<D:number-of-matches-within-limits/>"), "{}", r.text());
    assert_eq!(srv.as_user("GET", DIR, "alice").send().await.status, 403);
    let sync = r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
    let r = report(&srv, DIR, "0", sync).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<D:supported-report/>"), "{}", r.text());
    // A filter that would list everything, or that the index cannot answer.
    let r = report(&srv, DIR, "1", &search("<C:filter/>", "")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<CR:supported-filter/>"), "{}", r.text());
    let r = report(&srv, DIR, "1", &search(&tm("TEL", "contains", "04"), "")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains(r#"<CR:supported-filter><CR:prop-filter name="TEL"/></CR:supported-filter>"#), "{}", r.text());

    // Read-only.
    for (method, path) in [("PUT", "/directory/x.vcf"), ("DELETE", "/directory/alice.vcf"), ("MKCOL", "/directory/sub/"), ("PROPPATCH", DIR), ("MOVE", "/directory/alice.vcf")] {
        let r = srv.as_user(method, path, "alice").header("content-type", "text/vcard").body("BEGIN:VCARD\r\nEND:VCARD\r\n").send().await;
        assert_eq!(r.status, 403, "{method} {path}");
    }
    // Anonymous requests are challenged like everywhere else.
    assert_eq!(srv.req("PROPFIND", DIR, None).send().await.status, 401);
}

async fn searches_by_name_and_email(srv: TestServer) {
    load_agents(&srv).await;
    // Prefix of a name (the family name here: where N starts),
    // case-insensitive; FN is "Given Family", which does not start so.
    assert_eq!(found(&srv, &tm("N", "starts-with", "dub")).await, vec!["hdubois.vcf", "jdubois.vcf"]);
    assert_eq!(found(&srv, &tm("N", "starts-with", "DUBOIS")).await, vec!["hdubois.vcf", "jdubois.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "dub")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("FN", "starts-with", "jean d")).await, vec!["jdubois.vcf"]);
    // Substring, through the structured name too.
    assert_eq!(found(&srv, &tm("FN", "contains", "legra")).await, vec!["hdubois.vcf"]);
    assert_eq!(found(&srv, &tm("N", "contains", "Durand;Pierre;;;")).await, vec!["pdurand.vcf"]);
    // Email prefix and substring.
    assert_eq!(found(&srv, &tm("EMAIL", "starts-with", "jean.")).await, vec!["jdubois.vcf"]);
    // The test server's own accounts are agents too (carol is in Créteil).
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "@ac-creteil")).await, vec!["carol.vcf", "hdubois.vcf", "pdurand.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "equals", "PIERRE.DURAND@AC-CRETEIL.FR")).await, vec!["pdurand.vcf"]);
    // i;unicode-casemap: case folds, accents stay significant.
    assert_eq!(found(&srv, &tm("FN", "contains", "ÉLODIE")).await, vec!["emartin.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "hélène")).await, vec!["hdubois.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "helene")).await, Vec::<String>::new());
    // anyof / allof.
    let any = r#"<C:filter test="anyof"><C:prop-filter name="N"><C:text-match match-type="starts-with">martin</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>durand</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, any).await, vec!["emartin.vcf", "pdurand.vcf"]);
    let all = r#"<C:filter test="allof"><C:prop-filter name="N"><C:text-match match-type="starts-with">dubois</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>creteil</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, all).await, vec!["hdubois.vcf"]);
    // What a card holds: generated from the principal record.
    let r = report(&srv, DIR, "1", &search(&tm("EMAIL", "starts-with", "helene."), "")).await;
    let t = r.text().replace("&#13;", "\r");
    assert!(t.contains("FN:Hélène Dubois-Legrand\r\n"), "{t}");
    assert!(t.contains("EMAIL;TYPE=INTERNET,WORK,PREF:helene.dubois-legrand@ac-creteil.fr\r\n"), "{t}");
    assert!(t.contains("ORG:Académie de Créteil\r\n"), "{t}");
    assert!(!t.contains("TEL"), "only the asked properties: {t}");
    // A disabled account leaves the directory.
    let p = srv.store.principal_by_username("pdurand").await.unwrap().unwrap();
    srv.store.set_disabled(p.id, true).await.unwrap();
    assert_eq!(found(&srv, &tm("FN", "contains", "durand")).await, Vec::<String>::new());
    assert_eq!(srv.as_user("GET", "/directory/pdurand.vcf", "alice").send().await.status, 404);
}

async fn cards_by_get_and_multiget(srv: TestServer) {
    load_agents(&srv).await;
    let r = srv.as_user("GET", "/directory/jdubois.vcf", "carol").send().await;
    assert_eq!(r.status, 200);
    let card = r.text();
    assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:urn:x-almanach:user:jdubois\r\nFN:Jean Dubois\r\nN:Dubois;Jean;;;\r\n"), "{card}");
    assert!(card.contains("TITLE:Principal adjoint\r\nTEL;TYPE=WORK,VOICE:+33 4 72 80 60 00\r\n"), "{card}");
    let etag = r.header("etag").unwrap();
    let again = srv.as_user("GET", "/directory/jdubois.vcf", "carol").header("if-none-match", &etag).send().await;
    assert_eq!(again.status, 304);
    let v4 = srv.as_user("GET", "/directory/jdubois.vcf", "carol").header("accept", "text/vcard; version=4.0").send().await;
    assert!(v4.text().contains("VERSION:4.0\r\n"), "{}", v4.text());
    assert_eq!(srv.as_user("GET", "/directory/nobody.vcf", "carol").send().await.status, 404);
    assert_eq!(srv.as_user("GET", "/directory/jdubois", "carol").send().await.status, 404);

    let body = r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>/directory/emartin.vcf</D:href><D:href>/directory/ghost.vcf</D:href><D:href>/addressbooks/alice/contacts/x.vcf</D:href></C:addressbook-multiget>"#;
    let r = report(&srv, DIR, "0", body).await;
    assert_eq!(r.status, 207);
    let all = responses(&r.text());
    assert_eq!(all.len(), 3);
    assert!(all[0].1.contains("FN:Élodie Martin") && all[0].1.contains("<D:getetag>"), "{}", all[0].1);
    assert!(all[1].1.contains("404") && all[2].1.contains("404"));
    // PROPFIND on one card.
    let r = srv.as_user("PROPFIND", "/directory/emartin.vcf", "bob").header("depth", "0").send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("<D:getcontenttype>text/vcard"), "{}", r.text());
}

async fn results_are_capped(backend: crate::db::Backend) {
    let srv = spawn_with(backend, |c| c.directory_max_results = 2).await;
    load_agents(&srv).await;
    // Seven agents match "@ac-"; the server returns two and a 507.
    let r = report(&srv, DIR, "1", &search(&tm("EMAIL", "contains", "@ac-"), "")).await;
    assert_eq!(r.status, 207);
    let t = r.text();
    let all = responses(&t);
    assert_eq!(all.len(), 3, "{t}");
    let cut = all.iter().find(|(h, _)| h == DIR).expect("507 for the directory").1.clone();
    assert!(cut.contains("507") && cut.contains("<D:number-of-matches-within-limits/>"), "{cut}");
    // A smaller client limit wins.
    let limit = "<C:limit><C:nresults>1</C:nresults></C:limit>";
    let r = report(&srv, DIR, "1", &search(&tm("EMAIL", "contains", "@ac-"), limit)).await;
    assert_eq!(responses(&r.text()).len(), 2);
    // Exactly as many matches as the cap: no 507.
    let r = report(&srv, DIR, "1", &search(&tm("N", "starts-with", "dubois"), "")).await;
    assert!(!r.text().contains("HTTP/1.1 507") && !responses(&r.text()).iter().any(|(h, _)| h == DIR), "{}", r.text());
}

/// Issue 16, case 1: a structured N is matched as a whole (RFC 6352
/// §10.5.4), never as one of its components.
async fn structured_name_is_matched_whole(srv: TestServer) {
    let timothee = |username: &str, family: &str| record(username, "Timothée", family, &format!("{username}@ac-lyon.fr"));
    let batch = [
        timothee("tandre", "André"),
        timothee("tarnaud", "Arnaud"),
        timothee("taubert", "Aubert"),
        timothee("tleclerc", "Leclerc"),
        record("aleclerc", "Anne", "Leclerc", "anne.leclerc@ac-lyon.fr"),
    ];
    import(&srv, &batch).await;
    assert_eq!(found(&srv, &tm("N", "equals", "Leclerc;Timothée;;;")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "equals", "LECLERC;TIMOTHÉE;;;")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "equals", "Leclerc;Timothee;;;")).await, Vec::<String>::new(), "accents count");
    assert_eq!(found(&srv, &tm("N", "equals", "Timothée")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("N", "starts-with", "Leclerc;T")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "contains", "clerc;timo")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("N", "ends-with", "Timothée;;;")).await.len(), 4);
    assert_eq!(found(&srv, &tm("N", "contains", "timothée")).await.len(), 4);
    assert_eq!(found(&srv, &tm("N", "contains", "Leclerc")).await, vec!["aleclerc.vcf", "tleclerc.vcf"]);
    // FN is the shown name, not its parts.
    assert_eq!(found(&srv, &tm("FN", "equals", "Timothée")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("FN", "equals", "timothée leclerc")).await, vec!["tleclerc.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "starts-with", "Leclerc")).await, Vec::<String>::new());
    // A property no card has matches nothing.
    assert_eq!(found(&srv, &tm("NICKNAME", "contains", "Timothée")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("ADR", "contains", "Lyon")).await, Vec::<String>::new());
    // Other collations (RFC 4790 §9): i;octet is byte for byte.
    let octet = |text: &str| {
        format!(r#"<C:filter><C:prop-filter name="N"><C:text-match collation="i;octet" match-type="starts-with">{text}</C:text-match></C:prop-filter></C:filter>"#)
    };
    assert_eq!(found(&srv, &octet("Leclerc;")).await, vec!["aleclerc.vcf", "tleclerc.vcf"]);
    assert_eq!(found(&srv, &octet("leclerc;")).await, Vec::<String>::new());
    // An allof narrows on FN and checks TEL on the cards.
    let all = r#"<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>leclerc</C:text-match></C:prop-filter><C:prop-filter name="TEL"><C:text-match>72</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, all).await, vec!["aleclerc.vcf", "tleclerc.vcf"]);
    let all = r#"<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>leclerc</C:text-match></C:prop-filter><C:prop-filter name="TEL"><C:text-match negate-condition="yes">72</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, all).await, Vec::<String>::new());
}

/// Issue 16, case 2: a short contains or ends-with finds the values that
/// hold the needle anywhere, never only those starting with it.
async fn short_needles_are_answered_completely(backend: crate::db::Backend) {
    let srv = spawn_with(backend, |c| c.directory_max_results = 3).await;
    let batch = [
        record("mbernard", "Mathieu", "Bernard", "mathieu.bernard@ac-lyon.fr"),
        record("emartin", "Eugène", "Martin", "eugene.martin@ac-lyon.fr"),
        record("jmeunier", "Jean", "Meunier", "jean.meunier@ac-nice.fr"),
        record("pleroy", "Paul", "Leroy", "paul.leroy@ac-nice.fr"),
    ];
    import(&srv, &batch).await;
    assert_eq!(found(&srv, &tm("FN", "contains", "eu")).await, vec!["emartin.vcf", "jmeunier.vcf", "mbernard.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "EU")).await.len(), 3);
    assert_eq!(found(&srv, &tm("FN", "ends-with", "eu")).await, Vec::<String>::new());
    assert_eq!(found(&srv, &tm("N", "ends-with", "eu;;;")).await, vec!["mbernard.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "y")).await, vec!["alice.vcf", "bob.vcf", "pleroy.vcf"], "alice lyon, bob lyon");
    assert_eq!(found(&srv, &tm("FN", "contains", "oy")).await, vec!["pleroy.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "ends-with", "y")).await, vec!["pleroy.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "è")).await, vec!["emartin.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "u.")).await, vec!["mbernard.vcf"]);
    // More matches than the cap: the cap, and a 507 (RFC 6352 §8.6.2).
    let r = report(&srv, DIR, "1", &search(&tm("FN", "contains", "e"), "")).await;
    let all = responses(&r.text());
    assert_eq!(all.len(), 4, "{}", r.text());
    assert!(all.iter().any(|(h, body)| h == DIR && body.contains("507")), "{}", r.text());
    // As many as the cap: no 507.
    let r = report(&srv, DIR, "1", &search(&tm("FN", "contains", "eu"), "")).await;
    assert!(!r.text().contains("HTTP/1.1 507") && !responses(&r.text()).iter().any(|(h, _)| h == DIR), "{}", r.text());
}

/// Issue 16, case 3: needles with `.`, `@` or `_` (an address typed from
/// the middle, a full one, its end) are exact; their cost is a range of
/// the index on a window of the needle (docs/performance.md).
async fn separator_needles_are_exact(srv: TestServer) {
    let batch = [
        record("cbesnard", "Catherine", "Besnard", "catherine.besnard@ac-lyon.fr"),
        record("cbesnard2", "Christine", "Besnard", "christine.besnard@ac-nice.fr"),
        record("jbesnard", "Jean", "Besnard", "jean.besnard@ac-lyon.fr"),
        record("abernard", "Antoine", "Bernard", "antoine.bernard@ac-lyon.fr"),
        record("nb_x", "Nina", "Blanc", "n_b@ac-lyon.fr"),
    ];
    import(&srv, &batch).await;
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "n.b")).await, vec!["jbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "e.b")).await, vec!["abernard.vcf", "cbesnard.vcf", "cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "ends-with", ".besnard@ac-lyon.fr")).await, vec!["cbesnard.vcf", "jbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "ine.besnard@ac-")).await, vec!["cbesnard.vcf", "cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "catherine.besnard@ac-lyon.fr")).await, vec!["cbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "equals", "Catherine.Besnard@AC-LYON.FR")).await, vec!["cbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "d@ac-l")).await, vec!["abernard.vcf", "cbesnard.vcf", "jbesnard.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "n_b@")).await, vec!["nb_x.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "_")).await, vec!["nb_x.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "ends-with", "nice.fr")).await, vec!["cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("EMAIL", "contains", "ice.f")).await, vec!["cbesnard2.vcf"]);
    assert_eq!(found(&srv, &tm("FN", "contains", "n.b")).await, Vec::<String>::new());
}

/// RFC 6352 §10.5.1: the text-matches of one prop-filter hold on one
/// property; a card whose addresses meet them only between them does not
/// match.
async fn conditions_of_a_prop_filter_hold_on_one_address(srv: TestServer) {
    let batch = [
        AccountRecord {
            emails: vec!["anne.roux@ac-lyon.fr".into(), "a.roux@ac-nice.fr".into()],
            ..record("aroux", "Anne", "Roux", "unused@x.fr")
        },
        record("aroux2", "Anne", "Roux", "anne.roux@ac-nice.fr"),
    ];
    import(&srv, &batch).await;
    let both = |test: &str| {
        format!(
            r#"<C:filter><C:prop-filter name="EMAIL" test="{test}"><C:text-match match-type="starts-with">anne.roux@</C:text-match><C:text-match match-type="ends-with">@ac-nice.fr</C:text-match></C:prop-filter></C:filter>"#
        )
    };
    assert_eq!(found(&srv, &both("allof")).await, vec!["aroux2.vcf"]);
    assert_eq!(found(&srv, &both("anyof")).await, vec!["aroux.vcf", "aroux2.vcf"]);
    // Two prop-filters: each holds on any address.
    let two = r#"<C:filter test="allof"><C:prop-filter name="EMAIL"><C:text-match match-type="starts-with">anne.roux@</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">@ac-nice.fr</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(found(&srv, two).await, vec!["aroux.vcf", "aroux2.vcf"]);
}

/// Every card answered matches the filter (RFC 6352 §10.5, checked with
/// `carddav::directory::entry_matches` on every account of the directory),
/// none is left out below the cap, and a 507 comes exactly when more cards
/// match than the cap (§8.6.2): a generated directory, many shapes of
/// needle (1 to 14 characters, prefixes, suffixes, whole values, across
/// `.` `@` `;` and spaces, with and without accents, upper case, other
/// collations, anyof and allof, conditions only the cards can check).
async fn every_answer_is_exact(backend: crate::db::Backend) {
    use std::collections::BTreeSet;
    const CAP: usize = 5;
    let srv = spawn_with(backend, |c| c.directory_max_results = CAP).await;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let records = generate(&mut rng, 160);
    import(&srv, &records).await;
    let mut entries = Vec::new();
    for p in srv.store.list_principals().await.unwrap() {
        entries.extend(srv.store.directory_entry(&p.username).await.unwrap());
    }
    let (mut refused, mut capped, mut empty) = (0, 0, 0);
    for _ in 0..400 {
        let (xml, filter) = random_filter(&mut rng, &entries);
        let r = report(&srv, DIR, "1", &format!(r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>{xml}</C:addressbook-query>"#)).await;
        if r.status == 403 {
            // Only what the index cannot narrow is refused.
            assert!(r.text().contains("supported-filter"), "{xml}: {}", r.text());
            assert!(almanach::carddav::directory::directory_search(&filter, 1, 256).is_err(), "{xml}");
            refused += 1;
            continue;
        }
        assert_eq!(r.status, 207, "{xml}: {}", r.text());
        let expected: BTreeSet<String> = entries
            .iter()
            .filter(|e| almanach::carddav::directory::entry_matches(e, &filter))
            .map(|e| format!("{}.vcf", e.username))
            .collect();
        let all = responses(&r.text());
        let cut = all.iter().any(|(h, body)| h == DIR && body.contains("507"));
        let got: BTreeSet<String> = all.iter().filter(|(h, _)| h != DIR).map(|(h, _)| h.trim_start_matches(DIR).to_string()).collect();
        assert!(got.is_subset(&expected), "{xml}: answered {:?}, not matching", got.difference(&expected).collect::<Vec<_>>());
        if expected.len() > CAP {
            assert!(cut && got.len() == CAP, "{xml}: {} match, answered {} (507: {cut})", expected.len(), got.len());
            capped += 1;
        } else {
            assert!(!cut && got == expected, "{xml}: expected {expected:?}, answered {got:?} (507: {cut})");
            empty += usize::from(expected.is_empty());
        }
    }
    // The shapes reach every outcome.
    assert!(refused > 0 && capped > 20 && empty > 20 && refused + capped + empty < 380, "{refused} {capped} {empty}");
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Accounts with French names (accents, compound and particle names,
/// apostrophes), one or two addresses, some display names.
fn generate(rng: &mut Rng, count: usize) -> Vec<AccountRecord> {
    const GIVEN: [&str; 16] = [
        "Élodie", "Léa", "Hélène", "Timothée", "Mathieu", "Eugène", "Jean-Pierre", "Marie-Thérèse", "Anne", "Chloé", "Loïc",
        "Zoé", "Noël", "Jean", "Paul", "Ève",
    ];
    const FAMILY: [&str; 14] = [
        "Martin", "Leclerc", "Besnard", "Bernard", "Dubois-Legrand", "Le Floc'h", "de La Fontaine", "Müller", "Strauß",
        "Dupont", "Meunier", "Lefèvre", "Nguyen", "Saint-Martin",
    ];
    let mut out = Vec::new();
    let mut used = std::collections::HashMap::new();
    for _ in 0..count {
        let (given, family) = (*rng.pick(&GIVEN), *rng.pick(&FAMILY));
        let base = format!("{}.{}", slug(given), slug(family));
        let k = used.entry(base.clone()).and_modify(|k| *k += 1).or_insert(1);
        let username = if *k == 1 { base } else { format!("{base}{k}") };
        let academie = *rng.pick(&["lyon", "creteil"]);
        let mut emails = vec![format!("{username}@ac-{academie}.fr")];
        if rng.below(4) == 0 {
            emails.push(format!("{}@education.gouv.fr", username.replace('.', "_")));
        }
        let display = match rng.below(10) {
            0..=3 => Some(format!("{given} {}", family.to_uppercase())),
            4 => Some(format!("Mme {family}")),
            _ => None,
        };
        out.push(AccountRecord {
            username,
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            display_name: display,
            emails,
            academie: Some(academie.into()),
            title: Some("Professeure des écoles".into()),
            phone: (rng.below(2) == 0).then(|| format!("+33 4 72 {:02} {:02} 00", rng.below(100), rng.below(100))),
        });
    }
    out
}

fn slug(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.replace('ß', "ss").nfkd().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>().to_lowercase()
}

/// A random filter on the values of random entries, as XML and as the
/// filter the server parses it into.
fn random_filter(rng: &mut Rng, entries: &[almanach::store::DirectoryEntry]) -> (String, almanach::vcard::filter::CardFilter) {
    use almanach::collation::{Collation, MatchType, TextMatch};
    use almanach::vcard::filter::{CardFilter, CardPropFilter, FilterTest};
    let test = if rng.below(2) == 0 { FilterTest::AnyOf } else { FilterTest::AllOf };
    let count = if rng.below(10) < 7 { 1 } else { 2 };
    let mut filter = CardFilter { test, prop_filters: Vec::new() };
    for _ in 0..count {
        let e = rng.pick(entries);
        let (prop, value) = match rng.below(20) {
            0..=7 => ("FN", almanach::store::directory::full_name(&e.username, e.display_name.as_deref(), e.given_name.as_deref(), e.family_name.as_deref())),
            8..=11 => ("N", almanach::store::directory::structured_name(e.given_name.as_deref(), e.family_name.as_deref())),
            _ => ("EMAIL", e.emails.first().cloned().unwrap_or_else(|| "x@y.fr".into())),
        };
        let chars: Vec<char> = value.chars().collect();
        let (match_type, mut needle) = match rng.below(12) {
            0 => (MatchType::Equals, value.clone()),
            1 | 2 => (MatchType::StartsWith, chars[..1 + rng.below(chars.len())].iter().collect()),
            3 | 4 => (MatchType::EndsWith, chars[rng.below(chars.len())..].iter().collect()),
            5 => (MatchType::Contains, rng.pick(&["zq", "x@y", ".b", "ée", "e.b", "n@", "_", ";;", "ß", " l", "-m", "'h", "é", "ç"]).to_string()),
            _ => {
                let len = 1 + rng.below(14.min(chars.len()));
                let from = rng.below(chars.len() - len + 1);
                (MatchType::Contains, chars[from..from + len].iter().collect())
            }
        };
        match rng.below(10) {
            0..=2 => needle = needle.to_uppercase(),
            3 => needle = slug_keep(&needle),
            _ => {}
        }
        if needle.is_empty() {
            needle = "a".into();
        }
        let collation = match rng.below(20) {
            0 | 1 => Collation::AsciiCasemap,
            2 => Collation::Octet,
            _ => Collation::UnicodeCasemap,
        };
        let mut pf = CardPropFilter::new(prop);
        pf.text_matches.push(TextMatch { value: needle, collation, match_type, negate: false });
        filter.prop_filters.push(pf);
    }
    // Conditions only the cards can check, next to one the index narrows.
    if test == FilterTest::AllOf && rng.below(4) == 0 {
        let mut tel = CardPropFilter::new("TEL");
        tel.text_matches.push(TextMatch { value: "72".into(), collation: Collation::UnicodeCasemap, match_type: MatchType::Contains, negate: rng.below(2) == 0 });
        filter.prop_filters.push(tel);
    }
    let xml = format!(
        r#"<C:filter test="{}">{}</C:filter>"#,
        filter.test.as_str(),
        filter
            .prop_filters
            .iter()
            .map(|pf| {
                let tm = &pf.text_matches[0];
                format!(
                    r#"<C:prop-filter name="{}"><C:text-match collation="{}" match-type="{}" negate-condition="{}">{}</C:text-match></C:prop-filter>"#,
                    pf.name,
                    tm.collation.as_str(),
                    tm.match_type.as_str(),
                    if tm.negate { "yes" } else { "no" },
                    tm.value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
                )
            })
            .collect::<String>()
    );
    (xml, filter)
}

/// The text without accents, other characters kept.
fn slug_keep(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).collect()
}

/// RFC 3744 §9.4: principals of the académie matched under
/// i;unicode-casemap, at most 100 with a 507 beyond (issue 16: no short
/// answer that hides matches).
async fn principal_search_is_exact_and_capped(srv: TestServer) {
    let mut batch = vec![
        AccountRecord { display_name: Some("Élodie Martin".into()), ..record("emartin", "Élodie", "Martin", "elodie.martin@ac-lyon.fr") },
        AccountRecord { display_name: Some("Johann Strauß".into()), ..record("jstrauss", "Johann", "Strauß", "johann.strauss@ac-lyon.fr") },
    ];
    for i in 0..101 {
        batch.push(AccountRecord {
            display_name: Some(format!("Agent {i:03}")),
            ..record(&format!("agent{i:03}"), "Agent", &format!("{i:03}"), &format!("agent{i:03}@ac-lyon.fr"))
        });
    }
    import(&srv, &batch).await;
    let search = |matching: &str, prop: &str| {
        format!(
            r#"<D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:property-search><D:prop>{prop}</D:prop><D:match>{matching}</D:match></D:property-search><D:prop><D:displayname/></D:prop></D:principal-property-search>"#
        )
    };
    let principals = |body: &str| crate::caldav::names(body, "/principals/");
    let r = crate::caldav::report(&srv, "/principals/", "0", &search("ÉLODIE", "<D:displayname/>")).await;
    assert_eq!(principals(&r.text()), ["emartin/"]);
    let r = crate::caldav::report(&srv, "/principals/", "0", &search("STRAUSS", "<D:displayname/>")).await;
    assert_eq!(principals(&r.text()), ["jstrauss/"], "ß is ss");
    let r = crate::caldav::report(&srv, "/principals/", "0", &search("MARTIN@AC-", "<C:calendar-user-address-set/>")).await;
    assert_eq!(principals(&r.text()), ["emartin/"]);
    // 101 agents match: 100 and a 507 for the request-URI.
    let r = crate::caldav::report(&srv, "/principals/", "0", &search("agent", "<D:displayname/>")).await;
    assert_eq!(r.status, 207);
    let all = responses(&r.text());
    assert_eq!(all.len(), 101, "{}", r.text());
    let cut = all.iter().find(|(h, _)| h == "/principals/").expect("507").1.clone();
    assert!(cut.contains("507") && cut.contains("number-of-matches-within-limits"), "{cut}");
    let r = crate::caldav::report(&srv, "/principals/", "0", &search("agent 10", "<D:displayname/>")).await;
    assert_eq!(principals(&r.text()), ["agent100/"]);
    assert!(!r.text().contains("HTTP/1.1 507") && !responses(&r.text()).iter().any(|(h, _)| h == "/principals/"), "{}", r.text());
}

/// A principal search whose terms share a range (the username and the
/// address both read the address rows) answers up to its cap with a 507,
/// never fewer: more accounts match than a search reads index rows
/// (`ROW_BUDGET`), and none of them by its username.
async fn principal_search_shares_ranges(srv: TestServer) {
    // The store's ROW_BUDGET is 4,000 index rows.
    let batch: Vec<AccountRecord> = (0..4100)
        .map(|i| record(&format!("agent{i:05}"), "Agent", &format!("N{i:05}"), &format!("a{i:05}.x5@ac-lyon.fr")))
        .collect();
    for chunk in batch.chunks(1000) {
        import(&srv, chunk).await;
    }
    let body = r#"<D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" test="anyof"><D:property-search><D:prop><D:displayname/></D:prop><D:match>5@ac-</D:match></D:property-search><D:property-search><D:prop><C:calendar-user-address-set/></D:prop><D:match>5@ac-</D:match></D:property-search><D:prop><D:displayname/></D:prop></D:principal-property-search>"#;
    let r = crate::caldav::report(&srv, "/principals/", "0", body).await;
    assert_eq!(r.status, 207);
    let all = responses(&r.text());
    assert_eq!(all.iter().filter(|(h, _)| h != "/principals/").count(), 100, "{}", r.text());
    let cut = all.iter().find(|(h, _)| h == "/principals/").expect("507").1.clone();
    assert!(cut.contains("HTTP/1.1 507") && cut.contains("number-of-matches-within-limits"), "{cut}");
}

fn record(username: &str, given: &str, family: &str, email: &str) -> AccountRecord {
    AccountRecord {
        username: username.into(),
        given_name: Some(given.into()),
        family_name: Some(family.into()),
        display_name: None,
        emails: vec![email.into()],
        academie: Some("lyon".into()),
        title: None,
        phone: Some("+33 4 72 00 00 00".into()),
    }
}

async fn import(srv: &TestServer, batch: &[AccountRecord]) {
    for outcome in srv.store.import_accounts(batch).await.unwrap() {
        assert!(!matches!(outcome, almanach::store::ImportOutcome::Rejected(_)), "{outcome:?}");
    }
}

both_stores!(
    gateway_discovery_and_read_only,
    searches_by_name_and_email,
    cards_by_get_and_multiget,
    structured_name_is_matched_whole,
    separator_needles_are_exact,
    conditions_of_a_prop_filter_hold_on_one_address,
    principal_search_is_exact_and_capped,
    principal_search_shares_ranges
);
each_store!(results_are_capped, short_needles_are_answered_completely, every_answer_is_exact);
