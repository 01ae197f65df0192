"""Running a user's PySpark script over a prepared Spark Connect session."""
