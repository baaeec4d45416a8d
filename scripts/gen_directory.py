#!/usr/bin/env python3
"""Generate a national-directory CSV for `almanach directory import`.

    scripts/gen_directory.py N OUT.csv [--seed S]

Writes N accounts with realistic French names (accents, compound given
names), usernames `prenom.nom[K]` (unique), one or two addresses
`prenom.nom[K]@ac-SLUG.fr` (unique), one of the 30 académies, a title and,
for most, a phone number. Deterministic for a given seed. Also writes
OUT.academies.tsv (`slug<TAB>name`) listing the académies the import
expects; create them first, e.g.:

    while IFS=$'\t' read -r slug name; do
      almanach academie add "$slug" --name "$name"
    done < OUT.academies.tsv
"""
import csv
import random
import sys
import unicodedata

ACADEMIES = [
    ("aix-marseille", "Aix-Marseille"), ("amiens", "Amiens"), ("besancon", "Besançon"),
    ("bordeaux", "Bordeaux"), ("clermont-ferrand", "Clermont-Ferrand"), ("corse", "Corse"),
    ("creteil", "Créteil"), ("dijon", "Dijon"), ("grenoble", "Grenoble"), ("guadeloupe", "Guadeloupe"),
    ("guyane", "Guyane"), ("la-reunion", "La Réunion"), ("lille", "Lille"), ("limoges", "Limoges"),
    ("lyon", "Lyon"), ("martinique", "Martinique"), ("mayotte", "Mayotte"), ("montpellier", "Montpellier"),
    ("nancy-metz", "Nancy-Metz"), ("nantes", "Nantes"), ("nice", "Nice"), ("normandie", "Normandie"),
    ("orleans-tours", "Orléans-Tours"), ("paris", "Paris"), ("poitiers", "Poitiers"), ("reims", "Reims"),
    ("rennes", "Rennes"), ("strasbourg", "Strasbourg"), ("toulouse", "Toulouse"), ("versailles", "Versailles"),
]

GIVEN = """Élodie Léa Chloé Émilie Hélène Zoé Inès Anaïs Maëlle Gaëlle Noémie Célia Clémence Mélanie Aurélie
Cécile Agnès Béatrice Joëlle Valérie Sébastien Jérôme Frédéric Stéphane Grégoire Benoît Rémi Timothée Théo
Mathéo Loïc Gaël Noël Raphaël Michaël Joël Aimé André Honoré Hervé Marie Jean Pierre Paul Jacques Michel
Philippe Alain Nicolas Julien Thomas Antoine Camille Manon Sarah Laura Julie Pauline Marine Lucie Charlotte
Mathilde Juliette Margaux Louise Alice Jeanne Anne Claire Sophie Isabelle Nathalie Sandrine Catherine
Christine Sylvie Martine Françoise Monique Nicole Brigitte Dominique Patrick Christophe Laurent Olivier
David Éric Thierry Vincent Guillaume Maxime Alexandre Romain Lucas Hugo Louis Arthur Jules Adam Gabriel
Léo Nathan Ethan Enzo Tom Baptiste Quentin Florian Kévin Adrien Clément Damien Fabien Xavier Yannick
Bruno Didier Pascal Gérard Bernard Daniel Henri René Roger Yves Lætitia Maïté Solène Océane Mégane Éva
Jérémie Anthony Mickaël Cédric Ludovic Sylvain Arnaud Régis Gaétan Amélie Bérénice Héloïse Salomé Chloé
Marie-Claire Jean-Pierre Jean-François Marie-Hélène Anne-Sophie Jean-Baptiste Pierre-Yves Marie-Thérèse""".split()

FAMILY = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefèvre Leroy
Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Müller Lefèbvre
Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin
Clément Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël
Meyer Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martínez
Gérard Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas
Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Léger Leclerc Huet Hubert Carré Besnard Prévost
Cordier Gilbert Étienne Lebrun Hervé Poirier Renaud Lebœuf Benard Chauvin Collet Deschamps Maillard
Guillot Hamon Royer Charpentier Leblanc Barré Vasseur Gillet Navarro Poulain Jacquet Lesage Bouvier
Hoarau Payet Grondin Fontaine Riviere Thébault Pelletier Lévêque Brémond Chrétien Côté Bélanger Désiré
Lefort Sénéchal Péron Guégan Le Gall Le Goff Le Roux Le Bihan Kerbrat Quéré Le Floc'h Ménard Février
Dupré Delaunay Dessaigne Ndiaye Diallo Traoré Nguyen Tran Haddad Benali Mansouri Cohen Lévy Dahan Da Silva
Ferreira Pereira Rodrigues Dos Santos Lopes Fernandes Gonçalves Carvalho Oliveira Martins Sousa""".split()
# Two-word family names appear as separate tokens above; join a few back.
FAMILY = [f for f in FAMILY if f not in ("Le", "Da", "Dos")] + ["Le Gall", "Le Goff", "Le Roux", "Le Bihan",
          "Le Floc'h", "Da Silva", "Dos Santos", "de La Fontaine", "Saint-Martin", "Dupont-Aignan"]

TITLES = ["Professeur des écoles", "Professeure des écoles", "Professeur certifié", "Professeure agrégée",
          "Conseiller principal d'éducation", "Principal adjoint", "Proviseure", "Inspecteur de l'Éducation nationale",
          "Secrétaire de direction", "Gestionnaire", "Documentaliste", "Infirmière scolaire", "Psychologue de l'Éducation nationale",
          "Directeur d'école", "Attaché d'administration", "Technicien informatique"]


def ascii_slug(text):
    for a, b in (("æ", "ae"), ("Æ", "Ae"), ("œ", "oe"), ("Œ", "Oe")):
        text = text.replace(a, b)
    s = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    s = s.replace("'", "").replace(" ", "-")
    return "".join(c for c in s if c.isalnum() or c in "-")


def main():
    args = sys.argv[1:]
    seed = 20261123
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    n, out = int(args[0]), args[1]
    rng = random.Random(seed)
    used = {}
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["username", "given_name", "family_name", "display_name", "emails", "academie", "title", "phone"])
        for _ in range(n):
            # Skewed choices: a few names are common, as in real life.
            given = GIVEN[min(int(rng.paretovariate(1.2)) - 1, len(GIVEN) - 1) if rng.random() < 0.3 else rng.randrange(len(GIVEN))]
            family = FAMILY[min(int(rng.paretovariate(1.2)) - 1, len(FAMILY) - 1) if rng.random() < 0.3 else rng.randrange(len(FAMILY))]
            base = f"{ascii_slug(given)}.{ascii_slug(family)}"
            k = used.get(base, 0) + 1
            used[base] = k
            username = base if k == 1 else f"{base}{k}"
            slug, _ = ACADEMIES[rng.randrange(len(ACADEMIES))]
            emails = [f"{username}@ac-{slug}.fr"]
            if rng.random() < 0.2:
                emails.append(f"{username}@education.gouv.fr")
            title = TITLES[rng.randrange(len(TITLES))]
            phone = f"+33 {rng.randrange(1, 6)} {rng.randrange(10, 100)} {rng.randrange(10, 100)} {rng.randrange(10, 100)} {rng.randrange(10, 100)}" if rng.random() < 0.6 else ""
            display = "" if rng.random() < 0.5 else f"{given} {family.upper()}"
            w.writerow([username, given, family, display, ";".join(emails), slug, title, phone])
    with open(out + ".academies.tsv", "w", encoding="utf-8") as f:
        for slug, name in ACADEMIES:
            f.write(f"{slug}\tAcadémie de {name}\n")


if __name__ == "__main__":
    main()
