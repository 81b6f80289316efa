"""Replies: a buyer message in → one decision, recorded → at most one reply out, retried until it is known sent.

inbound.py (`Replies`) is the stage's entry point; answer.py the one way to answer (decide, record, send);
rules.py the rule registry and chain; outbox.py the one way to send and retry; takeover.py the seller typing by
hand; recover.py what a previous run left undecided or unsent; dispatch.py and timers.py the per-chat ordering
and debounce; verdict.py the decision values. Import from the modules; this package exports nothing.
"""
