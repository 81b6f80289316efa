"""Notifications: telling the seller, on the phone, when the bot needs them — as incidents, not events.

The data path: service events → ``Notifier`` (notifier.py, an event sink with its own thread) → ``Incidents``
(incidents.py: one per account and cause, opened at once or after a grace period, reminded, closed by a recovery)
→ grouped messages written to the durable outbox (storage ``NoticeStore``, wording.py says what they say) →
one ``Sender`` thread per channel (outbox.py: rate limit, retries with backoff, dead letters) → apprise
(channels.py, which keeps the URLs' tokens out of every line). ``command.py`` is ``xianyu.py notify test``.

May import core.config, core.events, core.clock, core.redact, core.inert and storage; apprise only through
``core.config.notify_rules.load_apprise`` (imported when a channel exists).
"""
