"""The project's UDFs: `connect sync` (or the daemon) registers them by name."""

import pandas as pd
from pyspark.sql.functions import pandas_udf, udf


@udf("string")
def shout(text):
    return None if text is None else text.upper() + "!"


@pandas_udf("long")
def plus_one(values: pd.Series) -> pd.Series:
    return values + 1
