"""Helpdesk connectors: sources that `replykit sync` pulls conversations from, and that take
replies and saved-reply actions back (docs/integrations.md)."""
