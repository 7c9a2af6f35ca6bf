"""create_app(): the ASGI application — ops endpoints, the JSON API, the dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from jasping import __version__, logs
from jasping.agent import warm
from jasping.analytics import pages as analytics_pages
from jasping.analytics import views as analytics_api
from jasping.config import get_settings
from jasping.web import appointment_links, errors, ops
from jasping.web.api import (
    agents,
    appointments,
    auth,
    billing,
    breaches,
    canned_replies,
    channels,
    consents,
    contacts,
    conversations,
    evaluations,
    google_oauth,
    inbox,
    integrations,
    keys,
    knowledge,
    leads,
    legal_pages,
    me,
    members,
    mfa,
    organization,
    privacy,
    privacy_requests,
    registration,
    security_events,
)
from jasping.web.dashboard import (
    STATIC_DIR,
    account_views,
    appointments_views,
    billing_views,
    breach_views,
    canned_views,
    channels_views,
    contacts_views,
    inbox_views,
    integrations_views,
    keys_views,
    knowledge_views,
    leads_views,
    legal_views,
    members_views,
    playground_views,
    privacy_views,
    registration_views,
    security_events_views,
    security_views,
)
from jasping.web.dashboard import views as dashboard
from jasping.web.webhooks import stripe as stripe_webhooks
from jasping.web.webhooks import twilio as twilio_webhooks
from jasping.web.webhooks import twilio_voice as twilio_voice_webhooks
from jasping.web.webhooks import whatsapp as whatsapp_webhooks
from jasping.web.webhooks.common import limit_by_ip
from jasping.web.widget import api as widget_api
from jasping.web.widget import csat as widget_csat
from jasping.web.widget import script as widget_script


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Sync endpoints run in this pool; size it for slow LLM and provider calls.
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().web_threads
    # no cold first message: recent agents' stored search indexes and the turn's code load before the first request
    await anyio.to_thread.run_sync(warm.wait, warm.start())
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    logs.setup(settings.log_level, settings.log_format)
    app = FastAPI(
        title="JasPing API",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        max_body_size=(settings.max_upload_mb + 1) * 1024 * 1024,
        description="AI customer-service agents on the web, WhatsApp and the phone. "
        "Authenticate with `Authorization: Bearer <API key>`.",
    )
    errors.install(app)
    app.add_middleware(ops.EdgeMiddleware)
    app.include_router(ops.router)
    for module in (
        auth,
        mfa,
        agents,
        keys,
        knowledge,
        organization,
        privacy,
        privacy_requests,
        me,
        conversations,
        inbox,
        leads,
        appointments,
        billing,
        channels,
        evaluations,
        google_oauth,
        integrations,
        widget_api,
        widget_csat,
        canned_replies,
        consents,
        breaches,
        legal_pages,
        members,
        registration,
    ):
        app.include_router(module.router)
    app.include_router(members.account_router)
    app.include_router(security_events.router)
    app.include_router(contacts.router)
    app.include_router(contacts.schemas)
    app.include_router(analytics_api.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(dashboard.router)
    app.include_router(knowledge_views.router)
    app.include_router(channels_views.router)
    app.include_router(inbox_views.router)
    app.include_router(canned_views.router)
    app.include_router(integrations_views.router)
    app.include_router(playground_views.router)
    app.include_router(privacy_views.router)
    app.include_router(legal_views.router)
    app.include_router(breach_views.router)
    app.include_router(registration_views.router)
    app.include_router(security_views.router)
    app.include_router(security_events_views.router)
    app.include_router(account_views.router)
    app.include_router(billing_views.router)
    app.include_router(keys_views.router)
    app.include_router(members_views.router)
    app.include_router(analytics_pages.router)
    app.include_router(contacts_views.router)
    app.include_router(leads_views.router)
    app.include_router(appointments_views.router)
    app.include_router(widget_script.router)
    app.include_router(appointment_links.router)
    webhook_limit = [Depends(limit_by_ip)]  # per source IP, before any signature work
    app.include_router(whatsapp_webhooks.router, dependencies=webhook_limit)
    app.include_router(twilio_webhooks.router, dependencies=webhook_limit)
    app.include_router(twilio_voice_webhooks.router, dependencies=webhook_limit)
    app.include_router(stripe_webhooks.router, dependencies=webhook_limit)
    return app
