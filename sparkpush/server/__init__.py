"""The embedded Spark Connect server: a real server started from the pyspark wheel's jars."""
