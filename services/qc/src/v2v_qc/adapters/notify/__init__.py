"""Delivering notifications: e-mail through the site's SMTP relay, signed webhook calls, and
the background loop that finds the work in the database."""
