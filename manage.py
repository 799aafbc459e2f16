#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waba_portal.settings")
    # A developer's shell: neither a secret nor DEBUG is set, so this is a local run
    # (as under `make run`). Deployments always set SECRET_KEY and stay in production
    # mode; an explicit DEBUG=0 without a key is still refused by the settings.
    if "SECRET_KEY" not in os.environ and "DEBUG" not in os.environ:
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
