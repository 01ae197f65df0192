"""The project's Python environment: third-party packages for the server's Python workers.

Built once per (requirements, target) into the user's cache, sent as one archive, and made the
workers' interpreter through `spark.sql.execution.pyspark.python`.
"""
