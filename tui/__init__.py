"""The Textual dashboard: renders service events and snapshots, sends commands to the manager.

Only this package imports textual. Service threads hand events to ``tui.feed.EventFeed`` (a deque append,
never blocking); the app drains it four times a second on its own loop, and runs every manager, service
and storage call in a worker thread, so the event loop never waits on I/O or on an account's lock.
"""
