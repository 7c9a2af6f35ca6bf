"""Dashboard strings in English (the keys) and French."""

# ruff: noqa: E501 - one translation per line reads best

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "fr")

FR = {
    "Dashboard": "Tableau de bord",
    "Log in": "Se connecter",
    "Log out": "Se déconnecter",
    "Create an account": "Créer un compte",
    "Email": "E-mail",
    "Password": "Mot de passe",
    "Your name": "Votre nom",
    "Business name": "Nom de l'entreprise",
    "At least 10 characters.": "Au moins 10 caractères.",
    "No account yet?": "Pas encore de compte ?",
    "Already have an account?": "Vous avez déjà un compte ?",
    "Agents": "Agents",
    "Agent": "Agent",
    "API keys": "Clés d'API",
    "Settings": "Paramètres",
    "Organization": "Organisation",
    "Welcome": "Bienvenue",
    "Your agents answer your customers on your website, WhatsApp and the phone.": "Vos agents répondent à vos clients sur votre site, WhatsApp et au téléphone.",
    "New agent": "Nouvel agent",
    "Create agent": "Créer l'agent",
    "Save": "Enregistrer",
    "Delete": "Supprimer",
    "Cancel": "Annuler",
    "Name": "Nom",
    "Languages": "Langues",
    "Instructions and persona": "Instructions et personnalité",
    "How the agent should behave: tone, what to offer, what to avoid.": "Comment l'agent doit se comporter : ton, ce qu'il propose, ce qu'il évite.",
    "Greeting": "Message d'accueil",
    "The first message a customer sees.": "Le premier message que voit un client.",
    "No agents yet.": "Aucun agent pour l'instant.",
    "Create your first agent": "Créez votre premier agent",
    "Edit": "Modifier",
    "Public key": "Clé publique",
    "Created": "Créé",
    "Role": "Rôle",
    "Prefix": "Préfixe",
    "Last used": "Dernière utilisation",
    "Never": "Jamais",
    "Revoked": "Révoquée",
    "Active": "Active",
    "Revoke": "Révoquer",
    "New API key": "Nouvelle clé d'API",
    "Create key": "Créer la clé",
    "Copy this key now. It will not be shown again.": "Copiez cette clé maintenant. Elle ne sera plus affichée.",
    "API keys let your scripts use the JSON API of this organization.": "Les clés d'API permettent à vos scripts d'utiliser l'API JSON de cette organisation.",
    "Country": "Pays",
    "Time zone": "Fuseau horaire",
    "Default language": "Langue par défaut",
    "Contact email": "E-mail de contact",
    "Contact phone": "Téléphone de contact",
    "Stored encrypted.": "Stocké chiffré.",
    "Saved.": "Enregistré.",
    "Agent created.": "Agent créé.",
    "Agent deleted.": "Agent supprimé.",
    "Key revoked.": "Clé révoquée.",
    "Delete this agent? This cannot be undone.": "Supprimer cet agent ? C'est irréversible.",
    "Something went wrong": "Un problème est survenu",
    "Back to the dashboard": "Retour au tableau de bord",
    "Page not found": "Page introuvable",
    "Switch": "Changer",
    "Skip to content": "Aller au contenu",
    "Main navigation": "Navigation principale",
    "Language": "Langue",
    "read only": "lecture seule",
    "wrong email or password": "e-mail ou mot de passe incorrect",
    "an account with this email already exists": "un compte existe déjà avec cet e-mail",
    "enter a valid email address": "saisissez une adresse e-mail valide",
    "the password must have at least 10 characters": "le mot de passe doit contenir au moins 10 caractères",
    "the form expired; please try again": "le formulaire a expiré ; veuillez réessayer",
    "Documentation": "Documentation",
    "Knowledge": "Connaissances",
    "What the agent knows: your documents, web pages and answers. The agent answers from these and cites them.": "Ce que sait l'agent : vos documents, pages web et réponses. L'agent répond à partir de ces sources et les cite.",
    "Test a question": "Tester une question",
    "Question": "Question",
    "Answer": "Réponse",
    "e.g. What are your opening hours?": "ex. : Quels sont vos horaires d'ouverture ?",
    "Search": "Rechercher",
    "Confidence": "Confiance",
    "the agent would say it does not know": "l'agent dirait qu'il ne sait pas",
    "page": "page",
    "Nothing found.": "Rien trouvé.",
    "Upload a file": "Importer un fichier",
    "Drop a file here or choose one": "Déposez un fichier ici ou choisissez-en un",
    "Upload": "Importer",
    "Add a web page or website": "Ajouter une page ou un site web",
    "Crawl the whole website (sitemap or links, up to 200 pages)": "Parcourir tout le site (plan du site ou liens, jusqu'à 200 pages)",
    "Add": "Ajouter",
    "Add a text": "Ajouter un texte",
    "Title": "Titre",
    "Text": "Texte",
    "Add a question and its answer": "Ajouter une question et sa réponse",
    "Sources": "Sources",
    "Source": "Source",
    "Type": "Type",
    "State": "État",
    "Passages": "Passages",
    "Actions": "Actions",
    "Re-crawl": "Réexplorer",
    "No sources yet. Upload your price list, FAQ or website.": "Aucune source. Importez vos tarifs, votre FAQ ou votre site web.",
    "Size": "Taille",
    "Documents": "Documents",
    "Next re-crawl": "Prochaine exploration",
    "No passages yet.": "Aucun passage pour l'instant.",
    "file": "fichier",
    "url": "page web",
    "website": "site web",
    "text": "texte",
    "qa": "question-réponse",
    "queued": "en attente",
    "processing": "en cours",
    "ready": "prêt",
    "failed": "échec",
    "Source added; it is being read.": "Source ajoutée ; lecture en cours.",
    "Source deleted.": "Source supprimée.",
    "Re-crawl started.": "Nouvelle exploration lancée.",
    "owner": "propriétaire",
    "admin": "administrateur",
    "agent": "agent",
    "viewer": "lecteur",
    "agents": "agents",
    "API key": "clé d'API",
}


def translator(lang: str) -> Callable[[str], str]:
    table = FR if lang == "fr" else {}

    def gettext(text: str) -> str:
        return table.get(text, text)

    return gettext


def pick_language(cookie: str | None, user_locale: str | None, accept: str | None) -> str:
    """The dashboard language: explicit choice, then the account's, then the browser's."""
    for candidate in (cookie, user_locale):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return "en"
