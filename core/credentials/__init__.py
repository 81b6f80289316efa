"""Credentials: everything an account logs in with — the cookie jar, device id, access token — and who may change it.

The owner (owner.py, `Credentials`) is the only writer of a stopped account's stored jar (a pasted cookie, and
next QR login and encryption at rest); a running account's `AccountCredentials` (account.py) keeps its own jar,
token and mtop client, and saves them as they change. Import from the modules; this package exports nothing.
"""
