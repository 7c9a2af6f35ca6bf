"""Imports every table so that `Base.metadata` is complete (migrations, tests, the data map)."""

from jasping.agents.models import Agent
from jasping.analytics.models import AnalyticsDay, AnalyticsReplyTime, AnalyticsRollup
from jasping.billing.models import BillingAccount, Invoice, StripeEvent, UsageCounter
from jasping.channels.models import ChannelConnection, Delivery, InboundEvent
from jasping.conversations.inbox_models import CannedReply, CsatRating
from jasping.conversations.models import Contact, Conversation, ConversationFile, Message
from jasping.crypto import DataKey
from jasping.db import Base
from jasping.integrations.file_copy_models import FileCopy
from jasping.integrations.mail_models import Email
from jasping.integrations.models import Integration
from jasping.jobs.models import JobRun
from jasping.knowledge.models import Chunk, Document, Source
from jasping.leads.models import Lead, LeadSync
from jasping.privacy.account_models import AccountConsent, AccountDeletion
from jasping.privacy.breaches_models import Breach, BreachOrganization
from jasping.privacy.erasure_models import ContactErasure, ErasureTask
from jasping.privacy.models import ConsentRecord
from jasping.privacy.pages_models import LegalPage
from jasping.privacy.requests import DataRequest
from jasping.registration.models import RegistrationRisk
from jasping.scheduling.models import Appointment
from jasping.security.audit import AuditCheckpoint, AuditEvent
from jasping.security.mfa_models import AuthChallenge, MfaFactor, OrgSecurityPolicy, RecoveryCode
from jasping.security.sessions import LoginSession
from jasping.tenancy.models import ApiKey, Membership, Organization, User
from jasping.tenancy.operators import PlatformOperator

__all__ = [
    "AccountConsent",
    "AccountDeletion",
    "Agent",
    "AnalyticsDay",
    "AnalyticsReplyTime",
    "AnalyticsRollup",
    "ApiKey",
    "Appointment",
    "AuditCheckpoint",
    "AuditEvent",
    "AuthChallenge",
    "Breach",
    "BreachOrganization",
    "Base",
    "BillingAccount",
    "CannedReply",
    "ChannelConnection",
    "Chunk",
    "ConsentRecord",
    "Contact",
    "ContactErasure",
    "Conversation",
    "ConversationFile",
    "CsatRating",
    "DataKey",
    "DataRequest",
    "Delivery",
    "Document",
    "Email",
    "ErasureTask",
    "FileCopy",
    "InboundEvent",
    "Integration",
    "Invoice",
    "JobRun",
    "LegalPage",
    "Lead",
    "LeadSync",
    "LoginSession",
    "Membership",
    "MfaFactor",
    "Message",
    "OrgSecurityPolicy",
    "Organization",
    "PlatformOperator",
    "RecoveryCode",
    "RegistrationRisk",
    "Source",
    "StripeEvent",
    "UsageCounter",
    "User",
]
