"""Tests of the project's UDFs on the live generation: run them with `connect test`.

`spark` is a Spark Connect session on a clone of the project's current generation, synced
first, so the UDFs are the code on disk, callable by name; nothing a test sets reaches the
generation. `spark_isolated` is a fresh clone for one test.
"""

from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual


def test_shout_by_name_in_sql(spark):
    actual = spark.sql("SELECT shout(word) AS loud FROM VALUES ('hi'), (NULL) AS t(word)")
    assertDataFrameEqual(actual, [Row(loud="HI!"), Row(loud=None)])


def test_plus_one_from_the_dataframe_api(spark):
    actual = spark.range(3).select(F.call_function("plus_one", "id").alias("n"))
    expected = spark.createDataFrame([(1,), (2,), (3,)], "n long")
    assertDataFrameEqual(actual, expected)


def test_a_conf_set_in_an_isolated_session_stays_there(spark, spark_isolated):
    spark_isolated.conf.set("spark.sql.shuffle.partitions", "3")
    assert spark_isolated.conf.get("spark.sql.shuffle.partitions") == "3"
    assert spark.conf.get("spark.sql.shuffle.partitions") != "3"
