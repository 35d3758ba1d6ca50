"""What the SQL call-history adapters (``adapters.sqlite``, ``adapters.postgres``) share.

The schema as numbered migrations (:mod:`adapters.sql.schema`) and the statements and row
mapping (:mod:`adapters.sql.rows`); standard library and ``ports`` only.
"""
