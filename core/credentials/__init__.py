"""Credentials: everything an account logs in with — the cookie jar, device id, access token — and who may change it.

The owner (owner.py, `Credentials`) is the only writer of a stopped account's stored jar (a pasted cookie, a QR
login); a running account's `AccountCredentials` (account.py) keeps its own jar, token and mtop client, and saves
them as they change. Storage seals the jar and the token at rest and hands them back plain. Import from the
modules; this package exports nothing.
"""
