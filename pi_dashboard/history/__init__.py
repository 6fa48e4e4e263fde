"""History: every sampled value kept in SQLite, compact enough for an SD card (docs/history.md).

`codec` encodes chunks, `tiers` rolls up and downsamples, `store` owns the database file, `service`
runs it on its own thread for the daemon, `paths` finds the data directory.
"""
