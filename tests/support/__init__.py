"""Test-support helpers that run real servers (PostgreSQL, Redis, Dovecot, Chromium).

Nothing here is mocked: every class starts the real program as a child process on a free
loopback port so the suite exercises the same protocols production does.
"""
