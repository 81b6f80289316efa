"""Risk-control verification: solving the slider behind a punish URL in a real, throw-away browser.

Owns the slot pool that runs a few jobs at once, first come first served, and the session breaker's hook into
it (pool.py); one job on the punish page: find the slider, drag it, read the verdict, retry, and the manual
window for a person (solve.py); launching Chromium and making sure it never outlives its job (browser.py);
the human-looking drag itself (trajectory.py).

It may import core.goofish, core.events, core.clock, core.errors and core.credentials, and core.session.loop
for types only; never tui or sim. Import from the modules; this package exports nothing.
"""
