"""The first version of each public page, in force until the operator (or, for an agent's notice, the business)
publishes another: the privacy policy as `/privacy` has always said it, the sub-processors the platform can call, a
data processing agreement (GDPR art. 28), and an agent's privacy notice generated from the agent's settings."""

from __future__ import annotations

from datetime import UTC, datetime

DEFAULT_EFFECTIVE = datetime(2026, 1, 1, tzinfo=UTC)  # the date shown for the built-in first versions

PRIVACY = {
    "en": """When you chat with a business's assistant on this platform, the business is responsible for your data \
(the controller) and JasPing processes it on its behalf.

## What is kept, and for how long

| Data | Kept |
| --- | --- |
| Conversations (messages, transcripts, files you send) | 12 months, then erased |
| Contact details you give (name, email, phone) | 12 months after your last request, then erased (the business may \
choose less) |
| Security and access logs | 12 months |
| Cookie and chat consent records | 6 months |
| Marketing consent records | 3 years from your last consent, or until you withdraw it |

## How it is protected

Messages and contact details are encrypted at rest with a key per business. Conversations are never used to train \
models shared across customers, and an AI provider, when one is used, receives only what the answer needs.

## Your rights

You can ask the business for a copy of your data, its correction or its erasure, or object to its use; requests are \
answered within 30 days. You can withdraw a consent at any time, as easily as you gave it.

See also the [sub-processors](/legal/subprocessors) and the [data processing agreement](/legal/dpa).
""",
    "fr": """Lorsque vous discutez avec l'assistant d'une entreprise sur cette plateforme, l'entreprise est \
responsable de vos données (responsable du traitement) et JasPing les traite pour son compte.

## Ce qui est conservé, et combien de temps

| Données | Conservation |
| --- | --- |
| Conversations (messages, transcriptions, fichiers envoyés) | 12 mois, puis effacées |
| Coordonnées que vous donnez (nom, e-mail, téléphone) | 12 mois après votre dernière demande, puis effacées \
(l'entreprise peut choisir moins) |
| Journaux de sécurité et d'accès | 12 mois |
| Preuves de consentement (cookies, discussion) | 6 mois |
| Preuves de consentement marketing | 3 ans après votre dernier accord, ou jusqu'à son retrait |

## Comment elles sont protégées

Les messages et les coordonnées sont chiffrés au repos avec une clé propre à chaque entreprise. Les conversations ne \
servent jamais à entraîner des modèles partagés entre clients, et un fournisseur d'IA, s'il est utilisé, ne reçoit que \
ce dont la réponse a besoin.

## Vos droits

Vous pouvez demander à l'entreprise une copie de vos données, leur rectification ou leur effacement, ou vous opposer à \
leur utilisation ; les demandes sont traitées sous 30 jours. Vous pouvez retirer un consentement à tout moment, aussi \
simplement que vous l'avez donné.

Voir aussi les [sous-traitants ultérieurs](/legal/subprocessors) et l'[accord de traitement des données](/legal/dpa).
""",
}

SUBPROCESSORS = {
    "en": """Sub-processors are called only when the platform is configured for them, or when a business connects the \
service to its agent.

| Sub-processor | Purpose | When |
| --- | --- | --- |
| OpenAI (or another OpenAI-compatible provider set by the operator) | Generating answers | When the operator sets \
`JASPING_LLM=openai` |
| Meta (WhatsApp Business Platform) | WhatsApp messages | When a business connects WhatsApp |
| Twilio | SMS and phone calls | When a business connects a Twilio number |
| Google (Calendar, Sheets, Drive, Gmail) | Bookings, leads, files, email | When a business connects its Google \
account |
| The operator's email provider (SMTP) | Sending emails | Always, for notifications |
| The operator's object storage (S3-compatible) | Storing uploaded files, encrypted | When the operator sets \
`JASPING_FILES_BACKEND=s3` |

Changes to this list are published here with a new version number before they take effect.
""",
    "fr": """Les sous-traitants ultérieurs ne sont appelés que si la plateforme est configurée pour eux, ou si une \
entreprise connecte le service à son agent.

| Sous-traitant | Finalité | Quand |
| --- | --- | --- |
| OpenAI (ou un autre fournisseur compatible choisi par l'opérateur) | Rédaction des réponses | Si l'opérateur \
définit `JASPING_LLM=openai` |
| Meta (WhatsApp Business Platform) | Messages WhatsApp | Si une entreprise connecte WhatsApp |
| Twilio | SMS et appels | Si une entreprise connecte un numéro Twilio |
| Google (Agenda, Sheets, Drive, Gmail) | Rendez-vous, contacts, fichiers, e-mails | Si une entreprise connecte son \
compte Google |
| Le fournisseur d'e-mail de l'opérateur (SMTP) | Envoi d'e-mails | Toujours, pour les notifications |
| Le stockage objet de l'opérateur (compatible S3) | Fichiers envoyés, chiffrés | Si l'opérateur définit \
`JASPING_FILES_BACKEND=s3` |

Toute modification de cette liste est publiée ici avec un nouveau numéro de version avant de prendre effet.
""",
}

