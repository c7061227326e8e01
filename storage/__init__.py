"""The storage layer: the database connection and transactions (`storage.db`), the schema as
ordered migrations (`storage.migrations`), and one module per group of tables holding that
group's migrations. Every other package reaches the database through it."""
