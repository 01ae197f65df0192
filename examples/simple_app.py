"""SimpleApp from the Spark Connect overview: count the lines containing 'a' and 'b'.

    connect submit --py-files examples/text_predicates.py examples/simple_app.py \
        examples/data/README.md

The predicate lives in text_predicates.py and runs inside a Python UDF, so the job only works
when that module was shipped to the session (--py-files).
"""

import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, lit, udf
from text_predicates import contains


def main(path: str) -> None:
    spark = SparkSession.builder.remote("sc://localhost").appName("SimpleApp").getOrCreate()
    with open(path, encoding="utf-8") as text:
        lines = spark.createDataFrame(
            [(line,) for line in text.read().splitlines()], "value string"
        )
    has_letter = udf(contains, "boolean")
    num_as = lines.filter(has_letter(col("value"), lit("a"))).count()
    num_bs = lines.filter(has_letter(col("value"), lit("b"))).count()
    print(f"Lines with a: {num_as}, lines with b: {num_bs}")
    spark.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: simple_app.py FILE")
    main(sys.argv[1])
