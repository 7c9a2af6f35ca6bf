"""The French strings of the security events page (web/dashboard/security_events_views.py), keyed by their English;
merged into `locale_fr.FR`."""

# ruff: noqa: E501 - one translation per line reads best

from jasping.web.dashboard.locale_fr_registration import FR_REGISTRATION

FR_SECURITY = {
    **FR_REGISTRATION,  # the phone check of a risky sign-up, the review queue (locale_fr_registration.py)
    "Security events": "Événements de sécurité",
    "Log-ins and failures, lockouts and alerts, two-step verification, sessions, refused requests, API key use, administration, exports and erasures in this organization. Kept 12 months.": "Connexions et échecs, blocages et alertes, vérification en deux étapes, sessions, requêtes refusées, utilisation des clés d'API, administration, exports et effacements dans cette organisation. Gardés 12 mois.",
    "Kind": "Type",
    "All": "Tous",
    "Filter": "Filtrer",
    "When (UTC)": "Quand (UTC)",
    "Event": "Événement",
    "Who": "Qui",
    "About": "Objet",
    "Details": "Détails",
    "Older events": "Événements plus anciens",
    "No events.": "Aucun événement.",
    "Who logged in, failed or was locked out, what was refused, changed, exported or erased.": "Qui s'est connecté, a échoué ou a été bloqué, ce qui a été refusé, modifié, exporté ou effacé.",
    "See the security events": "Voir les événements de sécurité",
}
