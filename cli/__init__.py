"""The `replykit` command, the top layer: `cli.main` holds the root group and registers
every group and command of the area modules explicitly; nothing but the entry point and
the tests imports this package."""
