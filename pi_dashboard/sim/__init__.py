"""Simulated hardware for mock mode and tests: buses, pins and sysfs at the level the kernel offers.

Only `app.py` and `tests/` import this package; drivers cannot tell it from a real Pi.
"""