DPA = {
    "en": """This agreement applies between the business using JasPing (the **controller**) and the operator of this \
JasPing platform (the **processor**), as required by Article 28 of the GDPR.

## Subject and duration

The processor hosts the business's agents and processes the personal data of the business's customers (contacts) \
to answer them, capture their requests and book appointments, for as long as the business uses the platform.

## The processor's commitments

1. Process personal data only on the controller's documented instructions: the agent settings, integrations and \
retention the business chooses.
2. Ensure that persons authorised to process the data are bound by confidentiality.
3. Take the security measures of Article 32: encryption at rest with a key per business, access control, an \
append-only audit log.
4. Use only the sub-processors listed at [/legal/subprocessors](/legal/subprocessors), and announce changes there in \
advance.
5. Help the controller answer data-subject requests (export, rectification, erasure, restriction, objection).
6. Notify the controller of a personal-data breach without undue delay after becoming aware of it.
7. Delete or return all personal data at the end of the service, and erase copies unless the law requires keeping them.
8. Make available the information needed to demonstrate compliance, and allow audits.
""",
    "fr": """Cet accord s'applique entre l'entreprise qui utilise JasPing (le **responsable du traitement**) et \
l'opérateur de cette plateforme JasPing (le **sous-traitant**), comme l'exige l'article 28 du RGPD.

## Objet et durée

Le sous-traitant héberge les agents de l'entreprise et traite les données personnelles de ses clients (contacts) pour \
leur répondre, recueillir leurs demandes et prendre des rendez-vous, aussi longtemps que l'entreprise utilise la \
plateforme.

## Engagements du sous-traitant

1. Ne traiter les données que sur instruction documentée du responsable : les réglages d'agent, les intégrations et \
la conservation choisis par l'entreprise.
2. Veiller à ce que les personnes autorisées à traiter les données soient tenues à la confidentialité.
3. Prendre les mesures de sécurité de l'article 32 : chiffrement au repos avec une clé par entreprise, contrôle \
d'accès, journal d'audit inaltérable.
4. N'utiliser que les sous-traitants listés sur [/legal/subprocessors](/legal/subprocessors), et y annoncer tout \
changement à l'avance.
5. Aider le responsable à répondre aux demandes des personnes (export, rectification, effacement, limitation, \
opposition).
6. Notifier au responsable toute violation de données dans les meilleurs délais après en avoir pris connaissance.
7. Supprimer ou restituer toutes les données à la fin du service, et effacer les copies sauf obligation légale.
8. Mettre à disposition les informations nécessaires pour démontrer la conformité, et permettre les audits.
""",
}

PLATFORM_DEFAULTS = {"privacy": PRIVACY, "subprocessors": SUBPROCESSORS, "dpa": DPA}


def agent_notice(*, business: str, agent: str, booking: bool, contact_email: str | None, lang: str) -> str:
    """The privacy notice of an agent that has none of its own, from its settings."""
    if lang == "fr":
        lines = [
            f"Cet assistant ({agent}) répond au nom de **{business}**, responsable du traitement de vos données. "
            "JasPing l'héberge pour son compte.",
            "",
            "## Ce que nous traitons",
            "",
            "- Vos messages et les fichiers que vous envoyez, pour vous répondre (conservés 12 mois au plus).",
            "- Les coordonnées que vous donnez, pour vous recontacter si vous le demandez.",
        ]
        if booking:
            lines.append("- Vos rendez-vous, pour les organiser et vous les rappeler.")
        lines += [
            "",
            "## Vos droits",
            "",
            "Vous pouvez demander une copie de vos données, leur rectification ou leur effacement, vous opposer à leur "
            "utilisation, et retirer votre consentement à tout moment.",
        ]
        if contact_email:
            lines.append(f"Écrivez à [{contact_email}](mailto:{contact_email}).")
        lines += ["", "Voir aussi la [politique de confidentialité de la plateforme](/privacy)."]
        return "\n".join(lines) + "\n"
    lines = [
        f"This assistant ({agent}) answers on behalf of **{business}**, the controller of your data. JasPing hosts it "
        "on the business's behalf.",
        "",
        "## What we process",
        "",
        "- Your messages and the files you send, to answer you (kept 12 months at most).",
        "- The contact details you give, to get back to you when you ask.",
    ]
    if booking:
        lines.append("- Your appointments, to arrange them and remind you.")
    lines += [
        "",
        "## Your rights",
        "",
        "You can ask for a copy of your data, its correction or erasure, object to its use, and withdraw your consent "
        "at any time.",
    ]
    if contact_email:
        lines.append(f"Write to [{contact_email}](mailto:{contact_email}).")
    lines += ["", "See also the [platform's privacy policy](/privacy)."]
    return "\n".join(lines) + "\n"
