"""Typed errors that reach users as one clear line (CLI `Error: ...`, JSON API 4xx)."""


class ReplykitError(Exception):
    """Base class: the message is shown to the user as is."""

    status = 400


class InputError(ReplykitError):
    """Bad input. `where` says where: 'file.csv line 12, field created_at' or 'field body'."""

    def __init__(self, message: str, where: str = ""):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class NotFound(ReplykitError):
    """A named thing (saved reply, version, conversation...) does not exist."""

    status = 404


class Conflict(ReplykitError):
    """The request clashes with current state (e.g. a stale version)."""

    status = 409


class IndexMismatch(ReplykitError):
    """A vector index on disk was built by another model or holds other entries."""

    status = 409
