"""The ASGI factory uvicorn calls in each worker (settings travel in ``MONBAN_SETTINGS``)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from monban.access.state import AppState
from monban.server.app import MonbanApp, build_app
from monban.server.boot import open_state_parts
from monban.settings import Settings

SETTINGS_ENV = "MONBAN_SETTINGS"


def settings_to_env(settings: Settings) -> str:
    data = dataclasses.asdict(settings)
    return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in data.items()})


def settings_from_env() -> Settings:
    data = json.loads(os.environ[SETTINGS_ENV])
    data["data_dir"] = Path(data["data_dir"])
    data["config_file"] = Path(data["config_file"]) if data.get("config_file") else None
    data["oidc_ca_bundle"] = Path(data["oidc_ca_bundle"]) if data.get("oidc_ca_bundle") else None
    return Settings(**data)


def create_app() -> MonbanApp:
    """One worker's app, over an already booted data dir."""
    settings = settings_from_env()
    db, keyring = open_state_parts(settings)
    return build_app(AppState(settings, db, keyring))
