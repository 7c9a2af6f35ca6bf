"""Who may call what: one matrix of every route of the application (issue 11, point 3).

Each route (method and path template, as FastAPI matched it) names the least it needs:

- `public`: no log-in — its own credential or none (a provider's signature, a token in an emailed link, a widget
  session token, the log-in form itself);
- `account`: a logged-in person, for what concerns them alone (their sessions, two-step verification, their data);
- `viewer` < `agent` < `admin` < `owner`: a member of the organization the request acts in, with at least that role
  (each role includes the ones below it, `tenancy.models.Role`);
- `superadmin`: the platform's operator (`jasping operator grant EMAIL`). It gives no power inside an organization:
  there an operator has the role of their membership, like anyone.

`web.deps` enforces the matrix for every request that acts in an organization (API keys, cookie sessions of the API
and the dashboard), before the handler runs: a route missing from the matrix is refused (403 `not_in_role_matrix`).
Handlers may check more on the body (an admin for a contact's data request, an owner to make an owner key), never
less. `tests/test_roles.py` walks every route of the app as each role against this table.
"""

from __future__ import annotations

import enum

from jasping.tenancy.models import Role


class Access(enum.StrEnum):
    public = "public"
    account = "account"
    viewer = "viewer"
    agent = "agent"
    admin = "admin"
    owner = "owner"
    superadmin = "superadmin"

    @property
    def role(self) -> Role | None:
        """The organization role this needs, for the member levels."""
        return Role(self.value) if self.value in Role.__members__ else None


PUBLIC, ACCOUNT, VIEWER, AGENT, ADMIN, OWNER, SUPERADMIN = Access

