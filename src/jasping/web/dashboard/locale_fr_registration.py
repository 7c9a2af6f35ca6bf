"""The French strings of the phone check of a risky sign-up and the operator's review queue (registration_views.py),
keyed by their English; merged into `locale_fr.FR` through `FR_SECURITY`. The reasons' sentences are in
`registration/explain.py`."""

# ruff: noqa: E501 - one translation per line reads best

FR_REGISTRATION = {
    "Confirm your phone number": "Confirmez votre numéro de téléphone",
    "A code was sent to": "Un code a été envoyé au",
    "Your request for a review was sent. A person will look at it and reply by email within 30 days.": "Votre demande de réexamen a été envoyée. Une personne l'examinera et vous répondra par e-mail sous 30 jours.",
    "Why we ask": "Pourquoi nous le demandons",
    "Phone number (international form, e.g. +33612345678)": "Numéro de téléphone (format international, p. ex. +33612345678)",
    "Your account can be used.": "Votre compte peut être utilisé.",
    "Continue": "Continuer",
    "Ask for a human review": "Demander un réexamen par une personne",
    "Review": "Réexamen",
    "pending": "en attente",
    "approved": "approuvé",
    "rejected": "refusé",
    "This decision was made automatically. You may ask a person to look at it instead (GDPR art. 22).": "Cette décision a été prise automatiquement. Vous pouvez demander qu'une personne l'examine (RGPD art. 22).",
    "Anything we should know (optional)": "Ce que nous devrions savoir (facultatif)",
    "Sign-up reviews": "Réexamens d'inscription",
    "People whose sign-up was found risky and who asked a person to review the decision (GDPR art. 22). Approving waives the phone verification; rejecting disables the account.": "Les personnes dont l'inscription a été jugée risquée et qui ont demandé qu'une personne réexamine la décision (RGPD art. 22). Approuver dispense de la vérification du téléphone ; refuser désactive le compte.",
    "Account": "Compte",
    "Level": "Niveau",
    "Reasons": "Raisons",
    "Their comment": "Son commentaire",
    "Decision": "Décision",
    "Approve": "Approuver",
    "Reject": "Refuser",
    "No review is waiting.": "Aucun réexamen en attente.",
    "low": "faible",
    "medium": "moyen",
    "high": "élevé",
    "Decision recorded.": "Décision enregistrée.",
}
