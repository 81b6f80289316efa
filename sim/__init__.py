"""A local Goofish (闲鱼) server for tests, benchmarks and demo mode; see sim/README.md.

Run it with `python -m sim`, or in-process with `sim.server.start()`.
"""