# "METHOD /path/{template}" → the least it needs. HEAD goes with GET.
MATRIX: dict[str, Access] = {
    # ---- operations and documents ------------------------------------------------------------------------------
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /favicon.ico": PUBLIC,
    "GET /metrics": PUBLIC,  # counters only; keep it behind the proxy (docs/operations.md)
    "GET /api/v1/openapi.json": PUBLIC,
    "GET /api/v1/docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /static/{path}": PUBLIC,
    "GET /widget.js": PUBLIC,
    "GET /api/v1/schemas/account-export.json": PUBLIC,
    "GET /api/v1/schemas/contact-export.json": PUBLIC,
    "GET /api/v1/legal/{kind}": PUBLIC,
    "GET /api/v1/legal/{kind}/versions": PUBLIC,
    "GET /privacy": PUBLIC,
    "GET /legal/subprocessors": PUBLIC,
    "GET /legal/dpa": PUBLIC,
    "GET /legal/agents/{public_key}/privacy": PUBLIC,
    # ---- signing up, logging in, a person's own account ---------------------------------------------------------
    "POST /api/v1/auth/register": PUBLIC,
    "POST /api/v1/auth/login": PUBLIC,
    "POST /api/v1/auth/mfa/verify": PUBLIC,  # its mfa_token is the credential
    "POST /api/v1/auth/mfa/sms/send": PUBLIC,
    "POST /api/v1/auth/logout": PUBLIC,
    "GET /api/v1/auth/me": PUBLIC,  # answers 401 without a log-in
    "POST /api/v1/auth/password-reset": PUBLIC,
    "POST /api/v1/auth/password-reset/confirm": PUBLIC,  # the emailed link's token is the credential
    "POST /api/v1/auth/reauthenticate": ACCOUNT,
    "POST /api/v1/auth/reauthenticate/sms": ACCOUNT,
    "GET /api/v1/auth/sessions": ACCOUNT,
    "DELETE /api/v1/auth/sessions/{session_id}": ACCOUNT,
    "POST /api/v1/auth/sessions/revoke-all": ACCOUNT,
    "GET /api/v1/auth/mfa": ACCOUNT,
    "POST /api/v1/auth/mfa/totp": ACCOUNT,
    "POST /api/v1/auth/mfa/totp/confirm": ACCOUNT,
    "DELETE /api/v1/auth/mfa/totp": ACCOUNT,
    "POST /api/v1/auth/mfa/sms": ACCOUNT,
    "POST /api/v1/auth/mfa/sms/confirm": ACCOUNT,
    "DELETE /api/v1/auth/mfa/sms": ACCOUNT,
    "POST /api/v1/auth/mfa/recovery-codes": ACCOUNT,
    "POST /api/v1/auth/invitations/accept": ACCOUNT,
    "GET /api/v1/me/export": ACCOUNT,
    "DELETE /api/v1/me": ACCOUNT,
    "GET /api/v1/me/consents": ACCOUNT,
    "POST /api/v1/me/consents": ACCOUNT,
    "GET /api/v1/auth/registration-risk": ACCOUNT,  # a risky sign-up: why, its phone check, a human review
    "POST /api/v1/auth/phone-verification": ACCOUNT,
    "POST /api/v1/auth/phone-verification/confirm": ACCOUNT,
    "POST /api/v1/auth/registration-risk/review": ACCOUNT,
    # ---- the organization -------------------------------------------------------------------------------------
    "GET /api/v1/organization": VIEWER,
    "PATCH /api/v1/organization": ADMIN,
    "GET /api/v1/organization/security": VIEWER,
    "PUT /api/v1/organization/security": ADMIN,
    "GET /api/v1/members": VIEWER,
    "POST /api/v1/members/invitations": ADMIN,
    "GET /api/v1/api-keys": ADMIN,
    "POST /api/v1/api-keys": ADMIN,  # an owner-role key needs an owner (an admin's request gets an admin key)
    "DELETE /api/v1/api-keys/{key_id}": ADMIN,
    "GET /api/v1/security/events": ADMIN,
    "GET /api/v1/billing": VIEWER,
    "GET /api/v1/billing/invoices": VIEWER,
    "POST /api/v1/billing/checkout": ADMIN,
    "POST /api/v1/billing/portal": ADMIN,
    # ---- agents, knowledge, channels, integrations -----------------------------------------------------------
    "GET /api/v1/agents": VIEWER,
    "POST /api/v1/agents": ADMIN,
    "GET /api/v1/agents/{agent_id}": VIEWER,
    "PATCH /api/v1/agents/{agent_id}": ADMIN,
    "DELETE /api/v1/agents/{agent_id}": ADMIN,
    "POST /api/v1/agents/{agent_id}/evaluations": VIEWER,
    "GET /api/v1/agents/{agent_id}/privacy-notice": VIEWER,
    "GET /api/v1/agents/{agent_id}/privacy-notice/versions": VIEWER,
    "POST /api/v1/agents/{agent_id}/privacy-notice": ADMIN,
    "POST /api/v1/agents/{agent_id}/sources": ADMIN,
    "GET /api/v1/agents/{agent_id}/sources": VIEWER,
    "GET /api/v1/agents/{agent_id}/sources/{source_id}": VIEWER,
    "GET /api/v1/agents/{agent_id}/sources/{source_id}/chunks": VIEWER,
    "POST /api/v1/agents/{agent_id}/sources/{source_id}/refresh": ADMIN,
    "DELETE /api/v1/agents/{agent_id}/sources/{source_id}": ADMIN,
    "GET /api/v1/agents/{agent_id}/search": VIEWER,
    "POST /api/v1/agents/{agent_id}/channels": ADMIN,
    "GET /api/v1/agents/{agent_id}/channels": VIEWER,
    "DELETE /api/v1/agents/{agent_id}/channels/{channel_id}": ADMIN,
    "GET /api/v1/agents/{agent_id}/dead-letters": VIEWER,
    "POST /api/v1/agents/{agent_id}/dead-letters/{delivery_id}/retry": ADMIN,
    "POST /api/v1/integrations/google/authorize": ADMIN,
    "POST /api/v1/integrations": ADMIN,
    "GET /api/v1/integrations/types": VIEWER,
    "GET /api/v1/integrations": VIEWER,
    "GET /api/v1/integrations/{integration_id}": VIEWER,
    "DELETE /api/v1/integrations/{integration_id}": ADMIN,
    # ---- conversations, leads, appointments, contacts -------------------------------------------------------
    "GET /api/v1/conversations": VIEWER,
    "GET /api/v1/conversations/{conversation_id}": VIEWER,
    "GET /api/v1/conversations/{conversation_id}/files/{file_id}": VIEWER,
    "GET /api/v1/inbox": VIEWER,
    "GET /api/v1/inbox/events": VIEWER,
    "POST /api/v1/conversations/{conversation_id}/takeover": AGENT,
    "POST /api/v1/conversations/{conversation_id}/messages": AGENT,
    "POST /api/v1/conversations/{conversation_id}/handback": AGENT,
    "POST /api/v1/conversations/{conversation_id}/close": AGENT,
    "POST /api/v1/conversations/{conversation_id}/assign": AGENT,
    "POST /api/v1/conversations/{conversation_id}/notes": AGENT,
    "GET /api/v1/conversations/{conversation_id}/csat": VIEWER,
    "GET /api/v1/canned-replies": VIEWER,
    "POST /api/v1/canned-replies": AGENT,  # the people who answer customers keep their saved replies
    "GET /api/v1/canned-replies/{reply_id}": VIEWER,
    "PATCH /api/v1/canned-replies/{reply_id}": AGENT,
    "DELETE /api/v1/canned-replies/{reply_id}": AGENT,
    "GET /api/v1/analytics": VIEWER,  # figures and the questions customers asked (as the conversations)
    "GET /api/v1/analytics.csv": VIEWER,
    "GET /api/v1/leads": VIEWER,
    "GET /api/v1/leads/export.csv": VIEWER,
    "GET /api/v1/leads/{lead_id}": VIEWER,
    "POST /api/v1/leads/{lead_id}/syncs/{sync_id}/retry": AGENT,
    "GET /api/v1/appointments": VIEWER,
    "POST /api/v1/agents/{agent_id}/appointments": AGENT,
    "GET /api/v1/agents/{agent_id}/slots": VIEWER,
    "GET /api/v1/appointments/{appointment_id}": VIEWER,
    "DELETE /api/v1/appointments/{appointment_id}": AGENT,
    "POST /api/v1/appointments/{appointment_id}/move": AGENT,
    "POST /api/v1/appointments/{appointment_id}/no-show": AGENT,
    "GET /api/v1/contacts": AGENT,
    "GET /api/v1/contacts/erasures/{erasure_id}": ADMIN,
    "GET /api/v1/contacts/{contact_id}": AGENT,
    "GET /api/v1/contacts/{contact_id}/export": ADMIN,
    "PATCH /api/v1/contacts/{contact_id}": ADMIN,
    "POST /api/v1/contacts/{contact_id}/restrict": ADMIN,
    "DELETE /api/v1/contacts/{contact_id}/restrict": ADMIN,
    "POST /api/v1/contacts/{contact_id}/object": ADMIN,
    "DELETE /api/v1/contacts/{contact_id}/object": ADMIN,
    "DELETE /api/v1/contacts/{contact_id}": ADMIN,
    "GET /api/v1/contacts/{contact_id}/consents": VIEWER,
    "POST /api/v1/contacts/{contact_id}/consents": AGENT,
    "POST /api/v1/contacts/{contact_id}/consents/withdraw": AGENT,
    # ---- privacy ------------------------------------------------------------------------------------------------
    "GET /api/v1/privacy/record-of-processing": VIEWER,
    "GET /api/v1/privacy/requests": VIEWER,  # the organization's and the caller's own
    "POST /api/v1/privacy/requests": VIEWER,  # a contact's request needs an admin (checked on the body)
    "GET /api/v1/privacy/requests/{request_id}": VIEWER,
    "PATCH /api/v1/privacy/requests/{request_id}": VIEWER,  # a contact's request needs an admin
    # ---- the public widget: its session token is the credential ------------------------------------------------
    "POST /api/v1/widget/{public_key}/sessions": PUBLIC,
    "GET /api/v1/widget/sessions/{conversation_id}/messages": PUBLIC,
    "POST /api/v1/widget/sessions/{conversation_id}/messages": PUBLIC,
    "POST /api/v1/widget/sessions/{conversation_id}/files": PUBLIC,
    "POST /api/v1/widget/sessions/{conversation_id}/consent": PUBLIC,
    "GET /api/v1/widget/sessions/{conversation_id}/consents": PUBLIC,
    "POST /api/v1/widget/sessions/{conversation_id}/consents": PUBLIC,
    "POST /api/v1/widget/sessions/{conversation_id}/consents/withdraw": PUBLIC,
    "GET /api/v1/widget/sessions/{conversation_id}/status": PUBLIC,
    "POST /api/v1/widget/sessions/{conversation_id}/csat": PUBLIC,
    # ---- the platform's operator ----------------------------------------------------------------------------
    "GET /api/v1/operator/breaches": SUPERADMIN,
    "POST /api/v1/operator/breaches": SUPERADMIN,
    "GET /api/v1/operator/breaches/{breach_id}": SUPERADMIN,
    "PATCH /api/v1/operator/breaches/{breach_id}": SUPERADMIN,
    "DELETE /api/v1/operator/breaches/{breach_id}": SUPERADMIN,
    "POST /api/v1/operator/breaches/{breach_id}/organizations": SUPERADMIN,
    "PATCH /api/v1/operator/breaches/{breach_id}/organizations/{org_id}": SUPERADMIN,
    "DELETE /api/v1/operator/breaches/{breach_id}/organizations/{org_id}": SUPERADMIN,
    "POST /api/v1/operator/breaches/{breach_id}/organizations/{org_id}/send": SUPERADMIN,
    "POST /api/v1/operator/breaches/{breach_id}/send": SUPERADMIN,
    "POST /api/v1/operator/legal/{kind}": SUPERADMIN,
    "GET /operator/legal": SUPERADMIN,
    "POST /operator/legal/{kind}": SUPERADMIN,
    "GET /api/v1/operator/registration-reviews": SUPERADMIN,
    "POST /api/v1/operator/registration-reviews/{user_id}": SUPERADMIN,
    "GET /operator/registration-reviews": SUPERADMIN,
    "POST /operator/registration-reviews/{user_id}": SUPERADMIN,
    "GET /operator/breaches": SUPERADMIN,
    "POST /operator/breaches": SUPERADMIN,
    "GET /operator/breaches/{breach_id}": SUPERADMIN,
    "POST /operator/breaches/{breach_id}": SUPERADMIN,
    "POST /operator/breaches/{breach_id}/organizations": SUPERADMIN,
    "POST /operator/breaches/{breach_id}/organizations/{org_id}": SUPERADMIN,
    # ---- webhooks and links sent to customers: signatures and tokens ----------------------------------------
    "GET /oauth/google/callback": PUBLIC,  # the signed state is the credential
    "GET /webhooks/whatsapp": PUBLIC,
    "POST /webhooks/whatsapp": PUBLIC,
    "POST /webhooks/twilio/sms": PUBLIC,
    "POST /webhooks/twilio/status": PUBLIC,
    "POST /webhooks/twilio/voice": PUBLIC,
    "POST /webhooks/twilio/voice/gather": PUBLIC,
    "POST /webhooks/twilio/voice/dial-status": PUBLIC,
    "POST /webhooks/stripe": PUBLIC,
    "GET /appointments/manage/{token}": PUBLIC,
    "POST /appointments/manage/{token}/cancel": PUBLIC,
    "POST /appointments/manage/{token}/move": PUBLIC,
    "GET /invitations/{token}": PUBLIC,
    "POST /invitations/{token}": PUBLIC,
    # ---- dashboard: anonymous and personal pages --------------------------------------------------------------
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "GET /register": PUBLIC,
    "POST /register": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /lang/{code}": PUBLIC,
    "GET /login/mfa": PUBLIC,
    "POST /login/mfa": PUBLIC,
    "POST /login/mfa/sms": PUBLIC,
    "GET /password-reset": PUBLIC,
    "POST /password-reset": PUBLIC,
    "GET /password-reset/confirm": PUBLIC,
    "POST /password-reset/confirm": PUBLIC,
    "GET /account/restore": PUBLIC,  # the emailed restore link
    "POST /account/restore": PUBLIC,
    "GET /security": ACCOUNT,
    "POST /security/totp": ACCOUNT,
    "POST /security/totp/confirm": ACCOUNT,
    "POST /security/totp/disable": ACCOUNT,
    "POST /security/sms": ACCOUNT,
    "POST /security/sms/confirm": ACCOUNT,
    "POST /security/sms/disable": ACCOUNT,
    "POST /security/recovery-codes": ACCOUNT,
    "POST /security/policy": ADMIN,  # the organization's policy, on the personal Security page
    "POST /security/sessions/{session_id}/revoke": ACCOUNT,
    "POST /security/sessions/revoke-all": ACCOUNT,
    "GET /security/reauth": ACCOUNT,
    "GET /verify-phone": ACCOUNT,
    "POST /verify-phone/send": ACCOUNT,
    "POST /verify-phone/confirm": ACCOUNT,
    "POST /verify-phone/review": ACCOUNT,
    "POST /security/reauth": ACCOUNT,
    "GET /account": ACCOUNT,
    "GET /account/export": ACCOUNT,
    "POST /account/consents": ACCOUNT,
    "POST /account/delete": ACCOUNT,
    "GET /privacy/requests": ACCOUNT,
    "POST /org/switch": ACCOUNT,  # to an organization the person is a member of
    # ---- dashboard: the organization's pages ------------------------------------------------------------------
    "GET /": VIEWER,
    "GET /analytics": VIEWER,
    "GET /settings": VIEWER,
    "POST /settings": ADMIN,
    "GET /members": VIEWER,
    "POST /members/invite": ADMIN,
    "GET /api-keys": ADMIN,
    "POST /api-keys": ADMIN,
    "POST /api-keys/{key_id}/revoke": ADMIN,
    "GET /security/events": ADMIN,
    "GET /billing": VIEWER,
    "POST /billing/checkout": ADMIN,
    "POST /billing/portal": ADMIN,
    "GET /agents": VIEWER,
    "GET /agents/new": ADMIN,
    "POST /agents/new": ADMIN,
    "GET /agents/{agent_id}": VIEWER,
    "POST /agents/{agent_id}": ADMIN,
    "POST /agents/{agent_id}/booking": ADMIN,
    "POST /agents/{agent_id}/delete": ADMIN,
    "GET /agents/{agent_id}/knowledge": VIEWER,
    "POST /agents/{agent_id}/knowledge/upload": ADMIN,
    "POST /agents/{agent_id}/knowledge/add": ADMIN,
    "GET /agents/{agent_id}/knowledge/{source_id}": VIEWER,
    "POST /agents/{agent_id}/knowledge/{source_id}/refresh": ADMIN,
    "POST /agents/{agent_id}/knowledge/{source_id}/delete": ADMIN,
    "GET /agents/{agent_id}/channels": VIEWER,
    "POST /agents/{agent_id}/channels/whatsapp": ADMIN,
    "POST /agents/{agent_id}/channels/twilio": ADMIN,
    "POST /agents/{agent_id}/channels/{channel_id}/disconnect": ADMIN,
    "POST /agents/{agent_id}/dead-letters/{delivery_id}/retry": ADMIN,
    "GET /agents/{agent_id}/integrations": VIEWER,
    "POST /agents/{agent_id}/integrations/{type_}": ADMIN,
    "POST /agents/{agent_id}/integrations/{integration_id}/disconnect": ADMIN,
    "GET /agents/{agent_id}/playground": VIEWER,
    "POST /agents/{agent_id}/playground": VIEWER,
    "POST /agents/{agent_id}/playground/reset": VIEWER,
    "POST /agents/{agent_id}/playground/evaluate": VIEWER,
    "GET /agents/{agent_id}/privacy-notice": VIEWER,
    "POST /agents/{agent_id}/privacy-notice": ADMIN,
    "GET /privacy/record": VIEWER,
    "POST /privacy/record/retention": ADMIN,
    "GET /inbox": VIEWER,
    "GET /inbox/events": VIEWER,
    "GET /inbox/{conversation_id}": VIEWER,  # the contact's identifiers shown to agents and above only
    "POST /inbox/{conversation_id}/takeover": AGENT,
    "POST /inbox/{conversation_id}/reply": AGENT,
    "POST /inbox/{conversation_id}/note": AGENT,
    "POST /inbox/{conversation_id}/handback": AGENT,
    "POST /inbox/{conversation_id}/assign": AGENT,
    "POST /inbox/{conversation_id}/close": AGENT,
    "GET /canned-replies": VIEWER,
    "POST /canned-replies": AGENT,
    "POST /canned-replies/{reply_id}": AGENT,
    "POST /canned-replies/{reply_id}/delete": AGENT,
    "GET /privacy/contacts": AGENT,  # contacts' identifiers: as GET /api/v1/contacts
    "GET /privacy/contacts/{contact_id}": AGENT,
    "GET /privacy/contacts/{contact_id}/export": ADMIN,
    "POST /privacy/contacts/{contact_id}/erase": ADMIN,
    "GET /contacts": AGENT,  # contacts' identifiers: as GET /api/v1/contacts
    "GET /contacts/{contact_id}": AGENT,
    "POST /contacts/{contact_id}/rectify": ADMIN,
    "POST /contacts/{contact_id}/processing": ADMIN,
    "GET /leads": VIEWER,  # as GET /api/v1/leads
    "POST /leads/{lead_id}/syncs/{sync_id}/retry": AGENT,
    "GET /appointments": VIEWER,  # as GET /api/v1/appointments
    "POST /appointments/{appointment_id}/cancel": AGENT,
    "POST /appointments/{appointment_id}/move": AGENT,
}


def required(method: str, path: str) -> Access | None:
    """What the route `method path` (its template) needs, or None when it is missing from the matrix."""
    method = "GET" if method == "HEAD" else method
    return MATRIX.get(f"{method} {path}")


def allows(needed: Access, *, role: Role | None, operator: bool) -> bool:
    """Whether a caller with `role` in the organization (None: no membership) and `operator` may call a route."""
    if needed in (PUBLIC, ACCOUNT):
        return True
    if needed is SUPERADMIN:
        return operator
    return role is not None and role.allows(needed.role)
