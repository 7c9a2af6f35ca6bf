"""Leads: contact details a customer leaves for the business, with their consent to be contacted."""
