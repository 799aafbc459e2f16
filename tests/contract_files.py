"""Where the tests find Meta's contract: the copy kept in docs/meta/."""

from pathlib import Path

META_DIR = Path(__file__).resolve().parents[1] / "docs" / "meta"
SPEC_PATH = META_DIR / "business-messaging-api_v23.0.yaml"
NOTES_PATH = META_DIR / "NOTES.md"
