"""Alerts sent out of gatewatch: the feed over the audit trail, webhooks and their durable outbox.

The audit trail already records everything an alert is about (a flagged event stored, a person's
decision, a camera's outage), in one order (``AuditRecord.seq``) and in the same transaction as
the change. So alerts are read from it (``feed``) instead of being raised by every writer, and a
change that committed is never missed: the feed's cursor moves on in the same transaction that
queues the alert's deliveries (``outbox``), which ``dispatch`` then POSTs, signed (``signing``),
retrying for a day. ``webhooks`` keeps the receivers; ``runner`` runs it all in one loop.
"""
