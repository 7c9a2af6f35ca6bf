"""Reason codes as plain sentences, in English and French, for the person concerned (GDPR art. 22: the logic
involved, told so that they can contest it)."""

from __future__ import annotations

# ruff: noqa: E501 - one sentence per line reads best

SENTENCES: dict[str, tuple[str, str]] = {
    "disposable_email_domain": (
        "Your email address belongs to a disposable (temporary) email service.",
        "Votre adresse e-mail appartient à un service d'adresses jetables (temporaires).",
    ),
    "no_mail_server": (
        "The domain of your email address does not seem to receive email.",
        "Le domaine de votre adresse e-mail ne semble pas recevoir d'e-mails.",
    ),
    "free_email_domain": (
        "Your email address is from a free email provider rather than a company domain.",
        "Votre adresse e-mail vient d'un fournisseur gratuit plutôt que du domaine d'une entreprise.",
    ),
    "many_signups_from_ip": (
        "Many accounts were created from your network address in the last hour.",
        "De nombreux comptes ont été créés depuis votre adresse réseau au cours de la dernière heure.",
    ),
    "many_signups_from_device": (
        "Several accounts were created from your device today.",
        "Plusieurs comptes ont été créés depuis votre appareil aujourd'hui.",
    ),
    "honeypot_filled": (
        "A field hidden from people was filled in, as automated programs do.",
        "Un champ caché aux personnes a été rempli, comme le font les programmes automatiques.",
    ),
    "form_filled_too_fast": (
        "The sign-up form was filled in faster than a person usually can.",
        "Le formulaire d'inscription a été rempli plus vite qu'une personne ne le fait d'habitude.",
    ),
    "form_token_invalid": (
        "The sign-up form was not the one our page showed.",
        "Le formulaire d'inscription n'était pas celui affiché par notre page.",
    ),
    "form_token_missing": (
        "The sign-up form was sent without the check our page adds.",
        "Le formulaire d'inscription a été envoyé sans la vérification ajoutée par notre page.",
    ),
    "user_agent_missing": (
        "Your browser did not identify itself.",
        "Votre navigateur ne s'est pas identifié.",
    ),
    "user_agent_automated": (
        "The sign-up came from a program rather than a web browser.",
        "L'inscription provient d'un programme plutôt que d'un navigateur web.",
    ),
    "timezone_country_mismatch": (
        "Your device's time zone does not match the country of your phone number.",
        "Le fuseau horaire de votre appareil ne correspond pas au pays de votre numéro de téléphone.",
    ),
    "language_country_mismatch": (
        "Your browser's language region does not match your country or time zone.",
        "La région de la langue de votre navigateur ne correspond pas à votre pays ni à votre fuseau horaire.",
    ),
}

LEVEL_SENTENCES = {
    "low": ("Nothing unusual was found: your account is ready.", "Rien d'inhabituel : votre compte est prêt."),
    "medium": (
        "Some signs call for a check: confirm your phone number to use your account.",
        "Certains signes demandent une vérification : confirmez votre numéro de téléphone pour utiliser votre compte.",
    ),
    "high": (
        "Several strong signs call for a check: confirm your phone number to use your account.",
        "Plusieurs signes forts demandent une vérification : confirmez votre numéro de téléphone pour utiliser votre compte.",
    ),
}


def sentence(code: str, lang: str = "en") -> str:
    en, fr = SENTENCES.get(code, (code, code))
    return fr if lang == "fr" else en


def explain(reasons: list[str], lang: str = "en") -> list[dict[str, str]]:
    """Each reason code with its sentence in `lang` (en or fr)."""
    return [{"code": code, "explanation": sentence(code, lang)} for code in reasons]


def summary(level: str, lang: str = "en") -> str:
    en, fr = LEVEL_SENTENCES.get(level, LEVEL_SENTENCES["low"])
    return fr if lang == "fr" else en
