"""The French strings of the privacy pages for a business's customers — the contact page (find, consents, export,
erase) — keyed by their English; merged into `locale_fr.FR` through `locale_fr_account.FR_ACCOUNT`."""

# ruff: noqa: E501 - one translation per line reads best

FR_PRIVACY = {
    "Contacts": "Contacts",
    "Find a customer by the email or phone they gave, to see their consents, export their data or erase them.": "Retrouvez un client par l'e-mail ou le téléphone qu'il a donné, pour voir ses consentements, exporter ses données ou l'effacer.",
    "The contact was erased. Erasure record:": "Le contact a été effacé. Registre de l'effacement :",
    "Phone": "Téléphone",
    "Find": "Chercher",
    "Last seen": "Vu pour la dernière fois",
    "No contact has this email or phone.": "Aucun contact n'a cet e-mail ou ce téléphone.",
    "Restricted": "Limité",
    "Objected": "Opposition",
    "Consents": "Consentements",
    "given": "donné",
    "When": "Quand",
    "Decision": "Décision",
    "Notice version": "Version de la notice",
    "Method": "Méthode",
    "Channel": "Canal",
    "No consent recorded.": "Aucun consentement enregistré.",
    "Export": "Exporter",
    "Everything held about this person, as JSON valid against the published schema. You will be asked for your password if you have not entered it in the last minutes.": "Tout ce qui est conservé sur cette personne, en JSON conforme au schéma publié. Votre mot de passe vous sera demandé si vous ne l'avez pas saisi ces dernières minutes.",
    "Export their data": "Exporter ses données",
    "Erase": "Effacer",
    "Deletes this person's conversations, messages, files, leads, appointments and consents, and the copies sent to your connected services. This cannot be undone.": "Supprime les conversations, messages, fichiers, prospects, rendez-vous et consentements de cette personne, et les copies envoyées à vos services connectés. C'est irréversible.",
    "Type ERASE to confirm": "Tapez ERASE pour confirmer",
    "Type ERASE to confirm: the erasure cannot be undone.": "Tapez ERASE pour confirmer : l'effacement est irréversible.",
    "Erase this contact": "Effacer ce contact",
}
