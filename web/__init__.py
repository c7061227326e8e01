"""replykit's Flask app: `create_app(config)` builds it; one blueprint per area."""

from web.app import create_app

__all__ = ["create_app"]
