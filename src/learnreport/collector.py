"""How often a learnreport process runs Python's cyclic garbage collector.

The write path and the reports make many short-lived containers (a batch of 10,000 records
is a few hundred thousand dicts, tuples and rows) and no reference cycles of their own,
which reference counting frees at once. With Python's default thresholds the collector ran
after every 700 new containers, and each older generation's pass walked what survived: 13%
of a bulk load's time at 1,000,000 results. Running it after 100,000 new containers, and
the older passes rarer, made the S benchmark build 16% faster (29,900 to 34,600 records/s);
the garbage cycles that other libraries make still go, only later.
"""

import gc

THRESHOLDS = (100_000, 50, 1_000)
"""New containers before a young collection; young collections before the middle
generation's; middle ones before the oldest's (see `gc.set_threshold`)."""


def collect_less_often() -> None:
    gc.set_threshold(*THRESHOLDS)
