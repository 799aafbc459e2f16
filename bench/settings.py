"""The production settings, plus the hello-world view the intake benchmark compares with.

Only the URLconf differs from ``waba_portal.settings``: the server under test is the
production one (DEBUG off, every middleware, persistent database connections). The
bench's orchestrator sets the environment (database, Redis, secrets) before any
process loads this module.
"""

from waba_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
