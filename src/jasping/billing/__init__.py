"""Billing with Stripe (docs/billing.md): plans and their limits, a trial, Checkout and the Customer Portal, the
signed webhook and its order-safe state machine with dunning, usage metering, invoices kept 10 years, receipts.

Off when JASPING_STRIPE_SECRET_KEY is not set: every organization has every feature, no limit. Account erasure calls
`billing.service.detach_organization` (invoices outlive the organization)."""
