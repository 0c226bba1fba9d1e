# Checks the JSON schema cannot express, then names shared by the topic rule files.
from mnistrepro.config import check_config

check_config(config)

DATA = "results/data"
PAIR = config["pair"]
